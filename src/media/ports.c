/* The RTP port range, shared by every worker's relay: even/odd pairs. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/mem.h"
#include "media/media_int.h"

enum {
	BIND_TRIES = 64, /* pairs tried (taken by another program) */
	TOS_EF = 0xb8	 /* DSCP 46, expedited forwarding (RFC 3246) */
};

struct media_ports {
	pthread_mutex_t lock;
	uint16_t min;	 /* even */
	uint32_t npairs; /* pairs in the range */
	uint32_t next;	 /* round robin: a freed pair is reused last */
	uint8_t *busy;	 /* one byte per pair */
	atomic_uint used;
};

int media_ports_new(uint16_t min, uint16_t max, struct media_ports **out)
{
	struct media_ports *p;

	*out = NULL;
	if (min & 1)
		min++;
	if (min == 0 || max < min + 1)
		return -EINVAL;
	p = sb_calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->min = min;
	p->npairs = ((uint32_t)max - min + 1) / 2;
	p->busy = sb_calloc(p->npairs, 1);
	if (!p->busy) {
		sb_free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

struct media_ports *media_ports_free(struct media_ports *p)
{
	if (!p)
		return NULL;
	pthread_mutex_destroy(&p->lock);
	sb_free(p->busy);
	sb_free(p);
	return NULL;
}

uint32_t media_ports_used(const struct media_ports *p)
{
	return atomic_load_explicit(&p->used, memory_order_relaxed);
}

/* Take the next free pair after the cursor; -1 when all are busy. */
static int64_t take(struct media_ports *p)
{
	int64_t got = -1;

	pthread_mutex_lock(&p->lock);
	for (uint32_t n = 0; n < p->npairs; n++) {
		uint32_t i = (p->next + n) % p->npairs;

		if (!p->busy[i]) {
			p->busy[i] = 1;
			p->next = (i + 1) % p->npairs;
			got = i;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (got >= 0)
		atomic_fetch_add_explicit(&p->used, 1, memory_order_relaxed);
	return got;
}

static void give(struct media_ports *p, uint32_t i)
{
	pthread_mutex_lock(&p->lock);
	p->busy[i] = 0;
	pthread_mutex_unlock(&p->lock);
	atomic_fetch_sub_explicit(&p->used, 1, memory_order_relaxed);
}

static int bind_one(const struct sockaddr_storage *addr, uint16_t port)
{
	struct sockaddr_storage sa = *addr;
	socklen_t len;
	int fd, on = 1, tos = TOS_EF;

	fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;

		s6->sin6_port = htons(port);
		len = sizeof(*s6);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;

		s4->sin_port = htons(port);
		len = sizeof(*s4);
		setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	}
	if (bind(fd, (struct sockaddr *)&sa, len) != 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int media_ports_open(struct media_ports *p, const struct sockaddr_storage *addr,
		     int fds[2], uint16_t *port)
{
	for (int t = 0; t < BIND_TRIES; t++) {
		int64_t i = take(p);
		uint16_t even;

		if (i < 0)
			return -EADDRNOTAVAIL;
		even = (uint16_t)(p->min + 2 * i);
		fds[0] = bind_one(addr, even);
		if (fds[0] >= 0) {
			fds[1] = bind_one(addr, (uint16_t)(even + 1));
			if (fds[1] >= 0) {
				*port = even;
				return 0;
			}
			close(fds[0]);
		}
		/* Another program holds one: the cursor has moved on. */
		give(p, (uint32_t)i);
	}
	return -EADDRNOTAVAIL;
}

void media_ports_close(struct media_ports *p, uint16_t port)
{
	if (port >= p->min && (uint32_t)(port - p->min) / 2 < p->npairs)
		give(p, (uint32_t)(port - p->min) / 2);
}
