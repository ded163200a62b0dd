/* libFuzzer target: DNS answers, the TTL walk and the record decoders. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/resolve/resolve_int.h"

static void check_name(const char *name, bool may_be_root)
{
	char tmp[RESOLVE_NAME_MAX + 1];
	int len = resolve_name_norm(slice_cstr(name), tmp);

	/* Stored names are normal already: norm is the identity on them. */
	if (len < 0 || (len == 0 && !may_be_root) || strcmp(tmp, name) != 0)
		abort();
}

static void check(const struct rrset *s, uint16_t type)
{
	if (s->type != type || s->n > RESOLVE_RECORDS_MAX)
		abort();
	if (s->status != 0 && (s->status != -ENOENT || s->n != 0))
		abort();
	for (size_t i = 0; i < s->n; i++) {
		if (type == DNS_TYPE_SRV)
			check_name(s->rr.srv[i].target, true);
		if (type == DNS_TYPE_NAPTR) {
			check_name(s->rr.naptr[i].replacement, false);
			if ((unsigned)s->rr.naptr[i].tp >= SIP_TP__COUNT)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_AAAA,
					 DNS_TYPE_SRV, DNS_TYPE_NAPTR};
	struct resolve_cache c;
	uint8_t *copy = malloc(size ? size : 1);

	/* An exact-size copy, so any overread is seen. */
	memcpy(copy, data, size);
	if (resolve_cache_init(&c, 2) != 0)
		abort();
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct rrset *s = NULL, *hit;
		uint32_t ttl = 0;
		int err = resolve_answer_ttl(copy, size, types[i], &ttl);

		if (err == 0 && ttl > INT32_MAX)
			abort();
		if (resolve_answer_decode("fuzz.example", types[i], copy, size,
					  &s, &ttl) != 0)
			continue;
		check(s, types[i]);
		s->expires_ms = 1 + ttl;
		resolve_cache_put(&c, s);
		hit = resolve_cache_get(&c, "fuzz.example", types[i], 0);
		if (hit != s)
			abort();
		resolve_rrset_unref(hit);
		resolve_rrset_unref(s);
	}
	resolve_cache_close(&c);
	free(copy);
	return 0;
}
