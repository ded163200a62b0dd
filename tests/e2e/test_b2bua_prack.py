"""Reliable provisional responses (RFC 3262) through the B2BUA, from raw UDP
sockets: each leg runs its own PRACK exchange, and 100rel works when only
one side supports it. Also the Require check (RFC 3261 8.2.2.3)."""
# SPDX-License-Identifier: BSD-2-Clause
import re
import time
import uuid

import pytest

from test_b2bua_timer import Peer, first_line, hdr, reply

SDP = ("v=0\r\no=a 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
       "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")

CONFIG = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
call_mode: b2bua
# signalling tests: SDP passes end to end (test_media*.py anchor it)
media:
  mode: bypass
proxy:
  foreign_domains: forward
timers:
  t1_ms: 200
"""


def body_of(m):
    return m.split("\r\n\r\n", 1)[1]


def o_line(m):
    g = re.search(r"^o=(.*?)\r$", body_of(m), re.M)
    return g.group(1) if g else None


class Caller:
    """The A side: an INVITE, then requests in its dialog."""

    def __init__(self, peer, server, callee, extra="", offer=True):
        self.p, self.server = peer, server
        self.cid = uuid.uuid4().hex
        self.cseq = 1
        self.to = None
        ip, port = peer.addr
        body = SDP.format(ip=ip, port=4000) if offer else ""
        self.ruri = "sip:bob@%s:%d" % callee.addr
        self.branch = "z9hG4bK" + uuid.uuid4().hex
        msg = ("INVITE %s SIP/2.0\r\n"
               "Via: SIP/2.0/UDP %s:%d;branch=%s;rport\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a1\r\n"
               "To: <%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
               "Contact: <sip:alice@%s:%d>\r\n%s") % (
                   self.ruri, ip, port, self.branch, self.ruri, self.cid,
                   ip, port, extra)
        if body:
            msg += "Content-Type: application/sdp\r\n"
        msg += "Content-Length: %d\r\n\r\n%s" % (len(body), body)
        self.p.send(msg, server)

    def recv(self, status, timeout=5):
        """The next response to our INVITE with this status."""
        m, _ = self.p.recv(lambda m: first_line(m).startswith(
            "SIP/2.0 %d" % status) and self.cid in m and
            hdr(m, "CSeq").endswith("INVITE"), timeout)
        self.to = hdr(m, "To")
        return m

    def request(self, method, extra="", cseq=None):
        ip, port = self.p.addr
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        msg = ("%s sip:%s:%d SIP/2.0\r\n"
               "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a1\r\n"
               "To: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n%s"
               "Content-Length: 0\r\n\r\n") % (
                   method, self.server[0], self.server[1], ip, port,
                   uuid.uuid4().hex, self.to, self.cid, cseq, method, extra)
        self.p.send(msg, self.server)

    def response_to(self, method, timeout=5):
        m, _ = self.p.recv(lambda m: m.startswith("SIP/2.0 ") and
                           self.cid in m and
                           hdr(m, "CSeq").endswith(" " + method), timeout)
        return m

    def prack(self, rseq, cseq=1):
        self.request("PRACK", "RAck: %s %d INVITE\r\n" % (rseq, cseq))
        return self.response_to("PRACK")

    def ack_and_bye(self, callee):
        self.request("ACK", cseq=1)
        callee.p.recv(lambda m: m.startswith("ACK "), 5)
        self.request("BYE")
        bye, src = callee.p.recv(lambda m: m.startswith("BYE "), 5)
        callee.p.send(reply(bye, 200, "OK", "b1"), src)
        assert first_line(self.response_to("BYE")).startswith("SIP/2.0 200")


class Callee:
    def __init__(self, peer):
        self.p = peer
        self.inv = self.src = None

    def invite(self):
        self.inv, self.src = self.p.recv(lambda m: m.startswith("INVITE "), 5)
        return self.inv

    def send(self, status, reason, extra="", body=""):
        contact = "Contact: <sip:bob@%s:%d>\r\n" % self.p.addr
        self.p.send(reply(self.inv, status, reason, "b1", contact + extra,
                          body), self.src)

    def sdp(self):
        return SDP.format(ip=self.p.addr[0], port=5000)


def no_message(peer, pred, seconds):
    try:
        m, _ = peer.recv(pred, seconds)
    except (AssertionError, OSError):
        return True
    raise AssertionError("unexpected: %s" % m)


def place_call(start_server, caller_extra="", offer=True):
    srv = start_server(config=CONFIG)
    server = (srv.host, srv.port)
    a, b = Peer(srv.host), Peer(srv.host)
    callee = Callee(b)
    caller = Caller(a, server, b, caller_extra, offer)
    return caller, callee


@pytest.mark.parametrize("sdp_in_200", [True, False])
def test_callee_reliable_caller_unreliable(start_server, sdp_in_200):
    caller, callee = place_call(start_server)
    inv = callee.invite()
    # an offer in the INVITE: the B-leg offers 100rel (RFC 3262 3)
    assert "100rel" in ",".join(
        re.findall(r"^Supported:\s*(.*?)\r$", inv, re.M)), inv
    callee.send(183, "Session Progress", "Require: 100rel\r\nRSeq: 42\r\n",
                callee.sdp())
    prack, src = callee.p.recv(lambda m: m.startswith("PRACK "), 5)
    b_cseq = hdr(inv, "CSeq").split()[0]
    assert hdr(prack, "RAck") == "42 %s INVITE" % b_cseq, prack
    assert ";tag=b1" in hdr(prack, "To"), prack
    callee.p.send(reply(prack, 200, "OK", "b1"), src)
    # the caller does not support 100rel: an unreliable 183 with the SDP
    r183 = caller.recv(183)
    assert hdr(r183, "RSeq") is None and "100rel" not in (
        hdr(r183, "Require") or ""), r183
    assert "m=audio 5000" in body_of(r183), r183
    # a retransmission of the same RSeq is not PRACKed again (RFC 3262 4)
    callee.send(183, "Session Progress", "Require: 100rel\r\nRSeq: 42\r\n",
                callee.sdp())
    no_message(callee.p, lambda m: m.startswith("PRACK "), 1)
    # the 2xx after a reliable answer brings no new one: the same SDP or
    # none must not break the call, and the caller gets the answer
    callee.send(200, "OK", "", callee.sdp() if sdp_in_200 else "")
    ok = caller.recv(200)
    assert "m=audio 5000" in body_of(ok), ok
    assert o_line(ok) == o_line(r183), (ok, r183)
    caller.ack_and_bye(callee)


def test_callee_prack_gets_481(start_server):
    caller, callee = place_call(start_server)
    callee.invite()
    callee.send(180, "Ringing")
    caller.recv(180)
    # a PRACK in the B-leg dialog: we never send it reliable 1xx
    to = hdr(callee.inv, "From")
    msg = ("PRACK %s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s\r\n"
           "Max-Forwards: 70\r\nFrom: %s;tag=b1\r\nTo: %s\r\n"
           "Call-ID: %s\r\nCSeq: 5 PRACK\r\nRAck: 1 1 INVITE\r\n"
           "Content-Length: 0\r\n\r\n") % (
               re.search(r"<(.*?)>", hdr(callee.inv, "Contact")).group(1),
               callee.p.addr[0], callee.p.addr[1], uuid.uuid4().hex,
               hdr(callee.inv, "To"), to, hdr(callee.inv, "Call-ID"))
    callee.p.send(msg, callee.src)
    r, _ = callee.p.recv(lambda m: m.startswith("SIP/2.0 ") and
                         "PRACK" in (hdr(m, "CSeq") or ""), 5)
    assert first_line(r).startswith("SIP/2.0 481"), r
    callee.send(200, "OK", "", callee.sdp())
    caller.recv(200)
    caller.ack_and_bye(callee)


def test_caller_requires_100rel(start_server):
    caller, callee = place_call(start_server, "Require: 100rel\r\n"
                           "Supported: 100rel\r\n")
    inv = callee.invite()
    callee.send(180, "Ringing")
    r180 = caller.recv(180)
    assert "100rel" in hdr(r180, "Require"), r180
    rseq = int(hdr(r180, "RSeq"))
    assert 1 <= rseq < 2 ** 31
    # retransmitted at T1, 2*T1 ... until the PRACK (RFC 3262 3)
    t0 = time.monotonic()
    again = caller.recv(180, 2)
    assert int(hdr(again, "RSeq")) == rseq
    again = caller.recv(180, 2)
    assert time.monotonic() - t0 >= 0.4
    # a PRACK naming another RSeq matches nothing: 481
    assert first_line(caller.prack(rseq + 5)).startswith("SIP/2.0 481")
    assert first_line(caller.prack(rseq)).startswith("SIP/2.0 200")
    # acknowledged: no more retransmissions; a second PRACK: 481
    no_message(caller.p, lambda m: first_line(m).startswith(
        "SIP/2.0 180"), 0.7)
    assert first_line(caller.prack(rseq)).startswith("SIP/2.0 481")
    # early media: the next reliable 1xx carries the answer, RSeq + 1
    callee.send(183, "Session Progress", "", callee.sdp())
    r183 = caller.recv(183)
    assert int(hdr(r183, "RSeq")) == rseq + 1, r183
    assert "m=audio 5000" in body_of(r183), r183
    # the 2xx waits for the PRACK of a 1xx with SDP (RFC 3262 3)
    callee.send(200, "OK", "", callee.sdp())
    no_message(caller.p, lambda m: first_line(m).startswith(
        "SIP/2.0 200") and "INVITE" in hdr(m, "CSeq"), 0.7)
    assert first_line(caller.prack(rseq + 1)).startswith("SIP/2.0 200")
    ok = caller.recv(200)
    # the answer went reliably: the 2xx carries no second one
    assert body_of(ok) == "", ok
    caller.ack_and_bye(callee)
    # the callee never saw a PRACK: its side has no 100rel
    no_message(callee.p, lambda m: m.startswith("PRACK "), 0.2)


def test_caller_requires_100rel_2xx_without_sdp_1xx(start_server):
    caller, callee = place_call(start_server, "Require: 100rel\r\n")
    callee.invite()
    callee.send(180, "Ringing")
    r180 = caller.recv(180)
    rseq = int(hdr(r180, "RSeq"))
    # a 1xx without SDP unacknowledged: the 2xx goes anyway (RFC 3262 3)
    callee.send(200, "OK", "", callee.sdp())
    ok = caller.recv(200)
    assert "m=audio 5000" in body_of(ok), ok
    # and the 180 is no longer retransmitted
    no_message(caller.p, lambda m: first_line(m).startswith(
        "SIP/2.0 180"), 0.7)
    assert first_line(caller.prack(rseq)).startswith("SIP/2.0 481")
    caller.ack_and_bye(callee)


def test_caller_supports_100rel_gets_unreliable(start_server):
    caller, callee = place_call(start_server, "Supported: 100rel\r\n")
    callee.invite()
    callee.send(180, "Ringing")
    r180 = caller.recv(180)
    assert hdr(r180, "RSeq") is None, r180
    callee.send(200, "OK", "", callee.sdp())
    caller.recv(200)
    caller.ack_and_bye(callee)


def test_delayed_offer_no_100rel(start_server):
    caller, callee = place_call(start_server, offer=False)
    inv = callee.invite()
    assert "100rel" not in ",".join(
        re.findall(r"^Supported:\s*(.*?)\r$", inv, re.M)), inv
    callee.send(486, "Busy Here")
    assert first_line(caller.recv(486)).startswith("SIP/2.0 486")


def test_require_foo_gets_420(start_server):
    caller, callee = place_call(start_server, "Require: timer, foo, 100rel\r\n")
    r = caller.recv(420)
    # RFC 3261 8.2.2.3: only the tags we do not support
    assert hdr(r, "Unsupported") == "foo", r
    no_message(callee.p, lambda m: m.startswith("INVITE "), 0.5)


def test_require_timer_accepted(start_server):
    caller, callee = place_call(start_server, "Supported: timer\r\n"
                           "Require: timer\r\nSession-Expires: 1800\r\n")
    callee.invite()
    callee.send(200, "OK", "", callee.sdp())
    ok = caller.recv(200)
    assert "timer" in (hdr(ok, "Require") or ""), ok
    caller.ack_and_bye(callee)


def test_both_reliable(start_server):
    caller, callee = place_call(start_server, "Require: 100rel\r\n")
    callee.invite()
    callee.send(183, "Session Progress", "Require: 100rel\r\nRSeq: 7\r\n",
                callee.sdp())
    prack, src = callee.p.recv(lambda m: m.startswith("PRACK "), 5)
    assert hdr(prack, "RAck").startswith("7 "), prack
    callee.p.send(reply(prack, 200, "OK", "b1"), src)
    # one out of order (RSeq not the next) is neither PRACKed nor relayed
    callee.send(180, "Ringing", "Require: 100rel\r\nRSeq: 9\r\n")
    r183 = caller.recv(183)
    rseq = int(hdr(r183, "RSeq"))
    assert "m=audio 5000" in body_of(r183), r183
    assert first_line(caller.prack(rseq)).startswith("SIP/2.0 200")
    no_message(caller.p, lambda m: first_line(m).startswith(
        "SIP/2.0 180"), 0.5)
    no_message(callee.p, lambda m: m.startswith("PRACK "), 0.1)
    callee.send(200, "OK", "", callee.sdp())
    ok = caller.recv(200)
    assert body_of(ok) == "", ok
    caller.ack_and_bye(callee)


def test_no_prack_ends_the_call(start_server):
    srv = start_server(config=CONFIG.replace("t1_ms: 200", "t1_ms: 20"))
    a, b = Peer(srv.host), Peer(srv.host)
    callee = Callee(b)
    caller = Caller(a, (srv.host, srv.port), b, "Require: 100rel\r\n")
    callee.invite()
    callee.send(180, "Ringing")
    t0 = time.monotonic()
    # RFC 3262 3: no PRACK within 64*T1 (1.28 s): a 5xx, the callee
    # is cancelled
    r = caller.recv(500, 5)
    assert 1.0 <= time.monotonic() - t0 <= 3, time.monotonic() - t0
    assert "No PRACK" in first_line(r), r
    cancel, src = b.recv(lambda m: m.startswith("CANCEL "), 5)
    b.send(reply(cancel, 200, "OK", "b1"), src)
    callee.send(487, "Request Terminated")
