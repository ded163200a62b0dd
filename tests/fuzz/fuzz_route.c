/* libFuzzer target: the proxy's route handling of a received request:
 * loop hash, own-Route removal (RFC 3261 16.4), flow tokens, printing. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "runtime/config.h"
#include "services/proxy/proxy_int.h"

static struct config *cfg;

static void load_config(void)
{
	static const char text[] = "listen: [udp:127.0.0.1:5060, "
				   "tcp:127.0.0.1:5060]\n"
				   "domains: [example.com]\n";
	struct config_err err;

	if (config_load_string("fuzz.yaml", text, sizeof(text) - 1, NULL, &cfg,
			       &err) != 0)
		abort();
}

static void exercise(struct sip_msg *m)
{
	const struct sip_nameaddr *next, *self;
	const struct sip_uri *ruri;
	char loop[PROXY_LOOP_HEX];
	struct sip_patchset ps;
	struct sip_flow src, out_flow;
	struct buf out;
	bool had_self;

	proxy_loop_hash(m, loop);
	(void)proxy_is_loop(cfg, m, loop);
	(void)proxy_uri_is_local(cfg, &m->ruri);
	sip_patchset_init(&ps, m, m->arena, NULL);
	if (proxy_routes(cfg, m, &ps, &ruri, &next, &had_self) == 0) {
		buf_init(&out, 0);
		if (sip_msg_print(&ps, &out) != 0 && out.len > 0)
			abort();
		buf_close(&out);
	}
	self = proxy_self_route(cfg, m);
	memset(&src, 0, sizeof(src));
	src.tp = SIP_TP_UDP;
	proxy_host_addr(SL("127.0.0.9"), 5070, &src.remote);
	if (self)
		(void)proxy_route_flow(self, &src, &out_flow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_limits lim = sb_limits_default();
	struct sip_perr perr;
	struct sip_msg m;
	struct arena a;
	char *copy = malloc(size ? size : 1);

	if (!cfg)
		load_config();
	memcpy(copy, data, size);
	arena_init(&a, NULL, 0, lim.max_arena_bytes);
	if (sip_msg_parse(&m, &a, copy, size, SIP_FRAMING_DATAGRAM, &lim,
			  &perr) == 0 &&
	    m.is_request)
		exercise(&m);
	arena_close(&a);
	free(copy);
	return 0;
}
