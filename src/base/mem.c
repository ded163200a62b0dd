/* Counting allocation wrappers and the OOM knob used by the OOM tests. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "base/mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int64_t live[SB_LIVE__COUNT];
static _Atomic int64_t fail_after = -1;

static int should_fail(void)
{
	int64_t n = atomic_load_explicit(&fail_after, memory_order_relaxed);

	if (n < 0)
		return 0;
	if (n == 0)
		return 1;
	atomic_fetch_sub_explicit(&fail_after, 1, memory_order_relaxed);
	return 0;
}

void *sb_malloc(size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = malloc(size ? size : 1);
	if (p)
		sb_live_inc(SB_LIVE_ALLOC);
	return p;
}

void *sb_calloc(size_t n, size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = calloc(n ? n : 1, size ? size : 1);
	if (p)
		sb_live_inc(SB_LIVE_ALLOC);
	return p;
}

void *sb_realloc(void *p, size_t size)
{
	void *q;

	if (!p)
		return sb_malloc(size);
	if (should_fail())
		return NULL;
	q = realloc(p, size ? size : 1);
	return q;
}

void sb_free(void *p)
{
	if (!p)
		return;
	sb_live_dec(SB_LIVE_ALLOC);
	free(p);
}

char *sb_strndup(const char *s, size_t len)
{
	char *d = sb_malloc(len + 1);

	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static const char *const live_names[SB_LIVE__COUNT] = {
    [SB_LIVE_ALLOC] = "alloc",	 [SB_LIVE_ARENA] = "arena",
    [SB_LIVE_CONFIG] = "config", [SB_LIVE_TXN] = "txn",
    [SB_LIVE_INMSG] = "inmsg",	 [SB_LIVE_CONN] = "conn",
    [SB_LIVE_AUTH] = "auth",	 [SB_LIVE_USERS] = "users",
    [SB_LIVE_BAN] = "ban",	 [SB_LIVE_BINDING] = "binding",
    [SB_LIVE_PROXY] = "proxy",
};

const char *sb_live_name(enum sb_live kind)
{
	if ((unsigned)kind >= SB_LIVE__COUNT || !live_names[kind])
		return "unknown";
	return live_names[kind];
}

void sb_live_inc(enum sb_live kind)
{
	atomic_fetch_add_explicit(&live[kind], 1, memory_order_relaxed);
}

void sb_live_dec(enum sb_live kind)
{
	atomic_fetch_sub_explicit(&live[kind], 1, memory_order_relaxed);
}

int64_t sb_live_get(enum sb_live kind)
{
	return atomic_load_explicit(&live[kind], memory_order_relaxed);
}

void sb_mem_fail_after(int64_t n)
{
	atomic_store(&fail_after, n);
}
