/* Parser benchmark: ns per message over a varied pool of realistic SIP. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/limits.h"
#include "sip/msg/msg.h"

/*
 * Each kind (INVITE, REGISTER, RESPONSE, IN-DIALOG) gets a pool of
 * POOL_PER_KIND distinct messages built at start-up from several templates
 * with fresh Call-IDs, branches, tags, CSeq numbers and addresses, in a
 * shuffled order, each in its own buffer. One measured parse is what the
 * receive path does before the transaction layer: copy the datagram into
 * the receive buffer, sip_msg_parse() (all headers located; Via, From, To,
 * CSeq and Call-ID parsed), then sip_msg_contacts(), with a stack arena
 * reset per message.
 *
 * Usage: bench_parse [seconds per kind, default 1]
 */

enum {
	POOL_PER_KIND = 1024,
	MSG_CAP = 8192,	     /* bytes, largest generated message */
	RX_CAP = 65536,	     /* receive buffer */
	ARENA_FIRST = 32768, /* stack block of the per-message arena */
	BATCH = 256	     /* messages between clock reads */
};

enum kind {
	KIND_INVITE,
	KIND_REGISTER,
	KIND_RESPONSE,
	KIND_IN_DIALOG,
	KIND__COUNT
};

static const char *const kind_names[] = {"INVITE", "REGISTER", "RESPONSE",
					 "IN-DIALOG"};

struct msg {
	char *data;
	size_t len; /* bytes */
};

struct pool {
	struct msg *msgs;
	size_t count;
};

/* Per-message identifiers substituted into the templates. */
struct ids {
	char cid[64], br1[56], br2[56], br3[56], ftag[16], ttag[16];
	char cseq[12], ip[16], ip2[16], user[24], nonce[40], port[8];
};

struct tpl {
	const char *head; /* header lines, "\n" ends a line, $TOKENs */
	const char *body; /* NULL: no body */
};

/* Bodies. */

static const char sdp_small[] = "v=0\n"
				"o=- $CSEQ 1 IN IP4 $IP\n"
				"s=-\n"
				"c=IN IP4 $IP\n"
				"t=0 0\n"
				"m=audio $PORT RTP/AVP 0\n"
				"a=rtpmap:0 PCMU/8000\n";

static const char sdp_audio[] = "v=0\n"
				"o=$USER 2890844526 $CSEQ IN IP4 $IP\n"
				"s=Talk\n"
				"c=IN IP4 $IP\n"
				"t=0 0\n"
				"m=audio $PORT RTP/AVP 9 0 8 101\n"
				"a=rtpmap:9 G722/8000\n"
				"a=rtpmap:0 PCMU/8000\n"
				"a=rtpmap:8 PCMA/8000\n"
				"a=rtpmap:101 telephone-event/8000\n"
				"a=fmtp:101 0-16\n"
				"a=ptime:20\n"
				"a=sendrecv\n";

static const char sdp_av[] = "v=0\n"
			     "o=$USER 53655765 $CSEQ IN IP4 $IP\n"
			     "s=video call\n"
			     "c=IN IP4 $IP\n"
			     "b=AS:2048\n"
			     "t=0 0\n"
			     "m=audio $PORT RTP/AVP 111 9 0 8 101\n"
			     "a=rtpmap:111 opus/48000/2\n"
			     "a=fmtp:111 minptime=10;useinbandfec=1\n"
			     "a=rtpmap:9 G722/8000\n"
			     "a=rtpmap:0 PCMU/8000\n"
			     "a=rtpmap:8 PCMA/8000\n"
			     "a=rtpmap:101 telephone-event/8000\n"
			     "a=rtcp-mux\n"
			     "a=sendrecv\n"
			     "m=video 51372 RTP/AVP 96 97\n"
			     "a=rtpmap:96 H264/90000\n"
			     "a=fmtp:96 profile-level-id=42e01f;"
			     "packetization-mode=1\n"
			     "a=rtpmap:97 VP8/90000\n"
			     "a=rtcp-fb:96 nack pli\n"
			     "a=rtcp-fb:97 ccm fir\n"
			     "a=sendrecv\n";

static const char sdp_webrtc[] =
    "v=0\n"
    "o=- 4611731400430051336 $CSEQ IN IP4 127.0.0.1\n"
    "s=-\n"
    "t=0 0\n"
    "a=group:BUNDLE 0 1\n"
    "a=msid-semantic: WMS stream$USER\n"
    "m=audio $PORT UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\n"
    "c=IN IP4 $IP\n"
    "a=rtcp:9 IN IP4 0.0.0.0\n"
    "a=candidate:842163049 1 udp 1677729535 $IP $PORT typ srflx raddr "
    "10.0.0.5 rport 51234 generation 0 network-cost 999\n"
    "a=candidate:1510613869 1 udp 2122260223 10.0.0.5 51234 typ host "
    "generation 0 network-cost 999\n"
    "a=candidate:3910296489 1 tcp 1518280447 10.0.0.5 9 typ host tcptype "
    "active generation 0 network-cost 999\n"
    "a=ice-ufrag:$FTAG\n"
    "a=ice-pwd:asd88fgpdd777uzjYhagZg$FTAG\n"
    "a=ice-options:trickle\n"
    "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:"
    "35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\n"
    "a=setup:actpass\n"
    "a=mid:0\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\n"
    "a=sendrecv\n"
    "a=msid:stream$USER track$USER\n"
    "a=rtcp-mux\n"
    "a=rtpmap:111 opus/48000/2\n"
    "a=rtcp-fb:111 transport-cc\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\n"
    "a=rtpmap:63 red/48000/2\n"
    "a=rtpmap:9 G722/8000\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:13 CN/8000\n"
    "a=rtpmap:110 telephone-event/48000\n"
    "a=rtpmap:126 telephone-event/8000\n"
    "a=ssrc:3570614608 cname:4TOk42mSjXCkVIa6\n"
    "a=ssrc:3570614608 msid:stream$USER track$USER\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\n"
    "c=IN IP4 0.0.0.0\n"
    "a=rtcp:9 IN IP4 0.0.0.0\n"
    "a=ice-ufrag:$FTAG\n"
    "a=ice-pwd:asd88fgpdd777uzjYhagZg$FTAG\n"
    "a=mid:1\n"
    "a=sendrecv\n"
    "a=rtcp-mux\n"
    "a=rtpmap:96 VP8/90000\n"
    "a=rtcp-fb:96 goog-remb\n"
    "a=rtcp-fb:96 nack\n"
    "a=rtcp-fb:96 nack pli\n"
    "a=rtpmap:97 rtx/90000\n"
    "a=fmtp:97 apt=96\n"
    "a=rtpmap:102 H264/90000\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;"
    "profile-level-id=42001f\n";

static const char sdp_ip6[] = "v=0\n"
			      "o=$USER 971731711378798081 $CSEQ IN IP6 "
			      "2001:db8::20\n"
			      "s=-\n"
			      "c=IN IP6 2001:db8::20\n"
			      "t=0 0\n"
			      "m=audio $PORT RTP/AVP 0 8 101\n"
			      "a=rtpmap:101 telephone-event/8000\n"
			      "a=sendrecv\n";

static const char dtmf_body[] = "Signal=5\nDuration=160\n";

static const char pidf_body[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
    "entity=\"sip:$USER@example.com\">\n"
    "<tuple id=\"t$FTAG\"><status><basic>open</basic></status></tuple>\n"
    "</presence>\n";

/* INVITEs: different SDP sizes, header orders, compact forms. */
static const struct tpl invites[] = {
    /* A softphone's INVITE straight to the server. */
    {"INVITE sip:bob@example.com SIP/2.0\n"
     "Via: SIP/2.0/UDP $IP:5060;rport;branch=$BR1\n"
     "Max-Forwards: 70\n"
     "From: \"Alice\" <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:bob@example.com>\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Contact: <sip:$USER@$IP:5060;ob>\n"
     "Allow: INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS, REFER, "
     "NOTIFY\n"
     "Supported: replaces, 100rel, timer\n"
     "User-Agent: Example Softphone 2.4.1\n"
     "Content-Type: application/sdp\n"
     "Content-Length: $CL\n",
     sdp_audio},
    /* Arriving through two proxies. */
    {"INVITE sip:bob@192.0.2.200:5060;transport=udp SIP/2.0\n"
     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=$BR1\n"
     "Via: SIP/2.0/TCP 198.51.100.4:5060;received=198.51.100.4;"
     "branch=$BR2\n"
     "Via: SIP/2.0/UDP $IP:5060;received=203.0.113.9;rport=40112;"
     "branch=$BR3\n"
     "Record-Route: <sip:192.0.2.10;lr;ftag=$FTAG>\n"
     "Record-Route: <sip:198.51.100.4;transport=tcp;lr>\n"
     "Max-Forwards: 68\n"
     "From: \"Alice Smith\" <sip:$USER@example.com>;tag=$FTAG\n"
     "To: \"Bob\" <sip:bob@example.com>\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Contact: <sip:$USER@203.0.113.9:40112>\n"
     "Session-Expires: 1800\n"
     "Min-SE: 90\n"
     "Supported: timer, replaces\n"
     "Content-Type: application/sdp\n"
     "Content-Length: $CL\n",
     sdp_av},
    /* Compact forms everywhere. */
    {"INVITE sip:carol@chicago.example.com SIP/2.0\n"
     "v: SIP/2.0/UDP $IP;branch=$BR1\n"
     "f: <sip:$USER@atlanta.example.com>;tag=$FTAG\n"
     "t: <sip:carol@chicago.example.com>\n"
     "i: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Max-Forwards: 70\n"
     "m: <sip:$USER@$IP>\n"
     "k: timer\n"
     "c: application/sdp\n"
     "l: $CL\n",
     sdp_small},
    /* Unusual header order: Call-ID first, Via last. */
    {"INVITE sip:+14155550100@gw.example.net;user=phone SIP/2.0\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "To: <sip:+14155550100@gw.example.net;user=phone>\n"
     "From: \"Sales\" <sip:$USER@pbx.example.com>;tag=$FTAG\n"
     "P-Asserted-Identity: \"Sales\" <sip:+14155550199@pbx.example.com>\n"
     "Privacy: none\n"
     "Contact: <sip:$USER@$IP:5080;transport=udp>\n"
     "Content-Type: application/sdp\n"
     "Max-Forwards: 70\n"
     "Content-Length: $CL\n"
     "Via: SIP/2.0/UDP $IP:5080;branch=$BR1\n",
     sdp_audio},
    /* With Proxy-Authorization after a 407. */
    {"INVITE sip:bob@example.com SIP/2.0\n"
     "Via: SIP/2.0/TCP $IP:50312;branch=$BR1;alias\n"
     "Max-Forwards: 70\n"
     "From: <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:bob@example.com>\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Contact: <sip:$USER@$IP:50312;transport=tcp>\n"
     "Proxy-Authorization: Digest username=\"$USER\", "
     "realm=\"example.com\", nonce=\"$NONCE\", uri=\"sip:bob@example.com\", "
     "response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, "
     "cnonce=\"0a4f113b\", qop=auth, nc=00000001\n"
     "Content-Type: application/sdp\n"
     "Content-Length: $CL\n",
     sdp_small},
    /* A WebRTC client over WebSocket with a large SDP. */
    {"INVITE sip:bob@example.com SIP/2.0\n"
     "Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=$BR1\n"
     "Max-Forwards: 69\n"
     "To: <sip:bob@example.com>\n"
     "From: \"Web Alice\" <sip:$USER@example.com>;tag=$FTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Contact: <sip:$USER@df7jal23ls0d.invalid;transport=ws;ob>\n"
     "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,"
     "NOTIFY\n"
     "Supported: ice,replaces,outbound\n"
     "User-Agent: JsSIP 3.10.0\n"
     "Content-Type: application/sdp\n"
     "Content-Length: $CL\n",
     sdp_webrtc},
    /* A trunk INVITE with routing headers. */
    {"INVITE sip:+442071838750@trunk.example.net:5060 SIP/2.0\n"
     "Via: SIP/2.0/UDP $IP:5060;branch=$BR1\n"
     "Route: <sip:sbc1.example.net;lr>\n"
     "Max-Forwards: 70\n"
     "From: <sip:+14155550123@$IP>;tag=$FTAG\n"
     "To: <sip:+442071838750@trunk.example.net>\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Contact: <sip:+14155550123@$IP:5060>\n"
     "Diversion: <sip:+14155550100@$IP>;reason=unconditional\n"
     "P-Asserted-Identity: <sip:+14155550123@$IP>\n"
     "Expires: 180\n"
     "Content-Type: application/sdp\n"
     "Content-Length: $CL\n",
     sdp_audio},
    /* IPv6 end to end. */
    {"INVITE sip:bob@[2001:db8::10] SIP/2.0\n"
     "Via: SIP/2.0/UDP [2001:db8::20]:5060;branch=$BR1\n"
     "Max-Forwards: 70\n"
     "From: <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:bob@[2001:db8::10]>\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Contact: \"Alice\" <sip:$USER@[2001:db8::20]:5060>\n"
     "Content-Type: application/sdp\n"
     "Content-Length: $CL\n",
     sdp_ip6},
    /* A mobile client through an edge proxy, folded Supported. */
    {"INVITE sip:bob@example.com;transport=tcp SIP/2.0\n"
     "Via: SIP/2.0/TCP 10.20.30.40:5060;branch=$BR1\n"
     "Via: SIP/2.0/TLS $IP:43001;received=$IP2;branch=$BR2;rport=43001\n"
     "Record-Route: <sip:10.20.30.40;transport=tcp;r2=on;lr>,"
     "<sip:edge.example.com;transport=tls;r2=on;lr>\n"
     "Max-Forwards: 69\n"
     "From: \"Mobile $USER\" <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:bob@example.com>\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Contact: <sip:$USER@$IP2:43001;transport=tls>;"
     "+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\"\n"
     "Supported: replaces,\n"
     " timer, gruu\n"
     "Content-Type: application/sdp\n"
     "Content-Length: $CL\n",
     sdp_av},
};

static const struct tpl registers[] = {
    /* Initial REGISTER, no credentials. */
    {"REGISTER sip:example.com SIP/2.0\n"
     "Via: SIP/2.0/UDP $IP:5060;rport;branch=$BR1\n"
     "Max-Forwards: 70\n"
     "From: <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:$USER@example.com>\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ REGISTER\n"
     "Contact: <sip:$USER@$IP:5060;ob>;reg-id=1;"
     "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"\n"
     "Expires: 3600\n"
     "Supported: path, outbound, gruu\n"
     "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, "
     "INFO, SUBSCRIBE\n"
     "User-Agent: Example Phone 1.0\n"
     "Content-Length: 0\n",
     NULL},
    /* REGISTER with Digest credentials. */
    {"REGISTER sip:example.com SIP/2.0\n"
     "Via: SIP/2.0/UDP $IP:5060;rport;branch=$BR1\n"
     "Max-Forwards: 70\n"
     "From: <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:$USER@example.com>\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ REGISTER\n"
     "Contact: <sip:$USER@$IP:5060>;expires=3600\n"
     "Authorization: Digest username=\"$USER\", realm=\"example.com\", "
     "nonce=\"$NONCE\", uri=\"sip:example.com\", "
     "response=\"dfe56131d1958046689d83306477ecc\", algorithm=MD5, "
     "cnonce=\"$FTAG\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", "
     "qop=auth, nc=00000001\n"
     "User-Agent: Example Phone 1.0\n"
     "Content-Length: 0\n",
     NULL},
    /* Compact REGISTER over TCP with two contacts, via an edge proxy. */
    {"REGISTER sip:example.com SIP/2.0\n"
     "v: SIP/2.0/TCP 10.20.30.40;branch=$BR1\n"
     "v: SIP/2.0/TCP $IP:40001;received=$IP2;branch=$BR2\n"
     "Path: <sip:10.20.30.40;transport=tcp;lr;ob>\n"
     "Max-Forwards: 69\n"
     "f: <sip:$USER@example.com>;tag=$FTAG\n"
     "t: <sip:$USER@example.com>\n"
     "i: $CID\n"
     "CSeq: $CSEQ REGISTER\n"
     "m: <sip:$USER@$IP:40001;transport=tcp>;q=0.7, "
     "<sip:$USER@$IP2:5060>;q=0.3;expires=600\n"
     "Authorization: Digest username=\"$USER\", realm=\"example.com\", "
     "nonce=\"$NONCE\", uri=\"sip:example.com\", "
     "response=\"a1b2c3d4e5f60718293a4b5c6d7e8f90\"\n"
     "l: 0\n",
     NULL},
    /* Unregister everything. */
    {"REGISTER sip:example.com SIP/2.0\n"
     "Via: SIP/2.0/UDP $IP:5060;branch=$BR1\n"
     "Max-Forwards: 70\n"
     "From: <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:$USER@example.com>\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ REGISTER\n"
     "Contact: *\n"
     "Expires: 0\n"
     "Content-Length: 0\n",
     NULL},
};

static const struct tpl responses[] = {
    {"SIP/2.0 100 Trying\n"
     "Via: SIP/2.0/UDP $IP:5060;rport=5060;received=$IP2;branch=$BR1\n"
     "From: \"Alice\" <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:bob@example.com>\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Server: switchboard\n"
     "Content-Length: 0\n",
     NULL},
    {"SIP/2.0 180 Ringing\n"
     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=$BR1\n"
     "Via: SIP/2.0/TCP 198.51.100.4:5060;received=198.51.100.4;"
     "branch=$BR2\n"
     "Via: SIP/2.0/UDP $IP:5060;received=$IP2;rport=40112;branch=$BR3\n"
     "Record-Route: <sip:192.0.2.10;lr;ftag=$FTAG>\n"
     "Record-Route: <sip:198.51.100.4;transport=tcp;lr>\n"
     "From: \"Alice Smith\" <sip:$USER@example.com>;tag=$FTAG\n"
     "To: \"Bob\" <sip:bob@example.com>;tag=$TTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Contact: <sip:bob@192.0.2.200:5060>\n"
     "Allow: INVITE, ACK, CANCEL, BYE, UPDATE\n"
     "Content-Length: 0\n",
     NULL},
    {"SIP/2.0 200 OK\n"
     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=$BR1\n"
     "Via: SIP/2.0/UDP $IP:5060;received=$IP2;rport=40112;branch=$BR2\n"
     "Record-Route: <sip:192.0.2.10;lr;ftag=$FTAG>\n"
     "From: \"Alice Smith\" <sip:$USER@example.com>;tag=$FTAG\n"
     "To: \"Bob\" <sip:bob@example.com>;tag=$TTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Contact: <sip:bob@192.0.2.200:5060>\n"
     "Supported: timer\n"
     "Session-Expires: 1800;refresher=uac\n"
     "Content-Type: application/sdp\n"
     "Content-Length: $CL\n",
     sdp_audio},
    {"SIP/2.0 401 Unauthorized\n"
     "Via: SIP/2.0/UDP $IP:5060;rport=5060;received=$IP2;branch=$BR1\n"
     "From: <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:$USER@example.com>;tag=$TTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ REGISTER\n"
     "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"$NONCE\", "
     "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", qop=\"auth\", "
     "algorithm=MD5, stale=FALSE\n"
     "Content-Length: 0\n",
     NULL},
    {"SIP/2.0 407 Proxy Authentication Required\n"
     "Via: SIP/2.0/TCP $IP:50312;branch=$BR1;alias;received=$IP2\n"
     "From: <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:bob@example.com>;tag=$TTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"$NONCE\", "
     "qop=\"auth\", algorithm=SHA-256\n"
     "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"$NONCE\", "
     "qop=\"auth\", algorithm=MD5\n"
     "Content-Length: 0\n",
     NULL},
    {"SIP/2.0 200 OK\n"
     "v: SIP/2.0/TCP 10.20.30.40;branch=$BR1\n"
     "v: SIP/2.0/TCP $IP:40001;received=$IP2;branch=$BR2\n"
     "f: <sip:$USER@example.com>;tag=$FTAG\n"
     "t: <sip:$USER@example.com>;tag=$TTAG\n"
     "i: $CID\n"
     "CSeq: $CSEQ REGISTER\n"
     "m: <sip:$USER@$IP:40001;transport=tcp>;expires=3600;q=0.7, "
     "<sip:$USER@$IP2:5060>;expires=600;q=0.3\n"
     "Date: Sat, 13 Nov 2010 23:29:00 GMT\n"
     "l: 0\n",
     NULL},
    {"SIP/2.0 200 OK\n"
     "Via: SIP/2.0/UDP $IP:5060;branch=$BR1\n"
     "From: <sip:bob@example.com>;tag=$TTAG\n"
     "To: \"Alice\" <sip:$USER@example.com>;tag=$FTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ BYE\n"
     "Content-Length: 0\n",
     NULL},
};

static const struct tpl in_dialog[] = {
    {"ACK sip:bob@192.0.2.200:5060 SIP/2.0\n"
     "Via: SIP/2.0/UDP $IP:5060;rport;branch=$BR1\n"
     "Route: <sip:198.51.100.4;transport=tcp;lr>, "
     "<sip:192.0.2.10;lr;ftag=$FTAG>\n"
     "Max-Forwards: 70\n"
     "From: \"Alice\" <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:bob@example.com>;tag=$TTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ ACK\n"
     "Content-Length: 0\n",
     NULL},
    {"BYE sip:$USER@$IP:5060 SIP/2.0\n"
     "Via: SIP/2.0/UDP 192.0.2.200:5060;branch=$BR1\n"
     "Route: <sip:192.0.2.10;lr;ftag=$FTAG>\n"
     "Max-Forwards: 70\n"
     "From: <sip:bob@example.com>;tag=$TTAG\n"
     "To: \"Alice\" <sip:$USER@example.com>;tag=$FTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ BYE\n"
     "Reason: Q.850;cause=16;text=\"Normal call clearing\"\n"
     "User-Agent: Example Phone 1.0\n"
     "Content-Length: 0\n",
     NULL},
    {"INVITE sip:bob@192.0.2.200:5060 SIP/2.0\n"
     "Via: SIP/2.0/UDP $IP:5060;rport;branch=$BR1\n"
     "Route: <sip:192.0.2.10;lr;ftag=$FTAG>\n"
     "Max-Forwards: 70\n"
     "From: \"Alice\" <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:bob@example.com>;tag=$TTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INVITE\n"
     "Contact: <sip:$USER@$IP:5060>\n"
     "Session-Expires: 1800;refresher=uac\n"
     "Supported: timer\n"
     "Content-Type: application/sdp\n"
     "Content-Length: $CL\n",
     sdp_audio},
    {"INFO sip:bob@192.0.2.200:5060 SIP/2.0\n"
     "Via: SIP/2.0/UDP $IP:5060;rport;branch=$BR1\n"
     "Route: <sip:192.0.2.10;lr;ftag=$FTAG>\n"
     "Max-Forwards: 70\n"
     "From: \"Alice\" <sip:$USER@example.com>;tag=$FTAG\n"
     "To: <sip:bob@example.com>;tag=$TTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ INFO\n"
     "Content-Type: application/dtmf-relay\n"
     "Content-Length: $CL\n",
     dtmf_body},
    {"NOTIFY sip:$USER@$IP:5060;transport=tcp SIP/2.0\n"
     "Via: SIP/2.0/TCP presence.example.com;branch=$BR1\n"
     "Max-Forwards: 70\n"
     "From: <sip:bob@example.com>;tag=$TTAG\n"
     "To: <sip:$USER@example.com>;tag=$FTAG\n"
     "Call-ID: $CID\n"
     "CSeq: $CSEQ NOTIFY\n"
     "Event: presence\n"
     "Subscription-State: active;expires=599\n"
     "Contact: <sip:presence.example.com;transport=tcp>\n"
     "Content-Type: application/pidf+xml\n"
     "Content-Length: $CL\n",
     pidf_body},
};

static const struct {
	const struct tpl *tpls;
	size_t count;
} kinds[KIND__COUNT] = {
    {invites, sizeof(invites) / sizeof(invites[0])},
    {registers, sizeof(registers) / sizeof(registers[0])},
    {responses, sizeof(responses) / sizeof(responses[0])},
    {in_dialog, sizeof(in_dialog) / sizeof(in_dialog[0])},
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so every run benchmarks the same pool */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static void hex(char *out, size_t nbytes)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < nbytes; i++)
		out[i] = digits[rng() & 15];
	out[nbytes] = '\0';
}

static void ids_new(struct ids *id)
{
	static const char *const users[] = {
	    "alice",   "bob.smith",  "1001",   "+14155550123",
	    "carol_w", "sales-desk", "d.jones"};
	char h[40];

	hex(h, 8 + rng() % 17);
	snprintf(id->cid, sizeof(id->cid), "%s@192.0.2.%u", h,
		 (unsigned)(rng() % 254 + 1));
	hex(h, 10 + rng() % 12);
	snprintf(id->br1, sizeof(id->br1), "z9hG4bK%s", h);
	hex(h, 16);
	snprintf(id->br2, sizeof(id->br2), "z9hG4bK%s", h);
	hex(h, 12);
	snprintf(id->br3, sizeof(id->br3), "z9hG4bK-%s", h);
	hex(id->ftag, 6 + rng() % 8);
	hex(id->ttag, 8);
	snprintf(id->cseq, sizeof(id->cseq), "%u",
		 (unsigned)(rng() % (rng() % 2 ? 100 : 2147483647u)) + 1);
	snprintf(id->ip, sizeof(id->ip), "10.%u.%u.%u", (unsigned)(rng() % 256),
		 (unsigned)(rng() % 256), (unsigned)(rng() % 254 + 1));
	snprintf(id->ip2, sizeof(id->ip2), "203.0.113.%u",
		 (unsigned)(rng() % 254 + 1));
	snprintf(id->user, sizeof(id->user), "%s",
		 users[rng() % (sizeof(users) / sizeof(users[0]))]);
	hex(id->nonce, 32);
	snprintf(id->port, sizeof(id->port), "%u",
		 (unsigned)(rng() % 20000 + 10000) & ~1u);
}

/* Copy s to out, returning bytes written or 0 when it does not fit. */
static size_t put(char *out, size_t cap, size_t at, const char *s)
{
	size_t n = strlen(s);

	if (at + n > cap)
		return 0;
	memcpy(out + at, s, n);
	return n;
}

/*
 * Expand a template into out: "\n" becomes CRLF, $TOKENs become the ids,
 * $CL becomes body_len. Returns the length, or 0 when out is too small.
 */
static size_t expand(char *out, size_t cap, const char *tpl,
		     const struct ids *id, size_t body_len)
{
	const struct {
		const char *name;
		const char *value;
	} tokens[] = {
	    {"$CID", id->cid},	 {"$BR1", id->br1},	{"$BR2", id->br2},
	    {"$BR3", id->br3},	 {"$FTAG", id->ftag},	{"$TTAG", id->ttag},
	    {"$CSEQ", id->cseq}, {"$IP2", id->ip2},	{"$IP", id->ip},
	    {"$USER", id->user}, {"$NONCE", id->nonce}, {"$PORT", id->port},
	};
	char cl[24];
	size_t at = 0, n;

	snprintf(cl, sizeof(cl), "%zu", body_len);
	for (const char *p = tpl; *p;) {
		const char *value = NULL;
		size_t skip = 1;

		if (*p == '\n') {
			value = "\r\n";
		} else if (*p == '$') {
			if (strncmp(p, "$CL", 3) == 0) {
				value = cl;
				skip = 3;
			}
			for (size_t i = 0;
			     !value && i < sizeof(tokens) / sizeof(tokens[0]);
			     i++) {
				size_t len = strlen(tokens[i].name);

				if (strncmp(p, tokens[i].name, len) == 0) {
					value = tokens[i].value;
					skip = len;
				}
			}
		}
		if (value) {
			if (!(n = put(out, cap, at, value)) && value[0])
				return 0;
		} else {
			if (at + 1 > cap)
				return 0;
			out[at] = *p;
			n = 1;
		}
		at += n;
		p += skip;
	}
	return at;
}

static int msg_build(struct msg *m, const struct tpl *t)
{
	char body[MSG_CAP], out[MSG_CAP];
	size_t body_len = 0, head_len;
	struct ids id;

	ids_new(&id);
	if (t->body &&
	    !(body_len = expand(body, sizeof(body), t->body, &id, 0)))
		return -E2BIG;
	head_len = expand(out, sizeof(out) - 2, t->head, &id, body_len);
	if (!head_len || head_len + 2 + body_len > sizeof(out))
		return -E2BIG;
	memcpy(out + head_len, "\r\n", 2);
	memcpy(out + head_len + 2, body, body_len);
	m->len = head_len + 2 + body_len;
	m->data = malloc(m->len);
	if (!m->data)
		return -ENOMEM;
	memcpy(m->data, out, m->len);
	return 0;
}

static void pool_shuffle(struct pool *p)
{
	for (size_t i = p->count; i > 1; i--) {
		size_t j = rng() % i;
		struct msg tmp = p->msgs[i - 1];

		p->msgs[i - 1] = p->msgs[j];
		p->msgs[j] = tmp;
	}
}

static int pool_build(struct pool *p, enum kind k)
{
	p->count = POOL_PER_KIND;
	p->msgs = calloc(p->count, sizeof(*p->msgs));
	if (!p->msgs)
		return -ENOMEM;
	for (size_t i = 0; i < p->count; i++) {
		int err =
		    msg_build(&p->msgs[i], &kinds[k].tpls[i % kinds[k].count]);

		if (err)
			return err;
	}
	pool_shuffle(p);
	return 0;
}

/* The ALL pool shares the kinds' buffers, interleaved at random. */
static int pool_merge(struct pool *all, const struct pool *pools, size_t n)
{
	all->count = 0;
	for (size_t i = 0; i < n; i++)
		all->count += pools[i].count;
	all->msgs = calloc(all->count, sizeof(*all->msgs));
	if (!all->msgs)
		return -ENOMEM;
	for (size_t i = 0, at = 0; i < n; i++) {
		memcpy(all->msgs + at, pools[i].msgs,
		       pools[i].count * sizeof(*all->msgs));
		at += pools[i].count;
	}
	pool_shuffle(all);
	return 0;
}

struct parser {
	struct arena arena;
	struct sb_limits lim;
	uint64_t sink; /* keeps results observable */
	char *rx;      /* receive buffer, RX_CAP bytes */
	_Alignas(16) char first[ARENA_FIRST];
};

/* What the receive path does for one datagram; returns the parse result. */
static int parse_one(struct parser *ps, const struct msg *msg)
{
	const struct sip_nameaddr *contact = NULL;
	struct sip_perr perr;
	struct sip_msg m;
	int rc;

	memcpy(ps->rx, msg->data, msg->len);
	rc = sip_msg_parse(&m, &ps->arena, ps->rx, msg->len,
			   SIP_FRAMING_DATAGRAM, &ps->lim, &perr);
	if (rc == 0) {
		int crc = sip_msg_contacts(&m, &contact);

		if (crc != 0 && crc != -ENOENT)
			rc = crc;
		ps->sink += m.cseq.num + m.hdr_count +
			    (contact ? contact->uri.host.len : 0);
	}
	arena_reset(&ps->arena);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse the pool round-robin for at least secs; returns ns per message. */
static double measure(struct parser *ps, const struct pool *p, double secs)
{
	size_t at = 0;
	uint64_t n = 0;
	double t0, t;

	for (size_t i = 0; i < 2 * p->count; i++)
		parse_one(ps, &p->msgs[i % p->count]); /* warm-up */
	t0 = now_s();
	do {
		for (unsigned i = 0; i < BATCH; i++) {
			parse_one(ps, &p->msgs[at]);
			if (++at == p->count)
				at = 0;
		}
		n += BATCH;
		t = now_s();
	} while (t - t0 < secs);
	return (t - t0) * 1e9 / (double)n;
}

/*
 * Parse exactly n messages of the pool (no clock): run under
 * `valgrind --tool=callgrind --toggle-collect=count_run` to get
 * instructions per message, a figure other load on the box cannot skew.
 */
__attribute__((noinline)) static void count_run(struct parser *ps, const struct pool *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		parse_one(ps, &p->msgs[i % p->count]);
}

static int pool_check(struct parser *ps, const struct pool *p, const char *name)
{
	for (size_t i = 0; i < p->count; i++) {
		int rc = parse_one(ps, &p->msgs[i]);

		if (rc != 0) {
			fprintf(stderr,
				"bench_parse: %s message %zu does not "
				"parse (%d):\n%.*s\n",
				name, i, rc, (int)p->msgs[i].len,
				p->msgs[i].data);
			return rc;
		}
	}
	return 0;
}

static void report(const char *name, double ns)
{
	unsigned long long per_s = (unsigned long long)(1e9 / ns);

	printf("%s %.0f ns/msg %llu msg/s\n", name, ns,
	       (per_s + 500) / 1000 * 1000);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct pool pools[KIND__COUNT], all;
	struct parser *ps;
	double secs = 1.0;
	size_t bytes = 0;

	if (argc > 1 && (secs = strtod(argv[1], NULL)) <= 0 &&
	    !getenv("BENCH_COUNT")) {
		fprintf(stderr, "usage: bench_parse [seconds per kind]\n");
		return 2;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps || !(ps->rx = malloc(RX_CAP)))
		return 1;
	ps->lim = sb_limits_default();
	arena_init(&ps->arena, ps->first, sizeof(ps->first),
		   ps->lim.max_arena_bytes);
	for (int k = 0; k < KIND__COUNT; k++) {
		size_t kind_bytes = 0;

		if (pool_build(&pools[k], (enum kind)k) ||
		    pool_check(ps, &pools[k], kind_names[k]))
			return 1;
		for (size_t i = 0; i < pools[k].count; i++)
			kind_bytes += pools[k].msgs[i].len;
		fprintf(stderr,
			"bench_parse: %s: %zu templates, %zu messages, "
			"%zu bytes on average\n",
			kind_names[k], kinds[k].count, pools[k].count,
			kind_bytes / pools[k].count);
		bytes += kind_bytes;
	}
	if (pool_merge(&all, pools, KIND__COUNT))
		return 1;
	fprintf(stderr,
		"bench_parse: %zu distinct messages (%zu bytes), %.1f s per "
		"kind\n",
		all.count, bytes, secs);
	if (getenv("BENCH_COUNT")) {
		uint64_t n = strtoull(getenv("BENCH_COUNT"), NULL, 10);
		for (int k = 0; k < KIND__COUNT; k++)
			count_run(ps, &pools[k], n);
		count_run(ps, &all, n);
		secs = 0;
	}
	for (int k = 0; secs > 0 && k < KIND__COUNT; k++)
		report(kind_names[k], measure(ps, &pools[k], secs));
	if (secs > 0)
		report("ALL", measure(ps, &all, secs));
	fprintf(stderr, "bench_parse: checksum %llu\n",
		(unsigned long long)ps->sink);

	for (int k = 0; k < KIND__COUNT; k++) {
		for (size_t i = 0; i < pools[k].count; i++)
			free(pools[k].msgs[i].data);
		free(pools[k].msgs);
	}
	free(all.msgs);
	arena_close(&ps->arena);
	free(ps->rx);
	free(ps);
	return 0;
}
