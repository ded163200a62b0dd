/* What crosses from one leg to the other: a whitelist, rules, identity. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "runtime/config.h"
#include "services/b2bua/b2bua_int.h"

#define LOG_MODULE "b2bua"

enum {
	HDRS_NAMEADDR_MAX = 512 /* bytes of an asserted identity we build */
};

/* Headers a relayed request needs to mean the same thing (RFC 3265,
 * RFC 3515, RFC 6086), copied whatever the whitelist says. */
static bool is_protocol(const struct sip_hdr *h)
{
	switch (h->id) {
	case SIP_HDR_EVENT:
	case SIP_HDR_SUBSCRIPTION_STATE:
	case SIP_HDR_REFER_TO:
	case SIP_HDR_REFERRED_BY:
	case SIP_HDR_ALLOW_EVENTS:
	case SIP_HDR_RETRY_AFTER:
	case SIP_HDR_WARNING:
		return true;
	case SIP_HDR_OTHER:
		return slice_caseeq_lit(h->name, "Info-Package") ||
		       slice_caseeq_lit(h->name, "Recv-Info");
	default:
		return false;
	}
}

/* name (as configured) names header h (ids catch compact forms). */
static bool names(const char *name, const struct sip_hdr *h)
{
	struct slice n = slice_cstr(name);
	enum sip_hdr_id id = sip_hdr_id_from(n);

	if (id != SIP_HDR_OTHER)
		return id == h->id;
	return h->id == SIP_HDR_OTHER && slice_caseeq(n, h->name);
}

static bool in_list(const char *const *list, size_t n, const struct sip_hdr *h)
{
	for (size_t i = 0; i < n; i++)
		if (names(list[i], h))
			return true;
	return false;
}

/* The name of a "Name: value" rule line. */
static bool line_names(const char *line, const struct sip_hdr *h)
{
	const char *colon = strchr(line, ':');
	char name[64];
	size_t n = colon ? (size_t)(colon - line) : 0;

	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, line, n);
	name[n] = '\0';
	return names(name, h);
}

static bool is_replaced(const struct config_hdr_rules *r,
			const struct sip_hdr *h)
{
	for (size_t i = 0; i < r->nreplace; i++)
		if (line_names(r->replace[i], h))
			return true;
	return false;
}

/* RFC 3323 / RFC 3325: Privacy id (or header, user) hides the identity. */
static bool wants_privacy(struct sip_msg *m)
{
	const struct sip_token *t;

	if (sip_msg_tokens(m, SIP_HDR_PRIVACY, &t) != 0)
		return false;
	for (; t; t = t->next)
		if (slice_caseeq_lit(t->value, "id") ||
		    slice_caseeq_lit(t->value, "user") ||
		    slice_caseeq_lit(t->value, "header"))
			return true;
	return false;
}

static void add_line(struct buf *out, struct slice name, struct slice value)
{
	if (out->len + name.len + value.len + 4 > B2BUA_HDRS_MAX)
		return;
	(void)buf_append_slice(out, name);
	(void)buf_append(out, ": ", 2);
	(void)buf_append_slice(out, value);
	(void)buf_append(out, "\r\n", 2);
}

/* A name-addr for na with its user and display replaced (below). */
static int print_nameaddr(char *out, size_t cap, const struct sip_nameaddr *na,
			  const char *user, const char *display);

static bool has_pai_rule(const struct config_hdr_rules *r)
{
	return r && (r->pai_user || r->pai_display);
}

/*
 * The route's asserted identity (pai_user, pai_display): the caller's
 * first sip/sips P-Asserted-Identity rewritten, else its From rewritten,
 * as the one P-Asserted-Identity of the B-leg (RFC 3325 9.1: one sip URI).
 * Not when the route removes the header.
 */
static void add_pai(struct buf *out, const struct config_hdr_rules *r,
		    struct sip_msg *m)
{
	static const struct sip_hdr pai = {
	    .id = SIP_HDR_P_ASSERTED_IDENTITY,
	    .name = {"P-Asserted-Identity", sizeof("P-Asserted-Identity") - 1},
	};
	const struct sip_nameaddr *na = NULL, *v;
	char line[HDRS_NAMEADDR_MAX];
	int n;

	if (in_list(r->remove, r->nremove, &pai))
		return;
	if (sip_msg_nameaddrs(m, SIP_HDR_P_ASSERTED_IDENTITY, &v) == 0)
		for (; v && !na; v = v->next)
			if (v->uri.scheme == SIP_URI_SIP ||
			    v->uri.scheme == SIP_URI_SIPS)
				na = v;
	if (!na)
		na = m->from;
	if (!na)
		return;
	n = print_nameaddr(line, sizeof(line), na, r->pai_user, r->pai_display);
	if (n > 0)
		add_line(out, pai.name, slice_make(line, (size_t)n));
}

struct slice hdrs_copy(struct b2bua *b, const struct call *c, struct sip_msg *m,
		       bool is_initial)
{
	const struct config_b2bua *cb = config_b2bua(c->cfg);
	const struct config_hdr_rules *r = c->route ? &c->route->rules : NULL;
	bool is_private =
	    r && r->privacy == CONFIG_PRIVACY_HONOR && wants_privacy(m);
	struct buf *out = &b->hdrs;

	buf_reset(out);
	for (uint16_t i = 0; i < m->hdr_count; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		bool copy = is_protocol(h) ||
			    in_list(cb->copy_headers, cb->ncopy_headers, h);

		if (!cb->is_user_agent_hidden &&
		    (h->id == SIP_HDR_USER_AGENT || h->id == SIP_HDR_SERVER))
			copy = true;
		if (!copy)
			continue;
		if (r &&
		    (in_list(r->remove, r->nremove, h) || is_replaced(r, h)))
			continue;
		/* RFC 3325 9.1: no asserted identity where privacy is asked */
		if (is_private && (h->id == SIP_HDR_P_ASSERTED_IDENTITY ||
				   h->id == SIP_HDR_P_PREFERRED_IDENTITY))
			continue;
		/* the route's identity stands in for the caller's */
		if (is_initial && has_pai_rule(r) &&
		    h->id == SIP_HDR_P_ASSERTED_IDENTITY)
			continue;
		add_line(out, h->name, h->value);
	}
	if (is_initial && has_pai_rule(r) && !is_private)
		add_pai(out, r, m);
	if (r) {
		for (size_t i = 0; i < r->nreplace; i++) {
			const char *colon = strchr(r->replace[i], ':');

			for (uint16_t j = 0; colon && j < m->hdr_count; j++)
				if (line_names(r->replace[i], &m->hdrs[j])) {
					add_line(
					    out,
					    slice_make(r->replace[i],
						       (size_t)(colon -
								r->replace[i])),
					    slice_trim(slice_cstr(colon + 1)));
					break;
				}
		}
		for (size_t i = 0; is_initial && i < r->nadd; i++) {
			const char *colon = strchr(r->add[i], ':');

			if (colon)
				add_line(
				    out,
				    slice_make(r->add[i],
					       (size_t)(colon - r->add[i])),
				    slice_trim(slice_cstr(colon + 1)));
		}
	}
	return buf_slice(out);
}

/* A name-addr for na with its user and display replaced when given. */
static int print_nameaddr(char *out, size_t cap, const struct sip_nameaddr *na,
			  const char *user, const char *display)
{
	const struct sip_uri *u = &na->uri;
	struct slice disp = display ? slice_cstr(display) : na->display;
	size_t len = 0;
	int n;

	if (disp.len)
		n = snprintf(out, cap, display ? "\"%.*s\" " : "%.*s ",
			     SL_ARG(disp));
	else
		n = snprintf(out, cap, "%s", "");
	if (n < 0 || (size_t)n >= cap)
		return -E2BIG;
	len = (size_t)n;
	if (!user || u->scheme == SIP_URI_OTHER || u->scheme == SIP_URI_TEL)
		n = snprintf(out + len, cap - len, "<%.*s>", SL_ARG(u->raw));
	else if (u->has_port)
		n = snprintf(out + len, cap - len, "<%.*s:%s@%.*s:%u%s%.*s>",
			     SL_ARG(u->scheme_name), user, SL_ARG(u->host),
			     (unsigned)u->port, u->params.len ? ";" : "",
			     SL_ARG(u->params));
	else
		n = snprintf(out + len, cap - len, "<%.*s:%s@%.*s%s%.*s>",
			     SL_ARG(u->scheme_name), user, SL_ARG(u->host),
			     u->params.len ? ";" : "", SL_ARG(u->params));
	if (n < 0 || (size_t)n >= cap - len)
		return -E2BIG;
	return (int)(len + (size_t)n);
}

int hdrs_identity(const struct call *c, struct sip_msg *m, char *from,
		  size_t from_cap, char *to, size_t to_cap, struct slice *f,
		  struct slice *t)
{
	const struct config_hdr_rules *r = c->route ? &c->route->rules : NULL;
	int n;

	if (r && r->privacy == CONFIG_PRIVACY_HONOR && wants_privacy(m)) {
		/* RFC 3323 4.1.1.3: an anonymous From */
		n = snprintf(from, from_cap, "%s",
			     "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
	} else {
		n = print_nameaddr(from, from_cap, m->from,
				   r ? r->from_user : NULL,
				   r ? r->from_display : NULL);
	}
	if (n < 0 || (size_t)n >= from_cap)
		return -E2BIG;
	*f = slice_make(from, (size_t)n);
	n = print_nameaddr(to, to_cap, m->to, r ? r->to_user : NULL,
			   r ? r->to_display : NULL);
	if (n < 0)
		return n;
	*t = slice_make(to, (size_t)n);
	return 0;
}
