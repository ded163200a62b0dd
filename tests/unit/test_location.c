/* Unit tests for the location service (services/registrar/location). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/mem.h"
#include "services/registrar/location.h"

enum {
	MAX_REC = 64, /* persistence calls recorded */
	NB = LOCATION_BINDINGS_CEILING,
	THREAD_ROUNDS = 2000, /* updates per thread in the race test */
	MEM_AORS = 10000      /* AORs in the memory measurement */
};

/* What the persistence hooks saw. */
struct rec {
	bool is_put;
	struct store_binding b; /* put: the record; del: aor and contact */
};

struct fx {
	int64_t live_alloc;
	struct location *loc;
	struct arena arena;
	struct sip_flow flow;
	struct location_binding out[NB];
	struct rec rec[MAX_REC];
	size_t nrec;
	pthread_mutex_t rec_lock; /* the race test persists from 2 threads */
};

static int rec_put(void *ctx, const struct store_binding *b)
{
	struct fx *f = ctx;

	pthread_mutex_lock(&f->rec_lock);
	if (f->nrec < MAX_REC) {
		f->rec[f->nrec].is_put = true;
		f->rec[f->nrec++].b = *b;
	}
	pthread_mutex_unlock(&f->rec_lock);
	return 0;
}

static int rec_del(void *ctx, const char *aor, const char *contact)
{
	struct fx *f = ctx;

	pthread_mutex_lock(&f->rec_lock);
	if (f->nrec < MAX_REC) {
		struct rec *r = &f->rec[f->nrec++];
		memset(r, 0, sizeof(*r));
		snprintf(r->b.aor, sizeof(r->b.aor), "%s", aor);
		snprintf(r->b.contact, sizeof(r->b.contact), "%s", contact);
	}
	pthread_mutex_unlock(&f->rec_lock);
	return 0;
}

static struct sip_flow udp_flow(const char *ip, uint16_t port)
{
	struct sip_flow fl;

	memset(&fl, 0, sizeof(fl));
	fl.tp = SIP_TP_UDP;
	fl.remote.in.sin_family = AF_INET;
	fl.remote.in.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &fl.remote.in.sin_addr), 1);
	fl.remote.len = sizeof(fl.remote.in);
	return fl;
}

static void open_loc(struct fx *f, uint32_t max_aors)
{
	struct location_opts o = {
	    .shards = 8,
	    .max_aors = max_aors,
	    .persist = {rec_put, rec_del, f},
	};

	f->loc = location_free(f->loc);
	assert_int_equal(location_new(&o, &f->loc), 0);
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	arena_init(&f.arena, NULL, 0, 0);
	pthread_mutex_init(&f.rec_lock, NULL);
	f.flow = udp_flow("192.0.2.10", 5070);
	open_loc(&f, 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->loc = location_free(f->loc);
	arena_close(&f->arena);
	pthread_mutex_destroy(&f->rec_lock);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

static struct location_contact contact(const char *uri, uint32_t expires_s,
				       uint16_t q_milli)
{
	return (struct location_contact){
	    .uri = slice_cstr(uri),
	    .expires_s = expires_s,
	    .q_milli = q_milli,
	};
}

static struct location_update update(const char *aor, const char *call_id,
				     uint32_t cseq, uint64_t now_ms)
{
	return (struct location_update){
	    .aor = slice_cstr(aor),
	    .call_id = slice_cstr(call_id),
	    .cseq = cseq,
	    .user_agent = SL("test-ua"),
	    .path = SL(""),
	    .max_bindings = 10,
	    .now = {now_ms, 1700000000 + (int64_t)(now_ms / 1000)},
	};
}

/* Apply u with contacts c[0..n) from the fixture's flow. */
static ssize_t apply(struct fx *f, struct location_update u,
		     const struct location_contact *c, size_t n)
{
	ssize_t got;

	u.contacts = c;
	u.ncontacts = n;
	u.flow = &f->flow;
	got = location_update(f->loc, &u, &f->arena, f->out, NB);
	if (got > 0)
		location_bindings_clear(f->out, (size_t)got);
	return got;
}

static ssize_t lookup(struct fx *f, const char *aor, uint64_t now_ms)
{
	ssize_t n = location_lookup(f->loc, slice_cstr(aor), now_ms, &f->arena,
				    f->out, NB);

	if (n > 0)
		location_bindings_clear(f->out, (size_t)n);
	return n;
}

static void assert_slice(struct slice s, const char *want)
{
	if (!slice_eq(s, slice_cstr(want))) {
		print_error("got \"%.*s\", want \"%s\"\n", (int)s.len,
			    s.p ? s.p : "", want);
		fail();
	}
}

static uint64_t stat_bindings(struct fx *f)
{
	struct location_stats st;

	location_stats(f->loc, &st);
	return st.bindings;
}

static uint64_t stat_aors(struct fx *f)
{
	struct location_stats st;

	location_stats(f->loc, &st);
	return st.aors;
}

/* Two contacts come back ordered by q, with what was registered. */
static void test_location_add_lookup_by_q(void **state)
{
	struct fx *f = *state;
	struct location_contact c[3] = {
	    contact("sip:alice@192.0.2.10:5070", 3600, 500),
	    contact("sip:alice@192.0.2.11", 1800, LOCATION_Q_UNSET),
	    contact("sip:alice@192.0.2.12", 600, 900),
	};

	assert_int_equal(
	    apply(f, update("alice@example.com", "c1", 1, 0), c, 3), 3);
	assert_int_equal(lookup(f, "alice@example.com", 1000), 3);
	assert_slice(f->out[0].contact, "sip:alice@192.0.2.11");
	assert_int_equal(f->out[0].q_milli, LOCATION_Q_UNSET);
	assert_int_equal(f->out[0].expires_s, 1799);
	assert_slice(f->out[1].contact, "sip:alice@192.0.2.12");
	assert_slice(f->out[2].contact, "sip:alice@192.0.2.10:5070");
	assert_int_equal(f->out[2].q_milli, 500);
	assert_int_equal(f->out[2].expires_s, 3599);
	assert_slice(f->out[2].aor, "alice@example.com");
	assert_slice(f->out[2].call_id, "c1");
	assert_slice(f->out[2].user_agent, "test-ua");
	assert_int_equal(f->out[2].cseq, 1);
	assert_true(sip_addr_eq(&f->out[2].flow.remote, &f->flow.remote));
	assert_int_equal(f->out[2].expires_unix, 1700000000 + 3600);
	assert_int_equal(lookup(f, "bob@example.com", 0), 0);
	assert_int_equal(stat_bindings(f), 3);
	assert_int_equal(stat_aors(f), 1);
}

/* The domain is caseless; the user part is not. */
static void test_location_aor_case(void **state)
{
	struct fx *f = *state;
	struct location_contact c = contact("sip:a@192.0.2.10", 60, 1000);

	assert_int_equal(
	    apply(f, update("alice@EXAMPLE.com", "c1", 1, 0), &c, 1), 1);
	assert_int_equal(lookup(f, "alice@example.COM", 0), 1);
	assert_slice(f->out[0].aor, "alice@example.com");
	assert_int_equal(lookup(f, "Alice@example.com", 0), 0);
}

/* A refresh replaces the binding; the same Call-ID needs a higher CSeq. */
static void test_location_refresh_and_cseq_order(void **state)
{
	struct fx *f = *state;
	struct location_contact c = contact("sip:a@192.0.2.10", 60, 1000);
	uint64_t first_id;

	assert_int_equal(apply(f, update("a@x", "c1", 5, 0), &c, 1), 1);
	first_id = f->out[0].id;
	c.expires_s = 120;
	assert_int_equal(apply(f, update("a@x", "c1", 6, 10000), &c, 1), 1);
	assert_int_equal(f->out[0].expires_s, 120);
	assert_int_equal(f->out[0].cseq, 6);
	assert_true(f->out[0].id > first_id);
	/* RFC 3261 10.3 step 7: not higher, the request fails as a whole */
	c.expires_s = 3600;
	assert_int_equal(apply(f, update("a@x", "c1", 6, 11000), &c, 1),
			 -ESTALE);
	assert_int_equal(apply(f, update("a@x", "c1", 4, 11000), &c, 1),
			 -ESTALE);
	assert_int_equal(lookup(f, "a@x", 11000), 1);
	assert_int_equal(f->out[0].expires_s, 119);
	/* A different Call-ID replaces it, whatever its CSeq. */
	assert_int_equal(apply(f, update("a@x", "c2", 1, 11000), &c, 1), 1);
	assert_slice(f->out[0].call_id, "c2");
	assert_int_equal(f->out[0].expires_s, 3600);
	assert_int_equal(stat_bindings(f), 1);
}

/* A stale contact aborts the others of the same request too. */
static void test_location_update_is_atomic(void **state)
{
	struct fx *f = *state;
	struct location_contact c[2] = {
	    contact("sip:a@192.0.2.10", 60, LOCATION_Q_UNSET),
	    contact("sip:a@192.0.2.20", 60, LOCATION_Q_UNSET),
	};

	assert_int_equal(apply(f, update("a@x", "c1", 5, 0), &c[0], 1), 1);
	c[0].expires_s = 0;
	assert_int_equal(apply(f, update("a@x", "c1", 5, 0), c, 2), -ESTALE);
	assert_int_equal(lookup(f, "a@x", 0), 1);
	assert_slice(f->out[0].contact, "sip:a@192.0.2.10");
}

/* expires 0 removes; an AOR without bindings is gone. */
static void test_location_remove(void **state)
{
	struct fx *f = *state;
	struct location_contact c[2] = {
	    contact("sip:a@192.0.2.10", 60, LOCATION_Q_UNSET),
	    contact("sip:a@192.0.2.20", 60, LOCATION_Q_UNSET),
	};

	assert_int_equal(apply(f, update("a@x", "c1", 1, 0), c, 2), 2);
	c[0].expires_s = 0;
	assert_int_equal(apply(f, update("a@x", "c1", 2, 0), &c[0], 1), 1);
	assert_slice(f->out[0].contact, "sip:a@192.0.2.20");
	c[1].expires_s = 0;
	assert_int_equal(apply(f, update("a@x", "c1", 3, 0), &c[1], 1), 0);
	assert_int_equal(stat_aors(f), 0);
	assert_int_equal(stat_bindings(f), 0);
	/* Removing what is not there is no error. */
	assert_int_equal(apply(f, update("a@x", "c1", 4, 0), &c[1], 1), 0);
}

/* URIs compare by RFC 3261 19.1.4, not byte for byte. */
static void test_location_uri_equivalence(void **state)
{
	struct fx *f = *state;
	struct location_contact c = contact("sip:a@Example.COM:5060", 60, 1000);

	assert_int_equal(apply(f, update("a@x", "c1", 1, 0), &c, 1), 1);
	c = contact("sip:a@example.com:5060", 0, 1000);
	assert_int_equal(apply(f, update("a@x", "c1", 2, 0), &c, 1), 0);
}

/* Contact: * removes everything, subject to the CSeq rule. */
static void test_location_star(void **state)
{
	struct fx *f = *state;
	struct location_contact c[2] = {
	    contact("sip:a@192.0.2.10", 60, LOCATION_Q_UNSET),
	    contact("sip:a@192.0.2.20", 60, LOCATION_Q_UNSET),
	};
	struct location_update u = update("a@x", "c1", 7, 0);

	assert_int_equal(apply(f, u, c, 2), 2);
	u.is_star = true;
	assert_int_equal(apply(f, u, NULL, 0), -ESTALE);
	u.cseq = 8;
	assert_int_equal(apply(f, u, NULL, 0), 0);
	assert_int_equal(stat_bindings(f), 0);
	assert_int_equal(apply(f, u, c, 1), -EINVAL);
}

/* Past max_bindings adding fails; refreshing and swapping do not. */
static void test_location_max_bindings(void **state)
{
	struct fx *f = *state;
	struct location_contact c[3] = {
	    contact("sip:a@192.0.2.10", 60, LOCATION_Q_UNSET),
	    contact("sip:a@192.0.2.20", 60, LOCATION_Q_UNSET),
	    contact("sip:a@192.0.2.30", 60, LOCATION_Q_UNSET),
	};
	struct location_update u = update("a@x", "c1", 1, 0);

	u.max_bindings = 2;
	assert_int_equal(apply(f, u, c, 2), 2);
	u.cseq++;
	assert_int_equal(apply(f, u, &c[2], 1), -EMLINK);
	assert_int_equal(apply(f, u, c, 3), -EMLINK);
	assert_int_equal(apply(f, u, c, 2), 2); /* refresh */
	u.cseq++;
	c[0].expires_s = 0; /* one out, one in */
	assert_int_equal(apply(f, u, c, 3), 2);
	u.max_bindings = 1; /* lowered: refreshing is still fine */
	u.cseq++;
	assert_int_equal(apply(f, u, &c[1], 1), 2);
	assert_int_equal(stat_bindings(f), 2);
}

static void test_location_max_aors(void **state)
{
	struct fx *f = *state;
	struct location_contact c = contact("sip:a@192.0.2.10", 60, 1000);

	open_loc(f, 1);
	assert_int_equal(apply(f, update("a@x", "c1", 1, 0), &c, 1), 1);
	assert_int_equal(apply(f, update("b@x", "c2", 1, 0), &c, 1), -ENOSPC);
	assert_int_equal(stat_aors(f), 1);
	c.expires_s = 0;
	assert_int_equal(apply(f, update("a@x", "c1", 2, 0), &c, 1), 0);
	c.expires_s = 60;
	assert_int_equal(apply(f, update("b@x", "c2", 1, 0), &c, 1), 1);
}

/* RFC 5626 6: the same instance and reg-id is the same binding. */
static void test_location_instance_reg_id(void **state)
{
	struct fx *f = *state;
	struct location_contact c = contact("sip:a@192.0.2.10:1111", 60, 1000);

	c.instance = SL("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
	c.reg_id = 1;
	assert_int_equal(apply(f, update("a@x", "c1", 1, 0), &c, 1), 1);
	assert_true(f->out[0].use_flow);
	c.uri = SL("sip:a@192.0.2.10:2222"); /* new flow after a reboot */
	assert_int_equal(apply(f, update("a@x", "c9", 1, 0), &c, 1), 1);
	assert_slice(f->out[0].contact, "sip:a@192.0.2.10:2222");
	assert_int_equal(f->out[0].reg_id, 1);
	c.reg_id = 2; /* a second flow of the same instance */
	c.uri = SL("sip:a@192.0.2.10:3333");
	assert_int_equal(apply(f, update("a@x", "c9", 2, 0), &c, 1), 2);
	c.uri = SL("sip:a@192.0.2.10:4444"); /* and that flow again */
	assert_int_equal(apply(f, update("a@x", "c9", 3, 0), &c, 1), 2);
}

/* The sweep removes what is due, persists deletes, and nothing more. */
static void test_location_expire(void **state)
{
	struct fx *f = *state;
	char uri[64];

	for (unsigned i = 0; i < 40; i++) {
		struct location_contact c;
		char aor[32];
		snprintf(uri, sizeof(uri), "sip:u%u@192.0.2.1", i);
		snprintf(aor, sizeof(aor), "u%u@x", i % 7);
		c = contact(uri, 10 + (i * 37) % 50, LOCATION_Q_UNSET);
		assert_true(apply(f, update(aor, uri, 1, 0), &c, 1) > 0);
	}
	assert_int_equal(stat_bindings(f), 40);
	for (uint64_t t = 0; t <= 60000; t += 1000) {
		size_t left = 0;
		f->nrec = 0;
		ssize_t n = location_expire(f->loc, t);
		for (unsigned i = 0; i < 40; i++)
			left += 1000 * (10 + (i * 37) % 50) > t;
		assert_int_equal(stat_bindings(f), left);
		assert_int_equal((size_t)n, f->nrec);
		for (size_t j = 0; j < f->nrec; j++)
			assert_false(f->rec[j].is_put);
	}
	assert_int_equal(stat_aors(f), 0);
}

/* Expired bindings are invisible before the sweep gets to them. */
static void test_location_expired_invisible(void **state)
{
	struct fx *f = *state;
	struct location_contact c[2] = {
	    contact("sip:a@192.0.2.10", 10, LOCATION_Q_UNSET),
	    contact("sip:a@192.0.2.20", 20, LOCATION_Q_UNSET),
	};

	assert_int_equal(apply(f, update("a@x", "c1", 1, 0), c, 2), 2);
	assert_int_equal(lookup(f, "a@x", 10000), 1);
	assert_slice(f->out[0].contact, "sip:a@192.0.2.20");
	assert_int_equal(lookup(f, "a@x", 20000), 0);
	/* An update drops them for good (and persists the delete). */
	f->nrec = 0;
	assert_int_equal(apply(f, update("a@x", "c1", 2, 20000), NULL, 0), 0);
	assert_int_equal(f->nrec, 2);
	assert_int_equal(stat_bindings(f), 0);
}

/* Every change reaches the persistence hooks, as the store wants it. */
static void test_location_persist(void **state)
{
	struct fx *f = *state;
	struct location_contact c = contact("sip:a@192.0.2.10", 60, 700);
	struct location_update u = update("alice@Example.com", "c1", 1, 5000);

	c.instance = SL("<urn:uuid:1>");
	c.reg_id = 3;
	u.path = SL("<sip:edge.example.com;lr>");
	assert_int_equal(apply(f, u, &c, 1), 1);
	assert_int_equal(f->nrec, 1);
	assert_true(f->rec[0].is_put);
	assert_string_equal(f->rec[0].b.aor, "alice@example.com");
	assert_string_equal(f->rec[0].b.contact, "sip:a@192.0.2.10");
	assert_string_equal(f->rec[0].b.path, "<sip:edge.example.com;lr>");
	assert_string_equal(f->rec[0].b.call_id, "c1");
	assert_int_equal(f->rec[0].b.cseq, 1);
	assert_int_equal(f->rec[0].b.q_milli, 700);
	assert_int_equal(f->rec[0].b.expires_at, 1700000005 + 60);
	assert_string_equal(f->rec[0].b.transport, "udp");
	assert_string_equal(f->rec[0].b.source, "192.0.2.10:5070");
	assert_string_equal(f->rec[0].b.user_agent, "test-ua");
	assert_string_equal(f->rec[0].b.instance, "<urn:uuid:1>");
	assert_int_equal(f->rec[0].b.reg_id, 3);
	/* A refresh is a put only: the store merges by (aor, contact). */
	u.cseq = 2;
	f->nrec = 0;
	assert_int_equal(apply(f, u, &c, 1), 1);
	assert_int_equal(f->nrec, 1);
	assert_true(f->rec[0].is_put);
	/* A new contact for the same flow: delete the old key, put the new. */
	c.uri = SL("sip:a@192.0.2.10:5999");
	c.q_milli = LOCATION_Q_UNSET;
	u.cseq = 3;
	f->nrec = 0;
	assert_int_equal(apply(f, u, &c, 1), 1);
	assert_int_equal(f->nrec, 2);
	assert_true(f->rec[0].is_put);
	assert_int_equal(f->rec[0].b.q_milli, 1000);
	assert_false(f->rec[1].is_put);
	assert_string_equal(f->rec[1].b.contact, "sip:a@192.0.2.10");
	/* remove_aor persists its deletes */
	f->nrec = 0;
	assert_int_equal(location_remove_aor(f->loc, SL("alice@example.com")),
			 1);
	assert_int_equal(f->nrec, 1);
	assert_false(f->rec[0].is_put);
	assert_string_equal(f->rec[0].b.aor, "alice@example.com");
	assert_string_equal(f->rec[0].b.contact, "sip:a@192.0.2.10:5999");
	assert_int_equal(location_remove_aor(f->loc, SL("alice@example.com")),
			 0);
}

/* Restore inserts without persisting, replacing the same contact. */
static void test_location_restore(void **state)
{
	struct fx *f = *state;
	struct location_binding b;

	memset(&b, 0, sizeof(b));
	b.aor = SL("a@X");
	b.contact = SL("sip:a@192.0.2.10");
	b.path = SL("");
	b.call_id = SL("c1");
	b.user_agent = SL("");
	b.instance = SL("");
	b.cseq = 9;
	b.q_milli = LOCATION_Q_UNSET;
	b.expires_ms = 30000;
	b.expires_unix = 1700000030;
	b.flow = f->flow;
	assert_int_equal(location_restore(f->loc, &b, 2), 0);
	b.expires_ms = 40000;
	assert_int_equal(location_restore(f->loc, &b, 2), 0);
	b.contact = SL("sip:a@192.0.2.11");
	assert_int_equal(location_restore(f->loc, &b, 2), 0);
	b.contact = SL("sip:a@192.0.2.12");
	assert_int_equal(location_restore(f->loc, &b, 2), -EMLINK);
	b.contact = SL("");
	assert_int_equal(location_restore(f->loc, &b, 2), -EINVAL);
	assert_int_equal(f->nrec, 0);
	assert_int_equal(lookup(f, "a@x", 0), 2);
	assert_int_equal(f->out[0].expires_s, 40);
	assert_int_equal(f->out[0].cseq, 9);
	/* A REGISTER with the same Call-ID still needs a higher CSeq. */
	struct location_contact c = contact("sip:a@192.0.2.10", 60, 1000);
	assert_int_equal(apply(f, update("a@x", "c1", 9, 0), &c, 1), -ESTALE);
}

static int count_cb(void *arg, const struct location_binding *b)
{
	size_t *n = arg;

	assert_true(b->aor.len > 0);
	(*n)++;
	return 0;
}

static int stop_cb(void *arg, const struct location_binding *b)
{
	return 42;
}

/* The walk sees every live binding; parts cover the shards once. */
static void test_location_list(void **state)
{
	struct fx *f = *state;
	size_t n = 0;
	char aor[32], uri[64];

	for (unsigned i = 0; i < 50; i++) {
		struct location_contact c;
		snprintf(aor, sizeof(aor), "user%u@x", i);
		snprintf(uri, sizeof(uri), "sip:u@192.0.2.%u", i);
		c = contact(uri, i < 45 ? 60 : 1, LOCATION_Q_UNSET);
		assert_int_equal(apply(f, update(aor, "c", 1, 0), &c, 1), 1);
	}
	assert_int_equal(location_list(f->loc, 2000, count_cb, &n), 0);
	assert_int_equal(n, 45);
	n = 0;
	for (uint32_t p = 0; p < 3; p++)
		assert_int_equal(
		    location_list_part(f->loc, 2000, 3, p, count_cb, &n), 0);
	assert_int_equal(n, 45);
	assert_int_equal(location_list(f->loc, 0, stop_cb, NULL), 42);
}

static void test_location_ping_result(void **state)
{
	struct fx *f = *state;
	struct location_contact c = contact("sip:a@10.0.0.1", 60, 1000);
	uint64_t id;

	c.is_nated = true;
	assert_int_equal(apply(f, update("a@x", "c1", 1, 0), &c, 1), 1);
	id = f->out[0].id;
	assert_true(f->out[0].is_nated && f->out[0].use_flow);
	assert_int_equal(location_ping_result(f->loc, SL("a@x"), id, false), 1);
	assert_int_equal(location_ping_result(f->loc, SL("a@x"), id, false), 2);
	assert_int_equal(lookup(f, "a@x", 0), 1);
	assert_int_equal(f->out[0].ping_failures, 2);
	assert_int_equal(location_ping_result(f->loc, SL("a@x"), id, true), 0);
	assert_int_equal(location_ping_result(f->loc, SL("a@x"), id + 1, true),
			 -ENOENT);
	assert_int_equal(location_ping_result(f->loc, SL("b@x"), id, true),
			 -ENOENT);
}

/* Input over the limits is refused before anything is touched. */
static void test_location_limits(void **state)
{
	struct fx *f = *state;
	static char big[LOCATION_URI_MAX + 8];
	struct location_contact c = contact("sip:a@192.0.2.10", 60, 1000);
	struct location_update u = update("a@x", "c1", 1, 0);

	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "sip:", 4);
	assert_int_equal(apply(f, update("", "c1", 1, 0), &c, 1), -EINVAL);
	c.uri = slice_cstr(big);
	assert_int_equal(apply(f, u, &c, 1), -EINVAL);
	c.uri = SL("sip:a@192.0.2.10");
	u.call_id = slice_make(big, LOCATION_TEXT_MAX + 1);
	assert_int_equal(apply(f, u, &c, 1), -EINVAL);
	u = update("a@x", "c1", 1, 0);
	u.flow = NULL;
	assert_int_equal(location_update(f->loc, &u, &f->arena, f->out, NB),
			 -EINVAL);
	assert_int_equal(stat_bindings(f), 0);
}

/* Every allocation may fail: the update fails whole and leaks nothing. */
static void test_location_oom(void **state)
{
	struct fx *f = *state;
	struct location_contact c[2] = {
	    contact("sip:a@192.0.2.10", 60, LOCATION_Q_UNSET),
	    contact("sip:a@192.0.2.20", 60, LOCATION_Q_UNSET),
	};
	ssize_t got = -ENOMEM;
	int64_t n;

	for (n = 0; got == -ENOMEM; n++) {
		int64_t live;
		arena_reset(&f->arena);
		live = sb_live_get(SB_LIVE_ALLOC);
		sb_mem_fail_after(n);
		got = apply(f, update("a@x", "c1", 1, 0), c, 2);
		sb_mem_fail_after(-1);
		if (got == -ENOMEM) {
			arena_reset(&f->arena);
			assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live);
			assert_int_equal(stat_bindings(f), 0);
			assert_int_equal(stat_aors(f), 0);
		}
	}
	assert_int_equal(got, 2);
	assert_true(n > 3);
}

struct racer {
	struct fx *f;
	unsigned id;
	unsigned bad; /* inconsistencies seen (cmocka asserts are not
			 thread-safe) */
};

/*
 * Two threads update one AOR: each owns two contacts it adds and removes
 * under its own Call-ID, and reads the AOR between updates.
 */
static void *race(void *arg)
{
	struct racer *rc = arg;
	struct location_binding out[NB];
	struct arena a;
	char uri[2][64], call_id[16];
	struct location_contact c[2];

	arena_init(&a, NULL, 0, 0);
	snprintf(call_id, sizeof(call_id), "call-%u", rc->id);
	for (int i = 0; i < 2; i++) {
		snprintf(uri[i], sizeof(uri[i]), "sip:t%u-%d@192.0.2.1", rc->id,
			 i);
		c[i] = contact(uri[i], 60, LOCATION_Q_UNSET);
	}
	for (uint32_t r = 1; r <= THREAD_ROUNDS; r++) {
		struct location_update u = update("race@x", call_id, r, 0);
		ssize_t n;
		c[r % 2].expires_s = 60;
		c[(r + 1) % 2].expires_s = r % 3 ? 0 : 60;
		u.contacts = c;
		u.ncontacts = 2;
		u.flow = &rc->f->flow;
		n = location_update(rc->f->loc, &u, &a, out, NB);
		rc->bad += n < 1 || n > 4;
		if (n > 0)
			location_bindings_clear(out, (size_t)n);
		n = location_lookup(rc->f->loc, SL("race@x"), 0, &a, out, NB);
		rc->bad += n < 1 || n > 4;
		for (ssize_t i = 0; i < n; i++)
			for (ssize_t j = i + 1; j < n; j++)
				rc->bad +=
				    slice_eq(out[i].contact, out[j].contact);
		if (n > 0)
			location_bindings_clear(out, (size_t)n);
		arena_reset(&a);
	}
	arena_close(&a);
	return NULL;
}

static void test_location_concurrent_updates(void **state)
{
	struct fx *f = *state;
	struct racer r[2] = {{f, 0, 0}, {f, 1, 0}};
	pthread_t th[2];

	f->loc = location_free(f->loc);
	assert_int_equal(
	    location_new(&(struct location_opts){.shards = 1}, &f->loc), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(r[0].bad + r[1].bad, 0);
	/* Last round (2000): contact 0 kept, contact 1 gone (2000 % 3). */
	assert_int_equal(lookup(f, "race@x", 0), 2);
	assert_int_equal(stat_bindings(f), 2);
	assert_int_equal(stat_aors(f), 1);
}

/* Memory per binding with typical strings, reported for PERFORMANCE.md. */
static void test_location_memory_per_binding(void **state)
{
	struct fx *f = *state;
	struct location_stats before, after;
	char aor[64], uri[96], call_id[64];

	f->loc = location_free(f->loc);
	assert_int_equal(location_new(&(struct location_opts){0}, &f->loc), 0);
	location_stats(f->loc, &before);
	for (unsigned i = 0; i < MEM_AORS; i++) {
		struct location_contact c;
		struct location_update u;
		snprintf(aor, sizeof(aor), "user%05u@example.com", i);
		snprintf(uri, sizeof(uri), "sip:user%05u@192.168.%u.%u:5060", i,
			 i / 250 % 250, i % 250 + 1);
		snprintf(call_id, sizeof(call_id),
			 "a84b4c76e66710%08x@192.168.1.10", i);
		c = contact(uri, 3600, LOCATION_Q_UNSET);
		u = update(aor, call_id, 1, 0);
		u.user_agent = SL("Linphone/5.2.0 (belle-sip/5.2.0)");
		assert_int_equal(apply(f, u, &c, 1), 1);
		arena_reset(&f->arena);
	}
	location_stats(f->loc, &after);
	print_message("location: %u bindings, %.1f bytes each (table "
		      "accounting, malloc headers not included)\n",
		      MEM_AORS,
		      (double)(after.bytes - before.bytes) / MEM_AORS);
	assert_true((after.bytes - before.bytes) / MEM_AORS < 512);
	assert_int_equal(after.bindings, MEM_AORS);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_location_add_lookup_by_q),
	    T(test_location_aor_case),
	    T(test_location_refresh_and_cseq_order),
	    T(test_location_update_is_atomic),
	    T(test_location_remove),
	    T(test_location_uri_equivalence),
	    T(test_location_star),
	    T(test_location_max_bindings),
	    T(test_location_max_aors),
	    T(test_location_instance_reg_id),
	    T(test_location_expire),
	    T(test_location_expired_invisible),
	    T(test_location_persist),
	    T(test_location_restore),
	    T(test_location_list),
	    T(test_location_ping_result),
	    T(test_location_limits),
	    T(test_location_oom),
	    T(test_location_concurrent_updates),
	    T(test_location_memory_per_binding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
