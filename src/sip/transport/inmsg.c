/* Transport-neutral helpers: inbound messages, flows, names and addresses. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/transport/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "base/mem.h"

/*
 * Bytes of arena placed after the data in the same allocation: enough for
 * the header table and the eagerly parsed values of a typical request, so
 * parsing one needs no further allocation.
 */
enum { INMSG_ARENA_FIRST = 3072 };

static const char *const tp_names[SIP_TP__COUNT] = {"UDP", "TCP", "TLS"};

struct sip_inmsg *sip_inmsg_new(size_t len)
{
	struct sb_limits lim = sb_limits_default();
	size_t head = offsetof(struct sip_inmsg, data);
	struct sip_inmsg *im;

	if (len > UINT32_MAX || len > SIZE_MAX - head - INMSG_ARENA_FIRST)
		return NULL;
	im = sb_malloc(head + len + INMSG_ARENA_FIRST);
	if (!im)
		return NULL;
	memset(im, 0, head);
	im->len = (uint32_t)len;
	arena_init(&im->arena, im->data + len, INMSG_ARENA_FIRST,
		   lim.max_arena_bytes);
	sb_live_inc(SB_LIVE_INMSG);
	return im;
}

struct sip_inmsg *sip_inmsg_free(struct sip_inmsg *im)
{
	if (!im)
		return NULL;
	arena_close(&im->arena);
	tp_flow_clear(&im->flow);
	sb_free(im);
	sb_live_dec(SB_LIVE_INMSG);
	return NULL;
}

/*
 * Connections are counted by the stream transport. Until it is linked in,
 * these stand-ins keep flows working for UDP and for tests.
 */
__attribute__((weak)) struct tp_conn *tp_conn_ref(struct tp_conn *c)
{
	return c;
}

__attribute__((weak)) struct tp_conn *tp_conn_unref(struct tp_conn *c)
{
	return NULL;
}

void tp_flow_copy(struct sip_flow *dst, const struct sip_flow *src)
{
	*dst = *src;
	if (dst->conn)
		dst->conn = tp_conn_ref(dst->conn);
}

void tp_flow_clear(struct sip_flow *f)
{
	if (f->conn)
		f->conn = tp_conn_unref(f->conn);
	f->conn = NULL;
}

struct slice sip_transport_name(enum sip_transport tp)
{
	if ((unsigned)tp >= SIP_TP__COUNT)
		return slice_make(NULL, 0);
	return slice_cstr(tp_names[tp]);
}

int sip_transport_from(struct slice name, enum sip_transport *out)
{
	for (int i = 0; i < SIP_TP__COUNT; i++) {
		if (slice_caseeq_lit(name, tp_names[i])) {
			*out = (enum sip_transport)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool sip_transport_is_reliable(enum sip_transport tp)
{
	return tp != SIP_TP_UDP;
}

const char *sip_addr_ip(const struct sip_addr *a, char *buf, size_t cap)
{
	const void *src = NULL;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	if (a->sa.sa_family == AF_INET)
		src = &a->in.sin_addr;
	else if (a->sa.sa_family == AF_INET6)
		src = &a->in6.sin6_addr;
	if (src && !inet_ntop(a->sa.sa_family, src, buf, (socklen_t)cap))
		buf[0] = '\0';
	return buf;
}

uint16_t sip_addr_port(const struct sip_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->in.sin_port);
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	return 0;
}

bool sip_addr_eq(const struct sip_addr *a, const struct sip_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
		       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr,
			      sizeof(a->in6.sin6_addr)) == 0;
	return a->len == b->len;
}

const char *sip_addr_text(const struct sip_addr *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	sip_addr_ip(a, ip, sizeof(ip));
	snprintf(out, cap, a->sa.sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		 ip, sip_addr_port(a));
	return out;
}

int sip_addr_from_host(struct slice host, uint16_t port, struct sip_addr *out)
{
	char text[INET6_ADDRSTRLEN + 1];

	if (host.len >= 2 && host.p[0] == '[' && host.p[host.len - 1] == ']')
		host = slice_make(host.p + 1, host.len - 2);
	if (host.len == 0 || host.len >= sizeof(text))
		return -EINVAL;
	memcpy(text, host.p, host.len);
	text[host.len] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, &out->in.sin_addr) == 1) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons(port);
		out->len = sizeof(out->in);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &out->in6.sin6_addr) == 1) {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		out->len = sizeof(out->in6);
		return 0;
	}
	return -EINVAL;
}

bool sip_addr_ip_eq(const struct sip_addr *a, const struct sockaddr *b)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (a->sa.sa_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
		return b4->sin_addr.s_addr != htonl(INADDR_ANY) &&
		       a->in.sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	if (b->sa_family == AF_INET6) {
		const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;
		return memcmp(&b6->sin6_addr, &any6, sizeof(any6)) != 0 &&
		       memcmp(&a->in6.sin6_addr, &b6->sin6_addr,
			      sizeof(any6)) == 0;
	}
	return false;
}
