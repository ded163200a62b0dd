/* Process-wide allocation wrappers with live counts and an OOM test knob. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_BASE_MEM_H
#define SB_BASE_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Long-lived object kinds whose live count is exported and checked by tests. */
enum sb_live {
	SB_LIVE_ALLOC,	 /* blocks from sb_malloc not yet freed */
	SB_LIVE_ARENA,	 /* open arenas */
	SB_LIVE_CONFIG,	 /* config snapshots */
	SB_LIVE_TXN,	 /* SIP transactions */
	SB_LIVE_INMSG,	 /* received messages (struct sip_inmsg) */
	SB_LIVE_CONN,	 /* stream connections (struct tp_conn) */
	SB_LIVE_AUTH,	 /* digest auth and nonce contexts */
	SB_LIVE_USERS,	 /* credential snapshots (struct users) */
	SB_LIVE_BAN,	 /* failure counter and ban tables (struct ban) */
	SB_LIVE_BINDING, /* registered contacts in the location service */
	SB_LIVE_PROXY,	 /* proxied requests in progress (forks) */
	SB_LIVE__COUNT
};

/*
 * malloc/calloc/realloc/free that count live blocks. They may be called from
 * any thread. When the OOM knob is armed they fail (return NULL) once the
 * given number of further allocations has been made.
 */
void *sb_malloc(size_t size);
void *sb_calloc(size_t n, size_t size);
void *sb_realloc(void *p, size_t size);
void sb_free(void *p);
char *sb_strndup(const char *s, size_t len);

/* Short name of a kind for logs and metrics ("txn"). */
const char *sb_live_name(enum sb_live kind);
void sb_live_inc(enum sb_live kind);
void sb_live_dec(enum sb_live kind);
int64_t sb_live_get(enum sb_live kind);

/* OOM knob for tests: fail the allocation after n more succeed; -1 disarms. */
void sb_mem_fail_after(int64_t n);

#endif
