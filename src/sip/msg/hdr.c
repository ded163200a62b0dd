/* Header names to ids (compact forms included), method names, char classes. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/msg/msg_int.h"

#define T CC_TOKEN
#define D (CC_DIGIT | CC_HEX | CC_TOKEN | CC_HOST | CC_WORD)
#define A (CC_ALPHA | CC_TOKEN | CC_HOST | CC_WORD)
#define H (CC_ALPHA | CC_HEX | CC_TOKEN | CC_HOST | CC_WORD)
#define W CC_WORD
#define TW (CC_TOKEN | CC_WORD)
#define C CC_CTL

/* RFC 3261 25.1: token, word (Call-ID), host and CTL classes per byte. */
const uint8_t sip_cc[256] = {
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    CC_WS,
    C,
    C,
    C,
    C,
    C,
    C, /* 00 */
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C,
    C, /* 10 */
    CC_WS,
    TW,
    W,
    0,
    0,
    TW,
    0,
    TW,
    W,
    W,
    TW,
    TW,
    0,
    TW | CC_HOST, /* 20 */
    TW | CC_HOST,
    W,
    D,
    D,
    D,
    D,
    D,
    D,
    D,
    D,
    D,
    D,
    W,
    0,
    W,
    0,
    W,
    W, /* 30 */
    0,
    H,
    H,
    H,
    H,
    H,
    H,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A, /* 40 */
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    W,
    W,
    W,
    0,
    TW, /* 50 */
    TW,
    H,
    H,
    H,
    H,
    H,
    H,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A, /* 60 */
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    A,
    W,
    0,
    W,
    TW,
    C, /* 70 */
};

#undef T
#undef D
#undef A
#undef H
#undef W
#undef TW
#undef C

struct hname {
	const char *name;
	uint8_t len;
	uint8_t id;
};

#define HN(s, id)                                                              \
	{                                                                      \
		s, sizeof(s) - 1, id                                           \
	}
static const struct hname names[] = {
    HN("via", SIP_HDR_VIA),
    HN("v", SIP_HDR_VIA),
    HN("from", SIP_HDR_FROM),
    HN("f", SIP_HDR_FROM),
    HN("to", SIP_HDR_TO),
    HN("t", SIP_HDR_TO),
    HN("call-id", SIP_HDR_CALL_ID),
    HN("i", SIP_HDR_CALL_ID),
    HN("cseq", SIP_HDR_CSEQ),
    HN("contact", SIP_HDR_CONTACT),
    HN("m", SIP_HDR_CONTACT),
    HN("max-forwards", SIP_HDR_MAX_FORWARDS),
    HN("route", SIP_HDR_ROUTE),
    HN("record-route", SIP_HDR_RECORD_ROUTE),
    HN("content-length", SIP_HDR_CONTENT_LENGTH),
    HN("l", SIP_HDR_CONTENT_LENGTH),
    HN("content-type", SIP_HDR_CONTENT_TYPE),
    HN("c", SIP_HDR_CONTENT_TYPE),
    HN("content-encoding", SIP_HDR_CONTENT_ENCODING),
    HN("e", SIP_HDR_CONTENT_ENCODING),
    HN("content-disposition", SIP_HDR_CONTENT_DISPOSITION),
    HN("content-language", SIP_HDR_CONTENT_LANGUAGE),
    HN("expires", SIP_HDR_EXPIRES),
    HN("min-expires", SIP_HDR_MIN_EXPIRES),
    HN("authorization", SIP_HDR_AUTHORIZATION),
    HN("proxy-authorization", SIP_HDR_PROXY_AUTHORIZATION),
    HN("www-authenticate", SIP_HDR_WWW_AUTHENTICATE),
    HN("proxy-authenticate", SIP_HDR_PROXY_AUTHENTICATE),
    HN("authentication-info", SIP_HDR_AUTHENTICATION_INFO),
    HN("allow", SIP_HDR_ALLOW),
    HN("supported", SIP_HDR_SUPPORTED),
    HN("k", SIP_HDR_SUPPORTED),
    HN("require", SIP_HDR_REQUIRE),
    HN("proxy-require", SIP_HDR_PROXY_REQUIRE),
    HN("unsupported", SIP_HDR_UNSUPPORTED),
    HN("accept", SIP_HDR_ACCEPT),
    HN("accept-encoding", SIP_HDR_ACCEPT_ENCODING),
    HN("accept-language", SIP_HDR_ACCEPT_LANGUAGE),
    HN("user-agent", SIP_HDR_USER_AGENT),
    HN("server", SIP_HDR_SERVER),
    HN("subject", SIP_HDR_SUBJECT),
    HN("s", SIP_HDR_SUBJECT),
    HN("date", SIP_HDR_DATE),
    HN("timestamp", SIP_HDR_TIMESTAMP),
    HN("warning", SIP_HDR_WARNING),
    HN("retry-after", SIP_HDR_RETRY_AFTER),
    HN("event", SIP_HDR_EVENT),
    HN("o", SIP_HDR_EVENT),
    HN("allow-events", SIP_HDR_ALLOW_EVENTS),
    HN("u", SIP_HDR_ALLOW_EVENTS),
    HN("subscription-state", SIP_HDR_SUBSCRIPTION_STATE),
    HN("refer-to", SIP_HDR_REFER_TO),
    HN("r", SIP_HDR_REFER_TO),
    HN("referred-by", SIP_HDR_REFERRED_BY),
    HN("b", SIP_HDR_REFERRED_BY),
    HN("replaces", SIP_HDR_REPLACES),
    HN("path", SIP_HDR_PATH),
    HN("rseq", SIP_HDR_RSEQ),
    HN("rack", SIP_HDR_RACK),
    HN("session-expires", SIP_HDR_SESSION_EXPIRES),
    HN("x", SIP_HDR_SESSION_EXPIRES),
    HN("min-se", SIP_HDR_MIN_SE),
    HN("reason", SIP_HDR_REASON),
    HN("p-asserted-identity", SIP_HDR_P_ASSERTED_IDENTITY),
    HN("p-preferred-identity", SIP_HDR_P_PREFERRED_IDENTITY),
    HN("privacy", SIP_HDR_PRIVACY),
    HN("organization", SIP_HDR_ORGANIZATION),
    HN("priority", SIP_HDR_PRIORITY),
    HN("alert-info", SIP_HDR_ALERT_INFO),
    HN("call-info", SIP_HDR_CALL_INFO),
    HN("error-info", SIP_HDR_ERROR_INFO),
    HN("in-reply-to", SIP_HDR_IN_REPLY_TO),
    HN("reply-to", SIP_HDR_REPLY_TO),
    HN("mime-version", SIP_HDR_MIME_VERSION),
    HN("accept-contact", SIP_HDR_ACCEPT_CONTACT),
    HN("a", SIP_HDR_ACCEPT_CONTACT),
    HN("reject-contact", SIP_HDR_REJECT_CONTACT),
    HN("j", SIP_HDR_REJECT_CONTACT),
    HN("request-disposition", SIP_HDR_REQUEST_DISPOSITION),
    HN("d", SIP_HDR_REQUEST_DISPOSITION),
    HN("identity", SIP_HDR_IDENTITY),
    HN("y", SIP_HDR_IDENTITY),
};
#undef HN

/* Canonical names for printing, indexed by id. */
static const char *const canonical[SIP_HDR__COUNT] = {
    [SIP_HDR_VIA] = "Via",
    [SIP_HDR_FROM] = "From",
    [SIP_HDR_TO] = "To",
    [SIP_HDR_CALL_ID] = "Call-ID",
    [SIP_HDR_CSEQ] = "CSeq",
    [SIP_HDR_CONTACT] = "Contact",
    [SIP_HDR_MAX_FORWARDS] = "Max-Forwards",
    [SIP_HDR_ROUTE] = "Route",
    [SIP_HDR_RECORD_ROUTE] = "Record-Route",
    [SIP_HDR_CONTENT_LENGTH] = "Content-Length",
    [SIP_HDR_CONTENT_TYPE] = "Content-Type",
    [SIP_HDR_CONTENT_ENCODING] = "Content-Encoding",
    [SIP_HDR_CONTENT_DISPOSITION] = "Content-Disposition",
    [SIP_HDR_CONTENT_LANGUAGE] = "Content-Language",
    [SIP_HDR_EXPIRES] = "Expires",
    [SIP_HDR_MIN_EXPIRES] = "Min-Expires",
    [SIP_HDR_AUTHORIZATION] = "Authorization",
    [SIP_HDR_PROXY_AUTHORIZATION] = "Proxy-Authorization",
    [SIP_HDR_WWW_AUTHENTICATE] = "WWW-Authenticate",
    [SIP_HDR_PROXY_AUTHENTICATE] = "Proxy-Authenticate",
    [SIP_HDR_AUTHENTICATION_INFO] = "Authentication-Info",
    [SIP_HDR_ALLOW] = "Allow",
    [SIP_HDR_SUPPORTED] = "Supported",
    [SIP_HDR_REQUIRE] = "Require",
    [SIP_HDR_PROXY_REQUIRE] = "Proxy-Require",
    [SIP_HDR_UNSUPPORTED] = "Unsupported",
    [SIP_HDR_ACCEPT] = "Accept",
    [SIP_HDR_ACCEPT_ENCODING] = "Accept-Encoding",
    [SIP_HDR_ACCEPT_LANGUAGE] = "Accept-Language",
    [SIP_HDR_USER_AGENT] = "User-Agent",
    [SIP_HDR_SERVER] = "Server",
    [SIP_HDR_SUBJECT] = "Subject",
    [SIP_HDR_DATE] = "Date",
    [SIP_HDR_TIMESTAMP] = "Timestamp",
    [SIP_HDR_WARNING] = "Warning",
    [SIP_HDR_RETRY_AFTER] = "Retry-After",
    [SIP_HDR_EVENT] = "Event",
    [SIP_HDR_ALLOW_EVENTS] = "Allow-Events",
    [SIP_HDR_SUBSCRIPTION_STATE] = "Subscription-State",
    [SIP_HDR_REFER_TO] = "Refer-To",
    [SIP_HDR_REFERRED_BY] = "Referred-By",
    [SIP_HDR_REPLACES] = "Replaces",
    [SIP_HDR_PATH] = "Path",
    [SIP_HDR_RSEQ] = "RSeq",
    [SIP_HDR_RACK] = "RAck",
    [SIP_HDR_SESSION_EXPIRES] = "Session-Expires",
    [SIP_HDR_MIN_SE] = "Min-SE",
    [SIP_HDR_REASON] = "Reason",
    [SIP_HDR_P_ASSERTED_IDENTITY] = "P-Asserted-Identity",
    [SIP_HDR_P_PREFERRED_IDENTITY] = "P-Preferred-Identity",
    [SIP_HDR_PRIVACY] = "Privacy",
    [SIP_HDR_ORGANIZATION] = "Organization",
    [SIP_HDR_PRIORITY] = "Priority",
    [SIP_HDR_ALERT_INFO] = "Alert-Info",
    [SIP_HDR_CALL_INFO] = "Call-Info",
    [SIP_HDR_ERROR_INFO] = "Error-Info",
    [SIP_HDR_IN_REPLY_TO] = "In-Reply-To",
    [SIP_HDR_REPLY_TO] = "Reply-To",
    [SIP_HDR_MIME_VERSION] = "MIME-Version",
    [SIP_HDR_ACCEPT_CONTACT] = "Accept-Contact",
    [SIP_HDR_REJECT_CONTACT] = "Reject-Contact",
    [SIP_HDR_REQUEST_DISPOSITION] = "Request-Disposition",
    [SIP_HDR_IDENTITY] = "Identity",
};

/*
 * Open-addressing table keyed by a hash of the lower-cased name, built once
 * before main(). The parser hashes a name while it scans it, so a header
 * name costs that one pass plus one compare.
 */
enum { NAME_SLOTS = 512 };
static int16_t slots[NAME_SLOTS]; /* index+1 into names[], 0 = empty */

static uint32_t name_hash(const char *p, size_t len)
{
	uint32_t h = HDR_HASH_INIT;

	for (size_t i = 0; i < len; i++)
		h = hdr_hash_step(h, (unsigned char)p[i]);
	return h;
}

__attribute__((constructor)) static void build_slots(void)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint32_t h = name_hash(names[i].name, names[i].len);
		while (slots[h % NAME_SLOTS])
			h++;
		slots[h % NAME_SLOTS] = (int16_t)(i + 1);
	}
}

enum sip_hdr_id hdr_id_hashed(struct slice name, uint32_t h)
{
	if (name.len == 0 || name.len > 32)
		return SIP_HDR_OTHER;
	for (;; h++) {
		int16_t i = slots[h % NAME_SLOTS];
		if (!i)
			return SIP_HDR_OTHER;
		if (names[i - 1].len == name.len &&
		    slice_caseeq(name, slice_make(names[i - 1].name, name.len)))
			return (enum sip_hdr_id)names[i - 1].id;
	}
}

enum sip_hdr_id sip_hdr_id_from(struct slice name)
{
	return hdr_id_hashed(name, name_hash(name.p, name.len));
}

struct slice sip_hdr_name(enum sip_hdr_id id)
{
	if ((unsigned)id >= SIP_HDR__COUNT || !canonical[id])
		return slice_make("", 0);
	return slice_cstr(canonical[id]);
}

static const char *const methods[SIP_METHOD__COUNT] = {
    [SIP_METHOD_INVITE] = "INVITE",   [SIP_METHOD_ACK] = "ACK",
    [SIP_METHOD_BYE] = "BYE",	      [SIP_METHOD_CANCEL] = "CANCEL",
    [SIP_METHOD_OPTIONS] = "OPTIONS", [SIP_METHOD_REGISTER] = "REGISTER",
    [SIP_METHOD_PRACK] = "PRACK",     [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
    [SIP_METHOD_NOTIFY] = "NOTIFY",   [SIP_METHOD_PUBLISH] = "PUBLISH",
    [SIP_METHOD_INFO] = "INFO",	      [SIP_METHOD_REFER] = "REFER",
    [SIP_METHOD_MESSAGE] = "MESSAGE", [SIP_METHOD_UPDATE] = "UPDATE",
};

/* RFC 3261 7.1: method names are case-sensitive. */
enum sip_method sip_method_from(struct slice name)
{
	if (name.len < 3 || name.len > 9)
		return SIP_METHOD_UNKNOWN;
	for (int i = 1; i < SIP_METHOD__COUNT; i++) {
		if (methods[i][0] == name.p[0] &&
		    slice_eq(name, slice_cstr(methods[i])))
			return (enum sip_method)i;
	}
	return SIP_METHOD_UNKNOWN;
}

struct slice sip_method_name(enum sip_method method)
{
	if ((unsigned)method >= SIP_METHOD__COUNT || !methods[method])
		return slice_make("", 0);
	return slice_cstr(methods[method]);
}
