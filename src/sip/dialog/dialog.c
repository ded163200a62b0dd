/* SIP dialogs (RFC 3261 section 12): create, update and use one dialog. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>

#include "base/arena.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/rand.h"
#include "sip/dialog/dialog.h"

enum {
	CSEQ_LIMIT = 0x80000000u,     /* RFC 3261 8.1.1.5: CSeq < 2^31 */
	CSEQ_START_MASK = 0x3fffffff, /* a first local CSeq below 2^30 */
	ROUTE_HEAD_LEN = 8,	      /* "Route: <" */
	ROUTE_TAIL_LEN = 3	      /* ">\r\n" */
};

/* A name-addr to store: formatted from a parsed value, or copied as is. */
struct naddr_src {
	const struct sip_nameaddr *na; /* NULL: copy raw */
	struct slice raw;
};

/*
 * The strings of a dialog about to be packed into a new block. Slices may
 * point into the dialog's old block or into a message: pack copies them all
 * into a fresh block before it frees the old one.
 */
struct draft {
	struct slice call_id, local_tag, remote_tag;
	struct naddr_src local_uri, remote_uri;
	struct slice remote_target;
	const struct slice *uris; /* route URIs to format, or NULL: copy */
	unsigned nuris;
	struct slice route_set;	  /* copied when uris is NULL */
	struct slice first_route; /* inside route_set, when copied */
	bool is_strict_first;
};

/* Appends to dst, or only counts bytes when dst is NULL. */
struct writer {
	char *dst;
	size_t len;
};

static void put(struct writer *w, struct slice s)
{
	if (w->dst && s.len)
		memcpy(w->dst + w->len, s.p, s.len);
	w->len += s.len;
}

static struct slice since(const struct writer *w, size_t start)
{
	return slice_make(w->dst ? w->dst + start : NULL, w->len - start);
}

static struct slice put_field(struct writer *w, struct slice s)
{
	size_t start = w->len;

	put(w, s);
	return since(w, start);
}

/* A name-addr without header params: '"Name" <uri;params>' (12.1.1). */
static struct slice put_naddr(struct writer *w, const struct naddr_src *n)
{
	size_t start = w->len;

	if (!n->na) {
		put(w, n->raw);
		return since(w, start);
	}
	if (n->na->display.len) {
		put(w, n->na->display);
		put(w, SL(" "));
	}
	put(w, SL("<"));
	put(w, n->na->uri.raw);
	put(w, SL(">"));
	return since(w, start);
}

/* One "Route: <uri>\r\n" line per URI; returns the whole set. */
static struct slice put_routes(struct writer *w, const struct draft *in,
			       struct slice *first)
{
	size_t start = w->len;

	*first = slice_make(NULL, 0);
	if (!in->uris) {
		put(w, in->route_set);
		if (w->dst && in->first_route.len)
			*first = slice_make(
			    w->dst + start +
				(size_t)(in->first_route.p - in->route_set.p),
			    in->first_route.len);
		return since(w, start);
	}
	for (unsigned i = 0; i < in->nuris; i++) {
		put(w, SL("Route: <"));
		if (i == 0 && w->dst)
			*first = slice_make(w->dst + w->len, in->uris[0].len);
		put(w, in->uris[i]);
		put(w, SL(">\r\n"));
	}
	return since(w, start);
}

/* Lays the strings of in out one after the other; fills d when writing. */
static void layout(struct writer *w, const struct draft *in, struct dialog *d)
{
	struct slice call_id = put_field(w, in->call_id);
	struct slice local_tag = put_field(w, in->local_tag);
	struct slice remote_tag = put_field(w, in->remote_tag);
	struct slice local_uri = put_naddr(w, &in->local_uri);
	struct slice remote_uri = put_naddr(w, &in->remote_uri);
	struct slice target = put_field(w, in->remote_target);
	struct slice first;
	struct slice routes = put_routes(w, in, &first);

	if (!d)
		return;
	d->call_id = call_id;
	d->local_tag = local_tag;
	d->remote_tag = remote_tag;
	d->local_uri = local_uri;
	d->remote_uri = remote_uri;
	d->remote_target = target;
	d->route_set = routes;
	d->first_route = first;
	d->is_strict_first = in->is_strict_first && first.len;
}

/*
 * Re-packs d's strings from in into one new block, then frees the old one
 * (so in may point into it). d is unchanged on error: -E2BIG past
 * DIALOG_TEXT_MAX, -ENOMEM.
 */
static int pack(struct dialog *d, const struct draft *in)
{
	struct writer w = {NULL, 0};
	char *text;

	layout(&w, in, NULL);
	if (w.len > DIALOG_TEXT_MAX)
		return -E2BIG;
	text = sb_malloc(w.len ? w.len : 1);
	if (!text)
		return -ENOMEM;
	w = (struct writer){text, 0};
	layout(&w, in, d);
	sb_free(d->text);
	d->text = text;
	d->text_len = (uint32_t)w.len;
	d->text_cap = (uint32_t)(w.len ? w.len : 1);
	return 0;
}

/* A draft that keeps everything d has. */
static struct draft draft_of(const struct dialog *d)
{
	return (struct draft){
	    .call_id = d->call_id,
	    .local_tag = d->local_tag,
	    .remote_tag = d->remote_tag,
	    .local_uri = {NULL, d->local_uri},
	    .remote_uri = {NULL, d->remote_uri},
	    .remote_target = d->remote_target,
	    .route_set = d->route_set,
	    .first_route = d->first_route,
	    .is_strict_first = d->is_strict_first,
	};
}

static bool is_sip_uri(const struct sip_uri *u)
{
	return u->scheme == SIP_URI_SIP || u->scheme == SIP_URI_SIPS;
}

/* The Contact URI of m: 0, -ENOENT, -EBADMSG, or the parser's error. */
static int contact_uri(struct sip_msg *m, struct slice *uri)
{
	const struct sip_nameaddr *na;
	int err = sip_msg_contacts(m, &na);

	if (err)
		return err;
	/* RFC 3261 8.1.1.8: one SIP or SIPS URI, never "*" in a dialog */
	if (!na || na->is_star || !is_sip_uri(&na->uri))
		return -EBADMSG;
	*uri = na->uri.raw;
	return 0;
}

/* The Record-Route URIs of m, in order or reversed, into uris. */
static int record_routes(struct sip_msg *m, bool is_reversed,
			 struct slice uris[DIALOG_ROUTES_MAX], unsigned *n,
			 bool *is_strict_first)
{
	const struct sip_nameaddr *all[DIALOG_ROUTES_MAX];
	const struct sip_nameaddr *first, *na;
	unsigned count = 0;
	int err = sip_msg_record_routes(m, &first);

	*n = 0;
	*is_strict_first = false;
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	for (na = first; na; na = na->next) {
		if (count == DIALOG_ROUTES_MAX)
			return -E2BIG;
		if (na->is_star || !is_sip_uri(&na->uri))
			return -EBADMSG;
		all[count++] = na;
	}
	for (unsigned i = 0; i < count; i++)
		uris[i] = all[is_reversed ? count - 1 - i : i]->uri.raw;
	if (count) {
		na = all[is_reversed ? count - 1 : 0];
		/* RFC 3261 12.2.1.1: no ;lr means a strict router */
		*is_strict_first = !na->uri.lr;
	}
	*n = count;
	return 0;
}

/*
 * Route header lines from our owner ("Route: <a>, <b>\r\n..."), split into
 * URIs pointing into lines. -EINVAL when malformed, -E2BIG when there are
 * more than DIALOG_ROUTES_MAX values.
 */
static int route_lines_parse(struct slice lines,
			     struct slice uris[DIALOG_ROUTES_MAX], unsigned *n,
			     bool *is_strict_first)
{
	struct sip_nameaddr mem[DIALOG_ROUTES_MAX + 2];
	struct sb_limits lim = sb_limits_default();
	const char *p = lines.p, *end = lines.len ? lines.p + lines.len : p;

	*n = 0;
	*is_strict_first = false;
	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		const char *colon;
		struct sip_nameaddr *first;
		struct slice name, value;
		struct arena a;
		int err;

		if (!eol)
			return -EINVAL;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			return -EINVAL;
		name = slice_trim(slice_make(p, (size_t)(colon - p)));
		if (!slice_caseeq_lit(name, "Route"))
			return -EINVAL;
		value = slice_trim(
		    slice_make(colon + 1, (size_t)(eol - colon - 1)));
		lim.max_values = DIALOG_ROUTES_MAX - *n;
		arena_init(&a, mem, sizeof(mem), sizeof(mem));
		err = sip_nameaddr_parse(value, true, &a, &lim, &first);
		for (const struct sip_nameaddr *na = err ? NULL : first; na;
		     na = na->next) {
			if (!is_sip_uri(&na->uri)) {
				err = -EINVAL;
				break;
			}
			if (*n == 0)
				*is_strict_first = !na->uri.lr;
			uris[(*n)++] = na->uri.raw;
		}
		arena_close(&a);
		if (err)
			return err == -E2BIG ? -E2BIG : -EINVAL;
		p = eol + 2;
	}
	return 0;
}

static int target_set(struct dialog *d, struct slice target)
{
	struct draft in;

	if (slice_eq(target, d->remote_target))
		return 0;
	in = draft_of(d);
	in.remote_target = target;
	return pack(d, &in);
}

/* The To tag of resp when it may make a dialog (12.1.2), else empty. */
static struct slice dialog_tag(const struct sip_msg *resp)
{
	if (resp->is_request || !resp->to || resp->status <= 100 ||
	    resp->status >= 300)
		return slice_make(NULL, 0);
	return resp->to->tag;
}

/*
 * Takes the remote tag, target and route set of a 101-299 response with a
 * To tag (12.1.2, 13.2.2.4) into d, which is INIT or EARLY.
 */
static int establish(struct dialog *d, struct sip_msg *resp)
{
	struct slice uris[DIALOG_ROUTES_MAX];
	struct draft in = draft_of(d);
	bool is_final = resp->status >= 200;
	int err;

	if (resp->to->tag.len > DIALOG_TAG_MAX)
		return -E2BIG;
	in.remote_tag = resp->to->tag;
	/* RFC 3261 12.1.2: the remote target is the response's Contact */
	err = contact_uri(resp, &in.remote_target);
	if (err == -ENOENT && !is_final)
		err = 0; /* a 1xx may omit it: keep the request's target */
	else if (err == -ENOENT)
		err = -EBADMSG;
	if (err)
		return err;
	/* RFC 3261 12.1.2: Record-Route reversed, or an empty route set */
	err = record_routes(resp, true, uris, &in.nuris, &in.is_strict_first);
	if (err)
		return err;
	in.uris = uris;
	err = pack(d, &in);
	if (err)
		return err;
	d->state = is_final ? DIALOG_CONFIRMED : DIALOG_EARLY;
	return 0;
}

/* RFC 3261 12.2 (and RFC 6665, RFC 3515): requests that refresh the target */
static bool is_target_refresh(enum sip_method method)
{
	switch (method) {
	case SIP_METHOD_INVITE:
	case SIP_METHOD_UPDATE:
	case SIP_METHOD_SUBSCRIBE:
	case SIP_METHOD_NOTIFY:
	case SIP_METHOD_REFER:
		return true;
	default:
		return false;
	}
}

/*
 * The Route lines for a strict first route (12.2.1.1): the route set
 * without its first entry, then the remote target, into buf.
 */
static int strict_routes(const struct dialog *d, char *buf, size_t cap,
			 struct slice *out)
{
	const char *rest =
	    d->first_route.p + d->first_route.len + ROUTE_TAIL_LEN;
	size_t rest_len = d->route_set.len - (size_t)(rest - d->route_set.p);
	size_t len =
	    rest_len + ROUTE_HEAD_LEN + d->remote_target.len + ROUTE_TAIL_LEN;
	struct writer w = {buf, 0};

	if (!buf || len > cap)
		return -E2BIG;
	put(&w, slice_make(rest, rest_len));
	put(&w, SL("Route: <"));
	put(&w, d->remote_target);
	put(&w, SL(">\r\n"));
	*out = slice_make(buf, w.len);
	return 0;
}

int dialog_uas_new(struct dialog *d, struct sip_msg *req,
		   struct slice local_tag)
{
	struct slice uris[DIALOG_ROUTES_MAX];
	struct dialog nd = {0};
	struct draft in = {0};
	int err;

	if (!local_tag.len)
		return -EINVAL;
	if (!req->is_request || !req->from || !req->to || !req->call_id.len)
		return -EBADMSG;
	/* RFC 3261 12.1.1: the remote tag is the From tag */
	if (!req->from->tag.len)
		return -EBADMSG;
	if (req->from->tag.len > DIALOG_TAG_MAX ||
	    local_tag.len > DIALOG_TAG_MAX)
		return -E2BIG;
	/* RFC 3261 12.1.1: the remote target is the request's Contact */
	err = contact_uri(req, &in.remote_target);
	if (err)
		return err == -ENOENT ? -EBADMSG : err;
	/* RFC 3261 12.1.1: the route set is Record-Route in order */
	err = record_routes(req, false, uris, &in.nuris, &in.is_strict_first);
	if (err)
		return err;
	in.uris = uris;
	in.call_id = req->call_id;
	in.local_tag = local_tag;
	in.remote_tag = req->from->tag;
	in.local_uri.na = req->to;
	in.remote_uri.na = req->from;
	err = pack(&nd, &in);
	if (err)
		return err;
	nd.state = DIALOG_EARLY;
	nd.remote_cseq = req->cseq.num;
	nd.has_remote_cseq = true;
	nd.local_cseq = (uint32_t)(sb_rand64() & CSEQ_START_MASK);
	/* RFC 3261 12.1.1: secure for a sips Request-URI (TLS: transport) */
	nd.is_secure = req->ruri.scheme == SIP_URI_SIPS;
	*d = nd;
	return 0;
}

int dialog_uac_new(struct dialog *d, struct slice call_id,
		   struct slice local_tag, struct slice local_uri,
		   struct slice remote_uri, struct slice target,
		   struct slice routes, uint32_t cseq)
{
	struct sb_limits lim = sb_limits_default();
	struct slice uris[DIALOG_ROUTES_MAX];
	struct dialog nd = {0};
	struct draft in = {0};
	struct sip_uri u;
	int err;

	if (!call_id.len || !local_tag.len || !local_uri.len ||
	    !remote_uri.len || !target.len || cseq >= CSEQ_LIMIT)
		return -EINVAL;
	if (local_tag.len > DIALOG_TAG_MAX)
		return -E2BIG;
	lim.max_params = SB_PARAMS_CEILING;
	if (sip_uri_parse(target, &u, &lim) || !is_sip_uri(&u))
		return -EINVAL;
	err = route_lines_parse(routes, uris, &in.nuris, &in.is_strict_first);
	if (err)
		return err;
	in.uris = uris;
	in.call_id = call_id;
	in.local_tag = local_tag;
	in.local_uri.raw = local_uri;
	in.remote_uri.raw = remote_uri;
	in.remote_target = target;
	err = pack(&nd, &in);
	if (err)
		return err;
	nd.state = DIALOG_INIT;
	nd.local_cseq = cseq;
	/* RFC 3261 12.1.2: secure for a sips Request-URI (TLS: transport) */
	nd.is_secure = u.scheme == SIP_URI_SIPS;
	*d = nd;
	return 0;
}

int dialog_uac_response(struct dialog *d, struct sip_msg *resp)
{
	struct slice tag = dialog_tag(resp);

	/* RFC 3261 12.1.2: only a 101-299 with a To tag makes a dialog */
	if (!tag.len || d->state == DIALOG_TERMINATED)
		return 0;
	/* RFC 3261 12.1.2: another To tag is another dialog (a fork) */
	if (d->remote_tag.len && !slice_eq(tag, d->remote_tag))
		return -EEXIST;
	/* RFC 3261 13.2.2.4: once confirmed the route set stays */
	if (d->state == DIALOG_CONFIRMED)
		return 0;
	return establish(d, resp);
}

int dialog_uac_fork(struct dialog *dst, const struct dialog *d,
		    struct sip_msg *resp)
{
	struct slice tag = dialog_tag(resp);
	struct dialog nd = *d;
	int err;

	if (!tag.len || slice_eq(tag, d->remote_tag) ||
	    d->state == DIALOG_TERMINATED)
		return -EINVAL;
	/* nd's strings still point into d's block: pack copies, never frees */
	nd.hnext = NULL;
	nd.text = NULL;
	nd.text_len = nd.text_cap = 0;
	nd.remote_tag = slice_make(NULL, 0);
	nd.state = DIALOG_INIT;
	err = establish(&nd, resp);
	if (err)
		return err;
	*dst = nd;
	return 0;
}

int dialog_request_in(struct dialog *d, struct sip_msg *req)
{
	struct slice target;
	int err;

	/* RFC 3261 12.2.2: ACK and CANCEL carry the INVITE's CSeq */
	if (req->method == SIP_METHOD_ACK || req->method == SIP_METHOD_CANCEL)
		return 0;
	/* RFC 3261 12.2.2: an older CSeq is out of order (500) */
	if (d->has_remote_cseq && req->cseq.num <= d->remote_cseq)
		return -ERANGE;
	if (is_target_refresh(req->method)) {
		err = contact_uri(req, &target);
		/* RFC 3261 12.2.2: a target refresh replaces the target */
		if (!err)
			err = target_set(d, target);
		if (err && err != -ENOENT)
			return err;
	}
	d->remote_cseq = req->cseq.num;
	d->has_remote_cseq = true;
	return 0;
}

int dialog_refresh_response(struct dialog *d, struct sip_msg *resp)
{
	struct slice target;
	int err;

	if (resp->is_request || resp->status < 200 || resp->status >= 300)
		return 0;
	err = contact_uri(resp, &target);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	/* RFC 3261 12.2.1.2: a 2xx to a target refresh replaces the target */
	return target_set(d, target);
}

int dialog_request_opts(struct dialog *d, enum sip_method method,
			uint32_t cseq_of, struct sip_request_opts *o,
			char *route_buf, size_t route_cap)
{
	struct slice name = sip_method_name(method);
	bool is_reused =
	    method == SIP_METHOD_ACK || method == SIP_METHOD_CANCEL;
	struct slice ruri = d->remote_target, routes = d->route_set;
	uint32_t cseq = is_reused ? cseq_of : d->local_cseq + 1;
	int err;

	if (!name.len || d->state == DIALOG_TERMINATED || cseq >= CSEQ_LIMIT)
		return -EINVAL;
	if (!d->remote_tag.len && !is_reused)
		return -EINVAL;
	if (d->is_strict_first) {
		/* RFC 3261 12.2.1.1: strict router: its URI is the R-URI */
		err = strict_routes(d, route_buf, route_cap, &routes);
		if (err)
			return err;
		ruri = d->first_route;
	}
	o->method = name;
	o->ruri = ruri;
	o->from = d->local_uri;
	o->from_tag = d->local_tag;
	o->to = d->remote_uri;
	o->to_tag = d->remote_tag.len ? d->remote_tag : slice_make(NULL, 0);
	o->call_id = d->call_id;
	o->cseq = cseq;
	o->routes = routes.len ? routes : slice_make(NULL, 0);
	/* RFC 3261 12.2.1.1: the local CSeq grows by one per request */
	if (!is_reused)
		d->local_cseq = cseq;
	return 0;
}

int dialog_next_hop(const struct dialog *d, struct sip_uri *u)
{
	struct sb_limits lim = sb_limits_default();
	struct slice s = d->first_route.len ? d->first_route : d->remote_target;

	lim.max_params = SB_PARAMS_CEILING;
	if (!s.len || sip_uri_parse(s, u, &lim))
		return -EBADMSG;
	return 0;
}

void dialog_free(struct dialog *d)
{
	if (!d)
		return;
	sb_free(d->text);
	memset(d, 0, sizeof(*d));
	d->state = DIALOG_TERMINATED;
}
