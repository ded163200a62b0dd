/* The switchboard command: serve, ctl, check-config, version. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "runtime/config.h"
#include "runtime/ctl.h"
#include "runtime/serve.h"
#include "store/store.h"

#define LOG_MODULE "main"

/* Exit codes: 0 ok, 1 the command failed, 2 it was called wrongly. */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_main[] =
    "usage: switchboard <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve         run the SIP server in the foreground\n"
    "  ctl           ask a running server: stats, calls, bindings, reload, "
    "version\n"
    "  user          add, change, remove and list subscribers\n"
    "  check-config  validate a config file and exit\n"
    "  version       print the version\n"
    "\n"
    "Run 'switchboard <command> --help' for the options of a command.\n";

static const char usage_serve[] =
    "usage: switchboard serve [--config FILE] [--listen PROTO:HOST:PORT]...\n"
    "                         [--data-dir DIR] [--log-level LEVEL]\n"
    "                         [--call-mode MODE] [--media MODE]\n"
    "\n"
    "Run the SIP server in the foreground, logging to stderr, until\n"
    "SIGTERM or SIGINT.\n"
    "\n"
    "  -c, --config FILE       config file (default: %s)\n"
    "  -l, --listen P:H:P      listen on PROTO:HOST:PORT, e.g. "
    "udp:127.0.0.1:5060\n"
    "                          or udp:[::1]:5060; repeatable; replaces the\n"
    "                          config's listen list\n"
    "  -d, --data-dir DIR      data directory (created if missing)\n"
    "  -L, --log-level LEVEL   error, warn, info or debug\n"
    "  -m, --call-mode MODE    proxy or b2bua: how calls are handled;\n"
    "                          replaces the config's call_mode (routes\n"
    "                          without a mode follow it)\n"
    "  -M, --media MODE        anchor, bypass or rtpengine: whether B2BUA\n"
    "                          calls' RTP is relayed by switchboard, goes\n"
    "                          end to end, or is relayed by rtpengine;\n"
    "                          replaces media.mode (routes with a media\n"
    "                          mode keep it)\n"
    "  -h, --help              show this help\n";

static const char usage_check[] =
    "usage: switchboard check-config [--config FILE]\n"
    "\n"
    "Validate a config file: prints 'ok', or the error and exits 1.\n"
    "\n"
    "  -c, --config FILE   config file (default: %s)\n"
    "  -h, --help          show this help\n";

static const char usage_ctl[] =
    "usage: switchboard ctl [--config FILE | --socket PATH] "
    "stats|calls|bindings|reload|version\n"
    "       switchboard ctl [--config FILE | --socket PATH] "
    "record CALL on|off\n"
    "\n"
    "Send one command to a running server over its control socket and\n"
    "print the JSON reply. Exits 1 when the server cannot be reached or\n"
    "the command failed. `record` starts or stops recording an anchored\n"
    "call (CALL: its id in `ctl calls`, or the caller's Call-ID).\n"
    "\n"
    "  -c, --config FILE   take control_socket from this config (default:\n"
    "                      %s)\n"
    "  -s, --socket PATH   the control socket itself\n"
    "  -h, --help          show this help\n";

static const char usage_user[] =
    "usage: switchboard user add [OPTIONS] [--display NAME] "
    "[--caller-id NUM]\n"
    "                            [--max-bindings N] USER@DOMAIN PASSWORD\n"
    "       switchboard user passwd [OPTIONS] USER@DOMAIN PASSWORD\n"
    "       switchboard user del [OPTIONS] USER@DOMAIN\n"
    "       switchboard user list [OPTIONS]\n"
    "\n"
    "Manage the subscribers in <data_dir>/switchboard.db, also while a\n"
    "server runs. Passwords are kept only as HA1 digests (MD5 and SHA-256\n"
    "of user:realm:password, the realm being the domain). list prints one\n"
    "line per user: user@domain, display name, caller-id, max bindings,\n"
    "separated by tabs.\n"
    "\n"
    "OPTIONS:\n"
    "  -d, --data-dir DIR      data directory (default: the config's "
    "data_dir)\n"
    "  -c, --config FILE       config file (default: %s)\n"
    "  -n, --display NAME      display name (add)\n"
    "  -i, --caller-id NUM     caller-id presented for the user (add)\n"
    "  -m, --max-bindings N    contacts at once; 0 = the registrar's default "
    "(add)\n"
    "  -h, --help              show this help\n";

static const char usage_version[] = "usage: switchboard version\n"
				    "\n"
				    "Print the version and exit.\n";

/* The installed config if there is one, else the one in the source tree. */
static const char *default_config(void)
{
	static const char installed[] = SB_SYSCONFDIR "/switchboard.yaml";

	if (access(installed, R_OK) == 0)
		return installed;
	return SB_SOURCE_DIR "/etc/switchboard.yaml";
}

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "switchboard: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n");
	fprintf(stderr, usage, default_config());
	return EXIT_USAGE;
}

/*
 * getopt_long with our own messages: returns the option, ':' when its
 * value is missing, '?' when it is unknown, -1 at the end.
 */
static int next_opt(int argc, char **argv, const char *shorts,
		    const struct option *longs)
{
	char spec[32];

	opterr = 0;
	snprintf(spec, sizeof(spec), ":%s", shorts);
	return getopt_long(argc, argv, spec, longs, NULL);
}

static int bad_option(const char *usage, int opt, char **argv)
{
	return usage_error(usage,
			   opt == ':' ? "option '%s' needs a value"
				      : "unknown option '%s'",
			   argv[optind - 1]);
}

/* Check that the process let go of everything it counted. */
static void live_check(void)
{
	for (int i = 0; i < SB_LIVE__COUNT; i++) {
		int64_t n = sb_live_get((enum sb_live)i);
		if (n != 0)
			log_error("live_leak", "kind=%s count=%lld",
				  sb_live_name((enum sb_live)i), (long long)n);
	}
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"data-dir", required_argument, NULL, 'd'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"call-mode", required_argument, NULL, 'm'},
	    {"media", required_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *listen[CONFIG_LISTEN_MAX];
	struct config_overrides ov = {.listen = listen};
	const char *path = NULL;
	struct config_err err;
	struct config *cfg;
	char v[256];
	int opt, rc;

	while ((opt = next_opt(argc, argv, "c:l:d:L:m:M:h", longs)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'l':
			if (ov.listen_count == CONFIG_LISTEN_MAX)
				return usage_error(usage_serve,
						   "too many --listen options "
						   "(at most %s)",
						   "16");
			listen[ov.listen_count++] = optarg;
			break;
		case 'd':
			ov.data_dir = optarg;
			break;
		case 'L':
			ov.log_level = optarg;
			break;
		case 'm':
			ov.call_mode = optarg;
			break;
		case 'M':
			ov.media = optarg;
			break;
		case 'h':
			printf(usage_serve, default_config());
			return EXIT_OK;
		default:
			return bad_option(usage_serve, opt, argv);
		}
	}
	if (optind < argc)
		return usage_error(usage_serve, "unexpected argument '%s'",
				   argv[optind]);
	if (!path)
		path = default_config();
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	rc = config_load(path, &ov, &cfg, &err);
	if (rc != 0) {
		fprintf(stderr, "switchboard: %s\n", err.msg);
		fprintf(stderr, "switchboard: not starting: the config has an "
				"error\n");
		return EXIT_FAILED;
	}
	log_setup(config_log_level(cfg), config_log_format(cfg));
	log_info("starting", "version=%s config=%s pid=%d call_mode=%s",
		 SB_VERSION, log_esc(slice_cstr(path), v, sizeof(v)),
		 (int)getpid(), config_call_mode_name(config_call_mode(cfg)));
	signal(SIGPIPE, SIG_IGN);
	rc = serve_run(cfg);
	cfg = config_unref(cfg);
	live_check();
	return rc == 0 ? EXIT_OK : EXIT_FAILED;
}

static int cmd_ctl(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const cmds[] = {"stats",  "calls",	"bindings",
					   "reload", "version", "record"};
	json_t *args = NULL;
	const char *path = NULL, *sock = NULL, *cmd;
	struct config_err err;
	struct config *cfg = NULL;
	char why[CONFIG_ERR_LEN + 128];
	json_t *reply = NULL, *ok;
	char *text;
	bool is_known = false;
	int opt, rc;

	while ((opt = next_opt(argc, argv, "c:s:h", longs)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			printf(usage_ctl, default_config());
			return EXIT_OK;
		default:
			return bad_option(usage_ctl, opt, argv);
		}
	}
	if (optind >= argc)
		return usage_error(usage_ctl, "%s", "a command is needed");
	cmd = argv[optind];
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		is_known |= strcmp(cmd, cmds[i]) == 0;
	if (!is_known)
		return usage_error(usage_ctl, "unknown ctl command '%s'", cmd);
	if (strcmp(cmd, "record") == 0) {
		if (optind + 3 != argc || (strcmp(argv[optind + 2], "on") &&
					   strcmp(argv[optind + 2], "off")))
			return usage_error(usage_ctl, "%s",
					   "record needs CALL and on or off");
		args = json_pack("{s:s, s:b}", "call", argv[optind + 1], "on",
				 strcmp(argv[optind + 2], "on") == 0);
		optind += 2;
	}
	if (optind + 1 < argc)
		return usage_error(usage_ctl, "unexpected argument '%s'",
				   argv[optind + 1]);
	if (path && sock)
		return usage_error(usage_ctl, "%s",
				   "give --config or --socket, not both");
	if (!sock) {
		if (!path)
			path = default_config();
		if (config_load(path, NULL, &cfg, &err) != 0) {
			fprintf(stderr, "switchboard: %s\n", err.msg);
			return EXIT_FAILED;
		}
		sock = config_control_socket(cfg);
	}
	rc = ctl_call_args(sock, cmd, args, &reply, why, sizeof(why));
	json_decref(args);
	cfg = config_unref(cfg);
	if (rc != 0) {
		fprintf(stderr, "switchboard: %s\n", why);
		return EXIT_FAILED;
	}
	text = json_dumps(reply, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text)
		printf("%s\n", text);
	free(text);
	ok = json_object_get(reply, "ok");
	rc = json_is_true(ok) ? EXIT_OK : EXIT_FAILED;
	if (rc != EXIT_OK)
		fprintf(stderr, "switchboard: %s: %s\n", cmd,
			json_string_value(json_object_get(reply, "error"))
			    ? json_string_value(json_object_get(reply, "error"))
			    : "failed");
	json_decref(reply);
	return rc;
}

/* What `switchboard user` was asked to do. */
struct user_args {
	const char *sub;	  /* add, passwd, del, list */
	const char *config;	  /* --config; NULL: the default config */
	const char *data_dir;	  /* --data-dir; NULL: the config's */
	const char *display;	  /* --display (add) */
	const char *caller_id;	  /* --caller-id (add) */
	const char *max_bindings; /* --max-bindings (add) */
	const char *aor;	  /* USER@DOMAIN */
	const char *password;
	char dir[4096];	      /* the data directory worked on */
	char sock[4096 + 32]; /* the control socket to tell */
};

enum { USER_ERR_LEN = 4096 + 512 };

static int user_usage(const char *msg)
{
	return usage_error(usage_user, "%s", msg);
}

/* RFC 3261 25.1: user = 1*( unreserved / user-unreserved ), no escapes. */
static bool is_user_char(char c)
{
	return isalnum((unsigned char)c) ||
	       (c != '\0' && strchr("-_.!~*'()&=+$,;?/", c) != NULL);
}

/* RFC 3261 25.1 host: a host name, an IPv4 address or [IPv6]. */
static bool is_domain_ok(const char *d, size_t len)
{
	if (d[0] == '[') {
		if (len < 4 || d[len - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < len; i++)
			if (!isxdigit((unsigned char)d[i]) && d[i] != ':' &&
			    d[i] != '.')
				return false;
		return true;
	}
	if (d[0] == '.' || d[0] == '-' || d[len - 1] == '.' ||
	    d[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)d[i]) && d[i] != '-' && d[i] != '.')
			return false;
		if (d[i] == '.' && d[i + 1] == '.')
			return false;
	}
	return true;
}

/* USER@DOMAIN into u->user and u->domain (lower case); usage errors. */
static int user_aor_parse(const char *aor, struct store_user *u)
{
	const char *at = strchr(aor, '@');
	size_t ulen, dlen;
	char msg[512];

	if (!at) {
		snprintf(msg, sizeof(msg), "'%.200s' is not USER@DOMAIN", aor);
		return user_usage(msg);
	}
	ulen = (size_t)(at - aor);
	dlen = strlen(at + 1);
	if (ulen == 0 || ulen > STORE_USER_MAX) {
		snprintf(msg, sizeof(msg),
			 "'%.200s': the user part must have 1 to %d bytes", aor,
			 STORE_USER_MAX);
		return user_usage(msg);
	}
	for (size_t i = 0; i < ulen; i++) {
		if (!is_user_char(aor[i])) {
			snprintf(msg, sizeof(msg),
				 "'%.200s': the user part may hold letters, "
				 "digits and -_.!~*'()&=+$,;?/ only",
				 aor);
			return user_usage(msg);
		}
	}
	if (dlen == 0 || dlen > STORE_DOMAIN_MAX ||
	    !is_domain_ok(at + 1, dlen)) {
		snprintf(msg, sizeof(msg),
			 "'%.200s': the domain must be a host name, an IPv4 "
			 "address or [IPv6] of at most %d bytes",
			 aor, STORE_DOMAIN_MAX);
		return user_usage(msg);
	}
	memcpy(u->user, aor, ulen);
	u->user[ulen] = '\0';
	for (size_t i = 0; i <= dlen; i++)
		u->domain[i] = (char)tolower((unsigned char)at[1 + i]);
	return 0;
}

/* Optional text of an option: printable, at most STORE_TEXT_MAX bytes. */
static int user_text_parse(const char *opt, const char *v, bool is_user_chars,
			   char *out)
{
	size_t len = strlen(v);
	char msg[512];

	for (size_t i = 0; i < len && len <= STORE_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c == 0x7f ||
		    (is_user_chars && !is_user_char(v[i])))
			len = STORE_TEXT_MAX + 1;
	}
	if (len > STORE_TEXT_MAX) {
		snprintf(msg, sizeof(msg), "%s: at most %d bytes of %s", opt,
			 STORE_TEXT_MAX,
			 is_user_chars ? "letters, digits and -_.!~*'()&=+$,;?/"
				       : "printable text");
		return user_usage(msg);
	}
	memcpy(out, v, len + 1);
	return 0;
}

/* HA1 = H(user:realm:password) in lower-case hex (RFC 7616 3.4.2). */
static int user_ha1(const EVP_MD *md, const struct store_user *u,
		    const char *password, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	ok = c && EVP_DigestInit_ex(c, md, NULL) &&
	     EVP_DigestUpdate(c, u->user, strlen(u->user)) &&
	     EVP_DigestUpdate(c, ":", 1) &&
	     EVP_DigestUpdate(c, u->domain, strlen(u->domain)) &&
	     EVP_DigestUpdate(c, ":", 1) &&
	     EVP_DigestUpdate(c, password, strlen(password)) &&
	     EVP_DigestFinal_ex(c, d, &n);
	EVP_MD_CTX_free(c);
	if (!ok || (size_t)n * 2 + 1 > cap)
		return -EIO;
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0xf];
	}
	out[2 * n] = '\0';
	return 0;
}

static int user_password_set(struct store_user *u, const char *password)
{
	if (!password[0])
		return user_usage("the password is empty");
	if (user_ha1(EVP_md5(), u, password, u->ha1_md5, sizeof(u->ha1_md5)) !=
		0 ||
	    user_ha1(EVP_sha256(), u, password, u->ha1_sha256,
		     sizeof(u->ha1_sha256)) != 0) {
		fprintf(stderr, "switchboard: cannot compute the HA1\n");
		return EXIT_FAILED;
	}
	return 0;
}

/*
 * The data directory: --data-dir, else the config's data_dir, else ./data
 * when there is no default config. The control socket comes with it. The
 * default config may fail to load (a listener without its certificate)
 * when --data-dir says where to work: then the socket is the default one.
 */
static int user_where(struct user_args *a)
{
	struct config_overrides ov = {.data_dir = a->data_dir};
	const char *path = a->config ? a->config : default_config();
	struct config_err err;
	struct config *cfg;
	int rc = config_load(path, &ov, &cfg, &err);

	if (rc == 0) {
		snprintf(a->dir, sizeof(a->dir), "%s", config_data_dir(cfg));
		snprintf(a->sock, sizeof(a->sock), "%s",
			 config_control_socket(cfg));
		config_unref(cfg);
		return 0;
	}
	if (a->config || (rc != -ENOENT && !a->data_dir)) {
		fprintf(stderr, "switchboard: %s\n", err.msg);
		return EXIT_FAILED;
	}
	snprintf(a->dir, sizeof(a->dir), "%s",
		 a->data_dir ? a->data_dir : "./data");
	snprintf(a->sock, sizeof(a->sock), "%s/switchboard.sock", a->dir);
	return 0;
}

/* Tell a running server, if any; it also notices by itself. */
static void user_notify(const struct user_args *a)
{
	char why[256];
	json_t *reply = NULL;
	struct stat st;

	if (stat(a->sock, &st) != 0 || !S_ISSOCK(st.st_mode))
		return;
	if (ctl_call(a->sock, "users-changed", &reply, why, sizeof(why)) == 0)
		json_decref(reply);
}

static int user_add(struct user_args *a)
{
	struct store_user u = {0};
	char why[USER_ERR_LEN];
	int rc;

	rc = user_aor_parse(a->aor, &u);
	if (rc == 0 && a->display)
		rc = user_text_parse("--display", a->display, false, u.display);
	if (rc == 0 && a->caller_id)
		rc = user_text_parse("--caller-id", a->caller_id, true,
				     u.caller_id);
	if (rc == 0 && a->max_bindings &&
	    slice_to_u32(slice_cstr(a->max_bindings), &u.max_bindings) != 0)
		rc = user_usage("--max-bindings: a number is needed");
	if (rc == 0)
		rc = user_password_set(&u, a->password);
	if (rc == 0)
		rc = user_where(a);
	if (rc != 0)
		return rc;
	if (store_admin_user_add(a->dir, &u, why, sizeof(why)) != 0) {
		fprintf(stderr, "switchboard: %s\n", why);
		return EXIT_FAILED;
	}
	user_notify(a);
	printf("added %s@%s\n", u.user, u.domain);
	return EXIT_OK;
}

static int user_passwd(struct user_args *a)
{
	struct store_user want = {0}, u;
	char why[USER_ERR_LEN];
	int rc;

	rc = user_aor_parse(a->aor, &want);
	if (rc == 0)
		rc = user_password_set(&want, a->password);
	if (rc == 0)
		rc = user_where(a);
	if (rc != 0)
		return rc;
	rc = store_admin_user_get(a->dir, want.user, want.domain, &u, why,
				  sizeof(why));
	if (rc == 0) {
		memcpy(u.ha1_md5, want.ha1_md5, sizeof(u.ha1_md5));
		memcpy(u.ha1_sha256, want.ha1_sha256, sizeof(u.ha1_sha256));
		rc = store_admin_user_update(a->dir, &u, why, sizeof(why));
	}
	if (rc != 0) {
		fprintf(stderr, "switchboard: %s\n", why);
		return EXIT_FAILED;
	}
	user_notify(a);
	printf("changed the password of %s@%s\n", u.user, u.domain);
	return EXIT_OK;
}

static int user_del(struct user_args *a)
{
	struct store_user u = {0};
	char why[USER_ERR_LEN];
	int rc;

	rc = user_aor_parse(a->aor, &u);
	if (rc == 0)
		rc = user_where(a);
	if (rc != 0)
		return rc;
	if (store_admin_user_del(a->dir, u.user, u.domain, why, sizeof(why)) !=
	    0) {
		fprintf(stderr, "switchboard: %s\n", why);
		return EXIT_FAILED;
	}
	user_notify(a);
	printf("removed %s@%s\n", u.user, u.domain);
	return EXIT_OK;
}

/* One line per user; never the HA1s. */
static void on_user_listed(void *arg, const struct store_user *u)
{
	printf("%s@%s\t%s\t%s\t%u\n", u->user, u->domain, u->display,
	       u->caller_id, u->max_bindings);
}

static int user_list(struct user_args *a)
{
	char why[USER_ERR_LEN];
	int rc = user_where(a);

	if (rc != 0)
		return rc;
	if (store_admin_user_list(a->dir, on_user_listed, NULL, why,
				  sizeof(why)) != 0) {
		fprintf(stderr, "switchboard: %s\n", why);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static int cmd_user(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"data-dir", required_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'c'},
	    {"display", required_argument, NULL, 'n'},
	    {"caller-id", required_argument, NULL, 'i'},
	    {"max-bindings", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const struct {
		const char *name;
		int nargs; /* positional arguments after the options */
		const char *args;
		int (*run)(struct user_args *a);
	} subs[] = {
	    {"add", 2, "USER@DOMAIN and PASSWORD", user_add},
	    {"passwd", 2, "USER@DOMAIN and PASSWORD", user_passwd},
	    {"del", 1, "USER@DOMAIN", user_del},
	    {"list", 0, "", user_list},
	};
	struct user_args args = {0}, *a = &args;
	int opt, i, n;

	if (argc < 2)
		return user_usage("a user command is needed: add, passwd, del "
				  "or list");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf(usage_user, default_config());
		return EXIT_OK;
	}
	for (i = 0; i < (int)(sizeof(subs) / sizeof(subs[0])); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			break;
	if (i == (int)(sizeof(subs) / sizeof(subs[0])))
		return usage_error(usage_user, "unknown user command '%s'",
				   argv[1]);
	a->sub = argv[1];
	argc--;
	argv++;
	while ((opt = next_opt(argc, argv, "d:c:n:i:m:h", longs)) != -1) {
		switch (opt) {
		case 'd':
			a->data_dir = optarg;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 'n':
			a->display = optarg;
			break;
		case 'i':
			a->caller_id = optarg;
			break;
		case 'm':
			a->max_bindings = optarg;
			break;
		case 'h':
			printf(usage_user, default_config());
			return EXIT_OK;
		default:
			return bad_option(usage_user, opt, argv);
		}
	}
	n = argc - optind;
	if (subs[i].run != user_add &&
	    (a->display || a->caller_id || a->max_bindings))
		return user_usage("--display, --caller-id and --max-bindings "
				  "are for 'user add'");
	if (n < subs[i].nargs)
		return usage_error(usage_user, "%s needed", subs[i].args);
	if (n > subs[i].nargs)
		return usage_error(usage_user, "unexpected argument '%s'",
				   argv[optind + subs[i].nargs]);
	a->aor = n > 0 ? argv[optind] : NULL;
	a->password = n > 1 ? argv[optind + 1] : NULL;
	return subs[i].run(a);
}

static int cmd_check_config(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	struct config_err err;
	struct config *cfg;
	int opt;

	while ((opt = next_opt(argc, argv, "c:h", longs)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			printf(usage_check, default_config());
			return EXIT_OK;
		default:
			return bad_option(usage_check, opt, argv);
		}
	}
	if (optind < argc)
		return usage_error(usage_check, "unexpected argument '%s'",
				   argv[optind]);
	if (!path)
		path = default_config();
	if (config_load(path, NULL, &cfg, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return EXIT_FAILED;
	}
	config_unref(cfg);
	printf("ok\n");
	return EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = next_opt(argc, argv, "h", longs)) != -1) {
		if (opt == 'h') {
			printf("%s", usage_version);
			return EXIT_OK;
		}
		return bad_option(usage_version, opt, argv);
	}
	if (optind < argc)
		return usage_error(usage_version, "unexpected argument '%s'",
				   argv[optind]);
	printf("switchboard %s\n", SB_VERSION);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} cmds[] = {
	    {"serve", cmd_serve},     {"ctl", cmd_ctl},
	    {"user", cmd_user},	      {"check-config", cmd_check_config},
	    {"version", cmd_version},
	};
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fprintf(stderr, "%s", usage_main);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "help") == 0) {
		printf("%s", usage_main);
		return EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0)
		return cmd_version(1, argv);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "switchboard: unknown command '%s'\n\n%s", cmd,
		usage_main);
	return EXIT_USAGE;
}
