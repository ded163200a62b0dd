/* The config snapshot: YAML loaded, validated, immutable, reference counted. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_RUNTIME_CONFIG_H
#define SB_RUNTIME_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/limits.h"
#include "base/log.h"
#include "base/slice.h"

enum config_transport {
	CONFIG_TRANSPORT_UDP,
	CONFIG_TRANSPORT_TCP,
	CONFIG_TRANSPORT_TLS
};

/* How datagrams reach the workers (docs/PERFORMANCE.md compares them). */
enum config_receive {
	CONFIG_RECEIVE_READER, /* one reader per socket hands off by Call-ID */
	CONFIG_RECEIVE_REUSEPORT, /* a SO_REUSEPORT socket per worker */
	CONFIG_RECEIVE_SINGLE	  /* one worker does everything */
};

enum {
	CONFIG_LISTEN_MAX = 16,	      /* listeners per config */
	CONFIG_ERR_LEN = 512,	      /* bytes of one error message */
	CONFIG_ADDR_TEXT = 64,	      /* bytes of "[ipv6]:port" plus NUL */
	CONFIG_HOST_MAX = 256,	      /* bytes of an advertised host plus NUL */
	CONFIG_FILE_MAX = 1 << 20,    /* bytes of a config file */
	CONFIG_WORKERS_MAX = 256,     /* worker threads */
	CONFIG_SOCKET_PATH_MAX = 107, /* bytes of a unix socket path */
	CONFIG_DOMAINS_MAX = 256,     /* entries of `domains` */
	CONFIG_DOMAIN_MAX = 128	      /* bytes of one domain (a store field) */
};

/* One `listen` entry, resolved to a bind address. */
struct config_listen {
	enum config_transport transport;
	struct sockaddr_storage addr;	 /* bind address with the port */
	socklen_t addr_len;		 /* bytes used in addr */
	char hostport[CONFIG_ADDR_TEXT]; /* "127.0.0.1:5060", "[::1]:5060" */
	char advertise[CONFIG_HOST_MAX]; /* host for Via/Contact; "" = none */
	uint16_t advertise_port;	 /* 0 = the bound port */
};

/* RFC 3261 17.1.1.1 timer values (milliseconds). */
struct config_timers {
	uint32_t t1_ms, t2_ms, t4_ms, timer_d_ms;
};

/* The local service's switches (services/local). */
struct config_local {
	bool is_options_stateless; /* answer OPTIONS without a transaction */
	uint32_t invite_delay_ms;  /* wait before answering an INVITE */
};

/* The `tcp` section: limits of the stream transports (TCP and TLS). */
struct config_tcp {
	uint32_t max_connections;	 /* open, all workers; 0 = any */
	uint32_t max_connections_per_ip; /* inbound from one IP; 0 = any */
	uint32_t idle_timeout_ms;	 /* no bytes either way; 0 = never */
	uint32_t partial_message_timeout_ms; /* a message begun, not done */
	uint32_t handshake_timeout_ms;	     /* TCP connect plus TLS */
	uint32_t max_buffered_bytes; /* per connection, in and out each */
};

/*
 * The `tls` section. Paths are as written, relative to the directory
 * switchboard starts in. A tls: listener without certificate and key gets
 * <data_dir>/tls/dev-cert.pem and dev-key.pem when both exist (is_dev_cert).
 */
struct config_tls {
	const char *certificate; /* PEM chain, leaf first; NULL = none */
	const char *private_key; /* PEM key of the leaf; NULL = none */
	const char *ca_file;	 /* PEM CAs for peers; NULL = the system's */
	bool is_client_cert_required; /* require_client_certificate */
	bool is_server_verified;      /* verify_server (outbound TLS) */
	uint32_t handshakes_per_turn; /* per worker loop turn; 0 = no cap */
	bool is_dev_cert;	      /* the development pair was taken */
};

/* The `auth` section: digest authentication of requests (sip/auth). */
struct config_auth {
	uint32_t nonce_lifetime_s;  /* a nonce is good this long */
	bool is_md5_offered;	    /* algorithms: challenge with MD5 */
	bool is_sha256_offered;	    /* algorithms: and with SHA-256 */
	uint32_t challenge_methods; /* bit 1u << enum sip_method for each
				       method local users must authenticate
				       with 407 (REGISTER always gets 401) */
	bool is_from_checked; /* check_from: the authenticated user must be
				 the From user (else 403) */
};

enum config_foreign {
	CONFIG_FOREIGN_REFUSE, /* requests for other domains: 403 */
	CONFIG_FOREIGN_FORWARD /* to the outbound proxy, else by DNS */
};

enum config_redirect {
	CONFIG_REDIRECT_RELAY,	/* 3xx goes upstream like any final */
	CONFIG_REDIRECT_RECURSE /* 3xx Contacts become new targets */
};

enum { CONFIG_DNS_SERVERS_MAX = 4 };

struct config_proxy {
	bool is_record_route;	     /* record_route */
	enum config_foreign foreign; /* foreign_domains */
	const char *outbound_proxy;  /* a sip/sips URI; NULL = none */
	uint32_t ring_timeout_s;     /* then CANCEL and 408 */
	uint32_t serial_timeout_s;   /* per q-group of a serial fork */
	enum config_redirect redirect;
	uint32_t max_branches; /* per request, recursion included */
};

struct config_dns {
	const char *servers[CONFIG_DNS_SERVERS_MAX]; /* "ip[:port]"; none:
							resolv.conf */
	size_t nservers;
	uint32_t timeout_ms; /* per try */
	uint32_t tries;
	uint32_t cache_max; /* names */
	bool is_ipv6;	    /* ipv6: ask AAAA too */
};

/* NAT keep-alives the registrar sends to bindings behind NAT. */
enum config_keepalive {
	CONFIG_KEEPALIVE_NONE,
	CONFIG_KEEPALIVE_OPTIONS,
	CONFIG_KEEPALIVE_CRLF
};

/* The `registrar` section (services/registrar). */
struct config_registrar {
	uint32_t min_expires_s;	    /* shorter (non-zero): 423 */
	uint32_t max_expires_s;	    /* longer is shortened */
	uint32_t default_expires_s; /* when the REGISTER gives none */
	uint32_t max_bindings;	    /* per AOR, unless the user has its own */
	uint32_t max_aors;	    /* AORs with bindings; 0 = no limit */
	enum config_keepalive keepalive;
	uint32_t keepalive_interval_s; /* between pings of one binding */
};

/* What happens to requests from a banned source. */
enum config_ban_action {
	CONFIG_BAN_DROP, /* nothing is answered */
	CONFIG_BAN_403	 /* 403 Forbidden */
};

/* The `bans` section: the password-guessing throttle (services/shield). */
struct config_bans {
	uint32_t failures_per_ip;   /* wrong passwords from one source */
	uint32_t failures_per_user; /* wrong passwords for one user */
	uint32_t window_s;	    /* counted over this window */
	uint32_t ban_s;		    /* how long a source stays banned */
	enum config_ban_action action;
};

/* The `store` section (store/). */
struct config_store {
	uint32_t flush_ms; /* write-behind delay of bindings */
};

/* A load failure: "file:line:col: key: what is wrong". */
struct config_err {
	char msg[CONFIG_ERR_LEN];
};

/*
 * Command-line values applied after the file is loaded and before the
 * snapshot is validated as a whole. Strings are the caller's; they are
 * copied. NULL or zero counts keep what the file says.
 */
struct config_overrides {
	const char *const *listen; /* replaces the whole `listen` list */
	size_t listen_count;
	const char *data_dir;
	const char *log_level; /* error|warn|info|debug */
	const char *call_mode; /* proxy|b2bua: replaces `call_mode` */
	const char *media;     /* anchor|bypass|rtpengine: `media.mode` */
};

struct config; /* opaque, immutable once loaded */

/*
 * Load and validate the YAML file at path, apply ov (may be NULL), and on
 * success set *out to a new snapshot holding one reference. Unknown keys,
 * wrong types and out-of-range values are errors; nothing is guessed.
 * Returns 0, or -ENOENT/-EACCES (file), -EINVAL (content) or -ENOMEM, with
 * err->msg naming the file, line, column and key. *out is set only on
 * success. Any thread; no logging.
 */
int config_load(const char *path, const struct config_overrides *ov,
		struct config **out, struct config_err *err);

/*
 * Load the file old came from again, with the same command-line overrides
 * (the snapshot keeps a copy of them): what SIGHUP and `ctl reload` do.
 * Same results as config_load.
 */
int config_reload(const struct config *old, struct config **out,
		  struct config_err *err);

/* The same from text in memory; name stands for the file in errors. */
int config_load_string(const char *name, const char *text, size_t len,
		       const struct config_overrides *ov, struct config **out,
		       struct config_err *err);

/* Counted references, safe from any thread. unref returns NULL. */
struct config *config_ref(struct config *c);
struct config *config_unref(struct config *c);

/* Read-only accessors; results live as long as the snapshot. */
const char *config_path(const struct config *c);
size_t config_listen_count(const struct config *c);
const struct config_listen *config_listen_at(const struct config *c, size_t i);
const char *config_data_dir(const struct config *c);
enum log_level config_log_level(const struct config *c);
enum log_format config_log_format(const struct config *c);
struct slice config_user_agent(const struct config *c);
const struct sb_limits *config_limits(const struct config *c);
/* Worker threads asked for; 0 = one per core. */
unsigned config_workers(const struct config *c);
/* Messages a worker's inbound queue holds before overflow answers 503. */
uint32_t config_queue_size(const struct config *c);
/* Microseconds a busy UDP reader waits for a batch; 0 = never. */
uint32_t config_receive_pause_us(const struct config *c);
enum config_receive config_receive(const struct config *c);
const struct config_timers *config_timers(const struct config *c);
/* Transactions allowed at once, over all workers; 0 = no limit. */
uint32_t config_max_transactions(const struct config *c);
uint32_t config_drain_timeout_ms(const struct config *c);
/* Path of the control socket (default <data_dir>/switchboard.sock). */
const char *config_control_socket(const struct config *c);
const struct config_local *config_local(const struct config *c);
/* True when a and b have the same listeners (reload cannot change them). */
bool config_listen_same(const struct config *a, const struct config *b);
const struct config_tcp *config_tcp(const struct config *c);
const struct config_tls *config_tls(const struct config *c);
/* True when the sections are the same (a reload cannot change them). */
bool config_tcp_same(const struct config *a, const struct config *b);
bool config_tls_same(const struct config *a, const struct config *b);
/* True when a listener uses transport t. */
bool config_has_transport(const struct config *c, enum config_transport t);

/*
 * The `domains` list: names switchboard is authoritative for, lower case,
 * as written (IPv6 in brackets). The listeners' addresses and advertised
 * hosts are local domains too, without being listed here.
 */
size_t config_domain_count(const struct config *c);
struct slice config_domain_at(const struct config *c, size_t i);
const struct config_auth *config_auth(const struct config *c);
const struct config_registrar *config_registrar(const struct config *c);
const struct config_bans *config_bans(const struct config *c);
const struct config_store *config_store(const struct config *c);
const struct config_proxy *config_proxy(const struct config *c);
const struct config_dns *config_dns(const struct config *c);

/* How a call (a dialog-creating INVITE) is handled. */
enum config_call_mode {
	CONFIG_CALL_PROXY, /* the stateful proxy forwards it */
	CONFIG_CALL_B2BUA  /* the B2BUA terminates it and makes a B-leg */
};

/* What the B2BUA does with a REFER from either party. */
enum config_refer {
	CONFIG_REFER_HANDLE, /* transfer done by the B2BUA (RFC 3515) */
	CONFIG_REFER_PASS,   /* relayed to the other party like INFO */
	CONFIG_REFER_REJECT  /* 603 */
};

/* RFC 3323 privacy handling on calls leaving through a route. */
enum config_privacy {
	CONFIG_PRIVACY_HONOR, /* Privacy: id/user -> anonymous From, PAI kept
				 only toward trusted peers (none yet) */
	CONFIG_PRIVACY_IGNORE /* headers copied as the whitelist says */
};

enum {
	CONFIG_HDR_LIST_MAX = 64,  /* names in a header list */
	CONFIG_HDR_RULES_MAX = 32, /* add/replace lines of one route */
	CONFIG_ROUTES_MAX = 256,
	CONFIG_RESPONSE_MAP_MAX = 32 /* entries of b2bua.response_map */
};

/*
 * Header rules applied to the B-leg INVITE (and its in-dialog requests'
 * headers copied across) of calls through a route. Names are header names
 * as written (compared case-insensitively, compact forms understood);
 * lines are whole "Name: value" texts without CRLF.
 */
struct config_hdr_rules {
	const char *remove[CONFIG_HDR_LIST_MAX]; /* never copied */
	size_t nremove;
	const char *add[CONFIG_HDR_RULES_MAX]; /* appended */
	size_t nadd;
	const char *replace[CONFIG_HDR_RULES_MAX]; /* the copied one (if
						      any) replaced */
	size_t nreplace;
	/* Identity rewriting; NULL = keep. */
	const char *from_user, *from_display;
	const char *to_user, *to_display;
	const char *pai_user, *pai_display; /* P-Asserted-Identity, added
					       when absent */
	enum config_privacy privacy;
};

/*
 * One `routes` entry: which calls it takes and how. Matching is on the
 * Request-URI of a new INVITE: all given conditions must hold; the first
 * matching route wins; none: `call_mode` and no rules.
 */
/* How a B2BUA call's media goes (docs/media.md). */
enum config_media_mode {
	CONFIG_MEDIA_ANCHOR,   /* relayed by switchboard, SDP rewritten */
	CONFIG_MEDIA_BYPASS,   /* endpoint to endpoint, SDP addresses kept */
	CONFIG_MEDIA_RTPENGINE /* relayed by rtpengine (media.rtpengine) */
};

/* DTMF between the legs. */
enum config_dtmf {
	CONFIG_DTMF_RELAY, /* RFC 4733 events relayed as they are */
	CONFIG_DTMF_INFO   /* RFC 4733 from a leg becomes SIP INFO on the
			      other, INFO becomes RFC 4733 (anchored) */
};

enum { CONFIG_CODECS_MAX = 16, CONFIG_RTPENGINE_MAX = 8 };

struct config_route;

/* The media policy of a call: the `media` section's, or a route's. */
struct config_media_policy {
	enum config_media_mode mode;
	const char *allow[CONFIG_CODECS_MAX]; /* codec names; none: all */
	uint8_t nallow;
	const char *strip[CONFIG_CODECS_MAX];
	uint8_t nstrip;
	bool keep_dtmf;	  /* telephone-event survives allow and strip */
	enum config_dtmf dtmf;
	bool is_recorded; /* every call (anchored) written to a WAV */
	/* a route's: which fields it gave (the others are the section's) */
	bool has_mode, has_codecs, has_dtmf, has_record;
};

/* The `media` section: the relay and the default policy. */
struct config_media {
	struct config_media_policy policy;
	struct sockaddr_storage bind4, bind6; /* AF_UNSPEC: none */
	char advertise4[48], advertise6[48];  /* in SDP; no brackets */
	uint16_t port_min, port_max;	      /* RTP ports (pairs) */
	uint32_t timeout_s;		      /* no RTP: end the call; 0 off */
	uint32_t hold_timeout_s;	      /* the same on hold; 0 off */
	uint32_t latch_window_ms;	      /* re-latching after an offer */
	const char *record_dir;		      /* <data_dir>/recordings */
	struct config_rtpengine {	      /* media.rtpengine */
		struct sockaddr_storage servers[CONFIG_RTPENGINE_MAX];
		uint8_t nservers;    /* 0: mode rtpengine is refused */
		uint32_t timeout_ms; /* wait per try */
		uint32_t tries;	     /* per server */
		uint32_t disable_s;  /* a silent server is skipped */
		const char *flags[CONFIG_RTPENGINE_MAX]; /* sent as given */
		uint8_t nflags;
	} rtpengine;
};

const struct config_media *config_media(const struct config *c);
/* The policy for a call on route r (NULL: none matched): the route's
 * fields where it gave them, else the section's. */
void config_media_policy(const struct config *c, const struct config_route *r,
			 struct config_media_policy *out);
const char *config_media_mode_name(enum config_media_mode m);

struct config_route {
	const char *name;	 /* for logs and CDRs */
	const char *user_prefix; /* NULL = any user */
	const char *domain;	 /* lower case; NULL = any */
	enum config_call_mode mode;
	struct config_hdr_rules rules;
	struct config_media_policy media; /* fields it gave (has_*) */
};

/* The `b2bua` section. */
struct config_b2bua {
	/* Headers copied from one leg's request to the other's, besides the
	 * ones the B2BUA writes itself (default: Subject, Alert-Info,
	 * Call-Info, Priority, Organization, Accept-Language,
	 * P-Asserted-Identity, P-Preferred-Identity, Privacy, Diversion,
	 * Remote-Party-ID, Reason). */
	const char *copy_headers[CONFIG_HDR_LIST_MAX];
	size_t ncopy_headers;
	bool is_user_agent_hidden;  /* hide_user_agent: no User-Agent /
				       Server copied across (default true);
				       ours is sent instead */
	uint32_t session_expires_s; /* RFC 4028 on each leg; 0 = off
				       (default 1800) */
	uint32_t min_se_s;	    /* Min-SE we accept (default 90) */
	uint32_t max_duration_s;    /* 0 = no limit (default 0) */
	uint32_t ring_timeout_s;    /* B-leg unanswered: CANCEL, 408
				       (default: proxy.ring_timeout_s) */
	enum config_refer refer;    /* default handle */
	/* response_map: a B-leg final status the caller gets as another
	 * (default 401 -> 403, 407 -> 403: the caller cannot answer a
	 * challenge meant for switchboard). */
	uint16_t map_from[CONFIG_RESPONSE_MAP_MAX],
	    map_to[CONFIG_RESPONSE_MAP_MAX];
	size_t nmap;
	bool is_cdr_sqlite;  /* cdr.sqlite (default true) */
	const char *cdr_csv; /* cdr.csv: a file path; NULL = off */
};

enum config_call_mode config_call_mode(const struct config *c);
const struct config_b2bua *config_b2bua(const struct config *c);
/* The status the caller gets for a B-leg's final status (response_map). */
uint16_t config_b2bua_map(const struct config_b2bua *b, uint16_t status);
/* The first route matching a Request-URI (user may be empty, domain
 * as received), or NULL. */
const struct config_route *config_route_match(const struct config *c,
					      struct slice user,
					      struct slice domain);
size_t config_route_count(const struct config *c);
const struct config_route *config_route_at(const struct config *c, size_t i);
/* "proxy", "b2bua". */
const char *config_call_mode_name(enum config_call_mode m);

/* "none", "options", "crlf". */
const char *config_keepalive_name(enum config_keepalive k);

/* "reader", "reuseport", "single". */
const char *config_receive_name(enum config_receive r);

/* "udp", "tcp", "tls". */
const char *config_transport_name(enum config_transport t);

#endif
