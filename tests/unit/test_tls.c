/* Unit tests for the TLS engine over memory buffers (sip/transport/tls.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "base/mem.h"
#include "sip/transport/stream.h"

enum { PUMP_ROUNDS = 64, CHUNK = 16384 };

/* Files made once for the whole run, in a temporary directory. */
struct pki {
	char dir[64];
	char ca[128], srv_cert[128], srv_key[128];
	char cli_cert[128], cli_key[128];
	char rogue_cert[128], rogue_key[128];
};

static struct pki pki;

struct side {
	struct tp_tls *t;
	struct buf got; /* plaintext received */
	int err;	/* first error from tp_tls_read */
};

struct fx {
	int64_t live_alloc;
	struct tp_tls_ctx *srv_ctx, *cli_ctx;
	struct side srv, cli;
};

static void write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (x)
		assert_int_equal(PEM_write_X509(f, x), 1);
	if (k)
		assert_int_equal(
		    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for key named cn, signed by issuer (NULL: self-signed). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		       EVP_PKEY *issuer_key, bool is_ca, const char *san)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	add_ext(x, issuer, NID_basic_constraints,
		is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (is_ca)
		add_ext(x, issuer, NID_key_usage, "critical,keyCertSign");
	if (san)
		add_ext(x, issuer, NID_subject_alt_name, san);
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) >
		    0);
	return x;
}

static void pki_make(void)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256");
	EVP_PKEY *cli_key = EVP_EC_gen("P-256");
	EVP_PKEY *rogue_key = EVP_EC_gen("P-256");
	X509 *ca, *srv, *cli, *rogue;

	assert_non_null(ca_key);
	snprintf(pki.dir, sizeof(pki.dir), "/tmp/sb-test-tls-XXXXXX");
	assert_non_null(mkdtemp(pki.dir));
	snprintf(pki.ca, sizeof(pki.ca), "%s/ca.pem", pki.dir);
	snprintf(pki.srv_cert, sizeof(pki.srv_cert), "%s/srv.pem", pki.dir);
	snprintf(pki.srv_key, sizeof(pki.srv_key), "%s/srv.key", pki.dir);
	snprintf(pki.cli_cert, sizeof(pki.cli_cert), "%s/cli.pem", pki.dir);
	snprintf(pki.cli_key, sizeof(pki.cli_key), "%s/cli.key", pki.dir);
	snprintf(pki.rogue_cert, sizeof(pki.rogue_cert), "%s/rogue.pem",
		 pki.dir);
	snprintf(pki.rogue_key, sizeof(pki.rogue_key), "%s/rogue.key", pki.dir);
	ca = make_cert(ca_key, "switchboard test CA", NULL, NULL, true, NULL);
	srv = make_cert(srv_key, "localhost", ca, ca_key, false,
			"DNS:localhost,IP:127.0.0.1,IP:::1");
	cli = make_cert(cli_key, "client.test", ca, ca_key, false,
			"DNS:client.test");
	rogue = make_cert(rogue_key, "rogue.test", NULL, NULL, false,
			  "DNS:rogue.test");
	write_pem(pki.ca, ca, NULL);
	write_pem(pki.srv_cert, srv, NULL);
	write_pem(pki.srv_key, NULL, srv_key);
	write_pem(pki.cli_cert, cli, NULL);
	write_pem(pki.cli_key, NULL, cli_key);
	write_pem(pki.rogue_cert, rogue, NULL);
	write_pem(pki.rogue_key, NULL, rogue_key);
	X509_free(ca);
	X509_free(srv);
	X509_free(cli);
	X509_free(rogue);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(cli_key);
	EVP_PKEY_free(rogue_key);
}

static int group_setup(void **state)
{
	pki_make();
	return 0;
}

static int group_teardown(void **state)
{
	const char *files[] = {pki.ca,	     pki.srv_cert, pki.srv_key,
			       pki.cli_cert, pki.cli_key,  pki.rogue_cert,
			       pki.rogue_key};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(pki.dir);
	return 0;
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	buf_init(&f.srv.got, 0);
	buf_init(&f.cli.got, 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->srv.t = tp_tls_free(f->srv.t);
	f->cli.t = tp_tls_free(f->cli.t);
	f->srv_ctx = tp_tls_ctx_free(f->srv_ctx);
	f->cli_ctx = tp_tls_ctx_free(f->cli_ctx);
	buf_close(&f->srv.got);
	buf_close(&f->cli.got);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

static struct tp_tls_ctx *ctx_new(const struct tp_tls_ctx_opts *o)
{
	struct tp_tls_ctx *c = NULL;
	struct tp_tls_err err;

	if (tp_tls_ctx_new(o, &c, &err)) {
		print_error("tp_tls_ctx_new: %s\n", err.msg);
		fail();
	}
	return c;
}

/* Standard pair: a server with its certificate, a client verifying it. */
static void make_pair(struct fx *f, const char *name)
{
	struct tp_tls_ctx_opts so = {
	    .cert_file = pki.srv_cert,
	    .key_file = pki.srv_key,
	    .ca_file = pki.ca,
	};
	struct tp_tls_ctx_opts co = {.ca_file = pki.ca,
				     .is_server_verified = true};

	f->srv_ctx = ctx_new(&so);
	f->cli_ctx = ctx_new(&co);
	assert_int_equal(tp_tls_new(f->srv_ctx, TP_TLS_SERVER, NULL, &f->srv.t),
			 0);
	assert_int_equal(tp_tls_new(f->cli_ctx, TP_TLS_CLIENT, name, &f->cli.t),
			 0);
}

/* Read all plaintext a side has; keep the first error. */
static bool drain(struct side *s)
{
	char tmp[CHUNK];
	bool moved = false;
	ssize_t n;

	while (!s->err && (n = tp_tls_read(s->t, tmp, sizeof(tmp))) != 0) {
		if (n < 0) {
			s->err = (int)n;
			break;
		}
		buf_append(&s->got, tmp, (size_t)n);
		moved = true;
	}
	return moved;
}

/* Move ciphertext from one engine to the other. */
static bool carry(struct side *from, struct side *to)
{
	char tmp[CHUNK];
	bool moved = false;
	size_t n;

	while ((n = tp_tls_out_take(from->t, tmp, sizeof(tmp)))) {
		assert_int_equal(tp_tls_feed(to->t, tmp, n), 0);
		moved = true;
	}
	return moved;
}

/* Run both engines until nothing moves. */
static void pump(struct side *a, struct side *b)
{
	for (int i = 0; i < PUMP_ROUNDS; i++) {
		bool moved = drain(a);
		moved |= carry(a, b);
		moved |= drain(b);
		moved |= carry(b, a);
		if (!moved)
			return;
	}
	fail_msg("engines never settled");
}

static void test_tls_handshake_and_data(void **state)
{
	struct fx *f = *state;
	char *big = malloc(100000);

	make_pair(f, "localhost");
	/* Written before the handshake: held, then sent. */
	assert_int_equal(tp_tls_write(f->cli.t, "OPTIONS", 7), 0);
	assert_int_equal(tp_tls_held(f->cli.t), 7);
	pump(&f->cli, &f->srv);
	assert_int_equal(f->cli.err, 0);
	assert_int_equal(f->srv.err, 0);
	assert_true(tp_tls_is_established(f->cli.t));
	assert_true(tp_tls_is_established(f->srv.t));
	assert_int_equal(tp_tls_held(f->cli.t), 0);
	assert_int_equal(f->srv.got.len, 7);
	assert_memory_equal(f->srv.got.p, "OPTIONS", 7);

	/* Both ways, more than one record. */
	assert_non_null(big);
	for (int i = 0; i < 100000; i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(tp_tls_write(f->srv.t, big, 100000), 0);
	assert_int_equal(tp_tls_write(f->cli.t, big, 50000), 0);
	pump(&f->cli, &f->srv);
	assert_int_equal(f->cli.got.len, 100000);
	assert_memory_equal(f->cli.got.p, big, 100000);
	assert_int_equal(f->srv.got.len, 7 + 50000);
	assert_memory_equal(f->srv.got.p + 7, big, 50000);
	assert_string_equal(tp_tls_error(f->srv.t), "");
	free(big);
}

static void test_tls_verify_by_ip(void **state)
{
	struct fx *f = *state;

	make_pair(f, "127.0.0.1");
	pump(&f->cli, &f->srv);
	assert_int_equal(f->cli.err, 0);
	assert_true(tp_tls_is_established(f->cli.t));
}

static void test_tls_wrong_name_refused(void **state)
{
	struct fx *f = *state;

	make_pair(f, "sip.other.example");
	pump(&f->cli, &f->srv);
	assert_int_equal(f->cli.err, -EPROTO);
	assert_false(tp_tls_is_established(f->cli.t));
	assert_non_null(strstr(tp_tls_error(f->cli.t), "certificate"));
	/* The server hears the client's alert. */
	assert_int_equal(f->srv.err, -EPROTO);
	/* Failed stays failed. */
	assert_int_equal(tp_tls_write(f->cli.t, "x", 1), -EPROTO);
}

static void test_tls_untrusted_server_refused(void **state)
{
	struct fx *f = *state;
	struct tp_tls_ctx_opts so = {.cert_file = pki.rogue_cert,
				     .key_file = pki.rogue_key};
	struct tp_tls_ctx_opts co = {.ca_file = pki.ca,
				     .is_server_verified = true};

	f->srv_ctx = ctx_new(&so);
	f->cli_ctx = ctx_new(&co);
	assert_int_equal(tp_tls_new(f->srv_ctx, TP_TLS_SERVER, NULL, &f->srv.t),
			 0);
	assert_int_equal(
	    tp_tls_new(f->cli_ctx, TP_TLS_CLIENT, "rogue.test", &f->cli.t), 0);
	pump(&f->cli, &f->srv);
	assert_int_equal(f->cli.err, -EPROTO);
	assert_non_null(strstr(tp_tls_error(f->cli.t), "certificate"));
}

/* A foreign client that offers TLS 1.1 at most. */
static void test_tls_old_version_refused(void **state)
{
	struct fx *f = *state;
	struct tp_tls_ctx_opts so = {.cert_file = pki.srv_cert,
				     .key_file = pki.srv_key};
	SSL_CTX *old = SSL_CTX_new(TLS_client_method());
	BIO *to_srv = BIO_new(BIO_s_mem()), *from_srv = BIO_new(BIO_s_mem());
	char tmp[CHUNK];
	SSL *ssl;
	int n;

	f->srv_ctx = ctx_new(&so);
	assert_int_equal(tp_tls_new(f->srv_ctx, TP_TLS_SERVER, NULL, &f->srv.t),
			 0);
	assert_non_null(old);
	SSL_CTX_set_security_level(old, 0);
	assert_int_equal(SSL_CTX_set_cipher_list(old, "DEFAULT@SECLEVEL=0"), 1);
	assert_int_equal(SSL_CTX_set_min_proto_version(old, TLS1_VERSION), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION), 1);
	ssl = SSL_new(old);
	BIO_set_mem_eof_return(from_srv, -1);
	SSL_set_bio(ssl, from_srv, to_srv);
	SSL_set_connect_state(ssl);
	assert_int_equal(SSL_do_handshake(ssl), -1); /* ClientHello out */
	while ((n = BIO_read(to_srv, tmp, sizeof(tmp))) > 0)
		assert_int_equal(tp_tls_feed(f->srv.t, tmp, (size_t)n), 0);
	assert_int_equal(tp_tls_read(f->srv.t, tmp, sizeof(tmp)), -EPROTO);
	assert_false(tp_tls_is_established(f->srv.t));
	assert_non_null(strstr(tp_tls_error(f->srv.t), "protocol"));
	/* The alert tells the client; its handshake fails too. */
	while ((n = (int)tp_tls_out_take(f->srv.t, tmp, sizeof(tmp))) > 0)
		BIO_write(from_srv, tmp, n);
	assert_true(SSL_do_handshake(ssl) <= 0);
	assert_int_equal(SSL_get_error(ssl, -1), SSL_ERROR_SSL);
	SSL_free(ssl);
	SSL_CTX_free(old);
	ERR_clear_error();
}

static void client_cert_case(struct fx *f, const char *cert, const char *key)
{
	struct tp_tls_ctx_opts so = {
	    .cert_file = pki.srv_cert,
	    .key_file = pki.srv_key,
	    .ca_file = pki.ca,
	    .is_client_cert_required = true,
	};
	struct tp_tls_ctx_opts co = {
	    .cert_file = cert,
	    .key_file = key,
	    .ca_file = pki.ca,
	    .is_server_verified = true,
	};

	f->srv_ctx = ctx_new(&so);
	f->cli_ctx = ctx_new(&co);
	assert_int_equal(tp_tls_new(f->srv_ctx, TP_TLS_SERVER, NULL, &f->srv.t),
			 0);
	assert_int_equal(
	    tp_tls_new(f->cli_ctx, TP_TLS_CLIENT, "localhost", &f->cli.t), 0);
	assert_int_equal(tp_tls_write(f->cli.t, "REGISTER", 8), 0);
	pump(&f->cli, &f->srv);
}

static void test_tls_client_cert_required_and_given(void **state)
{
	struct fx *f = *state;

	client_cert_case(f, pki.cli_cert, pki.cli_key);
	assert_int_equal(f->srv.err, 0);
	assert_int_equal(f->cli.err, 0);
	assert_true(tp_tls_is_established(f->srv.t));
	assert_int_equal(f->srv.got.len, 8);
}

static void test_tls_client_cert_required_and_missing(void **state)
{
	struct fx *f = *state;

	client_cert_case(f, NULL, NULL);
	assert_int_equal(f->srv.err, -EPROTO);
	assert_false(tp_tls_is_established(f->srv.t));
	assert_int_equal(f->srv.got.len, 0);
	/* TLS 1.3: the client learns it from the server's alert. */
	assert_int_equal(f->cli.err, -EPROTO);
}

static void test_tls_client_cert_untrusted(void **state)
{
	struct fx *f = *state;

	client_cert_case(f, pki.rogue_cert, pki.rogue_key);
	assert_int_equal(f->srv.err, -EPROTO);
	assert_int_equal(f->srv.got.len, 0);
	assert_non_null(strstr(tp_tls_error(f->srv.t), "certificate"));
}

static void test_tls_close_notify(void **state)
{
	struct fx *f = *state;

	make_pair(f, "localhost");
	pump(&f->cli, &f->srv);
	assert_true(tp_tls_is_established(f->srv.t));
	assert_int_equal(tp_tls_shutdown(f->cli.t), 0);
	pump(&f->cli, &f->srv);
	assert_int_equal(f->srv.err, -ESHUTDOWN);
}

static void test_tls_garbage_refused(void **state)
{
	struct fx *f = *state;
	static const char junk[] = "OPTIONS sip:x SIP/2.0\r\n\r\n";
	char tmp[64];

	make_pair(f, "localhost");
	assert_int_equal(tp_tls_feed(f->srv.t, junk, sizeof(junk) - 1), 0);
	assert_int_equal(tp_tls_read(f->srv.t, tmp, sizeof(tmp)), -EPROTO);
	assert_int_equal(tp_tls_read(f->srv.t, tmp, sizeof(tmp)), -EPROTO);
}

static void test_tls_ctx_errors(void **state)
{
	struct fx *f = *state;
	struct tp_tls_ctx_opts o = {.cert_file = "/nonexistent/cert.pem",
				    .key_file = pki.srv_key};
	struct tp_tls_err err;
	struct tp_tls *t;

	assert_int_equal(tp_tls_ctx_new(&o, &f->srv_ctx, &err), -EINVAL);
	assert_null(f->srv_ctx);
	assert_non_null(strstr(err.msg, "/nonexistent/cert.pem"));

	o.cert_file = pki.srv_cert;
	o.key_file = pki.cli_key; /* not the certificate's key */
	assert_int_equal(tp_tls_ctx_new(&o, &f->srv_ctx, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "key"));

	o.key_file = NULL;
	assert_int_equal(tp_tls_ctx_new(&o, &f->srv_ctx, &err), -EINVAL);

	o = (struct tp_tls_ctx_opts){.cert_file = pki.srv_cert,
				     .key_file = pki.srv_key,
				     .is_client_cert_required = true};
	assert_int_equal(tp_tls_ctx_new(&o, &f->srv_ctx, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "CA"));

	/* A client-only context cannot serve. */
	o = (struct tp_tls_ctx_opts){.ca_file = pki.ca};
	f->cli_ctx = ctx_new(&o);
	assert_false(tp_tls_ctx_can_serve(f->cli_ctx));
	assert_int_equal(tp_tls_new(f->cli_ctx, TP_TLS_SERVER, NULL, &t),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tls_handshake_and_data, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tls_verify_by_ip, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tls_wrong_name_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tls_untrusted_server_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tls_old_version_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_tls_client_cert_required_and_given, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_tls_client_cert_required_and_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tls_client_cert_untrusted,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tls_close_notify, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tls_garbage_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tls_ctx_errors, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
