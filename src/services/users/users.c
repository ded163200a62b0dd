/* Credential snapshots: open-addressing table in one block, atomic publish. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "services/users/users.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "base/mem.h"

enum { SLOTS_MIN = 8 };

/* One allocation: this header, the slot index, the entries, the strings. */
struct users {
	_Atomic uint32_t refs;
	uint32_t count;		     /* entries used */
	uint32_t mask;		     /* slots - 1 */
	uint32_t *slots;	     /* entry index + 1; 0 = empty */
	struct users_entry *entries; /* count of them */
};

/*
 * Publication. Readers announce themselves on one of two counters (chosen
 * by the epoch) while they load the pointer and take their reference; the
 * publisher swaps the pointer, then flips the epoch and waits for the
 * other counter to drain, twice, so a reader that read the epoch before a
 * flip has been waited for on whichever counter it chose. All seq_cst.
 */
static _Atomic(struct users *) current;
static _Atomic unsigned epoch;
static _Atomic uint64_t readers[2];
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;

/* FNV-1a of user, a separator, then the lower-cased domain. */
static uint32_t key_hash(struct slice user, struct slice domain)
{
	uint32_t h = slice_hash(user);

	h = (h ^ 0xffu) * 16777619u;
	for (size_t i = 0; i < domain.len; i++) {
		unsigned char c = (unsigned char)domain.p[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c | 0x20);
		h = (h ^ c) * 16777619u;
	}
	return h;
}

static bool is_hex_of(const char *s, size_t len)
{
	if (strnlen(s, len + 1) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* Copy len bytes to the string pool; returns the slice of the copy. */
static struct slice pool_put(char **pool, const char *s, size_t len,
			     bool is_lower)
{
	char *d = *pool;
	struct slice out = slice_make(d, len);

	if (is_lower)
		out = slice_lower(slice_make(s, len), d);
	else
		memcpy(d, s, len);
	d[len] = '\0';
	*pool += len + 1;
	return out;
}

static void copy_ha1(char *dst, const char *src, size_t len)
{
	if (is_hex_of(src, len)) {
		for (size_t i = 0; i < len; i++)
			dst[i] = (char)(src[i] | (src[i] >= 'A' ? 0x20 : 0));
		dst[len] = '\0';
	} else {
		dst[0] = '\0';
	}
}

static const struct users_entry *find(const struct users *s, uint32_t h,
				      struct slice user, struct slice domain)
{
	for (uint32_t i = h & s->mask;; i = (i + 1) & s->mask) {
		uint32_t at = s->slots[i];
		const struct users_entry *e;

		if (at == 0)
			return NULL;
		e = &s->entries[at - 1];
		if (slice_eq(e->user, user) && slice_caseeq(e->domain, domain))
			return e;
	}
}

int users_new(const struct store_user *u, size_t n, struct users **out)
{
	size_t strings = 0, slots = SLOTS_MIN, size;
	struct users *s;
	char *pool;

	if (n > UINT32_MAX / 4)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		strings += strnlen(u[i].user, STORE_USER_MAX) +
			   strnlen(u[i].domain, STORE_DOMAIN_MAX) +
			   strnlen(u[i].display, STORE_TEXT_MAX) +
			   strnlen(u[i].caller_id, STORE_TEXT_MAX) + 4;
	while (slots < 2 * n)
		slots *= 2;
	size = sizeof(*s) + slots * sizeof(uint32_t) +
	       n * sizeof(struct users_entry) + strings;
	/* Entries after the slots: keep them aligned for their pointers. */
	size += _Alignof(struct users_entry);
	s = sb_calloc(1, size);
	if (!s)
		return -ENOMEM;
	sb_live_inc(SB_LIVE_USERS);
	atomic_init(&s->refs, 1);
	s->mask = (uint32_t)slots - 1;
	s->slots = (uint32_t *)(s + 1);
	{
		uintptr_t at = (uintptr_t)(s->slots + slots);
		size_t align = _Alignof(struct users_entry);
		at = (at + align - 1) & ~(uintptr_t)(align - 1);
		s->entries = (struct users_entry *)at;
	}
	pool = (char *)(s->entries + n);
	for (size_t i = 0; i < n; i++) {
		struct slice user =
		    slice_make(u[i].user, strnlen(u[i].user, STORE_USER_MAX));
		struct slice domain = slice_make(
		    u[i].domain, strnlen(u[i].domain, STORE_DOMAIN_MAX));
		uint32_t h = key_hash(user, domain);
		struct users_entry *e;
		uint32_t slot;

		if (user.len == 0 || domain.len == 0 ||
		    find(s, h, user, domain))
			continue;
		e = &s->entries[s->count];
		e->user = pool_put(&pool, user.p, user.len, false);
		e->domain = pool_put(&pool, domain.p, domain.len, true);
		e->display =
		    pool_put(&pool, u[i].display,
			     strnlen(u[i].display, STORE_TEXT_MAX), false);
		e->caller_id =
		    pool_put(&pool, u[i].caller_id,
			     strnlen(u[i].caller_id, STORE_TEXT_MAX), false);
		e->max_bindings = u[i].max_bindings;
		e->cred.user = e->user;
		e->cred.domain = e->domain;
		copy_ha1(e->cred.ha1_md5, u[i].ha1_md5, DIGEST_MD5_HEX);
		copy_ha1(e->cred.ha1_sha256, u[i].ha1_sha256,
			 DIGEST_SHA256_HEX);
		for (slot = h & s->mask; s->slots[slot];
		     slot = (slot + 1) & s->mask)
			;
		s->slots[slot] = ++s->count;
	}
	*out = s;
	return 0;
}

struct users *users_ref(struct users *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

struct users *users_unref(struct users *s)
{
	if (!s)
		return NULL;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
		sb_free(s);
		sb_live_dec(SB_LIVE_USERS);
	}
	return NULL;
}

size_t users_count(const struct users *s)
{
	return s ? s->count : 0;
}

const struct users_entry *users_lookup(const struct users *s, struct slice user,
				       struct slice domain)
{
	if (!s || !user.p || !domain.p)
		return NULL;
	return find(s, key_hash(user, domain), user, domain);
}

const struct auth_cred *users_auth_lookup(void *snapshot, struct slice user,
					  struct slice domain)
{
	const struct users_entry *e = users_lookup(snapshot, user, domain);

	return e ? &e->cred : NULL;
}

struct users *users_current(void)
{
	unsigned e = atomic_load(&epoch) & 1;
	struct users *s;

	atomic_fetch_add(&readers[e], 1);
	s = users_ref(atomic_load(&current));
	atomic_fetch_sub(&readers[e], 1);
	return s;
}

void users_publish(struct users *s)
{
	struct users *old;

	pthread_mutex_lock(&publish_lock);
	old = atomic_exchange(&current, s);
	for (int phase = 0; phase < 2; phase++) {
		unsigned e = atomic_load(&epoch) & 1;
		atomic_store(&epoch, e ^ 1);
		while (atomic_load(&readers[e]) != 0)
			sched_yield();
	}
	pthread_mutex_unlock(&publish_lock);
	users_unref(old);
}

bool users_aor_exists(struct slice aor)
{
	const char *at = memchr(aor.p, '@', aor.len);
	struct users *u;
	bool is_known;

	if (!at)
		return false;
	u = users_current();
	is_known =
	    u && users_lookup(
		     u, slice_make(aor.p, (size_t)(at - aor.p)),
		     slice_make(at + 1, aor.len - (size_t)(at + 1 - aor.p)));
	users_unref(u);
	return is_known;
}
