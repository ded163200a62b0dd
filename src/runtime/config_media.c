/* Config loader: the `media` section and a route's `media` policy. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/config_int.h"
#include "sip/transport/transport.h"

enum {
	CODEC_NAME_MAX = 32,	  /* bytes of a codec name */
	TIMEOUT_MAX_S = 86400,	  /* media.timeout_s, hold_timeout_s */
	LATCH_MAX_MS = 60000,	  /* media.latch_window_ms */
	PORT_MIN_DEFAULT = 20000, /* media.ports */
	PORT_MAX_DEFAULT = 39999,
	DIR_MAX = 1024,	       /* bytes of media.record_dir */
	RTPENGINE_PORT = 2223, /* rtpengine's usual ng port */
	RTPENGINE_TIMEOUT_MS = 500,
	RTPENGINE_TRIES = 3,
	RTPENGINE_DISABLE_S = 10,
	ADDR_TEXT_MAX = 64
};

void config_media_defaults(struct config *c)
{
	c->media = (struct config_media){
	    .policy = {.mode = CONFIG_MEDIA_ANCHOR,
		       .keep_dtmf = true,
		       .dtmf = CONFIG_DTMF_RELAY},
	    .port_min = PORT_MIN_DEFAULT,
	    .port_max = PORT_MAX_DEFAULT,
	    .timeout_s = 60,
	    .hold_timeout_s = 0,
	    .latch_window_ms = 10000,
	    .rtpengine = {.timeout_ms = RTPENGINE_TIMEOUT_MS,
			  .tries = RTPENGINE_TRIES,
			  .disable_s = RTPENGINE_DISABLE_S},
	};
}

static void words_free(const char **dst, uint8_t *n);

void config_media_policy_free(struct config_media_policy *p)
{
	words_free(p->allow, &p->nallow);
	words_free(p->strip, &p->nstrip);
}

void config_media_free(struct config *c)
{
	config_media_policy_free(&c->media.policy);
	words_free(c->media.rtpengine.flags, &c->media.rtpengine.nflags);
	sb_free((char *)c->media.record_dir);
}

const struct config_media *config_media(const struct config *c)
{
	return &c->media;
}

const char *config_media_mode_name(enum config_media_mode m)
{
	static const char *const names[] = {"anchor", "bypass", "rtpengine"};

	return (unsigned)m < 3 ? names[m] : "?";
}

void config_media_policy(const struct config *c, const struct config_route *r,
			 struct config_media_policy *out)
{
	const struct config_media_policy *d = &c->media.policy, *p;

	*out = *d;
	if (!r)
		return;
	p = &r->media;
	if (p->has_mode)
		out->mode = p->mode;
	if (p->has_codecs) {
		memcpy(out->allow, p->allow, sizeof(out->allow));
		memcpy(out->strip, p->strip, sizeof(out->strip));
		out->nallow = p->nallow;
		out->nstrip = p->nstrip;
		out->keep_dtmf = p->keep_dtmf;
	}
	if (p->has_dtmf)
		out->dtmf = p->dtmf;
	if (p->has_record)
		out->is_recorded = p->is_recorded;
}

static int on_mode(struct loader *ld, const char *key, yaml_node_t *k,
		   yaml_node_t *v)
{
	static const char *const names[] = {"anchor", "bypass", "rtpengine"};
	unsigned i;
	int rc = config_get_choice(ld, key, k, v, names, 3, &i);

	if (rc == 0) {
		ld->policy->mode = (enum config_media_mode)i;
		ld->policy->has_mode = true;
		if (i == CONFIG_MEDIA_RTPENGINE && !ld->has_rtpengine_mode) {
			ld->has_rtpengine_mode = true;
			ld->rtpengine_mark = k->start_mark;
			snprintf(ld->rtpengine_key, sizeof(ld->rtpengine_key),
				 "%s", key);
		}
	}
	return rc;
}

static int on_dtmf(struct loader *ld, const char *key, yaml_node_t *k,
		   yaml_node_t *v)
{
	static const char *const names[] = {"rfc4733", "info"};
	unsigned i;
	int rc = config_get_choice(ld, key, k, v, names, 2, &i);

	if (rc == 0) {
		ld->policy->dtmf = (enum config_dtmf)i;
		ld->policy->has_dtmf = true;
	}
	return rc;
}

static int on_record(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	ld->policy->has_record = true;
	return config_get_bool(ld, key, k, v, &ld->policy->is_recorded);
}

/* A codec name: an RTP encoding name (RFC 4855 3: a MIME subtype). */
static bool is_codec(struct slice s)
{
	if (s.len == 0 || s.len >= CODEC_NAME_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == '_' || c == '+'))
			return false;
	}
	return true;
}

typedef int (*item_fn)(struct loader *ld, const char *item_key, yaml_node_t *e,
		       struct slice s, void *arg);

/* Each string of list v at key, at most max of them, through fn. */
static int walk_strings(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v, size_t max, const char *list_of,
			const char *noun, item_fn fn, void *arg)
{
	char item_key[CONFIG_KEY_MAX];
	yaml_node_item_t *it;
	size_t i = 0;

	if (v->type != YAML_SEQUENCE_NODE)
		return config_fail(ld, &k->start_mark, key,
				   "must be a list of %s, not %s", list_of,
				   config_describe(v));
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *e = yaml_document_get_node(ld->doc, *it);
		struct slice s;
		int rc;

		snprintf(item_key, sizeof(item_key), "%s[%zu]", key, i);
		if (i >= max)
			return config_fail(ld, &e->start_mark, key,
					   "at most %zu %s", max, noun);
		rc = config_get_string(ld, item_key, e, e, &s);
		if (rc == 0)
			rc = fn(ld, item_key, e, s, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* A list of words (codec names, rtpengine flags) kept as strings. */
struct words {
	const char **dst;
	uint8_t *n;
	bool (*is_ok)(struct slice s);
	const char *rule; /* what a word may be, for the error */
};

static int add_word(struct loader *ld, const char *item_key, yaml_node_t *e,
		    struct slice s, void *arg)
{
	struct words *w = arg;
	int rc;

	if (!w->is_ok(s))
		return config_fail(ld, &e->start_mark, item_key,
				   "must be %s (at most %d bytes)", w->rule,
				   CODEC_NAME_MAX - 1);
	w->dst[*w->n] = NULL;
	rc = config_replace_str((char **)&w->dst[*w->n], s);
	if (rc == 0)
		(*w->n)++;
	return rc;
}

static void words_free(const char **dst, uint8_t *n)
{
	for (; *n; (*n)--)
		sb_free((char *)dst[*n - 1]);
}

static int get_codecs(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v, const char **dst, uint8_t *n)
{
	struct words w = {dst, n, is_codec,
			  "a codec name (letters, digits, '-', '.', '_', "
			  "'+')"};

	words_free(dst, n);
	return walk_strings(ld, key, k, v, CONFIG_CODECS_MAX,
			    "codec names (PCMU, PCMA, G722, opus ...)",
			    "codecs", add_word, &w);
}

static int on_allow(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	return get_codecs(ld, key, k, v, ld->policy->allow,
			  &ld->policy->nallow);
}

static int on_strip(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	return get_codecs(ld, key, k, v, ld->policy->strip,
			  &ld->policy->nstrip);
}

static int on_keep_dtmf(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	return config_get_bool(ld, key, k, v, &ld->policy->keep_dtmf);
}

static int on_codecs(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"allow", on_allow},
	    {"strip", on_strip},
	    {"keep_dtmf", on_keep_dtmf},
	};
	ld->policy->has_codecs = true;
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

/* An IP literal (no brackets) into sa (port 0); false when it is none. */
/* An IP literal of family, without brackets, into sa (port 0). */
static bool ip_parse(struct slice s, int family, struct sockaddr_storage *sa)
{
	struct sip_addr a;

	if (s.len == 0 || s.p[0] == '[' || sip_addr_from_host(s, 0, &a) != 0 ||
	    a.sa.sa_family != family)
		return false;
	memset(sa, 0, sizeof(*sa));
	memcpy(sa, &a.sa, a.len);
	return true;
}

static int on_address(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	bool is6 = key[strlen(key) - 1] == '6';
	struct sockaddr_storage *dst =
	    is6 ? &ld->c->media.bind6 : &ld->c->media.bind4;
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (!ip_parse(s, is6 ? AF_INET6 : AF_INET, dst))
		return config_fail(ld, &k->start_mark, key,
				   "must be an %s address to bind RTP on",
				   is6 ? "IPv6 (no brackets)" : "IPv4");
	if (!is6)
		ld->has_media_address = true;
	return 0;
}

static int on_advertise(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	bool is6 = key[strlen(key) - 1] == '6';
	char *dst = is6 ? ld->c->media.advertise6 : ld->c->media.advertise4;
	struct sockaddr_storage sa;
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (!ip_parse(s, is6 ? AF_INET6 : AF_INET, &sa))
		return config_fail(ld, &k->start_mark, key,
				   "must be the %s address endpoints send RTP "
				   "to (the public address in front of a NAT)",
				   is6 ? "IPv6 (no brackets)" : "IPv4");
	memcpy(dst, s.p, s.len);
	dst[s.len] = '\0';
	if (!is6)
		ld->has_media_advertise = true;
	return 0;
}

/* "20000-39999" */
static int on_ports(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	struct slice s;
	unsigned lo, hi;
	char tmp[32], tail;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len >= sizeof(tmp))
		s.len = sizeof(tmp) - 1;
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = '\0';
	if (sscanf(tmp, "%u-%u%c", &lo, &hi, &tail) != 2 || lo < 1024 ||
	    hi > 65535 || hi < lo + 3)
		return config_fail(ld, &k->start_mark, key,
				   "must be a range \"MIN-MAX\" of UDP ports "
				   "within 1024-65535 holding at least two "
				   "pairs, e.g. \"20000-39999\"");
	ld->c->media.port_min = (uint16_t)lo;
	ld->c->media.port_max = (uint16_t)hi;
	return 0;
}

static int on_timeouts(struct loader *ld, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	struct config_media *m = &ld->c->media;
	const char *name = strrchr(key, '.') + 1;

	if (strcmp(name, "latch_window_ms") == 0)
		return config_get_u32(ld, key, k, v, 0, LATCH_MAX_MS,
				      &m->latch_window_ms);
	return config_get_u32(ld, key, k, v, 0, TIMEOUT_MAX_S,
			      name[0] == 'h' ? &m->hold_timeout_s
					     : &m->timeout_s);
}

static int on_record_dir(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len == 0 || s.len >= DIR_MAX || memchr(s.p, '\0', s.len))
		return config_fail(ld, &k->start_mark, key,
				   "must be a directory path (1 to %d bytes)",
				   DIR_MAX - 1);
	return config_replace_str((char **)&ld->c->media.record_dir, s);
}

/* "[udp:]IP[:PORT]" (Kamailio's rtpengine_sock spelling is accepted). */
static bool server_parse(struct slice s, struct sockaddr_storage *out)
{
	if (s.len > 4 && memcmp(s.p, "udp:", 4) == 0)
		s = slice_make(s.p + 4, s.len - 4);
	return config_ip_port(s, RTPENGINE_PORT, out) == 0;
}

static int add_server(struct loader *ld, const char *item_key, yaml_node_t *e,
		      struct slice s, void *arg)
{
	struct config_rtpengine *r = arg;

	if (s.len >= ADDR_TEXT_MAX ||
	    !server_parse(s, &r->servers[r->nservers]))
		return config_fail(ld, &e->start_mark, item_key,
				   "must be an IP address and port of "
				   "rtpengine's listen-ng, e.g. "
				   "\"127.0.0.1:2223\" or \"[::1]:2223\"");
	r->nservers++;
	return 0;
}

static int on_rtpengine_servers(struct loader *ld, const char *key,
				yaml_node_t *k, yaml_node_t *v)
{
	struct config_rtpengine *r = &ld->c->media.rtpengine;
	int rc;

	r->nservers = 0;
	rc = walk_strings(ld, key, k, v, CONFIG_RTPENGINE_MAX,
			  "rtpengine ng addresses (\"127.0.0.1:2223\")",
			  "servers", add_server, r);
	if (rc == 0 && r->nservers == 0)
		return config_fail(ld, &k->start_mark, key,
				   "must name at least one server");
	return rc;
}

static int on_rtpengine_timers(struct loader *ld, const char *key,
			       yaml_node_t *k, yaml_node_t *v)
{
	struct config_rtpengine *r = &ld->c->media.rtpengine;
	const char *name = strrchr(key, '.') + 1;

	if (strcmp(name, "timeout_ms") == 0)
		return config_get_u32(ld, key, k, v, 10, 10000, &r->timeout_ms);
	if (strcmp(name, "tries") == 0)
		return config_get_u32(ld, key, k, v, 1, 10, &r->tries);
	return config_get_u32(ld, key, k, v, 1, 3600, &r->disable_s);
}

/* rtpengine's own flags ("strict-source", "trust-address" ...): words. */
static bool is_flag(struct slice s)
{
	if (s.len == 0 || s.len >= CODEC_NAME_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == ' ' ||
		      c == '_' || c == '='))
			return false;
	}
	return true;
}

static int on_rtpengine_flags(struct loader *ld, const char *key,
			      yaml_node_t *k, yaml_node_t *v)
{
	struct config_rtpengine *r = &ld->c->media.rtpengine;
	struct words w = {r->flags, &r->nflags, is_flag,
			  "an rtpengine flag (letters, digits, '-', '_', '=', "
			  "space)"};

	words_free(r->flags, &r->nflags);
	return walk_strings(ld, key, k, v, CONFIG_RTPENGINE_MAX,
			    "rtpengine flags", "flags", add_word, &w);
}

static int on_rtpengine(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"servers", on_rtpengine_servers},	 {"flags", on_rtpengine_flags},
	    {"timeout_ms", on_rtpengine_timers}, {"tries", on_rtpengine_timers},
	    {"disable_s", on_rtpengine_timers},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

int config_on_media(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"mode", on_mode},
	    {"address", on_address},
	    {"address6", on_address},
	    {"advertise", on_advertise},
	    {"advertise6", on_advertise},
	    {"ports", on_ports},
	    {"timeout_s", on_timeouts},
	    {"hold_timeout_s", on_timeouts},
	    {"latch_window_ms", on_timeouts},
	    {"codecs", on_codecs},
	    {"dtmf", on_dtmf},
	    {"record", on_record},
	    {"record_dir", on_record_dir},
	    {"rtpengine", on_rtpengine},
	};
	ld->policy = &ld->c->media.policy;
	ld->media_mark = k->start_mark;
	ld->has_media = true;
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

int config_on_route_media(struct loader *ld, const char *key, yaml_node_t *k,
			  yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"mode", on_mode},
	    {"codecs", on_codecs},
	    {"dtmf", on_dtmf},
	    {"record", on_record},
	};
	ld->policy = &ld->route->media;
	ld->policy->keep_dtmf = true;
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

static bool is_any(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == 0;
	if (sa->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

/* Whether any call may be anchored: the default or a route says so. */
static bool anchors(const struct config *c)
{
	if (c->media.policy.mode == CONFIG_MEDIA_ANCHOR)
		return true;
	for (size_t i = 0; i < c->nroutes; i++)
		if (c->routes[i].media.has_mode &&
		    c->routes[i].media.mode == CONFIG_MEDIA_ANCHOR)
			return true;
	return false;
}

/* RTP binds on the first IPv4 (and IPv6) listener's address unless
 * media.address says otherwise; a wildcard is advertised as the listener's
 * advertised address when that is an IP. */
static void from_listeners(struct config *c)
{
	struct config_media *m = &c->media;

	for (size_t i = 0; i < c->listen_count; i++) {
		const struct config_listen *l = &c->listen[i];
		bool is6 = l->addr.ss_family == AF_INET6;
		struct sockaddr_storage *dst = is6 ? &m->bind6 : &m->bind4;
		char *adv = is6 ? m->advertise6 : m->advertise4;
		struct sockaddr_storage tmp;

		if (dst->ss_family != AF_UNSPEC)
			continue;
		*dst = l->addr;
		if (is6)
			((struct sockaddr_in6 *)dst)->sin6_port = 0;
		else
			((struct sockaddr_in *)dst)->sin_port = 0;
		if (!adv[0] && is_any(dst) &&
		    ip_parse(slice_cstr(l->advertise), l->addr.ss_family, &tmp))
			snprintf(adv, 48, "%s", l->advertise);
	}
}

/* A policy sending media to rtpengine: servers are needed, and DTMF
 * interworking is the local relay's. */
static int rtpengine_check(struct loader *ld,
			   const struct config_media_policy *p,
			   const char *where)
{
	char key[CONFIG_KEY_MAX + 8];

	if (p->mode != CONFIG_MEDIA_RTPENGINE)
		return 0;
	if (ld->c->media.rtpengine.nservers == 0)
		return config_fail(
		    ld, ld->has_rtpengine_mode ? &ld->rtpengine_mark : NULL,
		    ld->has_rtpengine_mode ? ld->rtpengine_key : "--media",
		    "is rtpengine but media.rtpengine.servers names no "
		    "server");
	if (p->dtmf == CONFIG_DTMF_INFO) {
		snprintf(key, sizeof(key), "%s.dtmf", where);
		return config_fail(ld, NULL, key,
				   "info needs the local relay (mode anchor): "
				   "rtpengine relays RFC 4733 as it is");
	}
	return 0;
}

static int rtpengine_finish(struct loader *ld)
{
	struct config *c = ld->c;
	char where[CONFIG_KEY_MAX];
	int rc = rtpengine_check(ld, &c->media.policy, "media");

	for (size_t i = 0; rc == 0 && i < c->nroutes; i++) {
		struct config_media_policy p;

		config_media_policy(c, &c->routes[i], &p);
		snprintf(where, sizeof(where), "routes[%zu].media", i);
		rc = rtpengine_check(ld, &p, where);
	}
	return rc;
}

int config_media_finish(struct loader *ld)
{
	struct config *c = ld->c;
	struct config_media *m = &c->media;
	int rc;

	from_listeners(c);
	rc = rtpengine_finish(ld);
	if (rc != 0)
		return rc;
	if (m->bind4.ss_family == AF_INET && is_any(&m->bind4) &&
	    !m->advertise4[0] && anchors(c))
		return config_fail(
		    ld, ld->has_media ? &ld->media_mark : NULL,
		    ld->has_media_address ? "media.advertise" : "media.address",
		    "RTP would bind to 0.0.0.0, which cannot go in SDP: set "
		    "media.address to this host's IPv4 address, or "
		    "media.advertise to the address endpoints reach");
	if (m->bind6.ss_family == AF_INET6 && is_any(&m->bind6) &&
	    !m->advertise6[0])
		memset(&m->bind6, 0, sizeof(m->bind6)); /* no IPv6 media */
	if (!m->record_dir) {
		size_t n = strlen(c->data_dir) + sizeof("/recordings");
		char *d = sb_malloc(n);

		if (!d)
			return -ENOMEM;
		snprintf(d, n, "%s/recordings", c->data_dir);
		m->record_dir = d;
	}
	return 0;
}
