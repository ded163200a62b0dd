/* libFuzzer target: the SIP message parser and every lazy value parser. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "sip/msg/build.h"
#include "sip/msg/msg.h"
#include "sip/msg/patch.h"

static void exercise(struct sip_msg *m)
{
	const struct sip_nameaddr *na;
	const struct sip_ctype *ct;
	const struct sip_auth *au;
	const struct sip_token *tok;
	const struct sip_part *parts;
	struct sip_patchset ps;
	struct buf out;
	uint32_t v;

	sip_msg_contacts(m, &na);
	sip_msg_routes(m, &na);
	sip_msg_record_routes(m, &na);
	sip_msg_nameaddrs(m, SIP_HDR_PATH, &na);
	sip_msg_max_forwards(m, &v);
	sip_msg_expires(m, &v);
	sip_msg_content_type(m, &ct);
	sip_msg_auth(m, SIP_HDR_AUTHORIZATION, &au);
	sip_msg_auth(m, SIP_HDR_PROXY_AUTHENTICATE, &au);
	sip_msg_tokens(m, SIP_HDR_SUPPORTED, &tok);
	sip_msg_tokens(m, SIP_HDR_REQUIRE, &tok);
	sip_msg_multipart(m, &parts);
	sip_msg_hdr_find(m, SL("X-Unknown"));

	/* Editing and printing must work on anything that parsed. */
	buf_init(&out, 0);
	sip_patchset_init(&ps, m, m->arena, NULL);
	sip_patch_hdr_prepend(&ps, SL("Via"),
			      SL("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKfuzz"));
	if (m->via && m->via->next)
		sip_patch_via_remove_top(&ps);
	sip_patch_hdr_append(&ps, SL("Record-Route"), SL("<sip:127.0.0.1;lr>"));
	if (m->is_request)
		sip_patch_ruri_set(&ps, SL("sip:x@127.0.0.1"));
	sip_msg_print(&ps, &out);
	buf_close(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_limits lim = sb_limits_default();
	struct sip_reply_opts ro = {.status = 400, .to_tag = SL("fz")};
	struct sip_perr perr;
	struct sip_msg m;
	struct arena a;
	struct buf out;
	char *copy = malloc(size ? size : 1);
	int err;

	memcpy(copy, data, size);
	arena_init(&a, NULL, 0, lim.max_arena_bytes);
	err = sip_msg_parse(&m, &a, copy, size, SIP_FRAMING_DATAGRAM, &lim,
			    &perr);
	if (err == 0) {
		exercise(&m);
	} else if (m.is_request && m.hdrs && perr.status) {
		if (perr.status < 400 || !perr.reason)
			abort();
		buf_init(&out, 0);
		ro.status = perr.status;
		ro.reason = slice_cstr(perr.reason);
		sip_reply_build(&out, &m, &ro);
		buf_close(&out);
	}
	arena_close(&a);
	free(copy);
	return 0;
}
