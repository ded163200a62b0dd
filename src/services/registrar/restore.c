/* Start-up restore: persisted bindings back into the location service. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "services/registrar/registrar_int.h"

#define LOG_MODULE "registrar"

enum {
	REG_RESTORE_ESC = 96 /* bytes of an escaped AOR in a log line */
};

/* A NUL-padded store field as a slice (never past its array). */
static struct slice field(const char *text, size_t cap)
{
	return slice_make(text, strnlen(text, cap));
}

/* "192.0.2.1:5060" or "[2001:db8::1]:5060" into an address. */
static int source_parse(struct slice s, struct sip_addr *out)
{
	size_t colon = s.len;
	uint32_t port;

	while (colon > 0 && s.p[colon - 1] != ':')
		colon--;
	if (colon < 2 ||
	    slice_to_u32(slice_make(s.p + colon, s.len - colon), &port) != 0 ||
	    port == 0 || port > UINT16_MAX ||
	    reg_host_addr(slice_make(s.p, colon - 1), out) != 0)
		return -EINVAL;
	if (out->sa.sa_family == AF_INET6) {
		if (s.p[0] != '[')
			return -EINVAL; /* "::1:5060" is ambiguous */
		out->in6.sin6_port = htons((uint16_t)port);
	} else {
		out->in.sin_port = htons((uint16_t)port);
	}
	return 0;
}

/* Returns 1 when restored, 0 when already expired, or a negative errno. */
static int restore_one(struct registrar *r, const struct store_binding *sb,
		       const struct location_time *now)
{
	const struct sb_limits lim = sb_limits_default();
	int64_t left = sb->expires_at - now->unix_s;
	struct location_binding b;
	struct sip_uri uri;
	int err;

	if (left <= 0)
		return 0;
	if (left > r->o.max_expires_s)
		left = r->o.max_expires_s;
	memset(&b, 0, sizeof(b));
	b.aor = field(sb->aor, sizeof(sb->aor));
	b.contact = field(sb->contact, sizeof(sb->contact));
	b.path = field(sb->path, sizeof(sb->path));
	b.call_id = field(sb->call_id, sizeof(sb->call_id));
	b.user_agent = field(sb->user_agent, sizeof(sb->user_agent));
	b.instance = field(sb->instance, sizeof(sb->instance));
	b.cseq = sb->cseq;
	b.reg_id = b.instance.len ? sb->reg_id : 0;
	/* A contact without q is persisted as 1000 and comes back unset. */
	b.q_milli = sb->q_milli >= 1000 ? LOCATION_Q_UNSET : sb->q_milli;
	b.expires_ms = now->mono_ms + (uint64_t)left * 1000;
	b.expires_unix = now->unix_s + left;
	if (sip_transport_from(field(sb->transport, sizeof(sb->transport)),
			       &b.flow.tp) != 0 ||
	    source_parse(field(sb->source, sizeof(sb->source)),
			 &b.flow.remote) != 0 ||
	    sip_uri_parse(b.contact, &uri, &lim) != 0)
		return -EINVAL;
	/* The connection died with the old process; the listener did not. */
	b.flow.listener =
	    tp_listener_find(b.flow.tp, b.flow.remote.sa.sa_family);
	b.is_nated =
	    b.path.len == 0 && registrar_contact_is_nated(&uri, &b.flow);
	err = location_restore(r->loc, &b, LOCATION_BINDINGS_CEILING);
	return err ? err : 1;
}

ssize_t registrar_restore(struct registrar *r, const struct store_binding *b,
			  size_t n, const struct location_time *now)
{
	struct location_time clock;
	char esc[REG_RESTORE_ESC];
	size_t restored = 0, expired = 0, bad = 0;

	if (!now) {
		reg_now(r, &clock);
		now = &clock;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = restore_one(r, &b[i], now);
		if (rc > 0) {
			restored++;
		} else if (rc == 0) {
			expired++;
		} else {
			if (bad++ == 0)
				log_warn(
				    "restore_skipped", "aor=%s err=%d",
				    log_esc(field(b[i].aor, sizeof(b[i].aor)),
					    esc, sizeof(esc)),
				    rc);
		}
	}
	reg_count(&r->restored, (int64_t)restored);
	log_info("restored", "bindings=%zu expired=%zu skipped=%zu", restored,
		 expired, bad);
	return (ssize_t)restored;
}
