/* Listeners of every transport: names, the registry, TCP/TLS addresses. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/transport/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/mem.h"
#include "sip/transport/stream.h"

/* Every listener, for flows that name none; start-up and exit only. */
static struct tp_listener *all[TP_LISTENERS_MAX];
static unsigned all_count;

void tp_listener_names(struct tp_listener *l, const char *advertise,
		       uint16_t advertise_port)
{
	char ip[INET6_ADDRSTRLEN];
	bool is_v6 = l->addr.sa.sa_family == AF_INET6;

	sip_addr_ip(&l->addr, ip, sizeof(ip));
	snprintf(l->name, sizeof(l->name), is_v6 ? "[%s]:%u" : "%s:%u", ip,
		 sip_addr_port(&l->addr));
	if (advertise && advertise[0])
		snprintf(l->host, sizeof(l->host), "%s", advertise);
	else
		snprintf(l->host, sizeof(l->host), is_v6 ? "[%s]" : "%s", ip);
	l->port = advertise_port ? advertise_port : sip_addr_port(&l->addr);
}

int tp_listener_register(struct tp_listener *l)
{
	if (all_count == TP_LISTENERS_MAX)
		return -EINVAL;
	all[all_count++] = l;
	return 0;
}

struct tp_listener *tp_listener_find(enum sip_transport tp, int family)
{
	for (unsigned i = 0; i < all_count; i++)
		if (all[i]->tp == tp && all[i]->addr.sa.sa_family == family)
			return all[i];
	return NULL;
}

struct tp_listener *tp_listener_free(struct tp_listener *l)
{
	if (!l)
		return NULL;
	for (unsigned i = 0; i < all_count; i++) {
		if (all[i] != l)
			continue;
		all[i] = all[--all_count];
		break;
	}
	if (l->tp == SIP_TP_UDP)
		tp_udp_listener_close(l);
	if (l->guard_fd >= 0)
		close(l->guard_fd);
	sb_free(l);
	return NULL;
}

int tp_stream_listener_new(const struct tp_stream_listener_opts *o,
			   struct tp_listener **out)
{
	struct tp_listener *l;
	socklen_t len;
	int err;

	if ((o->tp != SIP_TP_TCP && o->tp != SIP_TP_TLS) ||
	    (o->bind.sa.sa_family != AF_INET &&
	     o->bind.sa.sa_family != AF_INET6))
		return -EINVAL;
	l = sb_calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->tp = o->tp;
	l->guard_fd = -1;
	l->addr = o->bind;
	l->addr.len = o->bind.sa.sa_family == AF_INET6 ? sizeof(l->addr.in6)
						       : sizeof(l->addr.in);
	len = l->addr.len;
	err = tp_tcp_socket_bind(&l->addr, &l->guard_fd);
	/* Port 0: the workers listen on the port the kernel picked. */
	if (!err && getsockname(l->guard_fd, &l->addr.sa, &len) != 0)
		err = -errno;
	if (!err)
		err = tp_listener_register(l);
	if (err) {
		tp_listener_free(l);
		return err;
	}
	tp_listener_names(l, o->advertise, o->advertise_port);
	*out = l;
	return 0;
}

enum sip_transport tp_listener_transport(const struct tp_listener *l)
{
	return l->tp;
}

const struct sip_addr *tp_listener_addr(const struct tp_listener *l)
{
	return &l->addr;
}

struct slice tp_listener_host(const struct tp_listener *l)
{
	return slice_cstr(l->host);
}

uint16_t tp_listener_port(const struct tp_listener *l)
{
	return l->port;
}

const char *tp_listener_name(const struct tp_listener *l)
{
	return l->name;
}
