/* Unit tests for the config loader (runtime/config.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/mem.h"
#include "runtime/config.h"
#include "config_fx.h"

static const char minimal[] = "listen:\n  - udp:127.0.0.1:5060\n";

/* A data directory with the pair scripts/dev-cert leaves (any bytes do:
 * the loader only checks that they are readable files). */
static void dev_dir_make(char *dir)
{
	char path[128];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tls", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/tls/dev-cert.pem", dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/tls/dev-key.pem", dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
}

static void dev_dir_remove(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/tls/dev-cert.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/tls/dev-key.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/tls", dir);
	rmdir(path);
	rmdir(dir);
}

static void test_config_valid_full(void **state)
{
	struct fx *f = *state;
	const struct config_listen *l;
	const struct sb_limits *lim;

	assert_int_equal(load(f, "listen:\n"
				 "  - udp:127.0.0.1:5060\n"
				 "  - \"udp:[::1]:5070\"\n"
				 "data_dir: /tmp/sb\n"
				 "log:\n"
				 "  level: debug\n"
				 "  format: json\n"
				 "server:\n"
				 "  user_agent: \"acme sbc 1.0\"\n"
				 "limits:\n"
				 "  max_message_bytes: 4096\n"
				 "  max_headers: 64\n"
				 "  max_header_bytes: 1024\n"
				 "  max_params: 16\n"
				 "  max_values: 8\n"
				 "  max_multipart_depth: 0\n"
				 "  max_multipart_parts: 4\n"),
			 0);
	assert_string_equal(f->err.msg, "");
	assert_string_equal(config_path(f->cfg), "test.yaml");
	assert_int_equal(config_listen_count(f->cfg), 2);
	l = config_listen_at(f->cfg, 0);
	assert_int_equal(l->transport, CONFIG_TRANSPORT_UDP);
	assert_int_equal(l->addr.ss_family, AF_INET);
	assert_string_equal(l->hostport, "127.0.0.1:5060");
	l = config_listen_at(f->cfg, 1);
	assert_int_equal(l->addr.ss_family, AF_INET6);
	assert_int_equal(l->addr_len, sizeof(struct sockaddr_in6));
	assert_string_equal(l->hostport, "[::1]:5070");
	assert_null(config_listen_at(f->cfg, 2));
	assert_string_equal(config_data_dir(f->cfg), "/tmp/sb");
	assert_int_equal(config_log_level(f->cfg), LOG_LEVEL_DEBUG);
	assert_int_equal(config_log_format(f->cfg), LOG_FORMAT_JSON);
	assert_true(slice_eq(config_user_agent(f->cfg), SL("acme sbc 1.0")));
	lim = config_limits(f->cfg);
	assert_int_equal(lim->max_msg_bytes, 4096);
	assert_int_equal(lim->max_headers, 64);
	assert_int_equal(lim->max_header_bytes, 1024);
	assert_int_equal(lim->max_params, 16);
	assert_int_equal(lim->max_values, 8);
	assert_int_equal(lim->max_multipart_depth, 0);
	assert_int_equal(lim->max_multipart_parts, 4);
	assert_int_equal(lim->max_arena_bytes,
			 sb_limits_default().max_arena_bytes);
}

static void test_config_defaults(void **state)
{
	struct fx *f = *state;
	struct sb_limits def = sb_limits_default();

	assert_int_equal(load(f, "listen: [udp:127.0.0.1:5060]\nlog:\n"
				 "limits:\n  max_headers: 100\n"),
			 0);
	assert_string_equal(config_data_dir(f->cfg), "./data");
	assert_int_equal(config_log_level(f->cfg), LOG_LEVEL_INFO);
	assert_int_equal(config_log_format(f->cfg), LOG_FORMAT_TEXT);
	assert_true(
	    slice_eq(config_user_agent(f->cfg), SL("switchboard/" SB_VERSION)));
	assert_int_equal(config_limits(f->cfg)->max_headers, 100);
	assert_int_equal(config_limits(f->cfg)->max_msg_bytes,
			 def.max_msg_bytes);
	assert_int_equal(config_limits(f->cfg)->max_values, def.max_values);
}

static void test_config_shipped_file_loads(void **state)
{
	struct fx *f = *state;
	const char *path = SB_SOURCE_DIR "/etc/switchboard.yaml";
	char dir[] = "/tmp/sb_test_shipped_XXXXXX";
	struct config_overrides ov = {.data_dir = dir};

	dev_dir_make(dir);
	assert_int_equal(config_load(path, &ov, &f->cfg, &f->err), 0);
	dev_dir_remove(dir);
	assert_int_equal(config_listen_count(f->cfg), 3);
	assert_int_equal(config_listen_at(f->cfg, 0)->transport,
			 CONFIG_TRANSPORT_UDP);
	assert_string_equal(config_listen_at(f->cfg, 0)->hostport,
			    "127.0.0.1:5060");
	assert_int_equal(config_listen_at(f->cfg, 1)->transport,
			 CONFIG_TRANSPORT_TCP);
	assert_string_equal(config_listen_at(f->cfg, 1)->hostport,
			    "127.0.0.1:5060");
	assert_int_equal(config_listen_at(f->cfg, 2)->transport,
			 CONFIG_TRANSPORT_TLS);
	assert_string_equal(config_listen_at(f->cfg, 2)->hostport,
			    "127.0.0.1:5061");
	assert_true(config_tls(f->cfg)->is_dev_cert);
	f->cfg = config_unref(f->cfg);

	/* Without the development pair it names the key and the fix. */
	assert_int_equal(config_load(path, &ov, &f->cfg, &f->err), -EINVAL);
	assert_non_null(strstr(f->err.msg, "tls.certificate: required for "
					   "listener tls:127.0.0.1:5061"));
}

static void test_config_unknown_key(void **state)
{
	struct fx *f = *state;

	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nlisten_on: x\n",
		     "test.yaml:2:1: listen_on: unknown key");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nlog:\n  lvl: info\n",
		     "test.yaml:3:3: log.lvl: unknown key (known keys: level, "
		     "format)");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nlimits:\n  max_foo: 1\n",
		     "test.yaml:3:3: limits.max_foo: unknown key");
}

static void test_config_duplicate_key(void **state)
{
	struct fx *f = *state;

	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\ndata_dir: a\n"
		     "data_dir: b\n",
		     "test.yaml:3:1: data_dir: duplicate key");
}

static void test_config_wrong_type(void **state)
{
	struct fx *f = *state;

	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\nlimits:\n"
		     "  max_headers: lots\n",
		     "test.yaml:3:3: limits.max_headers: must be an integer, "
		     "not a string");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\nlimits:\n"
		     "  max_headers: \"64\"\n",
		     "limits.max_headers: must be an integer");
	assert_fails(f, "listen: udp:127.0.0.1:5060\n",
		     "test.yaml:1:1: listen: must be a list");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nlog: debug\n",
		     "test.yaml:2:1: log: must be a mapping");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\ndata_dir: 5\n",
		     "test.yaml:2:1: data_dir: must be a string, not a number "
		     "(put it in quotes)");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\nserver:\n"
		     "  user_agent: [a, b]\n",
		     "test.yaml:3:3: server.user_agent: must be a string, not "
		     "a list");
	assert_fails(f, "- a\n- b\n",
		     "test.yaml:1:1: (top): must be a mapping");
}

static void test_config_bad_value(void **state)
{
	struct fx *f = *state;

	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nlog:\n  level: loud\n",
		     "test.yaml:3:3: log.level: must be one of error, warn, "
		     "info, debug");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nlog:\n  format: xml\n",
		     "test.yaml:3:3: log.format: must be one of text, json");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\nserver:\n"
		     "  user_agent: \"a\\r\\nX-Evil: 1\"\n",
		     "test.yaml:3:3: server.user_agent: must be printable");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\ndata_dir: \"\"\n",
		     "test.yaml:2:1: data_dir: must be a directory path");
}

static void test_config_bad_limit(void **state)
{
	struct fx *f = *state;

	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\nlimits:\n"
		     "  max_headers: 2000\n",
		     "test.yaml:3:3: limits.max_headers: must be between 8 and "
		     "1024");
	assert_fails(
	    f,
	    "listen: [udp:127.0.0.1:5060]\nlimits:\n"
	    "  max_message_bytes: 300000\n",
	    "limits.max_message_bytes: must be between 1024 and 262144");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\nlimits:\n"
		     "  max_params: -1\n",
		     "limits.max_params: must be between 1 and 256");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\nlimits:\n"
		     "  max_values: 99999999999999999999\n",
		     "limits.max_values: must be between 1 and 1024");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\nlimits:\n"
		     "  max_multipart_depth: 9\n",
		     "limits.max_multipart_depth: must be between 0 and 8");
}

static void test_config_bad_listen(void **state)
{
	struct fx *f = *state;

	assert_fails(f, "listen:\n  - udp127.0.0.1\n",
		     "test.yaml:2:5: listen[0]: must look like PROTO:HOST:PORT "
		     "(udp, tcp or tls)");
	assert_fails(f, "listen:\n  - sctp:127.0.0.1:5060\n",
		     "listen[0]: unknown transport \"sctp\"");
	assert_fails(f, "listen:\n  - udp:127.0.0.1:5060\n  - udp:::1:5060\n",
		     "test.yaml:3:5: listen[1]: IPv6 addresses must be in "
		     "brackets");
	assert_fails(f, "listen:\n  - udp:example.com:5060\n",
		     "listen[0]: HOST must be an IPv4 address");
	assert_fails(f, "listen:\n  - udp:127.0.0.1:0\n",
		     "listen[0]: PORT must be a number between 1 and 65535");
	assert_fails(f, "listen:\n  - udp:127.0.0.1:70000\n",
		     "listen[0]: PORT must be a number between 1 and 65535");
	assert_fails(f, "listen:\n  - \"udp:[::1:5060\"\n",
		     "listen[0]: missing ']'");
	assert_fails(f, "listen:\n  - \"udp:[1.2.3.4]:5060\"\n",
		     "listen[0]: HOST in brackets must be an IPv6 address");
	assert_fails(f,
		     "listen:\n  - udp:127.0.0.1:5060\n"
		     "  - udp:127.0.0.1:5060\n",
		     "test.yaml:3:5: listen[1]: duplicate of listen[0]");
	assert_fails(f, "listen: []\n",
		     "test.yaml:1:1: listen: at least one "
		     "listener is required");
	assert_fails(f, "data_dir: x\n",
		     "test.yaml: listen: at least one listener is required");
}

static void test_config_tcp_tls_listeners(void **state)
{
	struct fx *f = *state;
	const struct config_listen *l;

	assert_int_equal(load(f,
			      "listen:\n"
			      "  - udp:127.0.0.1:5060\n"
			      "  - tcp:127.0.0.1:5060;advertise=sip.test\n"
			      "  - {tls: \"[::1]:5061\", advertise: h:5063}\n"
			      "tls:\n"
			      "  certificate: /etc/sb/cert.pem\n"
			      "  private_key: /etc/sb/key.pem\n"),
			 0);
	assert_int_equal(config_listen_count(f->cfg), 3);
	l = config_listen_at(f->cfg, 1);
	assert_int_equal(l->transport, CONFIG_TRANSPORT_TCP);
	assert_string_equal(l->hostport, "127.0.0.1:5060");
	assert_string_equal(l->advertise, "sip.test");
	l = config_listen_at(f->cfg, 2);
	assert_int_equal(l->transport, CONFIG_TRANSPORT_TLS);
	assert_string_equal(l->hostport, "[::1]:5061");
	assert_string_equal(l->advertise, "h");
	assert_int_equal(l->advertise_port, 5063);
	assert_true(config_has_transport(f->cfg, CONFIG_TRANSPORT_TLS));
	assert_string_equal(config_tls(f->cfg)->certificate,
			    "/etc/sb/cert.pem");
	assert_false(config_tls(f->cfg)->is_dev_cert);
	f->cfg = config_unref(f->cfg);

	/* The same address may carry UDP and TCP, not TCP twice. */
	assert_fails(f,
		     "listen:\n  - tcp:127.0.0.1:5060\n"
		     "  - tcp:127.0.0.1:5060\n",
		     "test.yaml:3:5: listen[1]: duplicate of listen[0]");
}

static void test_config_tcp_tls_sections(void **state)
{
	struct fx *f = *state;
	const struct config_tcp *tcp;
	const struct config_tls *tls;

	assert_int_equal(load(f, "listen: [tcp:127.0.0.1:5060]\n"
				 "tcp:\n"
				 "  max_connections: 100\n"
				 "  max_connections_per_ip: 0\n"
				 "  idle_timeout_ms: 0\n"
				 "  partial_message_timeout_ms: 500\n"
				 "  handshake_timeout_ms: 2000\n"
				 "  max_buffered_bytes: 100000\n"
				 "tls:\n"
				 "  ca_file: ca.pem\n"
				 "  require_client_certificate: true\n"
				 "  verify_server: false\n"
				 "  handshakes_per_turn: 0\n"),
			 0);
	tcp = config_tcp(f->cfg);
	assert_int_equal(tcp->max_connections, 100);
	assert_int_equal(tcp->max_connections_per_ip, 0);
	assert_int_equal(tcp->idle_timeout_ms, 0);
	assert_int_equal(tcp->partial_message_timeout_ms, 500);
	assert_int_equal(tcp->handshake_timeout_ms, 2000);
	assert_int_equal(tcp->max_buffered_bytes, 100000);
	tls = config_tls(f->cfg);
	assert_null(tls->certificate);
	assert_null(tls->private_key);
	assert_string_equal(tls->ca_file, "ca.pem");
	assert_true(tls->is_client_cert_required);
	assert_false(tls->is_server_verified);
	assert_int_equal(tls->handshakes_per_turn, 0);
	assert_false(config_has_transport(f->cfg, CONFIG_TRANSPORT_TLS));
	f->cfg = config_unref(f->cfg);

	assert_int_equal(load(f, minimal), 0);
	tcp = config_tcp(f->cfg);
	assert_int_equal(tcp->max_connections, 16384);
	assert_int_equal(tcp->max_connections_per_ip, 64);
	assert_int_equal(tcp->idle_timeout_ms, 180000);
	assert_int_equal(tcp->partial_message_timeout_ms, 10000);
	assert_int_equal(tcp->handshake_timeout_ms, 10000);
	assert_int_equal(tcp->max_buffered_bytes, 262144);
	tls = config_tls(f->cfg);
	assert_null(tls->certificate);
	assert_null(tls->ca_file);
	assert_false(tls->is_client_cert_required);
	assert_true(tls->is_server_verified);
	assert_int_equal(tls->handshakes_per_turn, 32);
}

static void test_config_tcp_tls_errors(void **state)
{
	struct fx *f = *state;

	assert_fails(f, "listen: [udp:127.0.0.1:5060]\ntcp:\n  max_conns: 1\n",
		     "test.yaml:3:3: tcp.max_conns: unknown key (known keys: "
		     "max_connections, max_connections_per_ip");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\ntls:\n  cert: x\n",
		     "test.yaml:3:3: tls.cert: unknown key");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\ntcp:\n"
		     "  partial_message_timeout_ms: 0\n",
		     "test.yaml:3:3: tcp.partial_message_timeout_ms: must be "
		     "between 100 and 600000");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\ntcp:\n"
		     "  max_connections: many\n",
		     "tcp.max_connections: must be an integer, not a string");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\n"
		     "limits: {max_message_bytes: 65535}\n"
		     "tcp:\n  max_buffered_bytes: 65535\n",
		     "test.yaml:4:3: tcp.max_buffered_bytes: must be larger "
		     "than limits.max_message_bytes (65535)");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\ntls:\n"
		     "  verify_server: 1\n",
		     "tls.verify_server: must be true or false, not a number");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\ntls:\n"
		     "  certificate: c.pem\n",
		     "test.yaml:2:1: tls.private_key: required with "
		     "tls.certificate");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\ntls:\n"
		     "  private_key: \"\"\n",
		     "tls.private_key: must be a file path");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\ntls:\n"
		     "  handshakes_per_turn: 70000\n",
		     "tls.handshakes_per_turn: must be between 0 and 65536");
}

/* A tls: listener without a certificate takes the development pair from
 * the data directory, or the load fails saying how to make one. */
static void test_config_tls_dev_cert(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/sb_test_tls_XXXXXX", text[256], want[256];
	const char *tls[] = {"tls:127.0.0.1:5061"};
	struct config_overrides ov = {.listen = tls, .listen_count = 1};
	const struct config_tls *t;

	dev_dir_make(dir);
	snprintf(text, sizeof(text),
		 "listen:\n  - udp:127.0.0.1:5060\n  - tls:127.0.0.1:5061\n"
		 "data_dir: %s\n",
		 dir);
	assert_int_equal(load(f, text), 0);
	t = config_tls(f->cfg);
	assert_true(t->is_dev_cert);
	snprintf(want, sizeof(want), "%s/tls/dev-cert.pem", dir);
	assert_string_equal(t->certificate, want);
	snprintf(want, sizeof(want), "%s/tls/dev-key.pem", dir);
	assert_string_equal(t->private_key, want);
	f->cfg = config_unref(f->cfg);
	dev_dir_remove(dir);

	snprintf(want, sizeof(want),
		 "test.yaml:3:5: tls.certificate: required for listener "
		 "tls:127.0.0.1:5061 (run scripts/dev-cert %s for a "
		 "development certificate)",
		 dir);
	assert_fails(f, text, want);

	/* From the command line: no line to point at. */
	ov.data_dir = dir;
	assert_int_equal(load_ov(f, minimal, &ov), -EINVAL);
	snprintf(want, sizeof(want),
		 "test.yaml: tls.certificate: required for listener "
		 "tls:127.0.0.1:5061 (run scripts/dev-cert %s for a "
		 "development certificate)",
		 dir);
	assert_string_equal(f->err.msg, want);
	assert_null(f->cfg);
}

static void test_config_tcp_tls_same(void **state)
{
	struct fx *f = *state;
	struct config *b = NULL, *c = NULL;
	static const char tcp[] = "listen: [udp:127.0.0.1:5060]\n"
				  "tcp: {idle_timeout_ms: 1000}\n";
	static const char tls[] = "listen: [udp:127.0.0.1:5060]\n"
				  "tls: {ca_file: ca.pem}\n";

	assert_int_equal(load(f, minimal), 0);
	assert_int_equal(
	    config_load_string("b", tcp, sizeof(tcp) - 1, NULL, &b, &f->err),
	    0);
	assert_int_equal(
	    config_load_string("c", tls, sizeof(tls) - 1, NULL, &c, &f->err),
	    0);
	assert_false(config_tcp_same(f->cfg, b));
	assert_true(config_tls_same(f->cfg, b));
	assert_true(config_tcp_same(f->cfg, c));
	assert_false(config_tls_same(f->cfg, c));
	config_unref(b);
	config_unref(c);
}

static void test_config_yaml_syntax_error(void **state)
{
	struct fx *f = *state;

	assert_fails(f, "listen: [udp:127.0.0.1:5060\ndata_dir: x\n",
		     "test.yaml:2:");
	assert_true(strstr(f->err.msg, "YAML syntax error") != NULL);
	assert_fails(f, "log:\n  level: info\n format: json\n", "test.yaml:3:");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\n---\nlog: {}\n",
		     "only one YAML document is allowed");
}

static void test_config_overrides(void **state)
{
	struct fx *f = *state;
	const char *listen[] = {"udp:127.0.0.5:5080", "udp:[::1]:5080"};
	struct config_overrides ov = {
	    .listen = listen,
	    .listen_count = 2,
	    .data_dir = "/var/tmp/x",
	    .log_level = "warn",
	};

	assert_int_equal(load_ov(f, minimal, &ov), 0);
	assert_int_equal(config_listen_count(f->cfg), 2);
	assert_string_equal(config_listen_at(f->cfg, 0)->hostport,
			    "127.0.0.5:5080");
	assert_string_equal(config_listen_at(f->cfg, 1)->hostport,
			    "[::1]:5080");
	assert_string_equal(config_data_dir(f->cfg), "/var/tmp/x");
	assert_int_equal(config_log_level(f->cfg), LOG_LEVEL_WARN);
	f->cfg = config_unref(f->cfg);

	/* An override supplies the listener a file leaves out. */
	assert_int_equal(load_ov(f, "data_dir: y\n", &ov), 0);
	assert_int_equal(config_listen_count(f->cfg), 2);
}

static void test_config_override_errors(void **state)
{
	struct fx *f = *state;
	const char *sctp[] = {"sctp:127.0.0.1:5060"};
	struct config_overrides ov = {.listen = sctp, .listen_count = 1};

	assert_int_equal(load_ov(f, minimal, &ov), -EINVAL);
	assert_string_equal(f->err.msg,
			    "command line: --listen sctp:127.0.0.1:5060: "
			    "unknown transport \"sctp\" (expected udp, tcp or "
			    "tls)");
	ov = (struct config_overrides){.log_level = "chatty"};
	assert_int_equal(load_ov(f, minimal, &ov), -EINVAL);
	assert_string_equal(f->err.msg, "command line: --log-level: must be "
					"one of error, warn, info, debug");
	ov = (struct config_overrides){.data_dir = ""};
	assert_int_equal(load_ov(f, minimal, &ov), -EINVAL);
	assert_true(strstr(f->err.msg, "command line: --data-dir:") != NULL);
	assert_null(f->cfg);
}

static void test_config_missing_file(void **state)
{
	struct fx *f = *state;
	int rc = config_load("/nonexistent/sb.yaml", NULL, &f->cfg, &f->err);

	assert_int_equal(rc, -ENOENT);
	assert_string_equal(f->err.msg, "/nonexistent/sb.yaml: cannot open: "
					"No such file or directory");
	assert_null(f->cfg);
}

static void test_config_file_error_names_path(void **state)
{
	struct fx *f = *state;
	char path[] = "/tmp/test_config_XXXXXX";
	static const char text[] = "listen: [udp:127.0.0.1:5060]\n"
				   "limits:\n"
				   "  max_headers: 4\n";
	char want[128];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1),
			 (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(config_load(path, NULL, &f->cfg, &f->err), -EINVAL);
	unlink(path);
	snprintf(want, sizeof(want),
		 "%s:3:3: limits.max_headers: must be between 8 and 1024",
		 path);
	assert_string_equal(f->err.msg, want);
}

static void test_config_refcount(void **state)
{
	struct fx *f = *state;
	struct config *extra;

	assert_int_equal(load(f, minimal), 0);
	assert_int_equal(sb_live_get(SB_LIVE_CONFIG), f->live_config + 1);
	extra = config_ref(f->cfg);
	assert_ptr_equal(extra, f->cfg);
	f->cfg = config_unref(f->cfg);
	assert_null(f->cfg);
	assert_int_equal(sb_live_get(SB_LIVE_CONFIG), f->live_config + 1);
	assert_string_equal(config_listen_at(extra, 0)->hostport,
			    "127.0.0.1:5060");
	extra = config_unref(extra);
	assert_null(extra);
	assert_int_equal(sb_live_get(SB_LIVE_CONFIG), f->live_config);
}

static void test_config_runtime_keys(void **state)
{
	struct fx *f = *state;
	const struct config_timers *t;

	assert_int_equal(load(f, "listen: [udp:127.0.0.1:5060]\n"
				 "workers: 3\n"
				 "queue_size: 128\n"
				 "receive: reuseport\n"
				 "receive_pause_us: 0\n"
				 "timers:\n"
				 "  t1_ms: 100\n"
				 "  t2_ms: 400\n"
				 "  t4_ms: 600\n"
				 "  timer_d_ms: 1000\n"
				 "max_transactions: 77\n"
				 "drain_timeout_ms: 250\n"
				 "control_socket: /tmp/x.sock\n"
				 "local:\n"
				 "  options_stateless: true\n"
				 "  invite_delay_ms: 2000\n"),
			 0);
	assert_int_equal(config_workers(f->cfg), 3);
	assert_int_equal(config_queue_size(f->cfg), 128);
	assert_int_equal(config_receive(f->cfg), CONFIG_RECEIVE_REUSEPORT);
	assert_int_equal(config_receive_pause_us(f->cfg), 0);
	t = config_timers(f->cfg);
	assert_int_equal(t->t1_ms, 100);
	assert_int_equal(t->t2_ms, 400);
	assert_int_equal(t->t4_ms, 600);
	assert_int_equal(t->timer_d_ms, 1000);
	assert_int_equal(config_max_transactions(f->cfg), 77);
	assert_int_equal(config_drain_timeout_ms(f->cfg), 250);
	assert_string_equal(config_control_socket(f->cfg), "/tmp/x.sock");
	assert_true(config_local(f->cfg)->is_options_stateless);
	assert_int_equal(config_local(f->cfg)->invite_delay_ms, 2000);
}

static void test_config_runtime_defaults(void **state)
{
	struct fx *f = *state;
	const struct config_timers *t;

	assert_int_equal(load(f, "listen: [udp:127.0.0.1:5060]\n"
				 "data_dir: /var/lib/sb\n"),
			 0);
	assert_int_equal(config_workers(f->cfg), 0);
	assert_int_equal(config_queue_size(f->cfg), 4096);
	assert_int_equal(config_receive(f->cfg), CONFIG_RECEIVE_READER);
	assert_int_equal(config_receive_pause_us(f->cfg), 200);
	t = config_timers(f->cfg);
	assert_int_equal(t->t1_ms, 500);
	assert_int_equal(t->t2_ms, 4000);
	assert_int_equal(t->t4_ms, 5000);
	assert_int_equal(t->timer_d_ms, 32000);
	assert_int_equal(config_max_transactions(f->cfg), 500000);
	assert_int_equal(config_drain_timeout_ms(f->cfg), 5000);
	assert_string_equal(config_control_socket(f->cfg),
			    "/var/lib/sb/switchboard.sock");
	assert_false(config_local(f->cfg)->is_options_stateless);
	assert_int_equal(config_local(f->cfg)->invite_delay_ms, 0);
	assert_string_equal(config_receive_name(CONFIG_RECEIVE_SINGLE),
			    "single");
}

static void test_config_runtime_errors(void **state)
{
	struct fx *f = *state;

	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nworkers: 1000\n",
		     "test.yaml:2:1: workers: must be between 0 and 256");
	assert_fails(
	    f, "listen: [udp:127.0.0.1:5060]\nworkers: two\n",
	    "test.yaml:2:1: workers: must be an integer, not a string");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nreceive_pause_us: 10001\n",
		     "test.yaml:2:1: receive_pause_us: must be between 0 and "
		     "10000");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nqueue_size: 2\n",
		     "test.yaml:2:1: queue_size: must be between 16 and");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nreceive: magic\n",
		     "test.yaml:2:1: receive: must be one of reader, "
		     "reuseport, single");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\ntimers:\n  t3_ms: 1\n",
		     "test.yaml:3:3: timers.t3_ms: unknown key");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\ntimers:\n  t1_ms: 0\n",
		     "test.yaml:3:3: timers.t1_ms: must be between 1 and");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\ntimers:\n  t1_ms: 900\n"
		     "  t2_ms: 800\n",
		     "test.yaml:2:1: timers.t2_ms: must not be smaller than "
		     "timers.t1_ms (900)");
	assert_fails(f,
		     "listen: [udp:127.0.0.1:5060]\nlocal:\n"
		     "  options_stateless: 1\n",
		     "test.yaml:3:3: local.options_stateless: must be true or "
		     "false");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\nlocal:\n  x: 1\n",
		     "test.yaml:3:3: local.x: unknown key");
	assert_fails(f, "listen: [udp:127.0.0.1:5060]\ndrain_timeout_ms: -1\n",
		     "drain_timeout_ms: must be between 0 and 600000");
	assert_fails(
	    f,
	    "listen: [udp:127.0.0.1:5060]\ncontrol_socket: "
	    "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    "test.yaml:2:1: control_socket: must be a path of 1 to 107");
	assert_fails(
	    f,
	    "listen: [udp:127.0.0.1:5060]\ndata_dir: "
	    "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    "control_socket: the default <data_dir>/switchboard.sock "
	    "is longer than 107 bytes");
}

static void test_config_listen_advertise(void **state)
{
	struct fx *f = *state;
	const struct config_listen *l;

	assert_int_equal(
	    load(f, "listen:\n"
		    "  - udp:0.0.0.0:5060;advertise=203.0.113.5\n"
		    "  - {udp: \"0.0.0.0:5070\", advertise: "
		    "\"sip.example.com:5080\"}\n"
		    "  - \"udp:[::]:5060;advertise=[2001:db8::1]:5062\"\n"
		    "  - {udp: \"[::]:5070\", advertise: \"2001:db8::2\"}\n"
		    "  - {udp: \"127.0.0.1:5090\"}\n"),
	    0);
	assert_int_equal(config_listen_count(f->cfg), 5);
	l = config_listen_at(f->cfg, 0);
	assert_string_equal(l->hostport, "0.0.0.0:5060");
	assert_string_equal(l->advertise, "203.0.113.5");
	assert_int_equal(l->advertise_port, 0);
	l = config_listen_at(f->cfg, 1);
	assert_string_equal(l->hostport, "0.0.0.0:5070");
	assert_string_equal(l->advertise, "sip.example.com");
	assert_int_equal(l->advertise_port, 5080);
	l = config_listen_at(f->cfg, 2);
	assert_string_equal(l->hostport, "[::]:5060");
	assert_string_equal(l->advertise, "[2001:db8::1]");
	assert_int_equal(l->advertise_port, 5062);
	l = config_listen_at(f->cfg, 3);
	assert_string_equal(l->advertise, "[2001:db8::2]");
	l = config_listen_at(f->cfg, 4);
	assert_string_equal(l->hostport, "127.0.0.1:5090");
	assert_string_equal(l->advertise, "");
}

static void test_config_listen_advertise_errors(void **state)
{
	struct fx *f = *state;

	assert_fails(f, "listen: [\"udp:0.0.0.0:5060;advertize=x\"]\n",
		     "listen[0]: the only parameter is ;advertise=HOST[:PORT]");
	assert_fails(f, "listen: [\"udp:0.0.0.0:5060;advertise=a b\"]\n",
		     "listen[0]: advertise: must be a host name");
	assert_fails(f, "listen: [\"udp:0.0.0.0:5060;advertise=h:99999\"]\n",
		     "advertise: PORT must be a number between 1 and 65535");
	assert_fails(f, "listen:\n  - {advertise: x}\n",
		     "test.yaml:2:5: listen[0]: a listener needs one of udp, "
		     "tcp or tls");
	assert_fails(f,
		     "listen:\n  - {udp: \"1.2.3.4:5\", tcp: \"1.2.3.4:5\"}\n",
		     "listen[0].tcp: give one of udp, tcp or tls per listener");
	assert_fails(f, "listen:\n  - {udp: \"1.2.3.4:5\", port: 5}\n",
		     "listen[0].port: unknown key");
	assert_fails(f, "listen:\n  - {tcp: \"1.2.3.4\"}\n",
		     "listen[0].tcp: must look like tcp:HOST:PORT");
	assert_fails(f, "listen:\n  - {udp: \"1.2.3.4\"}\n",
		     "listen[0].udp: must look like udp:HOST:PORT");
}

static void test_config_listen_same(void **state)
{
	struct fx *f = *state;
	struct config *b = NULL, *c = NULL;
	static const char two[] = "listen: [udp:127.0.0.1:5060]\nworkers: 2\n";
	static const char other[] = "listen: [udp:127.0.0.1:5061]\n";

	assert_int_equal(load(f, minimal), 0);
	assert_int_equal(
	    config_load_string("b", two, sizeof(two) - 1, NULL, &b, &f->err),
	    0);
	assert_int_equal(config_load_string("c", other, sizeof(other) - 1, NULL,
					    &c, &f->err),
			 0);
	assert_true(config_listen_same(f->cfg, b));
	assert_false(config_listen_same(f->cfg, c));
	config_unref(b);
	config_unref(c);
}

/* A reload reads the same file with the same command-line overrides. */
static void test_config_reload_keeps_overrides(void **state)
{
	struct fx *f = *state;
	const char *listen[] = {"udp:127.0.0.9:5099"};
	struct config_overrides ov = {.listen = listen,
				      .listen_count = 1,
				      .data_dir = "/tmp/ov",
				      .log_level = "warn"};
	static const char first[] = "listen: [udp:127.0.0.1:5060]\n"
				    "log: {level: debug}\n";
	static const char second[] = "listen: [udp:127.0.0.1:5060]\n"
				     "workers: 7\n";
	char path[] = "/tmp/sb_test_config_XXXXXX";
	struct config *next = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, first, strlen(first)),
			 (ssize_t)strlen(first));
	close(fd);
	assert_int_equal(config_load(path, &ov, &f->cfg, &f->err), 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, second, strlen(second)),
			 (ssize_t)strlen(second));
	close(fd);
	assert_int_equal(config_reload(f->cfg, &next, &f->err), 0);
	unlink(path);
	assert_int_equal(config_workers(next), 7);
	assert_string_equal(config_listen_at(next, 0)->hostport,
			    "127.0.0.9:5099");
	assert_string_equal(config_data_dir(next), "/tmp/ov");
	assert_int_equal(config_log_level(next), LOG_LEVEL_WARN);
	assert_true(config_listen_same(f->cfg, next));
	config_unref(next);
}

/* Fail the Nth allocation for N = 0, 1, ...: each fails with -ENOMEM. */
static void test_config_oom(void **state)
{
	struct fx *f = *state;
	int rc = -ENOMEM;

	for (int64_t n = 0; rc == -ENOMEM && n < 100; n++) {
		sb_mem_fail_after(n);
		rc = load(f, "listen: [udp:127.0.0.1:5060]\ndata_dir: /x\n"
			     "server: {user_agent: ua}\n");
		sb_mem_fail_after(-1);
		if (rc == -ENOMEM) {
			assert_null(f->cfg);
			assert_int_equal(sb_live_get(SB_LIVE_CONFIG),
					 f->live_config);
			assert_int_equal(sb_live_get(SB_LIVE_ALLOC),
					 f->live_alloc);
		}
	}
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_valid_full, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_defaults, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_shipped_file_loads,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_unknown_key, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_duplicate_key, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_wrong_type, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_bad_value, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_bad_limit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_bad_listen, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_tcp_tls_listeners,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_tcp_tls_sections, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_tcp_tls_errors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_tls_dev_cert, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_tcp_tls_same, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_yaml_syntax_error,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_overrides, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_override_errors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_missing_file, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_file_error_names_path,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_refcount, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_oom, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_runtime_keys, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_runtime_defaults, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_runtime_errors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_listen_advertise, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_listen_advertise_errors,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_listen_same, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_reload_keeps_overrides,
					    setup, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
