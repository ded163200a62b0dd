/* TLS through OpenSSL 3 memory BIOs: contexts and per-connection engines. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "base/mem.h"
#include "sip/transport/stream.h"

static const unsigned char session_id_ctx[] = "switchboard";

struct tp_tls_ctx {
	SSL_CTX *ssl;
	bool has_cert;
	bool is_client_cert_required;
	bool is_server_verified;
};

struct tp_tls {
	SSL *ssl;
	BIO *in;	 /* ciphertext from the peer, read by SSL */
	BIO *out;	 /* ciphertext SSL wrote, for the peer */
	struct buf held; /* plaintext written before the handshake */
	bool is_established;
	bool is_failed;
	char err[TP_TLS_ERR_LEN]; /* last failure */
};

/* OpenSSL's queued errors (or fallback) into dst; clears the queue. */
static void err_text(char *dst, size_t cap, const char *what,
		     const char *fallback)
{
	unsigned long e = ERR_get_error();
	char ossl[TP_TLS_ERR_LEN / 2];

	if (e)
		ERR_error_string_n(e, ossl, sizeof(ossl));
	else
		snprintf(ossl, sizeof(ossl), "%s", fallback);
	snprintf(dst, cap, "%s: %s", what, ossl);
	ERR_clear_error();
}

static int ctx_fail(struct tp_tls_ctx *c, struct tp_tls_err *err,
		    const char *what, const char *file)
{
	char tmp[TP_TLS_ERR_LEN];

	err_text(tmp, sizeof(tmp), file ? file : what, what);
	snprintf(err->msg, sizeof(err->msg), "%s", tmp);
	tp_tls_ctx_free(c);
	return -EINVAL;
}

/* Record why the session failed; returns -EPROTO. */
static int fail(struct tp_tls *t, const char *what)
{
	long v = SSL_get_verify_result(t->ssl);

	t->is_failed = true;
	if (v != X509_V_OK) {
		snprintf(t->err, sizeof(t->err), "%s: certificate: %s", what,
			 X509_verify_cert_error_string(v));
		ERR_clear_error();
	} else {
		err_text(t->err, sizeof(t->err), what, "protocol error");
	}
	return -EPROTO;
}

static int flush_held(struct tp_tls *t)
{
	int r;

	if (!t->held.len)
		return 0;
	r = SSL_write(t->ssl, t->held.p, (int)t->held.len);
	buf_close(&t->held);
	if (r <= 0)
		return fail(t, "write");
	return 0;
}

/* Step the handshake. 1 = done, 0 = needs more, < 0 = failed. */
static int handshake(struct tp_tls *t)
{
	int r = SSL_do_handshake(t->ssl);

	if (r == 1) {
		t->is_established = true;
		return flush_held(t) ? -EPROTO : 1;
	}
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		return fail(t, "handshake");
	}
}

int tp_tls_ctx_new(const struct tp_tls_ctx_opts *o, struct tp_tls_ctx **out,
		   struct tp_tls_err *err)
{
	struct tp_tls_ctx *c;

	err->msg[0] = '\0';
	if ((o->cert_file == NULL) != (o->key_file == NULL)) {
		snprintf(err->msg, sizeof(err->msg),
			 "certificate and key must be given together");
		return -EINVAL;
	}
	c = sb_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ERR_clear_error();
	c->ssl = SSL_CTX_new(TLS_method());
	if (!c->ssl) {
		tp_tls_ctx_free(c);
		return -ENOMEM;
	}
	c->is_client_cert_required = o->is_client_cert_required;
	c->is_server_verified = o->is_server_verified;
	if (!SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION))
		return ctx_fail(c, err, "TLS version", NULL);
	SSL_CTX_set_options(c->ssl, SSL_OP_NO_COMPRESSION |
					SSL_OP_NO_RENEGOTIATION |
					SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(c->ssl, session_id_ctx,
				       sizeof(session_id_ctx) - 1);
	if (o->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(c->ssl, o->cert_file) !=
		    1)
			return ctx_fail(c, err, "certificate", o->cert_file);
		if (SSL_CTX_use_PrivateKey_file(c->ssl, o->key_file,
						SSL_FILETYPE_PEM) != 1)
			return ctx_fail(c, err, "key", o->key_file);
		if (SSL_CTX_check_private_key(c->ssl) != 1)
			return ctx_fail(c, err, "key does not match",
					o->key_file);
		c->has_cert = true;
	}
	if (o->ca_file) {
		if (SSL_CTX_load_verify_locations(c->ssl, o->ca_file, NULL) !=
		    1)
			return ctx_fail(c, err, "CA", o->ca_file);
	} else if (SSL_CTX_set_default_verify_paths(c->ssl) != 1) {
		return ctx_fail(c, err, "default CA store", NULL);
	}
	if (o->is_client_cert_required && !o->ca_file) {
		snprintf(err->msg, sizeof(err->msg),
			 "client certificates need a CA file");
		tp_tls_ctx_free(c);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

struct tp_tls_ctx *tp_tls_ctx_free(struct tp_tls_ctx *c)
{
	if (!c)
		return NULL;
	SSL_CTX_free(c->ssl); /* engines keep their own reference */
	sb_free(c);
	return NULL;
}

bool tp_tls_ctx_can_serve(const struct tp_tls_ctx *c)
{
	return c && c->has_cert;
}

static int set_peer_name(struct tp_tls *t, const char *name)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
	struct in6_addr a6;
	struct in_addr a4;
	bool is_ip = inet_pton(AF_INET, name, &a4) == 1 ||
		     inet_pton(AF_INET6, name, &a6) == 1;

	if (is_ip)
		return X509_VERIFY_PARAM_set1_ip_asc(vp, name) == 1 ? 0
								    : -EINVAL;
	/* RFC 6066 3: SNI carries host names, never IP literals */
	if (SSL_set_tlsext_host_name(t->ssl, name) != 1)
		return -EINVAL;
	return SSL_set1_host(t->ssl, name) == 1 ? 0 : -EINVAL;
}

int tp_tls_new(struct tp_tls_ctx *c, enum tp_tls_role role,
	       const char *peer_name, struct tp_tls **out)
{
	struct tp_tls *t;
	int err = -ENOMEM;

	if (role == TP_TLS_SERVER && !c->has_cert)
		return -EINVAL;
	t = sb_calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	buf_init(&t->held, 0);
	ERR_clear_error();
	t->ssl = SSL_new(c->ssl);
	t->in = BIO_new(BIO_s_mem());
	t->out = BIO_new(BIO_s_mem());
	if (!t->ssl || !t->in || !t->out) {
		BIO_free(t->in);
		BIO_free(t->out);
		t->in = t->out = NULL;
		goto out;
	}
	/* An empty input BIO means "retry later", not end of file. */
	BIO_set_mem_eof_return(t->in, -1);
	SSL_set_bio(t->ssl, t->in, t->out);
	if (role == TP_TLS_SERVER) {
		SSL_set_accept_state(t->ssl);
		if (c->is_client_cert_required)
			SSL_set_verify(t->ssl,
				       SSL_VERIFY_PEER |
					   SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				       NULL);
	} else {
		SSL_set_connect_state(t->ssl);
		if (c->is_server_verified)
			SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
		if (peer_name && (err = set_peer_name(t, peer_name)))
			goto out;
	}
	*out = t;
	return 0;
out:
	ERR_clear_error();
	tp_tls_free(t);
	return err;
}

struct tp_tls *tp_tls_free(struct tp_tls *t)
{
	if (!t)
		return NULL;
	SSL_free(t->ssl); /* frees both BIOs */
	buf_close(&t->held);
	sb_free(t);
	return NULL;
}

int tp_tls_feed(struct tp_tls *t, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		int n = len > INT32_MAX ? INT32_MAX : (int)len;
		int r = BIO_write(t->in, p, n);

		if (r <= 0) {
			ERR_clear_error();
			return -ENOMEM;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

ssize_t tp_tls_read(struct tp_tls *t, void *buf, size_t cap)
{
	int r;

	if (t->is_failed)
		return -EPROTO;
	ERR_clear_error();
	if (!t->is_established) {
		r = handshake(t);
		if (r <= 0)
			return r;
	}
	r = SSL_read(t->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
	if (r > 0)
		return r;
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return -ESHUTDOWN;
	default:
		return fail(t, "read");
	}
}

int tp_tls_write(struct tp_tls *t, const void *data, size_t len)
{
	const char *p = data;

	if (t->is_failed)
		return -EPROTO;
	if (!t->is_established)
		return buf_append(&t->held, data, len);
	ERR_clear_error();
	while (len) {
		int n = len > INT32_MAX ? INT32_MAX : (int)len;
		int r = SSL_write(t->ssl, p, n);

		if (r <= 0)
			return fail(t, "write");
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int tp_tls_shutdown(struct tp_tls *t)
{
	if (t->is_established && !t->is_failed) {
		ERR_clear_error();
		SSL_shutdown(t->ssl);
		ERR_clear_error();
	}
	return 0;
}

size_t tp_tls_out_pending(const struct tp_tls *t)
{
	return BIO_ctrl_pending(t->out);
}

size_t tp_tls_out_take(struct tp_tls *t, void *buf, size_t cap)
{
	int r = BIO_read(t->out, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);

	return r > 0 ? (size_t)r : 0;
}

bool tp_tls_is_partial(const struct tp_tls *t)
{
	return BIO_ctrl_pending(t->in) > 0 || SSL_has_pending(t->ssl);
}

bool tp_tls_is_established(const struct tp_tls *t)
{
	return t->is_established;
}

size_t tp_tls_held(const struct tp_tls *t)
{
	return t->held.len;
}

const char *tp_tls_error(const struct tp_tls *t)
{
	return t->err;
}
