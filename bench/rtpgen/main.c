/* rtpgen: RTP load generator measuring a media relay (switchboard, rtpengine).
 */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rtpgen.h"

/*
 * N calls of G.711 PCMU at 20 ms in both directions through a relay: each
 * call has an endpoint A (caller) and B (callee), one UDP socket each on
 * --ip. Calls are set up at --rate per second (through a SIP B2BUA, through
 * rtpengine's ng protocol, or directly), then D seconds of steady state are
 * measured, then every call is torn down. One thread, epoll, timerfd
 * pacing; every run ends by itself.
 *
 * Exit status: 0 ok; 1 some call failed to set up; 2 the generator fell
 * behind (its own send lateness p99 over 2 ms, packets skipped for being a
 * period late, or drops on its sockets: the figures are then the
 * generator's); 4 no steady window (interrupted); 64 usage or start-up
 * errors. 1, 2 and 4 combine.
 */
enum { EXIT_USAGE = 64, FDS_SPARE = 64 };

static const char USAGE[] =
    "usage: bench_rtpgen (--direct | --sip HOST:PORT | --ng HOST:PORT) "
    "[options]\n"
    "  --direct          no relay: A and B send to each other (baseline)\n"
    "  --sip HOST:PORT   calls through a SIP B2BUA (rtpgen is UAC and UAS)\n"
    "  --ng HOST:PORT    calls through rtpengine's ng control protocol\n"
    "  --calls N         concurrent calls (default 100)\n"
    "  --secs D          seconds of steady state measured (default 10)\n"
    "  --rate R          calls set up, and torn down, per second "
    "(default 200)\n"
    "  --settle S        seconds from the last call up to the window "
    "(default 1)\n"
    "  --ip IP           our SIP sockets and RTP endpoints "
    "(default 127.0.0.30)\n"
    "  --port-base P     RTP on even ports from P up, A then B (default 0:\n"
    "                    ports the kernel picks in the ephemeral range)\n"
    "  --pid PID         the relay: its CPU time over the window\n"
    "  --quiet           only the key=value line\n";

static int parse_hostport(const char *s, struct sockaddr_in *out)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -EINVAL;
}

static int parse_number(const char *s, double min, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct rg_opts *o)
{
	static const struct option LONG[] = {
	    {"direct", no_argument, NULL, 'd'},
	    {"sip", required_argument, NULL, 's'},
	    {"ng", required_argument, NULL, 'n'},
	    {"calls", required_argument, NULL, 'c'},
	    {"secs", required_argument, NULL, 'D'},
	    {"rate", required_argument, NULL, 'r'},
	    {"settle", required_argument, NULL, 'S'},
	    {"ip", required_argument, NULL, 'i'},
	    {"port-base", required_argument, NULL, 'p'},
	    {"pid", required_argument, NULL, 'P'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int modes = 0, ch, err = 0;
	double v;

	*o = (struct rg_opts){
	    .calls = 100, .secs = 10, .rate = 200, .settle_s = 1};
	inet_pton(AF_INET, "127.0.0.30", &o->ip);
	while (!err && (ch = getopt_long(argc, argv, "", LONG, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->mode = RG_MODE_DIRECT;
			modes++;
			break;
		case 's':
		case 'n':
			o->mode = ch == 's' ? RG_MODE_SIP : RG_MODE_NG;
			err = parse_hostport(optarg, &o->server);
			modes++;
			break;
		case 'c':
			err = parse_number(optarg, 1, 1000000, &v);
			o->calls = (uint32_t)v;
			break;
		case 'D':
			err = parse_number(optarg, 0.1, 86400, &o->secs);
			break;
		case 'r':
			err = parse_number(optarg, 0.1, 1e6, &o->rate);
			break;
		case 'S':
			err = parse_number(optarg, 0, 3600, &o->settle_s);
			break;
		case 'i':
			err = inet_pton(AF_INET, optarg, &o->ip) == 1 ? 0
								      : -EINVAL;
			break;
		case 'p':
			err = parse_number(optarg, 0, 65532, &v);
			o->port_base = (uint16_t)((uint32_t)v & ~1u);
			break;
		case 'P':
			err = parse_number(optarg, 1, 1 << 30, &v);
			o->pid = (int)v;
			break;
		case 'q':
			o->is_quiet = true;
			break;
		default:
			err = -EINVAL;
		}
	}
	if (err || optind != argc || modes != 1)
		return -EINVAL;
	if (o->port_base && (uint64_t)o->port_base + 4ull * o->calls > 65536) {
		fprintf(stderr, "rtpgen: %u calls do not fit above port %u\n",
			o->calls, o->port_base);
		return -EINVAL;
	}
	return 0;
}

/* Two sockets per call plus a few: raise the soft limit to the hard one. */
static int raise_nofile(uint32_t calls)
{
	struct rlimit rl;
	rlim_t need = 2 * (rlim_t)calls + FDS_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			return -errno;
	}
	if (rl.rlim_cur < need) {
		fprintf(stderr,
			"rtpgen: %u calls need %llu file descriptors; the "
			"limit is %llu\n",
			calls, (unsigned long long)need,
			(unsigned long long)rl.rlim_cur);
		return -EMFILE;
	}
	return 0;
}

static int setup(struct rg *rg)
{
	int err;

	/* Timers fire when asked, not up to 50 us later. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	srandom((unsigned)(getpid() ^ time(NULL)));
	if ((err = raise_nofile(rg->opt.calls)))
		return err;
	rg->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rg->epfd < 0)
		return -errno;
	rg->calls = calloc(rg->opt.calls, sizeof(*rg->calls));
	if (!rg->calls)
		return -ENOMEM;
	if ((err = rg_streams_open(rg)))
		return err;
	if (rg->opt.mode == RG_MODE_SIP)
		return rg_sip_open(rg);
	if (rg->opt.mode == RG_MODE_NG)
		return rg_ng_open(rg);
	return 0;
}

static void teardown(struct rg *rg)
{
	rg_sip_close(rg);
	rg_ng_close(rg);
	if (rg->calls)
		rg_streams_close(rg);
	free(rg->calls);
	if (rg->pace.fd >= 0)
		close(rg->pace.fd);
	if (rg->tick.fd >= 0)
		close(rg->tick.fd);
	if (rg->epfd >= 0)
		close(rg->epfd);
}

int main(int argc, char **argv)
{
	static struct rg rg; /* large: the histograms */
	int err, status;

	rg.epfd = -1;
	rg.pace.fd = -1;
	rg.tick.fd = -1;
	if (parse_opts(argc, argv, &rg.opt)) {
		fputs(USAGE, stderr);
		return EXIT_USAGE;
	}
	err = setup(&rg);
	if (!err)
		err = rg_run(&rg);
	if (err) {
		fprintf(stderr, "rtpgen: %s\n", strerror(-err));
		teardown(&rg);
		return EXIT_USAGE;
	}
	status = rg_report(&rg);
	teardown(&rg);
	return status;
}
