/* Unit tests for the RFC 3263 resolver, against a real dnsmasq on loopback. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/limits.h"
#include "base/log.h"
#include "base/mem.h"
#include "sip/msg/uri.h"
#include "sip/resolve/resolve.h"
#include "sip/resolve/resolve_int.h"

enum {
	WAIT_MS = 5000,	      /* longest wait for one callback */
	DNS_TIMEOUT_MS = 200, /* per try, in the timeout tests */
	DNS_TRIES = 2,
	WEIGHT_ROUNDS = 400,
	START_TRIES = 5 /* ports tried for dnsmasq */
};

static const char dnsmasq_path[] = "/usr/sbin/dnsmasq";

/* The zone every test asks: example.test, answered by dnsmasq alone. */
static const char *const records[] = {
    "--host-record=a.example.test,127.0.0.2",
    "--host-record=dual.example.test,127.0.0.4,::1",
    "--host-record=short.example.test,127.0.0.3,1",
    "--host-record=dangling.example.test,127.0.0.5",
    "--host-record=dot.example.test,127.0.0.6",
    "--host-record=p0.example.test,127.0.0.10",
    "--host-record=p1.example.test,127.0.0.11",
    "--host-record=p2.example.test,127.0.0.12",
    "--host-record=w1.example.test,127.0.0.21",
    "--host-record=w2.example.test,127.0.0.22",
    "--host-record=t1.example.test,127.0.0.31",
    "--host-record=t2.example.test,127.0.0.32",
    "--host-record=t3.example.test,127.0.0.33",
    "--host-record=t4.example.test,127.0.0.34",
    /* priorities listed out of order */
    "--srv-host=_sip._udp.prio.example.test,p1.example.test,5071,20,0",
    "--srv-host=_sip._udp.prio.example.test,p2.example.test,5072,30,0",
    "--srv-host=_sip._udp.prio.example.test,p0.example.test,5070,10,0",
    "--srv-host=_sip._udp.wt.example.test,w1.example.test,5060,10,90",
    "--srv-host=_sip._udp.wt.example.test,w2.example.test,5060,10,10",
    "--srv-host=_sip._udp.dot.example.test", /* target "." */
    /* NAPTR: two to skip, three to sort by order then preference */
    "--naptr-record=naptr.example.test,20,10,s,SIP+D2U,,"
    "_sip._udp.naptr.example.test",
    "--naptr-record=naptr.example.test,10,20,s,SIP+D2T,,"
    "_sip._tcp.naptr.example.test",
    "--naptr-record=naptr.example.test,10,10,s,SIPS+D2T,,"
    "_sips._tcp.naptr.example.test",
    "--naptr-record=naptr.example.test,5,10,u,E2U+sip,!^.*$!sip:x@y!",
    "--naptr-record=naptr.example.test,5,10,s,SIP+D2S,,"
    "_sip._sctp.naptr.example.test",
    "--srv-host=_sips._tcp.naptr.example.test,t1.example.test,5061,10,0",
    "--srv-host=_sip._tcp.naptr.example.test,t2.example.test,5062,10,0",
    "--srv-host=_sip._udp.naptr.example.test,t3.example.test,5063,10,0",
    /* SRV without NAPTR */
    "--srv-host=_sip._udp.srvonly.example.test,t3.example.test,5064,10,0",
    "--srv-host=_sip._tcp.srvonly.example.test,t4.example.test,5065,10,0",
    "--srv-host=_sips._tcp.srvonly.example.test,t1.example.test,5066,10,0",
    /* 30 records: more than 512 bytes, so c-ares asks again over TCP */
    "--srv-host=_sip._udp.big.example.test,t1.example.test,6000,0,0",
    "--srv-host=_sip._udp.big.example.test,t2.example.test,6001,1,0",
    "--srv-host=_sip._udp.big.example.test,t3.example.test,6002,2,0",
    "--srv-host=_sip._udp.big.example.test,t4.example.test,6003,3,0",
    "--srv-host=_sip._udp.big.example.test,t1.example.test,6004,4,0",
    "--srv-host=_sip._udp.big.example.test,t2.example.test,6005,5,0",
    "--srv-host=_sip._udp.big.example.test,t3.example.test,6006,6,0",
    "--srv-host=_sip._udp.big.example.test,t4.example.test,6007,7,0",
    "--srv-host=_sip._udp.big.example.test,t1.example.test,6008,8,0",
    "--srv-host=_sip._udp.big.example.test,t2.example.test,6009,9,0",
    "--srv-host=_sip._udp.big.example.test,t3.example.test,6010,10,0",
    "--srv-host=_sip._udp.big.example.test,t4.example.test,6011,11,0",
    "--srv-host=_sip._udp.big.example.test,t1.example.test,6012,12,0",
    "--srv-host=_sip._udp.big.example.test,t2.example.test,6013,13,0",
    "--srv-host=_sip._udp.big.example.test,t3.example.test,6014,14,0",
    "--srv-host=_sip._udp.big.example.test,t4.example.test,6015,15,0",
    "--srv-host=_sip._udp.big.example.test,t1.example.test,6016,16,0",
    "--srv-host=_sip._udp.big.example.test,t2.example.test,6017,17,0",
    "--srv-host=_sip._udp.big.example.test,t3.example.test,6018,18,0",
    "--srv-host=_sip._udp.big.example.test,t4.example.test,6019,19,0",
    "--srv-host=_sip._udp.big.example.test,t1.example.test,6020,20,0",
    "--srv-host=_sip._udp.big.example.test,t2.example.test,6021,21,0",
    "--srv-host=_sip._udp.big.example.test,t3.example.test,6022,22,0",
    "--srv-host=_sip._udp.big.example.test,t4.example.test,6023,23,0",
    "--srv-host=_sip._udp.big.example.test,t1.example.test,6024,24,0",
    "--srv-host=_sip._udp.big.example.test,t2.example.test,6025,25,0",
    "--srv-host=_sip._udp.big.example.test,t3.example.test,6026,26,0",
    "--srv-host=_sip._udp.big.example.test,t4.example.test,6027,27,0",
    "--srv-host=_sip._udp.big.example.test,t1.example.test,6028,28,0",
    "--srv-host=_sip._udp.big.example.test,t2.example.test,6029,29,0",
    /* NAPTR whose SRV name has no records */
    "--naptr-record=dangling.example.test,10,10,s,SIP+D2T,,"
    "_sip._tcp.dangling.example.test",
};

static struct {
	bool is_running;
	pid_t pid;
	uint16_t port;
	char server[32]; /* "127.0.0.1:port" */
} dns;

struct fx {
	uv_loop_t loop;
	uv_timer_t tick; /* keeps the loop turning while a test waits */
	struct resolver *r;
	struct sb_limits lim;
	int64_t live_alloc;
	int quiet_fd; /* a UDP socket that never answers; -1 */
};

struct got {
	int calls;
	int err;
	size_t n;
	struct resolve_target v[RESOLVE_TARGETS_MAX];
	struct fx *f;	    /* for the callbacks that act */
	bool is_free_in_cb; /* free the resolver from the callback */
};

/* ---- dnsmasq ---- */

/* A UDP port on 127.0.0.1 nobody has now; the socket stays open when
 * keep_fd is given. */
static uint16_t udp_port(int *keep_fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	if (keep_fd)
		*keep_fd = fd;
	else
		close(fd);
	return ntohs(a.sin_port);
}

/* Ask dnsmasq for a.example.test A; true once it answers. */
static bool dns_answers(uint16_t port)
{
	static const uint8_t query[] = {
	    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x01, 'a',  0x07, 'e',  'x',	'a',  'm',  'p',  'l',	'e',
	    0x04, 't',	'e',  's',  't',  0x00, 0x00, 0x01, 0x00, 0x01};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct pollfd pfd;
	uint8_t buf[512];
	bool is_ok = false;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (sendto(fd, query, sizeof(query), 0, (struct sockaddr *)&a,
		   sizeof(a)) == (ssize_t)sizeof(query)) {
		pfd = (struct pollfd){.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 100) == 1 &&
		    recv(fd, buf, sizeof(buf), 0) > 12)
			is_ok = buf[0] == 0x12 && buf[1] == 0x34;
	}
	close(fd);
	return is_ok;
}

static pid_t dns_spawn(uint16_t port)
{
	enum { FIXED_ARGS = 20 };
	const char *argv[FIXED_ARGS + sizeof(records) / sizeof(records[0])];
	char port_arg[32];
	size_t n = 0;
	pid_t pid, parent;

	snprintf(port_arg, sizeof(port_arg), "--port=%u", port);
	argv[n++] = dnsmasq_path;
	argv[n++] = "--keep-in-foreground";
	argv[n++] = "--no-resolv";
	argv[n++] = "--no-hosts";
	argv[n++] = "--conf-file=/dev/null";
	argv[n++] = "--pid-file=";
	argv[n++] = "--user=root";  /* only read when started as root */
	argv[n++] = "--group=root"; /* keeps PR_SET_PDEATHSIG */
	argv[n++] = "--listen-address=127.0.0.1";
	argv[n++] = "--bind-interfaces";
	argv[n++] = "--log-facility=/dev/null";
	argv[n++] = "--local=/example.test/"; /* NXDOMAIN for the rest */
	argv[n++] = "--local-ttl=300";
	argv[n++] = port_arg;
	for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++)
		argv[n++] = records[i];
	argv[n] = NULL;

	parent = getpid();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* dies with the test, should the test die first */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execv(dnsmasq_path, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int group_setup(void **state)
{
	int status;

	if (access(dnsmasq_path, X_OK) != 0)
		return 0; /* the tests that need it skip */
	for (int t = 0; t < START_TRIES && !dns.is_running; t++) {
		uint16_t port = udp_port(NULL);
		pid_t pid = dns_spawn(port);

		for (int i = 0; i < 50; i++) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				pid = 0; /* it failed: port taken? */
				break;
			}
			if (dns_answers(port)) {
				dns.is_running = true;
				dns.pid = pid;
				dns.port = port;
				snprintf(dns.server, sizeof(dns.server),
					 "127.0.0.1:%u", port);
				break;
			}
		}
		if (!dns.is_running && pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, &status, 0);
		}
	}
	return 0;
}

static int group_teardown(void **state)
{
	int status;

	if (dns.is_running) {
		kill(dns.pid, SIGTERM);
		waitpid(dns.pid, &status, 0);
		dns.is_running = false;
	}
	return 0;
}

/* ---- fixture ---- */

static void on_tick(uv_timer_t *t)
{
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.lim = sb_limits_default();
	f.quiet_fd = -1;
	assert_int_equal(uv_loop_init(&f.loop), 0);
	uv_timer_init(&f.loop, &f.tick);
	uv_timer_start(&f.tick, on_tick, 10, 10);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->r = resolver_free(f->r);
	uv_close((uv_handle_t *)&f->tick, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	if (f->quiet_fd >= 0)
		close(f->quiet_fd);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

static struct resolver_opts opts_for(const char *server)
{
	struct resolver_opts o = {
	    .nservers = 1, .timeout_ms = 1000, .tries = DNS_TRIES};

	o.servers[0] = server;
	return o;
}

static void need_dns(void)
{
	if (!dns.is_running)
		skip();
}

static void start(struct fx *f, const struct resolver_opts *o)
{
	f->r = resolver_free(f->r);
	uv_run(&f->loop, UV_RUN_NOWAIT); /* the old one finishes closing */
	assert_int_equal(resolver_new(&f->loop, o, &f->r), 0);
}

static void start_dns(struct fx *f, bool is_ipv6)
{
	struct resolver_opts o = opts_for(dns.server);

	need_dns();
	o.is_ipv6_enabled = is_ipv6;
	start(f, &o);
}

static void run_for(struct fx *f, uint64_t ms)
{
	uint64_t t0;

	uv_update_time(&f->loop);
	t0 = uv_now(&f->loop);
	while (uv_now(&f->loop) - t0 < ms)
		uv_run(&f->loop, UV_RUN_ONCE);
}

static void run_until(struct fx *f, const int *calls)
{
	uint64_t t0;

	uv_update_time(&f->loop);
	t0 = uv_now(&f->loop);
	while (*calls == 0) {
		if (uv_now(&f->loop) - t0 > WAIT_MS)
			fail_msg("no callback within %d ms", WAIT_MS);
		uv_run(&f->loop, UV_RUN_ONCE);
	}
}

static void on_result(void *arg, int err, const struct resolve_target *v,
		      size_t n)
{
	struct got *g = arg;

	g->calls++;
	g->err = err;
	g->n = n;
	assert_true(n <= RESOLVE_TARGETS_MAX);
	assert_true(err ? n == 0 && v == NULL : n > 0 && v != NULL);
	if (n)
		memcpy(g->v, v, n * sizeof(*v));
	if (g->is_free_in_cb)
		g->f->r = resolver_free(g->f->r);
}

static void parse(struct fx *f, const char *text, struct sip_uri *u)
{
	int err = sip_uri_parse(slice_cstr(text), u, &f->lim);

	if (err)
		fail_msg("cannot parse %s: %d", text, err);
}

/* Start a lookup; the callback must not have run on return. */
static struct resolve_req *ask(struct fx *f, const char *text, struct got *g)
{
	struct resolve_req *q = NULL;
	struct sip_uri u;

	parse(f, text, &u);
	memset(g, 0, sizeof(*g));
	g->f = f;
	assert_int_equal(resolver_sip(f->r, &u, on_result, g, &q), 0);
	assert_non_null(q);
	assert_int_equal(g->calls, 0);
	return q;
}

static void lookup(struct fx *f, const char *text, struct got *g)
{
	ask(f, text, g);
	run_until(f, &g->calls);
	assert_int_equal(g->calls, 1);
}

static void assert_target(const struct got *g, size_t i, enum sip_transport tp,
			  const char *ip, uint16_t port)
{
	char buf[64];

	if (i >= g->n)
		fail_msg("target %zu missing: %zu targets, err %d", i, g->n,
			 g->err);
	sip_addr_ip(&g->v[i].addr, buf, sizeof(buf));
	if (g->v[i].tp != tp || strcmp(buf, ip) != 0 ||
	    sip_addr_port(&g->v[i].addr) != port)
		fail_msg("target %zu: %d %s:%u, want %d %s:%u", i,
			 (int)g->v[i].tp, buf, sip_addr_port(&g->v[i].addr),
			 (int)tp, ip, port);
}

/* ---- tests ---- */

/* ---- raw answers ---- */

struct pkt {
	uint8_t b[512];
	size_t len;
};

static void put16(struct pkt *p, unsigned v)
{
	p->b[p->len++] = (uint8_t)(v >> 8);
	p->b[p->len++] = (uint8_t)v;
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void put_name(struct pkt *p, const char *name)
{
	while (*name) {
		size_t n = strcspn(name, ".");
		p->b[p->len++] = (uint8_t)n;
		memcpy(p->b + p->len, name, n);
		p->len += n;
		name += n + (name[n] == '.');
	}
	p->b[p->len++] = 0;
}

/* a.test A: a CNAME to b.test (TTL 100), b.test A (TTL ttl_b). */
static void make_answer(struct pkt *p, uint32_t ttl_b)
{
	size_t rdlen_at;

	p->len = 0;
	put16(p, 0x1234);
	put16(p, 0x8180);
	put16(p, 1); /* QDCOUNT */
	put16(p, 2); /* ANCOUNT */
	put16(p, 0);
	put16(p, 0);
	put_name(p, "a.test");
	put16(p, DNS_TYPE_A);
	put16(p, DNS_CLASS_IN);
	put16(p, 0xc00c); /* the question's name */
	put16(p, DNS_TYPE_CNAME);
	put16(p, DNS_CLASS_IN);
	put32(p, 100);
	rdlen_at = p->len;
	put16(p, 0);
	put_name(p, "b.test");
	p->b[rdlen_at + 1] = (uint8_t)(p->len - rdlen_at - 2);
	put_name(p, "b.test");
	put16(p, DNS_TYPE_A);
	put16(p, DNS_CLASS_IN);
	put32(p, ttl_b);
	put16(p, 4);
	put32(p, 0x7f000001);
}

static void test_resolve_answer_ttl(void **state)
{
	struct pkt p;
	uint32_t ttl = 7;

	make_answer(&p, 50);
	assert_int_equal(resolve_answer_ttl(p.b, p.len, DNS_TYPE_A, &ttl), 0);
	assert_int_equal(ttl, 50);
	make_answer(&p, 500); /* the CNAME's is smaller */
	assert_int_equal(resolve_answer_ttl(p.b, p.len, DNS_TYPE_A, &ttl), 0);
	assert_int_equal(ttl, 100);
	make_answer(&p, 0x80000000u); /* RFC 2181 8: as zero */
	assert_int_equal(resolve_answer_ttl(p.b, p.len, DNS_TYPE_A, &ttl), 0);
	assert_int_equal(ttl, 0);
	ttl = 7;
	assert_int_equal(resolve_answer_ttl(p.b, p.len, DNS_TYPE_AAAA, &ttl),
			 -ENOENT);
	assert_int_equal(ttl, 7);

	/* every cut of the message is malformed, never read past */
	make_answer(&p, 50);
	for (size_t len = 0; len < p.len; len++) {
		uint8_t *cut = malloc(len ? len : 1);
		memcpy(cut, p.b, len);
		assert_int_equal(resolve_answer_ttl(cut, len, DNS_TYPE_A, &ttl),
				 -EBADMSG);
		free(cut);
	}
	/* RFC 6891 6.1.4: the reserved label types */
	p.b[12] = 0x41;
	assert_int_equal(resolve_answer_ttl(p.b, p.len, DNS_TYPE_A, &ttl),
			 -EBADMSG);
	/* a name longer than 255 bytes */
	p.len = 12;
	p.b[5] = 1;
	for (int i = 0; i < 5; i++) {
		p.b[p.len++] = 63;
		memset(p.b + p.len, 'x', 63);
		p.len += 63;
	}
	p.b[p.len++] = 0;
	put32(&p, 0x00010001);
	p.b[7] = 0;
	assert_int_equal(resolve_answer_ttl(p.b, p.len, DNS_TYPE_A, &ttl),
			 -EBADMSG);
	assert_int_equal(resolve_answer_ttl(NULL, 0, DNS_TYPE_A, &ttl),
			 -EBADMSG);
}

static void test_resolve_name_norm(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"Example.COM.", "example.com"},
	    {"_sip._udp.a-b.test", "_sip._udp.a-b.test"},
	    {"", ""},
	    {".", ""},
	    {"a..b", NULL},
	    {".a", NULL},
	    {"a b.test", NULL},
	    {"a\\.test", NULL},
	    {"a.test..", NULL},
	};
	char out[RESOLVE_NAME_MAX + 1], big[RESOLVE_NAME_MAX + 3];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int len = resolve_name_norm(slice_cstr(cases[i].in), out);
		if (!cases[i].out) {
			assert_int_equal(len, -EINVAL);
			continue;
		}
		assert_int_equal(len, (int)strlen(cases[i].out));
		assert_string_equal(out, cases[i].out);
	}
	memset(big, 'a', 64);
	big[64] = '\0';
	assert_int_equal(resolve_name_norm(slice_cstr(big), out), -EINVAL);
	big[63] = '\0';
	assert_int_equal(resolve_name_norm(slice_cstr(big), out), 63);
	/* 253 bytes fit, 254 do not */
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = i % 50 == 49 ? '.' : 'a';
	big[RESOLVE_NAME_MAX] = '\0';
	assert_int_equal(resolve_name_norm(slice_cstr(big), out),
			 RESOLVE_NAME_MAX);
	big[RESOLVE_NAME_MAX] = 'a';
	big[RESOLVE_NAME_MAX + 1] = '\0';
	assert_int_equal(resolve_name_norm(slice_cstr(big), out), -EINVAL);
}

static void test_resolve_numeric(void **state)
{
	static const struct {
		const char *uri;
		int err;
		enum sip_transport tp;
		const char *ip;
		uint16_t port;
	} cases[] = {
	    {"sip:192.0.2.1", 0, SIP_TP_UDP, "192.0.2.1", 5060},
	    {"sip:bob@192.0.2.1:5070;transport=tcp", 0, SIP_TP_TCP, "192.0.2.1",
	     5070},
	    {"sip:192.0.2.1;transport=TLS", 0, SIP_TP_TLS, "192.0.2.1", 5061},
	    {"sips:192.0.2.1", 0, SIP_TP_TLS, "192.0.2.1", 5061},
	    {"sips:192.0.2.1:5081;transport=tcp", 0, SIP_TP_TLS, "192.0.2.1",
	     5081},
	    {"sip:[2001:db8::1]", 0, SIP_TP_UDP, "2001:db8::1", 5060},
	    {"sips:[::1]:5071", 0, SIP_TP_TLS, "::1", 5071},
	    {"sip:alice@example.com;maddr=192.0.2.7", 0, SIP_TP_UDP,
	     "192.0.2.7", 5060},
	    {"sip:example.com:5080;maddr=[2001:db8::7];transport=tcp", 0,
	     SIP_TP_TCP, "2001:db8::7", 5080},
	    {"sip:example.com", -EAGAIN, SIP_TP_UDP, NULL, 0},
	    {"sips:example.com:5061", -EAGAIN, SIP_TP_UDP, NULL, 0},
	    {"sip:192.0.2.1;maddr=proxy.example.com", -EAGAIN, SIP_TP_UDP, NULL,
	     0},
	    {"sip:192.0.2.1;transport=sctp", -EINVAL, SIP_TP_UDP, NULL, 0},
	    {"sips:192.0.2.1;transport=udp", -EINVAL, SIP_TP_UDP, NULL, 0},
	    {"tel:+15551234", -EINVAL, SIP_TP_UDP, NULL, 0},
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resolve_target t;
		struct got g = {0};
		struct sip_uri u;
		int err;

		parse(f, cases[i].uri, &u);
		err = resolve_numeric(&u, &t);
		if (err != cases[i].err)
			fail_msg("%s: %d, want %d", cases[i].uri, err,
				 cases[i].err);
		if (err)
			continue;
		g.n = 1;
		g.v[0] = t;
		assert_target(&g, 0, cases[i].tp, cases[i].ip, cases[i].port);
	}
}

static void test_resolve_opts(void **state)
{
	struct resolver_opts o = opts_for("127.0.0.1:53");
	struct fx *f = *state;
	struct resolver *r = NULL;
	struct resolve_req *q = NULL;
	struct sip_uri u;
	struct got g;

	o.nservers = RESOLVE_SERVERS_MAX + 1;
	assert_int_equal(resolver_new(&f->loop, &o, &r), -EINVAL);
	o = opts_for("127.0.0.1:53");
	o.min_ttl_s = 100;
	o.max_ttl_s = 10;
	assert_int_equal(resolver_new(&f->loop, &o, &r), -EINVAL);
	o.servers[0] = "";
	o.min_ttl_s = 0;
	assert_int_equal(resolver_new(&f->loop, &o, &r), -EINVAL);
	assert_null(r);

	o = opts_for("[::1]:53");
	start(f, &o);
	parse(f, "tel:+15551234", &u);
	assert_int_equal(resolver_sip(f->r, &u, on_result, &g, &q), -EINVAL);
	/* a label of 64 bytes: no DNS name */
	parse(f,
	      "sip:"
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      ".example.test",
	      &u);
	assert_int_equal(resolver_sip(f->r, &u, on_result, &g, &q), -EINVAL);
	assert_null(q);
	assert_int_equal(resolver_stats(f->r)->lookups, 0);
}

static void test_resolve_numeric_async(void **state)
{
	struct resolver_opts o = opts_for("127.0.0.1:53");
	struct fx *f = *state;
	struct got g;

	start(f, &o);
	lookup(f, "sip:192.0.2.1:5070;transport=tcp", &g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.n, 1);
	assert_target(&g, 0, SIP_TP_TCP, "192.0.2.1", 5070);
	lookup(f, "sips:[2001:db8::5]", &g);
	assert_target(&g, 0, SIP_TP_TLS, "2001:db8::5", 5061);
	assert_int_equal(resolver_stats(f->r)->queries, 0);
	assert_int_equal(resolver_stats(f->r)->lookups, 2);
}

static void test_resolve_a_with_port(void **state)
{
	struct fx *f = *state;
	struct got g;

	start_dns(f, false);
	lookup(f, "sip:a.example.test:5070", &g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.n, 1);
	assert_target(&g, 0, SIP_TP_UDP, "127.0.0.2", 5070);
	/* RFC 3263 4.2: a port means A only, no NAPTR or SRV */
	assert_int_equal(resolver_stats(f->r)->queries, 1);

	lookup(f, "sip:A.Example.TEST.:5071;transport=tcp", &g);
	assert_target(&g, 0, SIP_TP_TCP, "127.0.0.2", 5071);
	lookup(f, "sips:a.example.test:5072", &g);
	assert_target(&g, 0, SIP_TP_TLS, "127.0.0.2", 5072);
	lookup(f, "sip:x@192.0.2.1:5070;maddr=a.example.test", &g);
	assert_target(&g, 0, SIP_TP_UDP, "127.0.0.2", 5070);
	assert_int_equal(g.n, 1);

	/* with IPv6: A first, then AAAA */
	start_dns(f, true);
	lookup(f, "sip:dual.example.test:5070", &g);
	assert_int_equal(g.n, 2);
	assert_target(&g, 0, SIP_TP_UDP, "127.0.0.4", 5070);
	assert_target(&g, 1, SIP_TP_UDP, "::1", 5070);
	lookup(f, "sip:a.example.test:5070", &g);
	assert_int_equal(g.n, 1); /* no AAAA: the A alone */
}

static void test_resolve_srv_priority(void **state)
{
	struct fx *f = *state;
	struct got g;

	start_dns(f, false);
	for (int i = 0; i < 3; i++) {
		lookup(f, "sip:prio.example.test;transport=udp", &g);
		assert_int_equal(g.err, 0);
		assert_int_equal(g.n, 3);
		assert_target(&g, 0, SIP_TP_UDP, "127.0.0.10", 5070);
		assert_target(&g, 1, SIP_TP_UDP, "127.0.0.11", 5071);
		assert_target(&g, 2, SIP_TP_UDP, "127.0.0.12", 5072);
	}
	/* one SRV and three A queries; the rest from the cache */
	assert_int_equal(resolver_stats(f->r)->queries, 4);
	assert_int_equal(resolver_stats(f->r)->cache_hits, 2);
}

static void test_resolve_srv_weight(void **state)
{
	struct fx *f = *state;
	unsigned heavy_first = 0;
	struct got g;

	start_dns(f, false);
	for (int i = 0; i < WEIGHT_ROUNDS; i++) {
		char ip[64];

		lookup(f, "sip:wt.example.test;transport=udp", &g);
		assert_int_equal(g.n, 2);
		sip_addr_ip(&g.v[0].addr, ip, sizeof(ip));
		if (strcmp(ip, "127.0.0.21") == 0)
			heavy_first++;
	}
	/* RFC 2782: weight 90 against 10 leads about 91 times in 101 */
	if (heavy_first < WEIGHT_ROUNDS * 80 / 100 ||
	    heavy_first > WEIGHT_ROUNDS * 97 / 100)
		fail_msg("weight 90 first %u times of %d", heavy_first,
			 WEIGHT_ROUNDS);
}

static void test_resolve_srv_over_tcp(void **state)
{
	static const char *const ips[] = {"127.0.0.31", "127.0.0.32",
					  "127.0.0.33", "127.0.0.34"};
	struct fx *f = *state;
	struct got g;

	start_dns(f, false);
	lookup(f, "sip:big.example.test;transport=udp", &g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.n, RESOLVE_TARGETS_MAX); /* of 30 */
	for (size_t i = 0; i < g.n; i++)
		assert_target(&g, i, SIP_TP_UDP, ips[i % 4],
			      (uint16_t)(6000 + i));
}

static void test_resolve_naptr_chain(void **state)
{
	struct fx *f = *state;
	struct got g;

	start_dns(f, false);
	lookup(f, "sip:naptr.example.test", &g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.n, 3);
	assert_target(&g, 0, SIP_TP_TLS, "127.0.0.31", 5061);
	assert_target(&g, 1, SIP_TP_TCP, "127.0.0.32", 5062);
	assert_target(&g, 2, SIP_TP_UDP, "127.0.0.33", 5063);

	/* RFC 3263 4.1: a sips URI takes only SIPS+D2T */
	lookup(f, "sips:bob@naptr.example.test", &g);
	assert_int_equal(g.n, 1);
	assert_target(&g, 0, SIP_TP_TLS, "127.0.0.31", 5061);

	/* NAPTR to an SRV name without records: A at the default port,
	 * on the transport NAPTR chose */
	lookup(f, "sip:dangling.example.test", &g);
	assert_int_equal(g.n, 1);
	assert_target(&g, 0, SIP_TP_TCP, "127.0.0.5", 5060);
}

static void test_resolve_srv_without_naptr(void **state)
{
	struct fx *f = *state;
	struct got g;

	start_dns(f, false);
	lookup(f, "sip:srvonly.example.test", &g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.n, 2); /* _sip._udp, then _sip._tcp */
	assert_target(&g, 0, SIP_TP_UDP, "127.0.0.33", 5064);
	assert_target(&g, 1, SIP_TP_TCP, "127.0.0.34", 5065);

	lookup(f, "sips:srvonly.example.test", &g);
	assert_int_equal(g.n, 1);
	assert_target(&g, 0, SIP_TP_TLS, "127.0.0.31", 5066);

	lookup(f, "sip:srvonly.example.test;transport=tcp", &g);
	assert_int_equal(g.n, 1);
	assert_target(&g, 0, SIP_TP_TCP, "127.0.0.34", 5065);
}

static void test_resolve_a_fallback(void **state)
{
	struct fx *f = *state;
	struct got g;

	start_dns(f, false);
	lookup(f, "sip:a.example.test", &g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.n, 1);
	assert_target(&g, 0, SIP_TP_UDP, "127.0.0.2", 5060);
	lookup(f, "sips:a.example.test", &g);
	assert_target(&g, 0, SIP_TP_TLS, "127.0.0.2", 5061);
	lookup(f, "sip:a.example.test;transport=tcp", &g);
	assert_target(&g, 0, SIP_TP_TCP, "127.0.0.2", 5060);

	/* RFC 2782: an SRV target "." is an answer: no A fallback */
	lookup(f, "sip:dot.example.test;transport=udp", &g);
	assert_int_equal(g.err, -ENOENT);
}

static void test_resolve_not_found(void **state)
{
	struct fx *f = *state;
	struct got g;

	start_dns(f, false);
	lookup(f, "sip:nx.example.test", &g);
	assert_int_equal(g.err, -ENOENT);
	lookup(f, "sip:nx.example.test:5060", &g);
	assert_int_equal(g.err, -ENOENT);
	lookup(f, "sips:nx.example.test;transport=tcp", &g);
	assert_int_equal(g.err, -ENOENT);
	/* dnsmasq refuses names outside its zone: a server failure */
	lookup(f, "sip:host.invalid:5060", &g);
	assert_int_equal(g.err, -EIO);
	assert_int_equal(resolver_stats(f->r)->failures, 4);
}

static void test_resolve_timeout(void **state)
{
	struct fx *f = *state;
	char server[32];
	struct resolver_opts o;
	uint64_t t0, took;
	struct got g;

	/* a server that takes the query and never answers */
	snprintf(server, sizeof(server), "127.0.0.1:%u",
		 udp_port(&f->quiet_fd));
	o = opts_for(server);
	o.timeout_ms = DNS_TIMEOUT_MS;
	start(f, &o);
	uv_update_time(&f->loop);
	t0 = uv_now(&f->loop);
	lookup(f, "sip:a.example.test", &g);
	took = uv_now(&f->loop) - t0;
	assert_int_equal(g.err, -ETIMEDOUT);
	if (took < DNS_TIMEOUT_MS * DNS_TRIES * 9 / 10 ||
	    took > DNS_TIMEOUT_MS * DNS_TRIES + 300)
		fail_msg("timed out after %llu ms", (unsigned long long)took);
	assert_int_equal(resolver_stats(f->r)->queries, DNS_TRIES);
	/* a failure is not cached */
	lookup(f, "sip:a.example.test", &g);
	assert_int_equal(g.err, -ETIMEDOUT);
	assert_int_equal(resolver_stats(f->r)->queries, 2 * DNS_TRIES);

	/* nothing listening: refused at once, a server failure (c-ares
	 * 1.18 reports it as it reports REFUSED answers) */
	snprintf(server, sizeof(server), "127.0.0.1:%u", udp_port(NULL));
	o = opts_for(server);
	o.timeout_ms = DNS_TIMEOUT_MS;
	start(f, &o);
	uv_update_time(&f->loop);
	t0 = uv_now(&f->loop);
	lookup(f, "sip:a.example.test:5060", &g);
	assert_int_equal(g.err, -EIO);
	assert_true(uv_now(&f->loop) - t0 < DNS_TIMEOUT_MS);
}

static void test_resolve_cache_hit(void **state)
{
	struct fx *f = *state;
	const struct resolver_stats *st;
	struct got g1, g2;
	uint64_t queries;

	start_dns(f, false);
	st = resolver_stats(f->r);
	lookup(f, "sip:naptr.example.test", &g1);
	assert_int_equal(g1.n, 3);
	queries = st->queries;
	assert_int_equal(queries, 7); /* NAPTR, 3 SRV, 3 A */
	assert_int_equal(st->cache_hits, 0);
	assert_int_equal(st->cached, 7);
	lookup(f, "sip:naptr.example.test", &g2);
	assert_int_equal(st->queries, queries);
	assert_int_equal(st->cache_hits, 1);
	assert_int_equal(st->lookups, 2);
	assert_int_equal(g2.n, g1.n);
	assert_memory_equal(g2.v, g1.v, g1.n * sizeof(g1.v[0]));

	/* negative answers are cached too */
	lookup(f, "sip:nx.example.test:5060", &g1);
	queries = st->queries;
	lookup(f, "sip:nx.example.test:5060", &g1);
	assert_int_equal(g1.err, -ENOENT);
	assert_int_equal(st->queries, queries);
	assert_int_equal(st->cache_hits, 2);
}

static void test_resolve_ttl_expiry(void **state)
{
	struct resolver_opts o = opts_for(dns.server);
	struct fx *f = *state;
	const struct resolver_stats *st;
	struct got g;

	need_dns();
	o.neg_ttl_s = 1;
	start(f, &o);
	st = resolver_stats(f->r);
	lookup(f, "sip:short.example.test:5060", &g); /* TTL 1 s */
	assert_target(&g, 0, SIP_TP_UDP, "127.0.0.3", 5060);
	lookup(f, "sip:nx.example.test:5060", &g);
	assert_int_equal(st->queries, 2);
	lookup(f, "sip:short.example.test:5060", &g);
	lookup(f, "sip:nx.example.test:5060", &g);
	assert_int_equal(st->queries, 2);
	run_for(f, 1100);
	lookup(f, "sip:short.example.test:5060", &g);
	assert_target(&g, 0, SIP_TP_UDP, "127.0.0.3", 5060);
	lookup(f, "sip:nx.example.test:5060", &g);
	assert_int_equal(g.err, -ENOENT);
	assert_int_equal(st->queries, 4);

	/* min_ttl_s lifts a short TTL */
	o.min_ttl_s = 60;
	start(f, &o);
	st = resolver_stats(f->r);
	lookup(f, "sip:short.example.test:5060", &g);
	run_for(f, 1100);
	lookup(f, "sip:short.example.test:5060", &g);
	assert_int_equal(st->queries, 1);
}

static void test_resolve_cache_bounded(void **state)
{
	struct resolver_opts o = opts_for(dns.server);
	struct fx *f = *state;
	const struct resolver_stats *st;
	struct got g;

	need_dns();
	o.cache_max = 2;
	start(f, &o);
	st = resolver_stats(f->r);
	lookup(f, "sip:a.example.test:5060", &g);
	lookup(f, "sip:dual.example.test:5060", &g);
	lookup(f, "sip:a.example.test:5060", &g);  /* a is now newer */
	lookup(f, "sip:t1.example.test:5060", &g); /* evicts dual */
	assert_int_equal(st->cached, 2);
	assert_int_equal(st->queries, 3);
	lookup(f, "sip:a.example.test:5060", &g);
	assert_int_equal(st->queries, 3);
	lookup(f, "sip:dual.example.test:5060", &g);
	assert_int_equal(st->queries, 4);
	assert_target(&g, 0, SIP_TP_UDP, "127.0.0.4", 5060);
}

static void test_resolve_shared_query(void **state)
{
	struct fx *f = *state;
	struct got g1, g2;

	start_dns(f, false);
	ask(f, "sip:prio.example.test;transport=udp", &g1);
	ask(f, "sip:prio.example.test;transport=udp", &g2);
	run_until(f, &g1.calls);
	run_until(f, &g2.calls);
	assert_int_equal(g1.n, 3);
	assert_int_equal(g2.n, 3);
	assert_int_equal(resolver_stats(f->r)->queries, 4);
}

static void test_resolve_cancel(void **state)
{
	struct fx *f = *state;
	struct got g, done;

	start_dns(f, false);
	/* waiting for DNS */
	resolve_cancel(ask(f, "sip:naptr.example.test", &g));
	/* answered from the cache, not yet handed over */
	lookup(f, "sip:a.example.test:5060", &done);
	resolve_cancel(ask(f, "sip:a.example.test:5060", &g));
	/* numeric */
	resolve_cancel(ask(f, "sip:192.0.2.1", &g));
	resolve_cancel(NULL);
	run_for(f, 300);
	assert_int_equal(g.calls, 0);
	/* the resolver goes on: the cancelled NAPTR answer was cached */
	lookup(f, "sip:naptr.example.test", &done);
	assert_int_equal(done.n, 3);
}

static void test_resolve_free_pending(void **state)
{
	struct fx *f = *state;
	struct resolver_opts o;
	char server[32];
	struct got g[3];

	snprintf(server, sizeof(server), "127.0.0.1:%u",
		 udp_port(&f->quiet_fd));
	o = opts_for(server);
	start(f, &o);
	ask(f, "sip:a.example.test", &g[0]);
	ask(f, "sip:a.example.test:5070", &g[1]);
	ask(f, "sip:192.0.2.1", &g[2]); /* done, not handed over */
	run_for(f, 50);
	assert_int_equal(g[2].calls, 1); /* by then it was */
	ask(f, "sip:192.0.2.2", &g[2]);
	f->r = resolver_free(f->r);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(g[i].calls, 1);
		assert_int_equal(g[i].err, -ECANCELED);
	}
	run_for(f, 50); /* closes; nothing more is called */
	for (int i = 0; i < 3; i++)
		assert_int_equal(g[i].calls, 1);
}

static void test_resolve_free_in_callback(void **state)
{
	struct resolver_opts o = opts_for("127.0.0.1:53");
	struct fx *f = *state;
	struct got g1, g2;

	start(f, &o);
	ask(f, "sip:192.0.2.1", &g1);
	ask(f, "sip:192.0.2.2", &g2);
	g1.is_free_in_cb = true;
	run_until(f, &g1.calls);
	assert_null(f->r);
	assert_int_equal(g1.err, 0);
	assert_int_equal(g2.calls, 1);
	assert_int_equal(g2.err, -ECANCELED);
}

/* STYLE: fail the Nth allocation for N = 0, 1, ... until it passes. */
static void test_resolve_oom(void **state)
{
	struct fx *f = *state;
	struct resolver_opts o;
	bool is_done = false;

	need_dns();
	o = opts_for(dns.server);
	for (int64_t n = 0; n < 200 && !is_done; n++) {
		struct resolver *r = NULL;
		struct resolve_req *q;
		struct sip_uri u;
		struct got g = {0};
		int err;

		parse(f, "sip:naptr.example.test", &u);
		sb_mem_fail_after(n);
		err = resolver_new(&f->loop, &o, &r);
		if (err == 0) {
			err = resolver_sip(r, &u, on_result, &g, &q);
			if (err == 0) {
				run_until(f, &g.calls);
				err = g.err;
			}
		}
		sb_mem_fail_after(-1);
		if (err != 0 && err != -ENOMEM)
			fail_msg("n=%lld: err %d", (long long)n, err);
		/* a failed allocation for one host may leave the others */
		is_done = err == 0 && g.n == 3;
		r = resolver_free(r);
		uv_run(&f->loop, UV_RUN_NOWAIT);
	}
	assert_true(is_done);
}

int main(void)
{
	if (getenv("SB_TEST_LOG"))
		log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_TEXT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve_answer_ttl),
	    cmocka_unit_test(test_resolve_name_norm),
	    cmocka_unit_test_setup_teardown(test_resolve_numeric, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_opts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_numeric_async, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_a_with_port, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_srv_priority, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_srv_weight, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_srv_over_tcp, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_naptr_chain, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_srv_without_naptr,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_a_fallback, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_not_found, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_timeout, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_cache_hit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_ttl_expiry, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_cache_bounded, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_shared_query, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_cancel, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_free_pending, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_free_in_callback,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_oom, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
