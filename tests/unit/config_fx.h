/* Shared cmocka fixture for tests that load config snapshots. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_TESTS_UNIT_CONFIG_FX_H
#define SB_TESTS_UNIT_CONFIG_FX_H

/* Include after <cmocka.h> (and its prerequisites). */
#include <errno.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/config.h"

/* The snapshot under test, the last error, and the live counts at setup. */
struct fx {
	int64_t live_alloc, live_config;
	struct config_err err;
	struct config *cfg;
};

static inline int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_config = sb_live_get(SB_LIVE_CONFIG);
	*state = &f;
	return 0;
}

/* Drops the snapshot and checks the live counts are back at setup's. */
static inline int teardown(void **state)
{
	struct fx *f = *state;

	f->cfg = config_unref(f->cfg);
	assert_int_equal(sb_live_get(SB_LIVE_CONFIG), f->live_config);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

/* Load text as the file "test.yaml" with overrides ov (may be NULL). */
static inline int load_ov(struct fx *f, const char *text,
			  const struct config_overrides *ov)
{
	return config_load_string("test.yaml", text, strlen(text), ov, &f->cfg,
				  &f->err);
}

static inline int load(struct fx *f, const char *text)
{
	return load_ov(f, text, NULL);
}

/* The load fails with -EINVAL and the message contains want. */
static inline void assert_fails(struct fx *f, const char *text,
				const char *want)
{
	int rc = load(f, text);

	if (rc != -EINVAL || !strstr(f->err.msg, want))
		fail_msg("rc=%d error \"%s\" does not contain \"%s\"", rc,
			 f->err.msg, want);
	assert_null(f->cfg);
}

#endif
