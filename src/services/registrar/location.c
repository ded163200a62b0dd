/* The location service: a sharded AOR table with an expiry heap per shard. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "services/registrar/location.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "services/registrar/location_int.h"

static size_t b_bytes(const struct binding *b)
{
	return sizeof(*b) + loc_b_text_len(b);
}

static char *put_text(char *p, struct slice s, uint16_t *len)
{
	if (s.len)
		memcpy(p, s.p, s.len);
	*len = (uint16_t)s.len;
	return p + s.len;
}

static void heap_set(struct shard *s, uint32_t i, struct binding *b)
{
	s->heap[i] = b;
	b->heap_idx = i;
}

static void heap_up(struct shard *s, uint32_t i)
{
	struct binding *b = s->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (s->heap[parent]->expires_ms <= b->expires_ms)
			break;
		heap_set(s, i, s->heap[parent]);
		i = parent;
	}
	heap_set(s, i, b);
}

static void heap_down(struct shard *s, uint32_t i)
{
	struct binding *b = s->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap &&
		    s->heap[c + 1]->expires_ms < s->heap[c]->expires_ms)
			c++;
		if (b->expires_ms <= s->heap[c]->expires_ms)
			break;
		heap_set(s, i, s->heap[c]);
		i = c;
	}
	heap_set(s, i, b);
}

static void heap_remove(struct shard *s, struct binding *b)
{
	uint32_t i = b->heap_idx;
	struct binding *last = s->heap[--s->nheap];

	if (last == b)
		return;
	heap_set(s, i, last);
	heap_up(s, i);
	heap_down(s, last->heap_idx);
}

/* Double the buckets when chains grow long; failure keeps the old ones. */
static void buckets_grow(struct location *loc, struct shard *s)
{
	uint32_t n = s->nbuckets * 2;
	struct aor **nb;

	if (s->naors <= s->nbuckets * 2 || !(nb = sb_calloc(n, sizeof(*nb))))
		return;
	for (uint32_t i = 0; i < s->nbuckets; i++) {
		struct aor *a, *next;
		for (a = s->buckets[i]; a; a = next) {
			next = a->next;
			a->next = nb[a->hash & (n - 1)];
			nb[a->hash & (n - 1)] = a;
		}
	}
	sb_free(s->buckets);
	s->buckets = nb;
	loc_count(&loc->bytes, (int64_t)(s->nbuckets * sizeof(*nb)));
	s->nbuckets = n;
}

static int q_rank(uint16_t q)
{
	return q == LOCATION_Q_UNSET ? 1000 : q;
}

static bool ranks_before(const struct location_binding *x,
			 const struct location_binding *y)
{
	if (q_rank(x->q_milli) != q_rank(y->q_milli))
		return q_rank(x->q_milli) > q_rank(y->q_milli);
	return x->id > y->id;
}

static void copy_one(const struct binding *b, uint64_t now_ms, char *text,
		     struct location_binding *o)
{
	const char *t = text;

	memcpy(text, b->text, loc_b_text_len(b));
	o->id = b->id;
	o->aor = slice_make(t, b->aor_len);
	o->contact = slice_make(t += b->aor_len, b->contact_len);
	o->path = slice_make(t += b->contact_len, b->path_len);
	o->call_id = slice_make(t += b->path_len, b->call_id_len);
	o->user_agent = slice_make(t += b->call_id_len, b->ua_len);
	o->instance = slice_make(t + b->ua_len, b->instance_len);
	o->cseq = b->cseq;
	o->reg_id = b->reg_id;
	o->q_milli = b->q_milli;
	o->ping_failures = b->ping_failures;
	o->is_nated = b->is_nated;
	o->use_flow = b->is_nated || sip_transport_is_reliable(b->flow.tp) ||
		      (b->instance_len && b->reg_id);
	o->expires_ms = b->expires_ms;
	o->expires_unix = b->expires_unix;
	o->expires_s = b->expires_ms > now_ms
			   ? (uint32_t)((b->expires_ms - now_ms + 999) / 1000)
			   : 0;
	tp_flow_copy(&o->flow, &b->flow);
}

static void persist_del(struct location *loc, const struct binding *b)
{
	char aor[LOCATION_AOR_MAX + 1], contact[LOCATION_URI_MAX + 1];

	if (!loc->o.persist.del || b->is_kept_in_store)
		return;
	memcpy(aor, b->text, b->aor_len);
	aor[b->aor_len] = '\0';
	memcpy(contact, loc_b_contact(b).p, b->contact_len);
	contact[b->contact_len] = '\0';
	if (loc->o.persist.del(loc->o.persist.ctx, aor, contact) != 0)
		loc_count(&loc->persist_errors, 1);
}

bool loc_proto_is_valid(const struct loc_proto *p)
{
	return p->aor.len && p->aor.len <= LOCATION_AOR_MAX && p->contact.p &&
	       p->contact.len && p->contact.len <= LOCATION_URI_MAX &&
	       p->path.len <= LOCATION_URI_MAX &&
	       p->call_id.len <= LOCATION_TEXT_MAX &&
	       p->user_agent.len <= LOCATION_TEXT_MAX &&
	       p->instance.len <= LOCATION_TEXT_MAX && p->flow;
}

struct binding *loc_binding_new(struct location *loc, const struct loc_proto *p)
{
	size_t text = p->aor.len + p->contact.len + p->path.len +
		      p->call_id.len + p->user_agent.len + p->instance.len;
	struct binding *b = sb_malloc(sizeof(*b) + text);
	char *t;

	if (!b)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->id = atomic_fetch_add(&loc->next_id, 1) + 1;
	b->expires_ms = p->expires_ms;
	b->expires_unix = p->expires_unix;
	tp_flow_copy(&b->flow, p->flow);
	b->cseq = p->cseq;
	b->reg_id = p->instance.len ? p->reg_id : 0;
	b->q_milli = p->q_milli;
	b->is_nated = p->is_nated;
	t = put_text(b->text, p->aor, &b->aor_len);
	t = put_text(t, p->contact, &b->contact_len);
	t = put_text(t, p->path, &b->path_len);
	t = put_text(t, p->call_id, &b->call_id_len);
	t = put_text(t, p->user_agent, &b->ua_len);
	put_text(t, p->instance, &b->instance_len);
	loc_count(&loc->bytes, (int64_t)b_bytes(b));
	loc_count(&loc->bindings, 1);
	sb_live_inc(SB_LIVE_BINDING);
	return b;
}

struct binding *loc_binding_free(struct location *loc, struct binding *b)
{
	loc_count(&loc->bytes, -(int64_t)b_bytes(b));
	loc_count(&loc->bindings, -1);
	tp_flow_clear(&b->flow);
	sb_free(b);
	sb_live_dec(SB_LIVE_BINDING);
	return NULL;
}

int loc_key_make(struct slice aor, struct loc_key *k)
{
	size_t at = aor.len;

	if (!aor.p || aor.len == 0 || aor.len > LOCATION_AOR_MAX)
		return -EINVAL;
	while (at > 0 && aor.p[at - 1] != '@')
		at--;
	memcpy(k->text, aor.p, at);
	slice_lower(slice_make(aor.p + at, aor.len - at), k->text + at);
	k->s = slice_make(k->text, aor.len);
	k->hash = slice_hash(k->s);
	return 0;
}

struct shard *loc_shard(struct location *loc, uint32_t hash)
{
	uint32_t mix = hash * 0x9e3779b1u;

	return &loc->shards[((uint64_t)mix * loc->nshards) >> 32];
}

struct aor *loc_aor_find(const struct shard *s, const struct loc_key *k)
{
	struct aor *a = s->buckets[k->hash & (s->nbuckets - 1)];

	for (; a; a = a->next)
		if (a->hash == k->hash &&
		    slice_eq(slice_make(a->name, a->len), k->s))
			return a;
	return NULL;
}

struct aor *loc_aor_add(struct location *loc, struct shard *s,
			const struct loc_key *k, int *err)
{
	uint64_t n = atomic_fetch_add(&loc->aors, 1) + 1;
	struct aor *a;

	*err = -ENOSPC;
	if (loc->o.max_aors && n > loc->o.max_aors)
		goto undo;
	*err = -ENOMEM;
	if (!(a = sb_malloc(sizeof(*a) + k->s.len)))
		goto undo;
	memset(a, 0, sizeof(*a));
	a->hash = k->hash;
	a->len = (uint16_t)k->s.len;
	memcpy(a->name, k->s.p, k->s.len);
	a->next = s->buckets[a->hash & (s->nbuckets - 1)];
	s->buckets[a->hash & (s->nbuckets - 1)] = a;
	s->naors++;
	loc_count(&loc->bytes, (int64_t)(sizeof(*a) + k->s.len));
	buckets_grow(loc, s);
	*err = 0;
	return a;
undo:
	loc_count(&loc->aors, -1);
	return NULL;
}

void loc_aor_drop(struct shard *s, struct aor *a, struct loc_gone *g)
{
	struct aor **pp = &s->buckets[a->hash & (s->nbuckets - 1)];

	while (*pp != a)
		pp = &(*pp)->next;
	*pp = a->next;
	s->naors--;
	a->next = g->aors;
	g->aors = a;
}

int loc_heap_reserve(struct location *loc, struct shard *s, size_t more)
{
	size_t cap = s->heap_cap ? s->heap_cap : LOC_HEAP_INITIAL;
	struct binding **h;

	if (s->nheap + more <= s->heap_cap)
		return 0;
	while (cap < s->nheap + more)
		cap *= 2;
	if (cap > UINT32_MAX)
		return -ENOMEM;
	h = sb_realloc(s->heap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	loc_count(&loc->bytes, (int64_t)((cap - s->heap_cap) * sizeof(*h)));
	s->heap = h;
	s->heap_cap = (uint32_t)cap;
	return 0;
}

void loc_binding_link(struct shard *s, struct aor *a, struct binding *b)
{
	b->aor = a;
	b->next = a->bindings;
	a->bindings = b;
	a->nbindings++;
	heap_set(s, s->nheap++, b);
	heap_up(s, b->heap_idx);
}

void loc_binding_take(struct shard *s, struct binding *b, struct loc_gone *g)
{
	struct aor *a = b->aor;
	struct binding **pp = &a->bindings;

	while (*pp != b)
		pp = &(*pp)->next;
	*pp = b->next;
	a->nbindings--;
	heap_remove(s, b);
	b->aor = NULL;
	b->next = g->bindings;
	g->bindings = b;
	if (a->nbindings == 0)
		loc_aor_drop(s, a, g);
}

void loc_drop_expired(struct shard *s, struct aor *a, uint64_t now_ms,
		      struct loc_gone *g)
{
	struct binding *b, *next;

	for (b = a->bindings; b; b = next) {
		next = b->next;
		if (b->expires_ms <= now_ms)
			loc_binding_take(s, b, g);
	}
}

size_t loc_copy_bytes(const struct aor *a, uint64_t now_ms)
{
	size_t n = 0;

	for (const struct binding *b = a ? a->bindings : NULL; b; b = b->next)
		if (b->expires_ms > now_ms)
			n += loc_b_text_len(b);
	return n;
}

size_t loc_copy_aor(const struct aor *a, uint64_t now_ms, char *text,
		    struct location_binding *out, size_t cap)
{
	size_t n = 0;

	for (const struct binding *b = a ? a->bindings : NULL; b; b = b->next) {
		if (b->expires_ms <= now_ms || n == cap)
			continue;
		copy_one(b, now_ms, text, &out[n++]);
		text += loc_b_text_len(b);
	}
	return n;
}

void loc_sort(struct location_binding *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct location_binding x = v[i];
		size_t j = i;
		for (; j > 0 && ranks_before(&x, &v[j - 1]); j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

size_t loc_gone_finish(struct location *loc, struct loc_gone *g,
		       bool is_persisted)
{
	size_t n = 0;

	while (g->bindings) {
		struct binding *b = g->bindings;
		g->bindings = b->next;
		if (is_persisted)
			persist_del(loc, b);
		loc_binding_free(loc, b);
		n++;
	}
	while (g->aors) {
		struct aor *a = g->aors;
		g->aors = a->next;
		loc_count(&loc->bytes, -(int64_t)(sizeof(*a) + a->len));
		loc_count(&loc->aors, -1);
		sb_free(a);
	}
	return n;
}

uint32_t loc_bindings_limit(uint32_t max)
{
	return max == 0 || max > LOCATION_BINDINGS_CEILING
		   ? LOCATION_BINDINGS_CEILING
		   : max;
}

void location_time_now(struct location_time *out)
{
	struct timespec mono, wall;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	out->mono_ms =
	    (uint64_t)mono.tv_sec * 1000 + (uint64_t)mono.tv_nsec / 1000000;
	out->unix_s = (int64_t)wall.tv_sec;
}

struct slice location_binding_hop(const struct location_binding *b)
{
	struct slice path = b->path;
	const char *lt, *gt;

	if (!path.len || b->use_flow)
		return b->contact;
	lt = memchr(path.p, '<', path.len);
	gt = lt ? memchr(lt, '>', path.len - (size_t)(lt - path.p)) : NULL;
	if (!lt || !gt)
		return (struct slice){NULL, 0};
	return slice_make(lt + 1, (size_t)(gt - lt - 1));
}

void location_bindings_clear(struct location_binding *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tp_flow_clear(&b[i].flow);
}

int location_new(const struct location_opts *o, struct location **out)
{
	uint32_t n = 1, want = o->shards ? o->shards : LOCATION_SHARDS_DEFAULT;
	struct location *loc;
	uint32_t i;

	if (want > LOC_SHARDS_MAX)
		return -EINVAL;
	while (n < want)
		n *= 2;
	loc = sb_calloc(1, sizeof(*loc) + n * sizeof(loc->shards[0]));
	if (!loc)
		return -ENOMEM;
	loc->o = *o;
	loc->nshards = n;
	for (i = 0; i < n; i++) {
		struct shard *s = &loc->shards[i];
		s->nbuckets = LOC_BUCKETS_INITIAL;
		s->buckets = sb_calloc(s->nbuckets, sizeof(*s->buckets));
		if (!s->buckets || pthread_mutex_init(&s->lock, NULL) != 0) {
			sb_free(s->buckets);
			goto fail;
		}
		loc_count(&loc->bytes,
			  (int64_t)(s->nbuckets * sizeof(*s->buckets)));
	}
	loc_count(&loc->bytes,
		  (int64_t)(sizeof(*loc) + n * sizeof(*loc->shards)));
	*out = loc;
	return 0;
fail:
	while (i-- > 0) {
		sb_free(loc->shards[i].buckets);
		pthread_mutex_destroy(&loc->shards[i].lock);
	}
	sb_free(loc);
	return -ENOMEM;
}

struct location *location_free(struct location *loc)
{
	if (!loc)
		return NULL;
	for (uint32_t i = 0; i < loc->nshards; i++) {
		struct shard *s = &loc->shards[i];
		struct loc_gone g = {NULL, NULL};
		while (s->nheap)
			loc_binding_take(s, s->heap[0], &g);
		loc_gone_finish(loc, &g, false);
		sb_free(s->heap);
		sb_free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	sb_free(loc);
	return NULL;
}

ssize_t location_lookup(struct location *loc, struct slice aor, uint64_t now_ms,
			struct arena *a, struct location_binding *out,
			size_t cap)
{
	struct loc_key k;
	struct shard *s;
	struct aor *ar;
	char *text;
	size_t n = 0;
	int err = loc_key_make(aor, &k);

	if (err)
		return err;
	s = loc_shard(loc, k.hash);
	pthread_mutex_lock(&s->lock);
	ar = loc_aor_find(s, &k);
	if (ar && cap) {
		text = arena_alloc(a, loc_copy_bytes(ar, now_ms) + 1);
		if (text)
			n = loc_copy_aor(ar, now_ms, text, out, cap);
		else
			err = -ENOMEM;
	}
	pthread_mutex_unlock(&s->lock);
	if (err)
		return err;
	loc_sort(out, n);
	return (ssize_t)n;
}

ssize_t location_remove_aor(struct location *loc, struct slice aor)
{
	struct loc_gone g = {NULL, NULL};
	struct loc_key k;
	struct shard *s;
	struct aor *ar;
	int err = loc_key_make(aor, &k);

	if (err)
		return err;
	s = loc_shard(loc, k.hash);
	pthread_mutex_lock(&s->lock);
	ar = loc_aor_find(s, &k);
	while (ar && ar->bindings)
		loc_binding_take(s, ar->bindings, &g);
	pthread_mutex_unlock(&s->lock);
	return (ssize_t)loc_gone_finish(loc, &g, true);
}

ssize_t location_expire(struct location *loc, uint64_t now_ms)
{
	size_t n = 0;

	for (uint32_t i = 0; i < loc->nshards; i++) {
		struct shard *s = &loc->shards[i];
		struct loc_gone g = {NULL, NULL};
		pthread_mutex_lock(&s->lock);
		while (s->nheap && s->heap[0]->expires_ms <= now_ms)
			loc_binding_take(s, s->heap[0], &g);
		pthread_mutex_unlock(&s->lock);
		n += loc_gone_finish(loc, &g, true);
	}
	loc_count(&loc->expired, (int64_t)n);
	return (ssize_t)n;
}

int location_restore(struct location *loc, const struct location_binding *b,
		     uint32_t max_bindings)
{
	struct loc_proto p = {
	    .aor = b->aor,
	    .contact = b->contact,
	    .path = b->path,
	    .call_id = b->call_id,
	    .user_agent = b->user_agent,
	    .instance = b->instance,
	    .cseq = b->cseq,
	    .reg_id = b->reg_id,
	    .q_milli = b->q_milli,
	    .is_nated = b->is_nated,
	    .expires_ms = b->expires_ms,
	    .expires_unix = b->expires_unix,
	    .flow = &b->flow,
	};
	struct loc_gone g = {NULL, NULL};
	struct binding *nb, *old = NULL;
	struct loc_key k;
	struct shard *s;
	struct aor *ar;
	int err = loc_key_make(b->aor, &k);

	if (err || !loc_proto_is_valid(&p))
		return -EINVAL;
	p.aor = k.s;
	if (!(nb = loc_binding_new(loc, &p)))
		return -ENOMEM;
	s = loc_shard(loc, k.hash);
	pthread_mutex_lock(&s->lock);
	ar = loc_aor_find(s, &k);
	for (old = ar ? ar->bindings : NULL; old; old = old->next)
		if (slice_eq(loc_b_contact(old), b->contact))
			break;
	if (ar && !old && ar->nbindings >= loc_bindings_limit(max_bindings))
		err = -EMLINK;
	else if (!ar)
		ar = loc_aor_add(loc, s, &k, &err);
	if (!err)
		err = loc_heap_reserve(loc, s, 1);
	if (!err) {
		loc_binding_link(s, ar, nb); /* first: ar must not empty */
		nb = NULL;
		if (old) {
			old->is_kept_in_store = true;
			loc_binding_take(s, old, &g);
		}
	} else if (ar && ar->nbindings == 0) {
		loc_aor_drop(s, ar, &g);
	}
	pthread_mutex_unlock(&s->lock);
	if (nb)
		loc_binding_free(loc, nb);
	loc_gone_finish(loc, &g, false);
	return err;
}

/* Copy one shard's live bindings under its lock into a growing buffer. */
static int shard_copy(struct shard *s, uint64_t now_ms, struct arena *a,
		      struct location_binding **out, size_t *n)
{
	size_t nb = 0, bytes = 0;
	char *text;
	int err = 0;

	*n = 0;
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < s->nbuckets; i++)
		for (struct aor *ar = s->buckets[i]; ar; ar = ar->next) {
			nb += ar->nbindings;
			bytes += loc_copy_bytes(ar, now_ms);
		}
	*out = arena_alloc(a, (nb ? nb : 1) * sizeof(**out));
	text = arena_alloc(a, bytes + 1);
	if (!*out || !text)
		err = -ENOMEM;
	for (uint32_t i = 0; !err && i < s->nbuckets; i++)
		for (struct aor *ar = s->buckets[i]; ar; ar = ar->next) {
			size_t used = loc_copy_bytes(ar, now_ms);
			*n +=
			    loc_copy_aor(ar, now_ms, text, *out + *n, nb - *n);
			text += used;
		}
	pthread_mutex_unlock(&s->lock);
	return err;
}

int location_list_part(struct location *loc, uint64_t now_ms, uint32_t every,
		       uint32_t phase, location_visit_cb cb, void *arg)
{
	struct arena a;
	int rc = 0;

	arena_init(&a, NULL, 0, 0);
	for (uint32_t i = 0; rc == 0 && i < loc->nshards; i++) {
		struct location_binding *v;
		size_t n;
		if (every > 1 && i % every != phase % every)
			continue;
		rc = shard_copy(&loc->shards[i], now_ms, &a, &v, &n);
		for (size_t j = 0; j < n; j++) {
			if (rc == 0)
				rc = cb(arg, &v[j]);
			tp_flow_clear(&v[j].flow);
		}
		arena_reset(&a);
	}
	arena_close(&a);
	return rc;
}

int location_list(struct location *loc, uint64_t now_ms, location_visit_cb cb,
		  void *arg)
{
	return location_list_part(loc, now_ms, 1, 0, cb, arg);
}

int location_ping_result(struct location *loc, struct slice aor, uint64_t id,
			 bool is_ok)
{
	struct loc_key k;
	struct shard *s;
	struct aor *ar;
	int rc = loc_key_make(aor, &k);

	if (rc)
		return rc;
	rc = -ENOENT;
	s = loc_shard(loc, k.hash);
	pthread_mutex_lock(&s->lock);
	ar = loc_aor_find(s, &k);
	for (struct binding *b = ar ? ar->bindings : NULL; b; b = b->next) {
		if (b->id != id)
			continue;
		if (is_ok)
			b->ping_failures = 0;
		else if (b->ping_failures < UINT8_MAX)
			b->ping_failures++;
		rc = b->ping_failures;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void location_stats(const struct location *loc, struct location_stats *out)
{
	out->aors = atomic_load_explicit(&loc->aors, memory_order_relaxed);
	out->bindings =
	    atomic_load_explicit(&loc->bindings, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&loc->bytes, memory_order_relaxed);
	out->expired =
	    atomic_load_explicit(&loc->expired, memory_order_relaxed);
	out->persist_errors =
	    atomic_load_explicit(&loc->persist_errors, memory_order_relaxed);
}
