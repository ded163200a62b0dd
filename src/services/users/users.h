/* Subscriber credentials in memory: immutable snapshots, swapped whole. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_USERS_USERS_H
#define SB_SERVICES_USERS_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "sip/auth/auth.h"
#include "store/store.h"

/*
 * A snapshot is built once from the store's rows and never changes: a hash
 * table keyed by (user, domain), the user compared case-sensitively and the
 * domain case-insensitively. It is reference counted; the process holds one
 * current snapshot, replaced whole by users_publish() when the store says
 * users changed. A request takes the current snapshot once
 * (users_current()), does its lookups without any lock, and drops it
 * (users_unref()); a snapshot swapped out meanwhile lives until its last
 * reader lets go, so every request sees one consistent set.
 *
 * Threads: users_current(), users_ref(), users_unref(), users_lookup() and
 * users_auth_lookup() from any thread at any time, lock-free. users_new()
 * from any thread. users_publish() from one thread at a time (the store's
 * callback or the control thread); it may wait briefly (a few
 * instructions of each reader inside users_current()), never for a lookup.
 */
struct users;

/* One subscriber; read-only, valid while the snapshot is referenced. */
struct users_entry {
	struct auth_cred cred; /* user, domain, HA1s: for auth_verify() */
	struct slice user;     /* as stored, case kept */
	struct slice domain;   /* lower case */
	struct slice display;  /* may be empty */
	struct slice caller_id;
	uint32_t max_bindings; /* 0 = the registrar's default */
};

/*
 * Build a snapshot from n store rows (u may be NULL when n is 0); the rows
 * are copied and may be freed after the call. Strings are read up to their
 * NUL within the store's fixed fields; an HA1 that is not hex of its
 * algorithm's length is left empty (that algorithm then fails like an
 * unknown user). Rows with an empty user or domain are skipped; of rows
 * with the same (user, domain), the first is kept. Returns 0 and sets *out
 * (one reference, the caller's), or -ENOMEM.
 */
int users_new(const struct store_user *u, size_t n, struct users **out);

/* Take another reference; returns s. Accepts NULL. */
struct users *users_ref(struct users *s);
/* Drop a reference, freeing on the last; returns NULL. Accepts NULL. */
struct users *users_unref(struct users *s);

/* Subscribers held (after skipping duplicates and empty rows). */
size_t users_count(const struct users *s);

/* The entry for (user, domain), or NULL. s may be NULL (no users). */
const struct users_entry *users_lookup(const struct users *s, struct slice user,
				       struct slice domain);

/*
 * users_lookup() shaped as an auth_lookup_cb: snapshot is a struct users
 * (may be NULL). Returns &entry->cred, so a caller can get the entry back
 * with users_entry_of().
 */
const struct auth_cred *users_auth_lookup(void *snapshot, struct slice user,
					  struct slice domain);

/* The entry holding cred (cred from users_auth_lookup(), not NULL). */
static inline const struct users_entry *
users_entry_of(const struct auth_cred *cred)
{
	return (const struct users_entry *)(const void *)cred;
}

/*
 * The current snapshot with a reference for the caller (users_unref() it
 * when the request is done), or NULL when none was published.
 */
struct users *users_current(void);

/* Whether "user@domain" is a subscriber in the current snapshot. Any
 * thread. */
bool users_aor_exists(struct slice aor);

/*
 * Make s the current snapshot. Takes over the caller's reference to s (s
 * may be NULL: at exit, to release the last one). The previous snapshot is
 * unreferenced once no users_current() call can still be taking a
 * reference to it; readers that hold it keep it alive.
 */
void users_publish(struct users *s);

#endif
