/* libFuzzer target for the URI parser (sip/msg/uri.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "sip/msg/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"transport",     "lr", "user", "maddr",
				    "phone-context", "x"};

/* Everything a parsed URI's slices may be read as must stay in bounds. */
static void exercise(const struct sip_uri *u)
{
	struct sip_uri v = *u;
	struct slice val;
	char out[512];
	int n;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (sip_uri_param(u, names[i], &val) == 0 && val.p &&
		    (val.p < u->raw.p ||
		     val.p + val.len > u->raw.p + u->raw.len))
			abort();
	if (!sip_uri_eq(u, &v))
		abort();
	/* Every component that parsing accepted holds only valid escapes. */
	n = sip_uri_unescape(u->user, out, sizeof(out));
	if (n == -EBADMSG)
		abort();
	n = sip_uri_unescape(u->params, out, sizeof(out));
	if (n == -EBADMSG)
		abort();
	n = sip_uri_unescape(u->headers, out, sizeof(out));
	if (n == -EBADMSG || (n >= 0 && (size_t)n > u->headers.len))
		abort();
	if (u->has_port && u->host_type == SIP_HOST_NONE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_limits lim = sb_limits_default();
	struct sip_uri u, half;
	char *copy = malloc(size ? size : 1);
	size_t cut;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (sip_uri_parse(slice_make(copy, size), &u, &lim) == 0) {
		exercise(&u);
		/* Compare with a prefix too: both orders must agree. */
		cut = size / 2;
		if (sip_uri_parse(slice_make(copy, cut), &half, &lim) == 0 &&
		    sip_uri_eq(&u, &half) != sip_uri_eq(&half, &u))
			abort();
	}
	free(copy);
	return 0;
}
