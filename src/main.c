/* The switchboard command: serve, ctl, check-config, version. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "runtime/config.h"
#include "runtime/ctl.h"
#include "runtime/serve.h"

#define LOG_MODULE "main"

/* Exit codes: 0 ok, 1 the command failed, 2 it was called wrongly. */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_main[] =
    "usage: switchboard <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve         run the SIP server in the foreground\n"
    "  ctl           ask a running server: stats, reload, version\n"
    "  check-config  validate a config file and exit\n"
    "  version       print the version\n"
    "\n"
    "Run 'switchboard <command> --help' for the options of a command.\n";

static const char usage_serve[] =
    "usage: switchboard serve [--config FILE] [--listen PROTO:HOST:PORT]...\n"
    "                         [--data-dir DIR] [--log-level LEVEL]\n"
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
    "stats|reload|version\n"
    "\n"
    "Send one command to a running server over its control socket and\n"
    "print the JSON reply. Exits 1 when the server cannot be reached or\n"
    "the command failed.\n"
    "\n"
    "  -c, --config FILE   take control_socket from this config (default:\n"
    "                      %s)\n"
    "  -s, --socket PATH   the control socket itself\n"
    "  -h, --help          show this help\n";

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
	static const char *const names[SB_LIVE__COUNT] = {
	    "alloc", "arena", "config", "txn", "inmsg"};

	for (int i = 0; i < SB_LIVE__COUNT; i++) {
		int64_t n = sb_live_get((enum sb_live)i);
		if (n != 0)
			log_error("live_leak", "kind=%s count=%lld", names[i],
				  (long long)n);
	}
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"data-dir", required_argument, NULL, 'd'},
	    {"log-level", required_argument, NULL, 'L'},
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

	while ((opt = next_opt(argc, argv, "c:l:d:L:h", longs)) != -1) {
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
	log_info("starting", "version=%s config=%s pid=%d", SB_VERSION,
		 log_esc(slice_cstr(path), v, sizeof(v)), (int)getpid());
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
	static const char *const cmds[] = {"stats", "reload", "version"};
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
	rc = ctl_call(sock, cmd, &reply, why, sizeof(why));
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
	    {"serve", cmd_serve},
	    {"ctl", cmd_ctl},
	    {"check-config", cmd_check_config},
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
