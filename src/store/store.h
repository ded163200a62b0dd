/* The store: one asynchronous interface over the persistence engines. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_STORE_STORE_H
#define SB_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

/*
 * Engines: SQLite today (a file in the data directory, WAL mode, schema
 * versioned by migrations); Redis and PostgreSQL later, behind the same
 * functions. Work runs on the store's own thread; a worker never blocks on
 * it. Reads complete by callback, posted back to the thread that asked
 * (through opts.post); writes of bindings are write-behind: queued, merged
 * and committed in batches.
 */
struct store;

enum {
	STORE_USER_MAX = 64,	  /* bytes of a user part */
	STORE_DOMAIN_MAX = 128,	  /* bytes of a domain */
	STORE_TEXT_MAX = 128,	  /* display name, caller-id */
	STORE_URI_MAX = 512,	  /* bytes of a contact URI or Path */
	STORE_HA1_MD5_HEX = 32,	  /* hex chars */
	STORE_HA1_SHA256_HEX = 64 /* hex chars */
};

/* A subscriber. Passwords are never stored: only HA1 per algorithm. */
struct store_user {
	char user[STORE_USER_MAX + 1];
	char domain[STORE_DOMAIN_MAX + 1];
	char ha1_md5[STORE_HA1_MD5_HEX + 1]; /* MD5(user:realm:password) */
	char ha1_sha256[STORE_HA1_SHA256_HEX + 1]; /* SHA-256(...) */
	char display[STORE_TEXT_MAX + 1];
	char caller_id[STORE_TEXT_MAX + 1];
	uint32_t max_bindings; /* 0 = the registrar's default */
};

/* One registered contact of an address-of-record, as persisted. */
struct store_binding {
	char aor[STORE_USER_MAX + STORE_DOMAIN_MAX + 2]; /* "user@domain" */
	char contact[STORE_URI_MAX + 1];		 /* the Contact URI */
	char path[STORE_URI_MAX + 1]; /* Path header values, may be "" */
	char call_id[STORE_TEXT_MAX + 1];
	uint32_t cseq;
	uint16_t q_milli;   /* q-value x 1000 */
	int64_t expires_at; /* unix seconds */
	char transport[8];  /* "udp", "tcp", "tls": where it came from */
	char source[64];    /* "ip:port" / "[ip6]:port" it came from */
	char local[64];	    /* listener it arrived on, "ip:port" */
	char user_agent[STORE_TEXT_MAX + 1];
	char instance[STORE_TEXT_MAX + 1]; /* +sip.instance (RFC 5626) */
	uint32_t reg_id;		   /* reg-id (RFC 5626), 0 = none */
};

/* How completions get back to the caller's thread. */
typedef void (*store_post_fn)(void *target, void (*fn)(void *arg), void *arg);

struct store_opts {
	const char *data_dir; /* the database lives here */
	uint32_t flush_ms;    /* write-behind delay, default 100 */
	uint32_t batch_max;   /* writes per transaction, default 1000 */
	uint32_t poll_ms;     /* check for outside changes, default 1000 */
	uint32_t queue_max;   /* requests waiting for the thread, default
				 65536; beyond it calls fail -ENOBUFS */
	store_post_fn post;   /* NULL: callbacks run on the store thread */
	const char *cdr_csv;  /* CDRs also appended here as CSV lines (the
				 header first when the file is empty);
				 NULL = none. Opened by
				 store_open, not kept. */
	bool is_cdr_db_off;   /* CDRs not inserted in the database */
	/* Users changed outside (CLI): called on the store thread. */
	void (*on_users_changed)(void *ctx);
	void *ctx;
};

/*
 * Open (creating data_dir, the file and running migrations as needed) and
 * start the store thread. Zero options take their defaults; o is copied,
 * data_dir is not kept. Returns 0 and sets *out, or -EINVAL, -ENOMEM,
 * -ENOTDIR, -ENOTSUP (a schema newer than this build), -EBUSY ... and
 * logs the error with the database path. Call before workers start.
 */
int store_open(const struct store_opts *o, struct store **out);
/*
 * Stop taking requests, run those already queued (reads still complete
 * through opts.post, so their targets must still run), commit every
 * pending write, stop the thread and close. No call on s may run
 * concurrently or follow. Returns NULL.
 */
struct store *store_close(struct store *s);

/* Completion of an asynchronous read; runs on `target`'s thread. */
typedef void (*store_users_cb)(void *arg, int err, const struct store_user *u,
			       size_t n);
typedef void (*store_bindings_cb)(void *arg, int err,
				  const struct store_binding *b, size_t n);

/*
 * Asynchronous reads, from any thread between store_open and store_close.
 * Writes queued before a read are committed before it runs, so it sees
 * them. cb gets err 0 and the rows, or a negative errno and no rows; the
 * array (NULL when n is 0) is valid only during the call. Returns 0 when
 * cb will run exactly once: through opts.post(target, ...), or on the
 * store thread without it, possibly before the call returns. Otherwise
 * -EINVAL, -ENOMEM, -ENOBUFS (queue full) or -ESHUTDOWN, and cb never runs.
 */
/* All users, ordered by domain, user. */
int store_users_load(struct store *s, void *target, store_users_cb cb,
		     void *arg);
/*
 * All bindings with expires_at > now (start-up restore), ordered by aor,
 * contact. Rows already expired are deleted from the database.
 */
int store_bindings_load(struct store *s, int64_t now, void *target,
			store_bindings_cb cb, void *arg);

/*
 * Write-behind, from any thread: *b (or the key) is copied into the queue;
 * the store thread merges writes by (aor, contact), the last one winning,
 * and commits them every flush_ms or batch_max writes, one transaction per
 * batch. A failed commit is retried after flush_ms. Returns 0, or -EINVAL
 * (empty or over-long aor or contact), -ENOMEM, -ENOBUFS, -ESHUTDOWN.
 */
int store_binding_put(struct store *s, const struct store_binding *b);
int store_binding_del(struct store *s, const char *aor, const char *contact);

/*
 * One call detail record: a B2BUA call with both legs. Times are unix
 * milliseconds, 0 = never happened. Strings are NUL-terminated, truncated
 * to their size by the writer of the record.
 */
struct store_cdr {
	char call_id[STORE_TEXT_MAX + 1];   /* A-leg Call-ID */
	char b_call_id[STORE_TEXT_MAX + 1]; /* B-leg Call-ID ("" none) */
	char caller[STORE_TEXT_MAX + 1];    /* From URI of the A-leg */
	char callee[STORE_TEXT_MAX + 1];    /* Request-URI of the A-leg */
	char b_target[STORE_TEXT_MAX + 1];  /* B-leg Request-URI */
	char route[STORE_TEXT_MAX + 1];	    /* route name, "" = default */
	char source[64];		    /* caller's "ip:port" */
	int64_t start_ms;		    /* INVITE received */
	int64_t ring_ms;		    /* first 180/183 */
	int64_t answer_ms;		    /* 2xx */
	int64_t end_ms;			    /* terminated */
	uint32_t duration_s;		    /* end - start, rounded up */
	uint32_t billsec;		    /* end - answer, rounded up */
	char disposition[16]; /* answered, busy, no-answer, rejected,
				 cancelled, failed */
	char cause[16];	      /* normal, busy, no-answer, rejected,
				 cancelled, timeout, media-timeout, error */
	uint16_t a_status;    /* final status sent on the A-leg */
	uint16_t b_status;    /* final status received on the B-leg */
	char a_reason[STORE_TEXT_MAX + 1]; /* Reason header / phrase */
	char b_reason[STORE_TEXT_MAX + 1];
	char hangup_by[8]; /* "caller", "callee", "system" */
	uint32_t transfers; /* REFERs completed */
	/* media (schema v3) */
	char media[8];		/* "anchor", "bypass" */
	char codec[32];		/* first audio codec of the answer, "" */
	char recording[512];	/* WAV path, "" = not recorded */
	struct store_cdr_rtp {	/* what switchboard received from a side
				   (anchored calls; zeroes otherwise) */
		uint64_t packets;
		double loss_pct;  /* 0..100 */
		double jitter_ms; /* RFC 3550 A.8 at the end */
		double mos;	  /* E-model estimate, 0 = no packets */
	} rtp_a, rtp_b;		/* from the caller, from the callee */
};

/*
 * Write-behind of a CDR, from any thread: copied into the queue, inserted
 * in the `cdrs` table with the next batch (flush_ms / batch_max as for
 * bindings) and appended to opts.cdr_csv once committed. Returns 0,
 * -ENOMEM, -ENOBUFS, -ESHUTDOWN.
 */
int store_cdr_put(struct store *s, const struct store_cdr *c);

/*
 * The newest CDRs, newest first, at most limit (read back for the admin
 * API and tests). Same rules as the other reads.
 */
typedef void (*store_cdrs_cb)(void *arg, int err, const struct store_cdr *c,
			      size_t n);
int store_cdrs_load(struct store *s, uint32_t limit, void *target,
		    store_cdrs_cb cb, void *arg);

/*
 * A CDR as one CSV line (RFC 4180 quoting, CRLF-free: "\n" ends it) into
 * out (cap bytes with the NUL); the columns in struct order, times as unix
 * milliseconds. Returns the length, or -E2BIG. Any thread.
 */
int store_cdr_csv(const struct store_cdr *c, char *out, size_t cap);
/* The header line for store_cdr_csv's columns ("call_id,b_call_id,...\n"). */
const char *store_cdr_csv_header(void);

/* Counters since store_open(); any thread, relaxed reads. */
struct store_stats {
	uint64_t queued;	  /* requests waiting for the thread now */
	uint64_t writes;	  /* binding writes committed */
	uint64_t cdrs;		  /* CDRs committed */
	uint64_t commits;	  /* write transactions committed */
	uint64_t commit_errors;	  /* failed commits (retried) */
	uint64_t reads;		  /* reads run */
	uint64_t refused;	  /* calls refused with -ENOBUFS */
	uint64_t outside_changes; /* commits by other processes noticed */
};
void store_stats_get(struct store *s, struct store_stats *out);

/*
 * Synchronous subscriber administration for `switchboard user`: opens the
 * database directly (no thread; created and migrated as needed), safe
 * while a server runs (SQLite locking; the server notices within poll_ms).
 * Any thread; blocking; no logging. Return 0, -ENOENT, -EEXIST, -EINVAL
 * (an empty or over-long field, HA1s not lower-case hex of their length),
 * or another negative errno; err (may be NULL) gets a message naming the
 * user or the database path. add and update write every field of *u.
 */
int store_admin_user_add(const char *data_dir, const struct store_user *u,
			 char *err, size_t err_cap);
int store_admin_user_update(const char *data_dir, const struct store_user *u,
			    char *err, size_t err_cap);
/* Removes the user and its persisted bindings. */
int store_admin_user_del(const char *data_dir, const char *user,
			 const char *domain, char *err, size_t err_cap);
/* One user into *out; -ENOENT when there is none. */
int store_admin_user_get(const char *data_dir, const char *user,
			 const char *domain, struct store_user *out, char *err,
			 size_t err_cap);
/* Calls cb for each user in order of domain, user. */
int store_admin_user_list(const char *data_dir,
			  void (*cb)(void *arg, const struct store_user *u),
			  void *arg, char *err, size_t err_cap);

#endif
