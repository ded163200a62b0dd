/* Private to the location service: the table's structs and shared helpers. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_REGISTRAR_LOCATION_INT_H
#define SB_SERVICES_REGISTRAR_LOCATION_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "services/registrar/location.h"

enum {
	LOC_BUCKETS_INITIAL = 16, /* per shard; doubled as AORs grow */
	LOC_HEAP_INITIAL = 16,	  /* heap slots per shard at first */
	LOC_SHARDS_MAX = 4096,	  /* opts.shards ceiling */
	LOC_PAD_BYTES = 64	  /* keeps neighbouring shard locks apart */
};

/*
 * One binding, one block: the fixed fields, then its strings back to back
 * (AOR, contact, Path, Call-ID, User-Agent, instance), so a binding taken
 * out of the table can still be persisted and copied on its own.
 */
struct binding {
	struct binding *next; /* in its AOR's list; shard lock */
	struct aor *aor;      /* the AOR it is linked to; shard lock */
	uint64_t id;	      /* process-unique, increasing */
	uint64_t expires_ms;  /* monotonic; fixed once linked */
	int64_t expires_unix; /* wall clock */
	struct sip_flow flow; /* counted conn reference, owned */
	uint32_t cseq;	      /* of the REGISTER that made it */
	uint32_t reg_id;      /* RFC 5626; 0 = none */
	uint32_t heap_idx;    /* slot in the shard heap; shard lock */
	uint16_t q_milli;     /* or LOCATION_Q_UNSET */
	uint16_t aor_len, contact_len, path_len, call_id_len, ua_len,
	    instance_len;      /* bytes of each string in text */
	uint8_t ping_failures; /* shard lock */
	bool is_nated;
	bool is_kept_in_store; /* taken out but replaced: no store delete */
	char text[];
};

/* An address-of-record with at least one binding. */
struct aor {
	struct aor *next;	  /* bucket chain; shard lock */
	struct binding *bindings; /* unordered; shard lock */
	uint32_t hash;
	uint16_t nbindings; /* shard lock */
	uint16_t len;	    /* bytes of name */
	char name[];
};

struct shard {
	pthread_mutex_t lock;
	struct aor **buckets;  /* lock */
	uint32_t nbuckets;     /* power of two; lock */
	uint32_t naors;	       /* lock */
	struct binding **heap; /* min-heap by expires_ms; lock */
	uint32_t nheap;	       /* lock */
	uint32_t heap_cap;     /* lock */
	char pad[LOC_PAD_BYTES];
};

struct location {
	struct location_opts o;
	uint32_t nshards;	  /* power of two */
	_Atomic uint64_t next_id; /* last binding id handed out */
	_Atomic uint64_t aors, bindings, bytes, expired, persist_errors;
	struct shard shards[];
};

/* A binding to be made: where its fields come from (all borrowed). */
struct loc_proto {
	struct slice aor, contact, path, call_id, user_agent, instance;
	uint32_t cseq, reg_id;
	uint16_t q_milli;
	bool is_nated;
	uint64_t expires_ms;
	int64_t expires_unix;
	const struct sip_flow *flow;
};

/* Bindings and AORs taken out under a lock, finished after it. */
struct loc_gone {
	struct binding *bindings; /* linked by next */
	struct aor *aors;	  /* linked by next */
};

/* The key of an AOR: the text with its domain lower-cased, and its hash. */
struct loc_key {
	char text[LOCATION_AOR_MAX];
	struct slice s;
	uint32_t hash;
};

static inline struct slice loc_b_contact(const struct binding *b)
{
	return slice_make(b->text + b->aor_len, b->contact_len);
}

static inline struct slice loc_b_call_id(const struct binding *b)
{
	return slice_make(b->text + b->aor_len + b->contact_len + b->path_len,
			  b->call_id_len);
}

static inline struct slice loc_b_instance(const struct binding *b)
{
	return slice_make(loc_b_call_id(b).p + b->call_id_len + b->ua_len,
			  b->instance_len);
}

static inline size_t loc_b_text_len(const struct binding *b)
{
	return (size_t)b->aor_len + b->contact_len + b->path_len +
	       b->call_id_len + b->ua_len + b->instance_len;
}

static inline void loc_count(_Atomic uint64_t *c, int64_t delta)
{
	atomic_fetch_add_explicit(c, (uint64_t)delta, memory_order_relaxed);
}

bool loc_proto_is_valid(const struct loc_proto *p);
/* Build a binding outside any lock (counted from here); NULL: no memory. */
struct binding *loc_binding_new(struct location *loc,
				const struct loc_proto *p);
int loc_key_make(struct slice aor, struct loc_key *k);
struct shard *loc_shard(struct location *loc, uint32_t hash);
/* Shard lock held for the rest. */
struct aor *loc_aor_find(const struct shard *s, const struct loc_key *k);
/* A new linked AOR, or NULL with *err -ENOSPC (max_aors) or -ENOMEM. */
struct aor *loc_aor_add(struct location *loc, struct shard *s,
			const struct loc_key *k, int *err);
/* Unlink an AOR left empty onto g. */
void loc_aor_drop(struct shard *s, struct aor *a, struct loc_gone *g);
int loc_heap_reserve(struct location *loc, struct shard *s, size_t more);
void loc_binding_link(struct shard *s, struct aor *a, struct binding *b);
/* Take b out of its AOR and the heap onto g; an emptied AOR goes too. */
void loc_binding_take(struct shard *s, struct binding *b, struct loc_gone *g);
void loc_drop_expired(struct shard *s, struct aor *a, uint64_t now_ms,
		      struct loc_gone *g);
/* Bytes copy_aor needs for a's live bindings. */
size_t loc_copy_bytes(const struct aor *a, uint64_t now_ms);
/* Copy a's live bindings (at most cap) into out, strings into text. */
size_t loc_copy_aor(const struct aor *a, uint64_t now_ms, char *text,
		    struct location_binding *out, size_t cap);
/* No lock: best first (q descending, then newest). */
void loc_sort(struct location_binding *v, size_t n);
/* No lock: persist the deletes (when asked), free. Returns bindings. */
size_t loc_gone_finish(struct location *loc, struct loc_gone *g,
		       bool is_persisted);
/* Free a binding not linked anywhere. Returns NULL. */
struct binding *loc_binding_free(struct location *loc, struct binding *b);
uint32_t loc_bindings_limit(uint32_t max);

#endif
