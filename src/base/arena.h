/* Arena: bump allocation for one message's lifetime, freed in one call. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_BASE_ARENA_H
#define SB_BASE_ARENA_H

#include <stddef.h>

struct arena_chunk;
struct arena_cleanup;

/*
 * Storage is the caller's (stack or a worker's buffer); arena_init() uses the
 * optional first block, then allocates chunks with sb_malloc. max_bytes caps
 * the total an arena may hand out (0 = no cap), so a hostile message cannot
 * make the parser grow memory without limit. Single-threaded: one owner.
 */
struct arena {
	char *first;		     /* caller's first block, may be NULL */
	size_t first_cap;	     /* bytes */
	size_t first_used;	     /* bytes */
	struct arena_chunk *chunks;  /* overflow chunks, newest first */
	struct arena_cleanup *clean; /* run in reverse order at reset/close */
	size_t total;		     /* bytes handed out */
	size_t max_bytes;	     /* cap on total, 0 = none */
};

void arena_init(struct arena *a, void *first, size_t first_cap,
		size_t max_bytes);
/* Free chunks and run cleanups; the arena stays usable. */
void arena_reset(struct arena *a);
/* Free everything; the arena must be initialised again before reuse. */
void arena_close(struct arena *a);

/* 8-byte aligned memory, or NULL when out of memory or over max_bytes. */
void *arena_alloc(struct arena *a, size_t size);
void *arena_zalloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
/* Register fn(arg) to run at reset/close. Returns 0 or -ENOMEM. */
int arena_cleanup_add(struct arena *a, void (*fn)(void *), void *arg);

#endif
