/* Unit tests for SIP, SIPS and tel URIs (sip/msg/uri.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "base/mem.h"
#include "sip/msg/uri.h"

enum { MAX_COPIES = 64 };

/* Exact-size heap copies of the inputs, so ASan sees any overread. */
struct fx {
	int64_t live_alloc;
	struct sb_limits lim;
	char *copies[MAX_COPIES];
	size_t ncopies;
};

static struct fx *fx_now;

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.lim = sb_limits_default();
	fx_now = &f;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < f->ncopies; i++)
		free(f->copies[i]);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

/* A slice over a heap copy of len bytes of text, kept until teardown. */
static struct slice copy(const char *text, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	assert_true(fx_now->ncopies < MAX_COPIES);
	memcpy(p, text, len);
	fx_now->copies[fx_now->ncopies++] = p;
	return slice_make(p, len);
}

static int parse_n(const char *text, size_t len, struct sip_uri *u)
{
	return sip_uri_parse(copy(text, len), u, &fx_now->lim);
}

static int parse(const char *text, struct sip_uri *u)
{
	return parse_n(text, strlen(text), u);
}

/* Parse text, which must succeed. */
static struct sip_uri ok(const char *text)
{
	struct sip_uri u;
	int err = parse(text, &u);

	if (err)
		fail_msg("\"%s\" rejected: %d", text, err);
	return u;
}

/* Parse text, which must fail with err. */
static void bad(const char *text, int err)
{
	struct sip_uri u;
	int got = parse(text, &u);

	if (got != err)
		fail_msg("\"%s\": got %d, want %d", text, got, err);
}

static void assert_slice(struct slice s, const char *want)
{
	char got[512];

	if (!s.p)
		fail_msg("absent slice, want \"%s\"", want);
	assert_true(s.len < sizeof(got));
	memcpy(got, s.p, s.len);
	got[s.len] = '\0';
	assert_string_equal(got, want);
}

static void assert_absent(struct slice s)
{
	assert_null(s.p);
	assert_int_equal(s.len, 0);
}

static bool eq(const char *a, const char *b)
{
	struct sip_uri x = ok(a), y = ok(b);
	bool e = sip_uri_eq(&x, &y);

	/* Equality is symmetric, whatever the answer. */
	assert_int_equal(e, sip_uri_eq(&y, &x));
	return e;
}

static void assert_eq(const char *a, const char *b)
{
	if (!eq(a, b))
		fail_msg("\"%s\" and \"%s\" should be equal", a, b);
}

static void assert_ne(const char *a, const char *b)
{
	if (eq(a, b))
		fail_msg("\"%s\" and \"%s\" should differ", a, b);
}

static void assert_param(const struct sip_uri *u, const char *name,
			 const char *want)
{
	struct slice v;

	assert_int_equal(sip_uri_param(u, name, &v), 0);
	if (want)
		assert_slice(v, want);
	else
		assert_null(v.p);
}

static void test_uri_rfc3261_examples(void **state)
{
	struct sip_uri u;

	/* RFC 3261 19.1.3, in its order. */
	u = ok("sip:alice@atlanta.com");
	assert_int_equal(u.scheme, SIP_URI_SIP);
	assert_slice(u.scheme_name, "sip");
	assert_slice(u.user, "alice");
	assert_absent(u.password);
	assert_slice(u.host, "atlanta.com");
	assert_int_equal(u.host_type, SIP_HOST_NAME);
	assert_false(u.has_port);
	assert_absent(u.params);
	assert_absent(u.headers);
	assert_int_equal(u.param_count, 0);
	assert_slice(u.raw, "sip:alice@atlanta.com");

	u = ok("sip:alice:secretword@atlanta.com;transport=tcp");
	assert_slice(u.user, "alice");
	assert_slice(u.password, "secretword");
	assert_slice(u.host, "atlanta.com");
	assert_slice(u.params, "transport=tcp");
	assert_slice(u.transport, "tcp");
	assert_int_equal(u.param_count, 1);

	u = ok("sips:alice@atlanta.com?subject=project%20x&priority=urgent");
	assert_int_equal(u.scheme, SIP_URI_SIPS);
	assert_slice(u.host, "atlanta.com");
	assert_absent(u.params);
	assert_slice(u.headers, "subject=project%20x&priority=urgent");

	u = ok("sip:+1-212-555-1212:1234@gateway.com;user=phone");
	assert_slice(u.user, "+1-212-555-1212");
	assert_slice(u.password, "1234");
	assert_slice(u.host, "gateway.com");
	assert_slice(u.user_param, "phone");

	u = ok("sips:1212@gateway.com");
	assert_int_equal(u.scheme, SIP_URI_SIPS);
	assert_slice(u.user, "1212");

	u = ok("sip:alice@192.0.2.4");
	assert_slice(u.host, "192.0.2.4");
	assert_int_equal(u.host_type, SIP_HOST_IPV4);

	u = ok("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com");
	assert_absent(u.user);
	assert_slice(u.host, "atlanta.com");
	assert_slice(u.method, "REGISTER");
	assert_slice(u.headers, "to=alice%40atlanta.com");

	u = ok("sip:alice;day=tuesday@atlanta.com");
	assert_slice(u.user, "alice;day=tuesday");
	assert_slice(u.host, "atlanta.com");
	assert_absent(u.params);
	assert_int_equal(u.param_count, 0);
}

static void test_uri_scheme_case_insensitive(void **state)
{
	struct sip_uri u;

	u = ok("SIP:alice@atlanta.com");
	assert_int_equal(u.scheme, SIP_URI_SIP);
	assert_slice(u.scheme_name, "SIP");
	u = ok("sIpS:alice@atlanta.com");
	assert_int_equal(u.scheme, SIP_URI_SIPS);
	assert_slice(u.scheme_name, "sIpS");
	u = ok("TEL:+12015550123");
	assert_int_equal(u.scheme, SIP_URI_TEL);
	assert_slice(u.scheme_name, "TEL");
	/* "sipx" is another scheme, not sip. */
	u = ok("sipx:alice@atlanta.com");
	assert_int_equal(u.scheme, SIP_URI_OTHER);
}

static void test_uri_other_schemes(void **state)
{
	static const char *const good[] = {
	    /* RFC 4475 3.3.2 unkscm, 3.3.3 novelsc, 3.1.2.? unksm2. */
	    "nobodyKnowsThisScheme:totallyopaquecontent",
	    "soap.beep://192.0.2.103:3002",
	    "isbn:2983792873",
	    "http://www.example.com",
	    "name:John_Smith",
	    "urn:service:sos",
	    "mailto:alice@example.com?subject=hi%20there",
	    "h323:[2001:db8::1]:1720",
	    "a+b-c.d:x",
	};
	static const char *const bad_ones[] = {
	    "1abc:x",	 "+sip:x",  "foo:",	"foo:a b",  "foo:<x>",
	    "foo bar:x", "nocolon", ":x",	"foo:%zz",  "foo:a%4",
	    "foo:a\"b",	 "foo:a#b", "foo:a{b}", "foo:\x01", "fo_o:x",
	    "foo:a\\b",	 "foo:a^b", "foo:a|b",	"foo:a`b",
	};
	struct sip_uri u;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		u = ok(good[i]);
		assert_int_equal(u.scheme, SIP_URI_OTHER);
		assert_slice(u.raw, good[i]);
		assert_int_equal(u.host_type, SIP_HOST_NONE);
		assert_absent(u.user);
		assert_absent(u.host);
		assert_absent(u.params);
	}
	u = ok("soap.beep://192.0.2.103:3002");
	assert_slice(u.scheme_name, "soap.beep");
	for (size_t i = 0; i < sizeof(bad_ones) / sizeof(bad_ones[0]); i++)
		bad(bad_ones[i], -EBADMSG);
}

static void test_uri_user_with_semicolon(void **state)
{
	struct sip_uri u;

	/* RFC 4475 3.1.1.9 semiuri: the ';' belongs to user. */
	u = ok("sip:user;par=u%40example.net@example.com");
	assert_slice(u.user, "user;par=u%40example.net");
	assert_slice(u.host, "example.com");
	assert_absent(u.params);
	assert_int_equal(u.param_count, 0);
	/* user-unreserved '?' and '/' stay in user too. */
	u = ok("sip:a?b=c/d@example.com;lr");
	assert_slice(u.user, "a?b=c/d");
	assert_absent(u.headers);
	assert_true(u.lr);
}

static void test_uri_user_unusual_characters(void **state)
{
	struct sip_uri u;

	/* RFC 4475 3.1.1.2 intmeth Request-URI. */
	u = ok("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1"
	       ",weird!*pas$wo~d_too.(doesn't-it)@example.com");
	assert_slice(u.user,
		     "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	assert_slice(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
	assert_slice(u.host, "example.com");
	assert_absent(u.params);
}

static void test_uri_userinfo_password(void **state)
{
	struct sip_uri u;

	u = ok("sip:alice:@atlanta.com");
	assert_slice(u.user, "alice");
	/* An empty password is present, unlike none at all. */
	assert_non_null(u.password.p);
	assert_int_equal(u.password.len, 0);
	u = ok("sip:alice:p%40ss@atlanta.com:5061");
	assert_slice(u.password, "p%40ss");
	assert_int_equal(u.port, 5061);
}

static void test_uri_userinfo_rejected(void **state)
{
	static const char *const cases[] = {
	    "sip:@atlanta.com",
	    "sip::pw@atlanta.com",
	    "sip:a:b:c@atlanta.com",
	    "sip:a:b;c@atlanta.com",
	    "sip:a:b?@atlanta.com",
	    "sip:a\"@atlanta.com",
	    "sip:a#b@atlanta.com",
	    "sip:a@b@atlanta.com",
	    "sip:a%4@atlanta.com",
	    "sip:a%g0@atlanta.com",
	    "sip:a%@atlanta.com",
	    "sip:a[b]@atlanta.com",
	    "sip:a@",
	    "sip:a@;lr",
	    "sip:a@:5060",
	    "sip:a@atlanta.com@",
	    "sip:a{}@atlanta.com",
	    "sip:a|b@atlanta.com",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad(cases[i], -EBADMSG);
}

static void test_uri_escapes_kept_raw(void **state)
{
	struct sip_uri u;
	char out[64];
	int n;

	/* RFC 4475 3.1.1.3 esc01. */
	u = ok("sip:sips%3Auser%40example.com@example.net");
	assert_int_equal(u.scheme, SIP_URI_SIP);
	assert_slice(u.user, "sips%3Auser%40example.com");
	assert_slice(u.host, "example.net");
	n = sip_uri_unescape(u.user, out, sizeof(out));
	assert_int_equal(n, 21);
	assert_memory_equal(out, "sips:user@example.com", 21);

	u = ok("sip:%75se%72@example.com");
	n = sip_uri_unescape(u.user, out, sizeof(out));
	assert_int_equal(n, 4);
	assert_memory_equal(out, "user", 4);

	u = ok("sip:I%20have%20spaces@example.net");
	assert_slice(u.user, "I%20have%20spaces");

	/* A raw '@' can only end userinfo, so this user holds ";a". */
	u = ok("sip:a.com;a@b");
	assert_slice(u.user, "a.com;a");
	assert_slice(u.host, "b");
	assert_absent(u.params);

	/* An escaped parameter name is still that parameter. */
	u = ok("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
	assert_slice(u.user, "cal%6Cer");
	assert_true(u.lr);
	assert_int_equal(u.param_count, 2);
	assert_param(&u, "name", "v%61lue%25%34%31");
	assert_param(&u, "LR", NULL);
	n = sip_uri_unescape(slice_make("v%61lue%25%34%31", 16), out,
			     sizeof(out));
	assert_int_equal(n, 8);
	assert_memory_equal(out, "value%41", 8);
}

static void test_uri_escaped_null(void **state)
{
	struct sip_uri u, v;
	char out[16];
	int n;

	/* RFC 4475 3.1.1.4 escnull: a decoded NUL must not end the user. */
	u = ok("sip:null-%00-null@example.com");
	assert_slice(u.user, "null-%00-null");
	n = sip_uri_unescape(u.user, out, sizeof(out));
	assert_int_equal(n, 11);
	assert_memory_equal(out, "null-\0-null", 11);

	u = ok("sip:%00@host5.example.com");
	v = ok("sip:%00%00@host5.example.com");
	assert_slice(u.user, "%00");
	assert_slice(v.user, "%00%00");
	/* They register two distinct contacts. */
	assert_false(sip_uri_eq(&u, &v));
	assert_ne("sip:%00@host5.example.com", "sip:%00%00@host5.example.com");
	assert_eq("sip:%00@host5.example.com", "sip:%00@HOST5.example.com");
}

static void test_uri_whitespace_and_delimiters_rejected(void **state)
{
	static const char *const cases[] = {
	    /* RFC 4475 3.1.2.8 lwsruri. */
	    "sip:user@example.com; lr",
	    "sip:user@example.com ;lr",
	    " sip:user@example.com",
	    "sip:user@example.com ",
	    "sip: user@example.com",
	    "sip:us er@example.com",
	    "sip:user@exa\tmple.com",
	    "sip:user@example.com\r\n",
	    "sip:user@example.com;lr\n",
	    "sip:user@example.com?a=b c",
	    /* RFC 4475 3.1.2.? ltgtruri: brackets belong to name-addr. */
	    "<sip:user@example.com>",
	    "sip:user@example.com>",
	    "sip:\"user\"@example.com",
	    "sip:user@example.com;a=\"b\"",
	    "sip:us\x01er@example.com",
	    "sip:user@example.com\x7f",
	    "sip:us\xc3\xa9r@example.com",
	    "sip:user@example.com#frag",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad(cases[i], -EBADMSG);
}

static void test_uri_embedded_nul_rejected(void **state)
{
	struct sip_uri u;

	/* The length is the truth: a raw NUL is a bad character. */
	assert_int_equal(parse_n("sip:a\0b@example.com", 19, &u), -EBADMSG);
	assert_int_equal(parse_n("sip:example.com\0", 16, &u), -EBADMSG);
	/* And bytes after len are never looked at. */
	assert_int_equal(parse_n("sip:example.com;lr", 15, &u), 0);
	assert_slice(u.host, "example.com");
	assert_false(u.lr);
}

static void test_uri_host_names(void **state)
{
	static const char *const good[] = {
	    "sip:example.com.", "sip:a-b.c-d.example", "sip:1.2.3.4.example",
	    "sip:3com.com",	"sip:localhost",       "sip:a",
	    "sip:x.1a",		"sip:A--B.example",    "sip:123.example.",
	};
	static const char *const bad_ones[] = {
	    "sip:-a.com",   "sip:a-.com",   "sip:a..com",
	    "sip:.a.com",   "sip:a_b.com",  "sip:example.123",
	    "sip:.",	    "sip:a.com..",  "sip:",
	    "sip:a.-b.com", "sip:a.b-.com", "sip:exa%6Dple.com",
	    "sip:a.b/c",    "sip:a.b,c",
	};
	struct sip_uri u;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		u = ok(good[i]);
		assert_int_equal(u.host_type, SIP_HOST_NAME);
		assert_slice(u.host, good[i] + 4);
	}
	for (size_t i = 0; i < sizeof(bad_ones) / sizeof(bad_ones[0]); i++)
		bad(bad_ones[i], -EBADMSG);
}

static void test_uri_host_ipv4(void **state)
{
	static const char *const good[] = {
	    "sip:192.0.2.4", "sip:0.0.0.0",  "sip:255.255.255.255",
	    "sip:001.2.3.4", "sip:10.0.0.1",
	};
	static const char *const bad_ones[] = {
	    "sip:256.1.1.1", "sip:1.2.3",      "sip:1.2.3.4.5",
	    "sip:1.2.3.4.",  "sip:1234.1.1.1", "sip:1..2.3",
	    "sip:1.2.3.-4",  "sip:1.2.3.999",  "sip:123",
	};
	struct sip_uri u;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		u = ok(good[i]);
		assert_int_equal(u.host_type, SIP_HOST_IPV4);
		assert_slice(u.host, good[i] + 4);
	}
	u = ok("sip:alice@192.0.2.4:5070;transport=tcp");
	assert_slice(u.host, "192.0.2.4");
	assert_int_equal(u.port, 5070);
	for (size_t i = 0; i < sizeof(bad_ones) / sizeof(bad_ones[0]); i++)
		bad(bad_ones[i], -EBADMSG);
}

static void test_uri_ipv6_rfc5118(void **state)
{
	struct sip_uri u;

	/* 4.1 ipv6-good. */
	u = ok("sip:[2001:db8::10]");
	assert_int_equal(u.host_type, SIP_HOST_IPV6);
	assert_slice(u.host, "[2001:db8::10]");
	assert_false(u.has_port);
	/* 4.2 ipv6-bad: no brackets, so "db8::10" would be the port. */
	bad("sip:2001:db8::10", -EBADMSG);
	bad("sip:user@2001:db8::10", -EBADMSG);
	/* 4.3 port-ambiguous: one address whose last group is 5070. */
	u = ok("sip:[2001:db8::10:5070]");
	assert_slice(u.host, "[2001:db8::10:5070]");
	assert_false(u.has_port);
	/* 4.4 port-unambiguous. */
	u = ok("sip:[2001:db8::10]:5070");
	assert_slice(u.host, "[2001:db8::10]");
	assert_true(u.has_port);
	assert_int_equal(u.port, 5070);
	/* 4.9 IPv4-mapped addresses. */
	u = ok("sip:caller@[::ffff:192.0.2.10]");
	assert_slice(u.user, "caller");
	assert_slice(u.host, "[::ffff:192.0.2.10]");
	assert_int_equal(u.host_type, SIP_HOST_IPV6);
	/* 4.10: RFC 3261's ABNF allows three colons before an IPv4 tail, and
	 * both forms must be tolerated, naming the same address. */
	u = ok("sip:user@[2001:db8::192.0.2.1]");
	assert_int_equal(u.host_type, SIP_HOST_IPV6);
	u = ok("sip:user@[2001:db8:::192.0.2.1]");
	assert_slice(u.host, "[2001:db8:::192.0.2.1]");
	assert_int_equal(u.host_type, SIP_HOST_IPV6);
	assert_eq("sip:user@[2001:db8:::192.0.2.1]",
		  "sip:user@[2001:db8::192.0.2.1]");
	assert_eq("sip:[:::192.0.2.1]", "sip:[::c000:201]");
	/* Only there: ":::" anywhere else is still an error. */
	bad("sip:[2001:db8:::10]", -EBADMSG);
	bad("sip:[2001:db8:::]", -EBADMSG);
	bad("sip:[2001:::db8:1.2.3.4]", -EBADMSG);
	bad("sip:[2001:db8::::192.0.2.1]", -EBADMSG);
	bad("sip:[1::2:::192.0.2.1]", -EBADMSG);
	bad("sip:[2001:db8:::192.0.2]", -EBADMSG);
	/* Unterminated references. */
	bad("sip:[2001:db8::10", -EBADMSG);
	bad("sip:user@[2001:db8::10;lr", -EBADMSG);
	bad("sip:[", -EBADMSG);
}

static void test_uri_ipv6_forms(void **state)
{
	static const char *const good[] = {
	    "sip:[::]",
	    "sip:[::1]",
	    "sip:[1::]",
	    "sip:[1:2:3:4:5:6:7:8]",
	    "sip:[1:2:3:4:5:6:1.2.3.4]",
	    "sip:[1::8]",
	    "sip:[1:2:3:4:5:6:7::]",
	    "sip:[::2:3:4:5:6:7:8]",
	    "sip:[ABCD:ef01::FfFf]",
	    "sip:[0:0:0:0:0:FFFF:129.144.52.38]",
	    "sip:[::192.0.2.1]",
	};
	static const char *const bad_ones[] = {
	    "sip:[]",
	    "sip:[1:2:3:4:5:6:7:8:9]",
	    "sip:[1:2:3:4:5:6:7]",
	    "sip:[2001::db8::1]",
	    "sip:[1:2:3:4:5:6:7:8::]",
	    "sip:[1:2:3:4::5:6:7:8]",
	    "sip:[1:2:3:4:5:6:7:1.2.3.4]",
	    "sip:[12345::1]",
	    "sip:[:1::2]",
	    "sip:[1::2:]",
	    "sip:[1:]",
	    "sip:[:]",
	    "sip:[:::]",
	    "sip:[::1.2.3]",
	    "sip:[::ffff:256.0.0.1]",
	    "sip:[::1.2.3.4:5]",
	    "sip:[fe80::1%25eth0]",
	    "sip:[2001:db8::10]x",
	    "sip:[2001:db8::g]",
	    "sip:[2001:db8::10]]",
	    "sip:[[::1]]",
	    "sip:[::1]:",
	    "sip:[::1]:65536",
	    "sip:[ ::1]",
	};
	struct sip_uri u;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		u = ok(good[i]);
		assert_int_equal(u.host_type, SIP_HOST_IPV6);
		assert_slice(u.host, good[i] + 4);
	}
	for (size_t i = 0; i < sizeof(bad_ones) / sizeof(bad_ones[0]); i++)
		bad(bad_ones[i], -EBADMSG);
}

static void test_uri_port(void **state)
{
	static const char *const bad_ones[] = {
	    "sip:a.com:",
	    "sip:a.com:65536",
	    "sip:a.com:99999999999999999999",
	    "sip:a.com:50a",
	    "sip:a.com:-1",
	    "sip:a.com:+5",
	    "sip:a.com::5060",
	    "sip:a.com:5060:5061",
	    "sip:a.com:;lr",
	};
	struct sip_uri u;

	u = ok("sip:a.com:0");
	assert_true(u.has_port);
	assert_int_equal(u.port, 0);
	u = ok("sip:a.com:65535");
	assert_int_equal(u.port, 65535);
	u = ok("sip:alice@a.com:5060;lr?h=v");
	assert_int_equal(u.port, 5060);
	assert_true(u.lr);
	assert_slice(u.headers, "h=v");
	u = ok("sip:a.com:0005060");
	assert_int_equal(u.port, 5060);
	for (size_t i = 0; i < sizeof(bad_ones) / sizeof(bad_ones[0]); i++)
		bad(bad_ones[i], -EBADMSG);
}

static void test_uri_params_well_known(void **state)
{
	struct sip_uri u;

	u = ok("sip:proxy.example.com;lr;transport=udp;maddr=10.0.0.1;ttl=16;"
	       "user=ip;method=INVITE;x-foo");
	assert_true(u.lr);
	assert_slice(u.transport, "udp");
	assert_slice(u.maddr, "10.0.0.1");
	assert_slice(u.ttl, "16");
	assert_slice(u.user_param, "ip");
	assert_slice(u.method, "INVITE");
	assert_int_equal(u.param_count, 7);
	assert_slice(u.params, "lr;transport=udp;maddr=10.0.0.1;ttl=16;"
			       "user=ip;method=INVITE;x-foo");
	assert_param(&u, "x-foo", NULL);

	/* Old proxies send lr=on; names are case-insensitive. */
	u = ok("sip:p.example.com;lr=on;Transport=TCP;MADDR=[2001:db8::1]");
	assert_true(u.lr);
	assert_slice(u.transport, "TCP");
	assert_slice(u.maddr, "[2001:db8::1]");
	u = ok("sip:p.example.com;maddr=mcast.example.net;ttl=0");
	assert_slice(u.maddr, "mcast.example.net");
	assert_slice(u.ttl, "0");
	u = ok("sip:p.example.com;ttl=255;x=[a]:/&+$");
	assert_slice(u.ttl, "255");
	assert_param(&u, "x", "[a]:/&+$");

	/* None present: all absent. */
	u = ok("sip:p.example.com;x=1");
	assert_false(u.lr);
	assert_absent(u.transport);
	assert_absent(u.maddr);
	assert_absent(u.ttl);
	assert_absent(u.user_param);
	assert_absent(u.method);
}

static void test_uri_params_rejected(void **state)
{
	static const char *const cases[] = {
	    "sip:a.com;",
	    "sip:a.com;=x",
	    "sip:a.com;a=",
	    "sip:a.com;a;;b",
	    "sip:a.com;ttl=256",
	    "sip:a.com;ttl=abc",
	    "sip:a.com;ttl=0001",
	    "sip:a.com;ttl",
	    "sip:a.com;maddr=bad_host",
	    "sip:a.com;maddr=[::1",
	    "sip:a.com;transport",
	    "sip:a.com;method",
	    "sip:a.com;transport=udp;transport=tcp",
	    "sip:a.com;transport=udp;TRANSPORT=udp",
	    "sip:a.com;lr;lr",
	    "sip:a.com;lr;lr=on",
	    "sip:a.com;user=ip;user=phone",
	    "sip:a.com;a=b c",
	    "sip:a.com;a=<x>",
	    "sip:a.com;a=%zz",
	    "sip:a.com;a=b=c",
	    "sip:a.com;a=b,c",
	    "sip:a.com;a=?",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad(cases[i], -EBADMSG);
}

static void test_uri_param_lookup(void **state)
{
	struct sip_uri u;
	struct slice v = SL("untouched");

	u = ok("sip:a.com;Foo=Bar;flag;%62az=qux");
	assert_param(&u, "foo", "Bar");
	assert_param(&u, "FOO", "Bar");
	assert_param(&u, "flag", NULL);
	assert_param(&u, "baz", "qux");
	assert_int_equal(sip_uri_param(&u, "fo", &v), -ENOENT);
	assert_int_equal(sip_uri_param(&u, "foobar", &v), -ENOENT);
	assert_slice(v, "untouched");

	u = ok("sip:a.com");
	assert_int_equal(sip_uri_param(&u, "lr", &v), -ENOENT);
	u = ok("urn:service:sos;x=y");
	assert_int_equal(sip_uri_param(&u, "x", &v), -ENOENT);
}

static void test_uri_params_limit(void **state)
{
	struct fx *f = *state;
	char text[4096];
	size_t len;
	struct sip_uri u;

	f->lim.max_params = 3;
	u = ok("sip:a.com;a;b;c");
	assert_int_equal(u.param_count, 3);
	bad("sip:a.com;a;b;c;d", -E2BIG);
	/* Headers count against the same limit. */
	u = ok("sip:a.com?a=1&b=2&c=3");
	assert_slice(u.headers, "a=1&b=2&c=3");
	bad("sip:a.com?a=1&b=2&c=3&d=4", -E2BIG);
	bad("tel:+1234;a;b;c;d", -E2BIG);

	/* The default limit, and a NULL limit meaning the default. */
	f->lim = sb_limits_default();
	len = (size_t)snprintf(text, sizeof(text), "sip:a.com");
	for (uint32_t i = 0; i < f->lim.max_params; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					";p%u=%u", i, i);
	u = ok(text);
	assert_int_equal(u.param_count, f->lim.max_params);
	assert_int_equal(sip_uri_parse(copy(text, len), &u, NULL), 0);
	snprintf(text + len, sizeof(text) - len, ";one-more");
	bad(text, -E2BIG);
	assert_int_equal(sip_uri_parse(copy(text, strlen(text)), &u, NULL),
			 -E2BIG);

	f->lim.max_params = 0;
	ok("sip:a.com");
	bad("sip:a.com;lr", -E2BIG);
}

static void test_uri_headers(void **state)
{
	static const char *const bad_ones[] = {
	    "sip:a.com?",	 "sip:a.com?a",	       "sip:a.com?=b",
	    "sip:a.com?a=b&",	 "sip:a.com?a=b&&c=d", "sip:a.com?a=b c",
	    "sip:a.com?a=@",	 "sip:a.com?a=b=c",    "sip:a.com?a=b;c",
	    "sip:a.com?a=b?c=d", "sip:a.com?a=%3",     "sip:a.com?a=b#",
	    "sip:a.com?a=b;lr",
	};
	struct sip_uri u;

	/* RFC 4475 3.1.2.? escruri: legal as a URI, not as a Request-URI. */
	u = ok("sip:user@example.com?Route=%3Csip:example.com%3E");
	assert_slice(u.user, "user");
	assert_slice(u.host, "example.com");
	assert_slice(u.headers, "Route=%3Csip:example.com%3E");
	assert_absent(u.params);

	u = ok("sip:a.com;lr?a=b&c=&d=[x]/?:+$");
	assert_true(u.lr);
	assert_slice(u.params, "lr");
	assert_slice(u.headers, "a=b&c=&d=[x]/?:+$");

	u = ok("sip:a.com?to=sip:bob%40biloxi.com");
	assert_slice(u.headers, "to=sip:bob%40biloxi.com");
	for (size_t i = 0; i < sizeof(bad_ones) / sizeof(bad_ones[0]); i++)
		bad(bad_ones[i], -EBADMSG);
}

static void test_uri_tel(void **state)
{
	struct sip_uri u;

	u = ok("tel:+1-201-555-0123");
	assert_int_equal(u.scheme, SIP_URI_TEL);
	assert_slice(u.user, "+1-201-555-0123");
	assert_absent(u.host);
	assert_int_equal(u.host_type, SIP_HOST_NONE);
	assert_false(u.has_port);
	assert_absent(u.params);

	u = ok("tel:+1-201-555-0123;ext=1234");
	assert_slice(u.user, "+1-201-555-0123");
	assert_slice(u.params, "ext=1234");
	assert_param(&u, "ext", "1234");
	assert_int_equal(u.param_count, 1);

	u = ok("tel:7042;phone-context=example.com");
	assert_slice(u.user, "7042");
	assert_param(&u, "phone-context", "example.com");

	u = ok("tel:863-1234;phone-context=+1-914-555");
	assert_slice(u.user, "863-1234");
	assert_param(&u, "phone-context", "+1-914-555");

	u = ok("tel:*67#12;phone-context=example.com");
	assert_slice(u.user, "*67#12");
	u = ok("tel:+1(201)555.0123;isub=1411;x-vendor=a");
	assert_slice(u.user, "+1(201)555.0123");
	assert_int_equal(u.param_count, 2);
	/* A local number without context is accepted (common in practice). */
	u = ok("tel:ABCD");
	assert_slice(u.user, "ABCD");
}

static void test_uri_tel_rejected(void **state)
{
	static const char *const cases[] = {
	    "tel:",
	    "tel:+",
	    "tel:+-",
	    "tel:---",
	    "tel:+1 201",
	    "tel:+1x",
	    "tel:+1*2",
	    "tel:+1#",
	    "tel:12g4",
	    "tel:%31",
	    "tel:+12;ext=",
	    "tel:+12;ext",
	    "tel:+12;ext=12a",
	    "tel:123;phone-context=",
	    "tel:123;phone-context",
	    "tel:123;phone-context=bad_ctx",
	    "tel:123;phone-context=+",
	    "tel:123;phone-context=1.2.3.4",
	    "tel:+12?x=y",
	    "tel:+12@host",
	    "tel:;ext=1",
	    "tel:+12;",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad(cases[i], -EBADMSG);
}

static void test_uri_eq_rfc3261_equal(void **state)
{
	/* RFC 3261 19.1.4: the equivalent pairs. */
	assert_eq("sip:%61lice@atlanta.com;transport=TCP",
		  "sip:alice@AtLanTa.CoM;Transport=tcp");
	assert_eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5");
	assert_eq("sip:carol@chicago.com", "sip:carol@chicago.com;security=on");
	assert_eq("sip:carol@chicago.com;newparam=5",
		  "sip:carol@chicago.com;security=on");
	assert_eq("sip:biloxi.com;transport=tcp;method=REGISTER"
		  "?to=sip:bob%40biloxi.com",
		  "sip:biloxi.com;method=REGISTER;transport=tcp"
		  "?to=sip:bob%40biloxi.com");
	assert_eq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
		  "sip:alice@atlanta.com?priority=urgent&subject=project%20x");
}

static void test_uri_eq_rfc3261_not_equal(void **state)
{
	/* RFC 3261 19.1.4: the pairs that are not equivalent. */
	assert_ne("SIP:ALICE@AtLanTa.CoM;Transport=udp",
		  "sip:alice@AtLanTa.CoM;Transport=UDP");
	assert_ne("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060");
	assert_ne("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp");
	assert_ne("sip:bob@biloxi.com",
		  "sip:bob@biloxi.com:6000;transport=tcp");
	assert_ne("sip:carol@chicago.com",
		  "sip:carol@chicago.com?Subject=next%20meeting");
	assert_ne("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4");
	/* Equality is not transitive. */
	assert_eq("sip:carol@chicago.com",
		  "sip:carol@chicago.com;security=off");
	assert_ne("sip:carol@chicago.com;security=on",
		  "sip:carol@chicago.com;security=off");
}

static void test_uri_eq_userinfo(void **state)
{
	assert_eq("sip:alice@a.com", "sip:alice@a.com");
	assert_ne("sip:alice@a.com", "sip:Alice@a.com");
	assert_ne("sip:alice@a.com", "sip:a.com");
	assert_ne("sip:alice@a.com", "sip:alice:@a.com");
	assert_ne("sip:alice:x@a.com", "sip:alice:X@a.com");
	assert_eq("sip:alice:%78@a.com", "sip:alice:x@a.com");
	/* Unreserved escapes decode; reserved ones stay distinct. */
	assert_eq("sip:%7e%41@a.com", "sip:~A@a.com");
	assert_ne("sip:a%3Bb@a.com", "sip:a;b@a.com");
	assert_eq("sip:a%3Bb@a.com", "sip:a%3bb@a.com");
	assert_ne("sip:a%40b@a.com", "sip:a%41b@a.com");
	assert_eq("sip:sips%3Auser%40example.com@example.net",
		  "sip:sips%3auser%40example.com@example.net");
	assert_ne("sip:+1-212@gw.com;user=phone",
		  "sip:+1212@gw.com;user=phone");
}

static void test_uri_eq_host_and_port(void **state)
{
	assert_eq("sip:a@EXAMPLE.com", "sip:a@example.COM");
	assert_ne("sip:a@example.com", "sip:a@example.com.");
	assert_ne("sip:a@example.com", "sips:a@example.com");
	assert_eq("sip:a@192.0.2.4", "sip:a@192.000.2.004");
	assert_ne("sip:a@192.0.2.4", "sip:a@192.0.2.5");
	assert_ne("sip:a@192.0.2.4", "sip:a@[::ffff:192.0.2.4]");
	/* RFC 5954 4.2: IPv6 literals compare by value. */
	assert_eq("sip:bob@[::ffff:192.0.2.128]", "sip:bob@[::ffff:c000:280]");
	assert_eq("sip:bob@[2001:db8::9:1]", "sip:bob@[2001:db8::9:01]");
	assert_eq("sip:bob@[0:0:0:0:0:FFFF:129.144.52.38]",
		  "sip:bob@[::FFFF:129.144.52.38]");
	assert_eq("sip:[2001:DB8::1]", "sip:[2001:db8:0:0:0:0:0:1]");
	assert_ne("sip:[2001:db8::1]", "sip:[2001:db8::1:0]");
	assert_ne("sip:[2001:db8::10]:5070", "sip:[2001:db8::10:5070]");
	assert_eq("sip:a.com:5070", "sip:a.com:05070");
	assert_ne("sip:a.com:5070", "sip:a.com:5071");
}

static void test_uri_eq_params(void **state)
{
	assert_eq("sip:a.com;x=AbC", "sip:a.com;X=aBc");
	assert_eq("sip:a.com;x=%41", "sip:a.com;x=a");
	assert_ne("sip:a.com;x=1", "sip:a.com;x=2");
	assert_ne("sip:a.com;lr", "sip:a.com;lr=on");
	assert_eq("sip:a.com;lr", "sip:a.com");
	assert_ne("sip:a.com;maddr=1.2.3.4", "sip:a.com");
	assert_ne("sip:a.com;user=phone", "sip:a.com");
	assert_ne("sip:a.com;ttl=1", "sip:a.com");
	assert_ne("sip:a.com;method=INVITE", "sip:a.com");
	assert_eq("sip:a.com;method=INVITE", "sip:a.com;METHOD=invite");
	assert_eq("sip:a.com;%74ransport=tcp", "sip:a.com;transport=TCP");
	assert_ne("sip:a.com;%74ransport=tcp", "sip:a.com");
	assert_eq("sip:a.com;a=1;b=2;c", "sip:a.com;c;b=2;a=1");
	/* A repeated name matches when any of its values does. */
	assert_eq("sip:a.com;x=1;x=2", "sip:a.com;x=2;x=1");
}

static void test_uri_eq_headers(void **state)
{
	assert_eq("sip:a.com?Subject=Hi", "sip:a.com?subject=Hi");
	assert_ne("sip:a.com?subject=Hi", "sip:a.com?subject=hi");
	assert_eq("sip:a.com?subject=%48i", "sip:a.com?subject=Hi");
	assert_ne("sip:a.com?a=1", "sip:a.com?a=1&b=2");
	assert_ne("sip:a.com?a=", "sip:a.com");
	assert_eq("sip:a.com?a=1&b=2", "sip:a.com?b=2&a=1");
	assert_ne("sip:a.com?to=a%40b", "sip:a.com?to=a%41b");
}

static void test_uri_eq_tel_and_other(void **state)
{
	/* RFC 3966 4. */
	assert_eq("tel:+1-201-555-0123", "tel:+12015550123");
	assert_eq("tel:+1(201)555.0123", "TEL:+1-201-555-0123");
	assert_ne("tel:+12015550123", "tel:+12015550124");
	assert_ne("tel:12015550123;phone-context=+1",
		  "tel:+12015550123;phone-context=+1");
	assert_eq("tel:7042;phone-context=Example.COM",
		  "tel:7042;phone-context=example.com");
	assert_eq("tel:7042;phone-context=+1-914",
		  "tel:70-42;phone-context=+1914");
	assert_ne("tel:7042;phone-context=a-b.com",
		  "tel:7042;phone-context=ab.com");
	assert_eq("tel:+1234;ext=1-2", "tel:+1234;ext=12");
	assert_eq("tel:abcd;x=1", "tel:ABCD;x=1");
	/* Every parameter counts for tel. */
	assert_ne("tel:+1234;ext=12", "tel:+1234");
	assert_ne("tel:+1234;x=1", "tel:+1234");
	assert_eq("tel:+1234;a=1;b=2", "tel:+1234;b=2;a=1");
	/* Across schemes, never. */
	assert_ne("tel:+1234", "sip:+1234@a.com");
	assert_ne("tel:+1234", "urn:+1234");
	/* Other schemes: scheme in any case, the rest exactly. */
	assert_eq("URN:service:sos", "urn:service:sos");
	assert_eq("urn:service:%73os", "urn:service:sos");
	assert_ne("urn:service:sos", "urn:service:SOS");
	assert_ne("urn:service:sos", "urx:service:sos");
}

static void test_uri_unescape(void **state)
{
	char out[8];

	assert_int_equal(sip_uri_unescape(SL("a%41b"), out, sizeof(out)), 3);
	assert_memory_equal(out, "aAb", 3);
	assert_int_equal(sip_uri_unescape(SL("%00%ff"), out, sizeof(out)), 2);
	assert_int_equal(out[0], 0);
	assert_int_equal((unsigned char)out[1], 0xff);
	assert_int_equal(sip_uri_unescape(SL(""), out, sizeof(out)), 0);
	assert_int_equal(sip_uri_unescape(slice_make(NULL, 0), out, 0), 0);
	assert_int_equal(sip_uri_unescape(SL("%"), out, sizeof(out)), -EBADMSG);
	assert_int_equal(sip_uri_unescape(SL("a%4"), out, sizeof(out)),
			 -EBADMSG);
	assert_int_equal(sip_uri_unescape(SL("%zz"), out, sizeof(out)),
			 -EBADMSG);
	assert_int_equal(sip_uri_unescape(SL("%4g"), out, sizeof(out)),
			 -EBADMSG);
	/* Capacity: exactly enough, then one short. */
	assert_int_equal(sip_uri_unescape(SL("abcd%65fgh"), out, 8), 8);
	assert_memory_equal(out, "abcdefgh", 8);
	assert_int_equal(sip_uri_unescape(SL("abcdefghi"), out, 8), -E2BIG);
	assert_int_equal(sip_uri_unescape(SL("a"), out, 0), -E2BIG);
}

static void test_uri_out_untouched_on_error(void **state)
{
	struct sip_uri u, before;

	memset(&u, 0xa5, sizeof(u));
	memcpy(&before, &u, sizeof(u));
	assert_int_equal(parse("sip:alice@atlanta.com;ttl=999", &u), -EBADMSG);
	assert_memory_equal(&u, &before, sizeof(u));
	assert_int_equal(parse("", &u), -EBADMSG);
	assert_int_equal(sip_uri_parse(slice_make(NULL, 0), &u, NULL),
			 -EBADMSG);
	assert_int_equal(parse("sip:", &u), -EBADMSG);
	assert_int_equal(parse("sip", &u), -EBADMSG);
	assert_memory_equal(&u, &before, sizeof(u));
}

/* The slices of a parsed URI must lie inside its input. */
static void assert_inside(struct slice s, struct slice in)
{
	if (!s.p)
		return;
	assert_true(s.p >= in.p);
	assert_true(s.p + s.len <= in.p + in.len);
}

static void test_uri_every_prefix_parses_or_fails(void **state)
{
	static const char *const uris[] = {
	    ("sip:alice:secretword@atlanta.com:5061;transport=tcp;lr"
	     "?subject=project%20x&priority=urgent"),
	    "sips:+1-212-555-1212:1234@gateway.com;user=phone",
	    "sip:user;par=u%40example.net@[2001:db8::10]:5070;maddr=[::1]",
	    "sip:caller@[::ffff:192.0.2.10];ttl=16;method=INVITE",
	    "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31",
	    "tel:863-1234;phone-context=+1-914-555;ext=12",
	    "soap.beep://192.0.2.103:3002",
	};
	struct sip_uri u;
	int parsed = 0, failed = 0;

	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		size_t n = strlen(uris[i]);

		for (size_t len = 0; len <= n; len++) {
			/* Fresh exact-size copies: prefixes must not overread.
			 */
			char *buf = malloc(len ? len : 1);
			struct slice in = slice_make(buf, len);
			int err;

			assert_non_null(buf);
			memcpy(buf, uris[i], len);
			err = sip_uri_parse(in, &u, &fx_now->lim);
			if (err == 0) {
				parsed++;
				assert_true(u.raw.p == buf && u.raw.len == len);
				assert_inside(u.user, in);
				assert_inside(u.password, in);
				assert_inside(u.host, in);
				assert_inside(u.params, in);
				assert_inside(u.headers, in);
				assert_inside(u.transport, in);
				assert_true(sip_uri_eq(&u, &u));
			} else {
				failed++;
				assert_int_equal(err, -EBADMSG);
			}
			if (len == n && err)
				fail_msg("\"%s\" rejected", uris[i]);
			free(buf);
		}
	}
	assert_true(parsed > 20);
	assert_true(failed > 20);
	/* Some prefixes are URIs in their own right. */
	assert_int_equal(parse("sip:alice:secretword@atlanta.com:50", &u), 0);
	assert_int_equal(u.port, 50);
	assert_int_equal(parse("sip:alice", &u), 0);
	assert_slice(u.host, "alice");
	assert_absent(u.user);
	bad("sip:alice:", -EBADMSG);
	bad("sip:alice:secretword@", -EBADMSG);
	bad("sip:alice@atlanta.com;transport=", -EBADMSG);
	bad("sip:a.com?subject=project%2", -EBADMSG);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_uri_rfc3261_examples),
	    T(test_uri_scheme_case_insensitive),
	    T(test_uri_other_schemes),
	    T(test_uri_user_with_semicolon),
	    T(test_uri_user_unusual_characters),
	    T(test_uri_userinfo_password),
	    T(test_uri_userinfo_rejected),
	    T(test_uri_escapes_kept_raw),
	    T(test_uri_escaped_null),
	    T(test_uri_whitespace_and_delimiters_rejected),
	    T(test_uri_embedded_nul_rejected),
	    T(test_uri_host_names),
	    T(test_uri_host_ipv4),
	    T(test_uri_ipv6_rfc5118),
	    T(test_uri_ipv6_forms),
	    T(test_uri_port),
	    T(test_uri_params_well_known),
	    T(test_uri_params_rejected),
	    T(test_uri_param_lookup),
	    T(test_uri_params_limit),
	    T(test_uri_headers),
	    T(test_uri_tel),
	    T(test_uri_tel_rejected),
	    T(test_uri_eq_rfc3261_equal),
	    T(test_uri_eq_rfc3261_not_equal),
	    T(test_uri_eq_userinfo),
	    T(test_uri_eq_host_and_port),
	    T(test_uri_eq_params),
	    T(test_uri_eq_headers),
	    T(test_uri_eq_tel_and_other),
	    T(test_uri_unescape),
	    T(test_uri_out_untouched_on_error),
	    T(test_uri_every_prefix_parses_or_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
