/* The location service: address-of-record to bindings, shared by workers. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_REGISTRAR_LOCATION_H
#define SB_SERVICES_REGISTRAR_LOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/arena.h"
#include "base/slice.h"
#include "sip/transport/transport.h"
#include "store/store.h"

/*
 * One table for the whole process, read and written by every worker: a
 * hash of AORs split into shards, one mutex each, held only for the table
 * operation (never across a callback, I/O or a log line). Each shard also
 * keeps its bindings in a min-heap by expiry, so a sweep costs only what it
 * removes. Results are copies: strings go into an arena the caller gives,
 * flows carry their own connection reference.
 */
struct location;

enum {
	LOCATION_SHARDS_DEFAULT = 64,	 /* shards when opts.shards is 0 */
	LOCATION_BINDINGS_CEILING = 256, /* bindings per AOR, hard limit */
	LOCATION_Q_UNSET = 0xffff,	 /* q_milli of a contact without q */
	LOCATION_AOR_MAX = STORE_USER_MAX + STORE_DOMAIN_MAX + 1, /* bytes */
	LOCATION_URI_MAX = STORE_URI_MAX,  /* bytes of a contact or Path */
	LOCATION_TEXT_MAX = STORE_TEXT_MAX /* Call-ID, User-Agent, instance */
};

/* Both clocks at one instant: expiry runs on the first, storage the second. */
struct location_time {
	uint64_t mono_ms; /* CLOCK_MONOTONIC in ms: the libuv loop clock */
	int64_t unix_s;	  /* wall clock, seconds since the epoch */
};

/* Read both clocks now. */
void location_time_now(struct location_time *out);

/*
 * Where changes are persisted. Called after the shard lock is released, on
 * the thread that made the change, fire-and-forget (errors are counted).
 * del is given NUL-terminated AOR and contact.
 */
struct location_persist {
	int (*put)(void *ctx, const struct store_binding *b);
	int (*del)(void *ctx, const char *aor, const char *contact);
	void *ctx;
};

struct location_opts {
	uint32_t shards;   /* rounded up to a power of two; 0: default */
	uint32_t max_aors; /* AORs with bindings at most; 0: no limit */
	struct location_persist persist; /* NULL put/del: not persisted */
};

/*
 * A copy of one binding. Slices point into the arena given to the call
 * that made it; flow holds a connection reference, dropped by
 * location_bindings_clear().
 */
struct location_binding {
	uint64_t id;	      /* unique in the process; grows with time */
	struct slice aor;     /* "user@domain", domain lower-cased */
	struct slice contact; /* the Contact URI: the target of requests */
	struct slice path;    /* Path values (RFC 3327), ", "-joined, or "" */
	struct slice call_id; /* of the REGISTER that last updated it */
	struct slice user_agent; /* may be "" */
	struct slice instance;	 /* +sip.instance, quotes removed, or "" */
	uint32_t cseq;		 /* of that REGISTER */
	uint32_t reg_id;	 /* RFC 5626 reg-id; 0 = none */
	uint16_t q_milli;	 /* q x 1000, or LOCATION_Q_UNSET */
	uint8_t ping_failures;	 /* keep-alives unanswered in a row */
	bool is_nated;		 /* the Contact does not reach the UA */
	bool use_flow;		 /* send through flow, not to the contact's
				    resolved address: NAT'd, a stream to
				    reuse, or an RFC 5626 flow */
	uint64_t expires_ms;	 /* monotonic */
	int64_t expires_unix;	 /* wall clock */
	uint32_t expires_s;	 /* remaining when copied, rounded up */
	struct sip_flow flow;	 /* where the REGISTER came from */
};

/* Drop the connection references of n copies. */
void location_bindings_clear(struct location_binding *b, size_t n);

/* Where a request for binding b goes first: the first Path URI (RFC 3327
 * 5) unless b's flow is used, else its Contact. Empty when the Path has
 * no <URI>. */
struct slice location_binding_hop(const struct location_binding *b);

/* One Contact of a REGISTER, as the registrar decided it. */
struct location_contact {
	struct slice uri;      /* the Contact URI, without <> */
	uint32_t expires_s;    /* 0: remove the binding */
	uint16_t q_milli;      /* q x 1000, or LOCATION_Q_UNSET */
	struct slice instance; /* +sip.instance without quotes, may be unset */
	uint32_t reg_id;       /* 0 = none; used only with an instance */
	bool is_nated;
};

/* One REGISTER's changes to one AOR; everything is copied. */
struct location_update {
	struct slice aor;			 /* "user@domain" */
	const struct location_contact *contacts; /* may be NULL when n is 0 */
	size_t ncontacts;
	bool is_star;	      /* Contact: * (RFC 3261 10.2.2) */
	struct slice call_id; /* <= LOCATION_TEXT_MAX bytes */
	uint32_t cseq;
	struct slice path;	     /* Path values, may be unset */
	struct slice user_agent;     /* truncated to LOCATION_TEXT_MAX */
	const struct sip_flow *flow; /* the REGISTER's */
	uint32_t max_bindings;	     /* this AOR's limit (<= the ceiling) */
	struct location_time now;
};

/*
 * Make the service. Returns 0 and sets *out, or -EINVAL (bad opts),
 * -ENOMEM. Any thread, before the workers use it.
 */
int location_new(const struct location_opts *o, struct location **out);
/* Free every binding without persisting anything. Returns NULL. */
struct location *location_free(struct location *loc);

/*
 * Apply one REGISTER (RFC 3261 10.3 steps 6 and 7) atomically: either every
 * change is made or none. A contact matches an existing binding by
 * +sip.instance and reg-id when it has both (RFC 5626 6), else by URI
 * (RFC 3261 19.1.4). A match with the same Call-ID and a CSeq not higher
 * than the binding's aborts the whole update (-ESTALE); so does Contact: *
 * over such a binding. A different Call-ID replaces the binding. Bindings
 * already expired are dropped first. Adding bindings past max_bindings
 * fails with -EMLINK (refreshing and removing never do), a new AOR past
 * max_aors with -ENOSPC. Other errors: -EINVAL (strings over their limits,
 * a NULL flow), -ENOMEM. On success the AOR's bindings after the update are
 * copied to out (at most cap, ordered as location_lookup() orders them,
 * strings in a, flows referenced) and their number is returned. Changes
 * are persisted after the lock is released: a put per contact added or
 * refreshed, a delete per binding removed. Any thread.
 */
ssize_t location_update(struct location *loc, const struct location_update *u,
			struct arena *a, struct location_binding *out,
			size_t cap);

/*
 * The live bindings of aor at now_ms, best first: q descending (no q
 * counts as 1.0), then the most recently registered. Copies at most cap
 * into out (strings in a, flows referenced: location_bindings_clear) and
 * returns how many; 0 for an unknown AOR. -ENOMEM. Any thread.
 */
ssize_t location_lookup(struct location *loc, struct slice aor, uint64_t now_ms,
			struct arena *a, struct location_binding *out,
			size_t cap);

/* Remove every binding of aor (persisted). Returns how many. Any thread. */
ssize_t location_remove_aor(struct location *loc, struct slice aor);

/*
 * Remove every binding whose expiry is at or before now_ms and persist the
 * deletes. Returns how many. Meant for a one-second timer on one worker;
 * cost is that of the removals plus one look per shard. Any thread.
 */
ssize_t location_expire(struct location *loc, uint64_t now_ms);

/*
 * Insert a binding as it was persisted (start-up restore): b's strings,
 * expiry and flow are copied, nothing is persisted. A binding of the same
 * AOR and contact is replaced. Past max_bindings (or the ceiling) or
 * max_aors the binding is refused: -EMLINK, -ENOSPC. -EINVAL, -ENOMEM.
 */
int location_restore(struct location *loc, const struct location_binding *b,
		     uint32_t max_bindings);

/*
 * Visit every live binding at now_ms, shard by shard: each shard is copied
 * under its lock, then cb runs for each copy with no lock held (the copy is
 * valid during the call). A non-zero return from cb stops the walk and is
 * returned. Returns 0, that value, or -ENOMEM. For ctl and keep-alives.
 */
typedef int (*location_visit_cb)(void *arg, const struct location_binding *b);
int location_list(struct location *loc, uint64_t now_ms, location_visit_cb cb,
		  void *arg);

/* The same walk over the shards s where s % every == phase only. */
int location_list_part(struct location *loc, uint64_t now_ms, uint32_t every,
		       uint32_t phase, location_visit_cb cb, void *arg);

/*
 * Record a keep-alive outcome for the binding id of aor: a success resets
 * its failure count, a failure adds one. Returns the count after, or
 * -ENOENT when the binding is gone. Any thread.
 */
int location_ping_result(struct location *loc, struct slice aor, uint64_t id,
			 bool is_ok);

/* Counts, read with relaxed atomics from any thread. */
struct location_stats {
	uint64_t aors;		 /* AORs with bindings now */
	uint64_t bindings;	 /* bindings now */
	uint64_t bytes;		 /* heap bytes the table holds now */
	uint64_t expired;	 /* bindings removed by location_expire */
	uint64_t persist_errors; /* put/del calls that failed */
};
void location_stats(const struct location *loc, struct location_stats *out);

#endif
