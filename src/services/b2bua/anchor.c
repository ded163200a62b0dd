/* A call's media: codec policy on every SDP, the relay when anchored. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "services/b2bua/b2bua_int.h"
#include "store/store.h"

#define LOG_MODULE "b2bua"

enum { REC_NAME_MAX = 64, REC_PATH_MAX = 1024 };

static const struct slice none = {NULL, 0};

static const char *side_name(unsigned side)
{
	return side == MEDIA_A ? "caller" : "callee";
}

/* The leg now on side (a transfer may have replaced the first one). */
static struct leg *leg_on(struct call *c, unsigned side)
{
	if (side == MEDIA_A && !c->a->is_detached)
		return c->a;
	if (side == MEDIA_B && c->peer && !c->peer->is_detached &&
	    !c->peer->is_done)
		return c->peer;
	for (uint32_t i = 0; i < c->nb; i++) {
		struct leg *l = c->b_legs[i];

		if (l->mside == side && !l->is_detached && !l->is_done &&
		    l->dlg.state == DIALOG_CONFIRMED)
			return l;
	}
	return NULL;
}

static void on_timeout(void *arg, unsigned side)
{
	struct call *c = arg;

	if (c->is_ended || !c->answer_ms)
		return;
	log_info("media_timeout", "call=%s side=%s", c->id, side_name(side));
	call_end(c, CAUSE_MEDIA_TIMEOUT, "system", NULL);
}

/* RFC 4733 from side: a call event; with dtmf: info, an INFO on the
 * other leg (RFC 4733 events from that side are not relayed). */
static void on_dtmf(void *arg, unsigned side, const struct dtmf_event *ev)
{
	struct call *c = arg;
	struct leg *from, *to;
	char body[64];
	uint32_t ms = (uint32_t)ev->duration / 8;
	int n;

	c->dtmf_events++;
	log_info("dtmf", "call=%s from=%s digit=%c duration_ms=%u", c->id,
		 side_name(side), ev->digit ? ev->digit : '?', ms);
	if (c->media.dtmf != CONFIG_DTMF_INFO || !ev->digit || c->is_ended)
		return;
	from = leg_on(c, side);
	to = from ? relay_target(from) : NULL;
	n = dtmf_info_print(ev->digit, ms ? ms : 100, body, sizeof(body));
	if (!to || n <= 0 ||
	    leg_request(to, SIP_METHOD_INFO, 0, none,
			SL("application/dtmf-relay"),
			slice_make(body, (size_t)n), NULL, NULL, NULL) != 0)
		log_info("dtmf_info_failed", "call=%s", c->id);
}

static void codecs_from(struct call *c)
{
	struct sdp_codec_policy *p = &c->codecs;

	memset(p, 0, sizeof(*p));
	for (uint8_t i = 0; i < c->media.nallow && i < SDP_CODECS_MAX; i++)
		p->allow[p->nallow++] = c->media.allow[i];
	for (uint8_t i = 0; i < c->media.nstrip && i < SDP_CODECS_MAX; i++)
		p->strip[p->nstrip++] = c->media.strip[i];
	p->keep_dtmf = c->media.keep_dtmf;
}

int anchor_start(struct call *c)
{
	static const struct media_session_cb cb = {on_timeout, on_dtmf};
	struct media *m = c->b->deps.media;

	config_media_policy(c->cfg, c->route, &c->media);
	codecs_from(c);
	if (c->media.mode == CONFIG_MEDIA_RTPENGINE) {
		if (c->b->deps.ng)
			return ngx_start(c);
		/* servers named after the start (a reload): the local relay */
		log_warn("rtpengine_unavailable",
			 "call=%s relay=local reason=\"restart to use "
			 "media.rtpengine\"",
			 c->id);
		c->media.mode = CONFIG_MEDIA_ANCHOR;
	}
	if (c->media.mode != CONFIG_MEDIA_ANCHOR || !m)
		return 0;
	return media_session_new(m, c->id, &cb, c, &c->ms);
}

static bool is_policy_empty(const struct sdp_codec_policy *p)
{
	return p->nallow == 0 && p->nstrip == 0;
}

/* The first audio codec's name, for the CDR. */
static void note_codec(struct call *c, const struct sdp *s)
{
	for (unsigned i = 0; i < s->nmedia; i++) {
		const struct sdp_media *m = &s->media[i];
		const struct sdp_fmt_sel *sel = &c->b->sel[i];
		const struct sdp_fmt *f;
		struct slice name;
		const char *slash;

		if (!slice_caseeq_lit(m->type, "audio") || m->port == 0 ||
		    m->nfmts == 0)
			continue;
		if (sel->is_filtered && sel->nkeep == 0)
			continue;
		f = &m->fmts[sel->is_filtered ? sel->keep[0] : 0];
		name = f->rtpmap.len ? f->rtpmap : f->pt;
		slash = memchr(name.p, '/', name.len);
		if (slash)
			name.len = (size_t)(slash - name.p);
		if (name.len >= sizeof(c->codec))
			name.len = sizeof(c->codec) - 1;
		memcpy(c->codec, name.p, name.len);
		c->codec[name.len] = '\0';
		return;
	}
}

/* What from's endpoint said about stream m (index i) for the relay. */
static void remote_of(const struct sdp *s, const struct sdp_media *m,
		      struct media_remote *r)
{
	const struct sdp_conn *cn = sdp_media_conn(s, m);
	enum sdp_dir d = sdp_media_dir(s, m);
	struct sip_addr a;

	memset(r, 0, sizeof(*r));
	r->dtmf_pt = sdp_media_dtmf_pt(m);
	r->clock_hz = m->nfmts ? sdp_fmt_clock(&m->fmts[0]) : 8000;
	r->is_mux = m->is_rtcp_mux;
	r->is_disabled = m->port == 0;
	r->is_silent = d == SDP_DIR_RECVONLY || d == SDP_DIR_INACTIVE;
	if (cn && sip_addr_from_host(cn->addr, m->port, &a) == 0) {
		memcpy(&r->rtp, &a.sa, a.len);
		if (sip_addr_from_host(cn->addr,
				       m->rtcp_port ? m->rtcp_port
						    : (uint16_t)(m->port + 1),
				       &a) == 0)
			memcpy(&r->rtcp, &a.sa, a.len);
	}
	/* RFC 3264 8.4: c= 0.0.0.0 is hold; nothing may be sent there */
	if (r->rtp.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&r->rtp)->sin_addr.s_addr == 0)
		r->is_silent = true;
}

int anchor_family(const struct leg *l)
{
	if (l->has_flow && l->flow.remote.len)
		return l->flow.remote.sa.sa_family;
	return l->family_hint ? l->family_hint : AF_INET;
}

/* Where to's SIP goes: its RTP may come from there before its SDP does. */
static void sip_src_of(struct call *c, const struct leg *to, unsigned i)
{
	const struct sip_addr *a = to->has_flow && to->flow.remote.len
				       ? &to->flow.remote
				       : &to->hint_addr;
	struct sockaddr_storage ss;

	if (!a->len)
		return;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &a->sa, a->len);
	media_session_sip_src(c->ms, to->mside, i, &ss);
}

int anchor_sdp(struct call *c, struct leg *from, struct leg *to,
	       const struct sdp *s, struct sdp_rewrite *rw)
{
	struct sdp_fmt_sel *sel = c->b->sel;
	int family = anchor_family(to), err;
	const char *addr = NULL;

	memset(rw, 0, sizeof(*rw));
	memset(sel, 0, sizeof(c->b->sel));
	if (!is_policy_empty(&c->codecs)) {
		err = sdp_codecs_apply(s, &c->codecs, sel);
		if (err)
			return err;
		rw->sel = sel;
	}
	note_codec(c, s);
	if (!c->ms)
		return 0;
	/* streams past what the relay anchors are refused (RFC 3264 6: port
	 * 0), not passed on with the phone's port behind our address */
	for (unsigned i = MEDIA_STREAMS_MAX; i < s->nmedia; i++) {
		if (s->media[i].port == 0)
			continue;
		sel[i] = (struct sdp_fmt_sel){.is_filtered = true};
		rw->sel = sel;
	}
	if (!media_advertise(c->b->deps.media, family))
		family = family == AF_INET ? AF_INET6 : AF_INET;
	for (unsigned i = 0; i < s->nmedia && i < MEDIA_STREAMS_MAX; i++) {
		const struct sdp_media *m = &s->media[i];
		struct media_remote r;
		struct sockaddr_storage src;
		uint16_t port;

		if (m->port == 0 ||
		    (rw->sel && sel[i].is_filtered && sel[i].nkeep == 0))
			continue;
		remote_of(s, m, &r);
		memset(&src, 0, sizeof(src));
		if (from->has_flow && from->flow.remote.len)
			memcpy(&src, &from->flow.remote.sa,
			       from->flow.remote.len);
		media_session_remote(c->ms, from->mside, i, &r,
				     src.ss_family ? &src : NULL);
		err = media_session_local(c->ms, to->mside, i, family, &port,
					  &addr);
		if (err) {
			log_warn("media_anchor_failed",
				 "call=%s stream=%u error=\"%s\"", c->id, i,
				 sb_strerror(err));
			return err;
		}
		sip_src_of(c, to, i);
		rw->streams[i].port = port;
		rw->streams[i].rtcp_port = (uint16_t)(port + 1);
	}
	if (addr) {
		rw->addr = slice_cstr(addr);
		rw->is_ip6 = family == AF_INET6;
		rw->is_ice_dropped = true;
	}
	if (c->media.dtmf == CONFIG_DTMF_INFO) {
		media_session_dtmf_strip(c->ms, MEDIA_A, true);
		media_session_dtmf_strip(c->ms, MEDIA_B, true);
	}
	return 0;
}

void anchor_answered(struct call *c)
{
	if (c->ngx && c->media.is_recorded) {
		(void)anchor_record(c, true, NULL, 0);
		return;
	}
	if (!c->ms)
		return;
	media_session_activate(c->ms, true);
	if (c->media.is_recorded)
		(void)anchor_record(c, true, NULL, 0);
}

void anchor_hold(struct call *c, bool is_held)
{
	if (c->ms)
		media_session_hold(c->ms, is_held);
}

int anchor_record(struct call *c, bool is_on, char *out, size_t out_cap)
{
	char name[REC_NAME_MAX], path[REC_PATH_MAX];
	struct tm tm;
	time_t now = time(NULL);
	int err;

	if (c->ngx) {
		/* rtpengine writes it, where its recording-dir says */
		err = ngx_record(c, is_on);
		if (err)
			return err;
		if (is_on && !c->rec_path)
			c->rec_path = sb_strndup("rtpengine", 9);
		log_info("recording", "call=%s relay=rtpengine on=%s", c->id,
			 is_on ? "yes" : "no");
		if (out)
			snprintf(out, out_cap, "rtpengine");
		return 0;
	}
	if (!c->ms || !c->b->deps.recorder)
		return -ENOTSUP;
	if (!is_on) {
		media_session_record_stop(c->ms);
		return 0;
	}
	if (media_session_is_recording(c->ms))
		return -EALREADY;
	gmtime_r(&now, &tm);
	snprintf(name, sizeof(name), "%04d%02d%02d-%02d%02d%02d-%s",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, c->id);
	err = media_session_record(c->ms, c->b->deps.recorder, name, path,
				   sizeof(path));
	if (err) {
		log_warn("recording_failed", "call=%s error=\"%s\"", c->id,
			 sb_strerror(err));
		return err;
	}
	if (!c->rec_path) { /* the first file is the CDR's */
		size_t n = strlen(path) + 1;

		c->rec_path = sb_malloc(n);
		if (c->rec_path)
			memcpy(c->rec_path, path, n);
	}
	log_info("recording", "call=%s path=%s", c->id, path);
	if (out)
		snprintf(out, out_cap, "%s", path);
	return 0;
}

void anchor_end(struct call *c)
{
	ngx_end(c);
	if (!c->ms)
		return;
	media_session_summary(c->ms, MEDIA_A, 0, &c->rtp[MEDIA_A]);
	media_session_summary(c->ms, MEDIA_B, 0, &c->rtp[MEDIA_B]);
	if (c->answer_ms)
		log_info("media_summary",
			 "call=%s codec=%s rtt_ms=%u a_packets=%llu "
			 "a_loss_pct=%.2f a_jitter_ms=%.2f a_mos=%.2f "
			 "a_dropped=%llu b_packets=%llu b_loss_pct=%.2f "
			 "b_jitter_ms=%.2f b_mos=%.2f b_dropped=%llu",
			 c->id, c->codec[0] ? c->codec : "-",
			 c->rtp[0].rtt_ms > c->rtp[1].rtt_ms ? c->rtp[0].rtt_ms
							     : c->rtp[1].rtt_ms,
			 (unsigned long long)c->rtp[0].packets,
			 c->rtp[0].loss_pct, c->rtp[0].jitter_ms, c->rtp[0].mos,
			 (unsigned long long)c->rtp[0].dropped,
			 (unsigned long long)c->rtp[1].packets,
			 c->rtp[1].loss_pct, c->rtp[1].jitter_ms, c->rtp[1].mos,
			 (unsigned long long)c->rtp[1].dropped);
	c->ms = media_session_free(c->ms);
}

bool anchor_info(struct leg *l, struct txn *t, struct sip_msg *req)
{
	struct call *c = l->call;
	const struct sip_ctype *ct;
	char digit;
	uint32_t ms;
	int err;

	if (!c->ms || c->media.dtmf != CONFIG_DTMF_INFO ||
	    sip_msg_content_type(req, &ct) != 0 ||
	    !slice_caseeq_lit(ct->type, "application") ||
	    dtmf_info_parse(ct->subtype.p, ct->subtype.len, req->body.p,
			    req->body.len, &digit, &ms) != 0)
		return false;
	err = media_session_dtmf_send(
	    c->ms, l->mside == MEDIA_A ? MEDIA_B : MEDIA_A, digit, ms);
	log_info("dtmf", "call=%s from=%s digit=%c duration_ms=%u via=info%s",
		 c->id, side_name(l->mside), digit, ms, err ? " sent=no" : "");
	c->dtmf_events++;
	struct sip_reply_opts o = {
	    .status = err == -EBUSY ? 491 : 200,
	    .server = config_user_agent(c->cfg),
	};
	(void)txn_reply(t, &o);
	return true;
}

static void copy_rtp(struct store_cdr_rtp *d, const struct media_summary *s)
{
	d->packets = s->packets;
	d->loss_pct = s->loss_pct;
	d->jitter_ms = s->jitter_ms;
	d->mos = s->mos;
}

void anchor_cdr(const struct call *c, struct store_cdr *r)
{
	snprintf(r->media, sizeof(r->media), "%s",
		 config_media_mode_name(c->media.mode));
	snprintf(r->codec, sizeof(r->codec), "%s", c->codec);
	snprintf(r->recording, sizeof(r->recording), "%s",
		 c->rec_path ? c->rec_path : "");
	copy_rtp(&r->rtp_a, &c->rtp[MEDIA_A]);
	copy_rtp(&r->rtp_b, &c->rtp[MEDIA_B]);
}
