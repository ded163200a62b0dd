"""End to end through the B2BUA (call_mode: b2bua): SIPp callers and
callees for whole calls and load, Python UAs (one UDP socket each, on
their own loopback address) for precise flows: topology hiding, delayed
offer, INFO, hold and resume, early UPDATE, glare, CANCEL, ring timeout,
a missing ACK, malformed requests and old CSeqs. Calls go to a foreign
domain (proxy.foreign_domains: forward), so the callee needs no
registration; the CDR row is read from <data_dir>/switchboard.db."""
# SPDX-License-Identifier: BSD-2-Clause
import re
import socket
import sqlite3
import time

import pytest

from conftest import free_udp_port, loopback_addr
from reghelp import wait_for
from siphelp import new_id
from test_proxy_sipp import evidence, sipps  # noqa: F401 (fixture)
from uahelp import Conn, uri_of

CONFIG = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
workers: 2
call_mode: b2bua
# signalling tests: SDP passes end to end (test_media*.py anchor it)
media:
  mode: bypass
proxy:
  foreign_domains: forward
{extra}"""

WAIT_S = 3.0


def start(start_server, extra="", **kw):
    return start_server(config=CONFIG.format(extra=extra), **kw)


# -- CDRs ------------------------------------------------------------------

def cdrs(server):
    db = server.data_dir / "switchboard.db"
    if not db.exists():
        return []
    con = sqlite3.connect(str(db), timeout=2)
    try:
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(
                "SELECT * FROM cdrs ORDER BY id")]
        except sqlite3.OperationalError:
            return []
    finally:
        con.close()


def cdr_for(server, call_id, timeout=3.0):
    """The CDR of the call whose A-leg Call-ID is call_id."""
    found = []

    def look():
        found[:] = [r for r in cdrs(server) if r["call_id"] == call_id]
        return bool(found)
    assert wait_for(look, timeout), "no CDR for %s in %r\nserver:\n%s" % (
        call_id, cdrs(server), server.stderr()[-4000:])
    return found[0]


# -- Python UAs ------------------------------------------------------------

SDP = ("v=0\r\no=py{who} 1000 {ver} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\n"
       "t=0 0\r\nm=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
       "a=rtpmap:101 telephone-event/8000\r\n{dir}")


def sdp(ua, ver=1, direction="sendrecv"):
    return SDP.format(who=ua.name, ver=ver, ip=ua.ip, port=ua.rtp,
                      dir="a=%s\r\n" % direction)


def o_line(body):
    m = re.search(rb"^o=(.*)$", body, re.M)
    assert m, body
    return m.group(1).decode().strip().split()


class RecConn(Conn):
    """A Conn that keeps every message it reads, for the topology scan."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.seen = []

    def _read_one(self, deadline):
        m = super()._read_one(deadline)
        if m is not None:
            self.seen.append(m)
        return m


class Dlg:
    """One side of a dialog as a Python UA sees it."""

    def __init__(self, ua, call_id, local_uri, local_tag, remote_uri,
                 remote_tag=None, target=None, cseq=1):
        self.ua = ua
        self.call_id = call_id
        self.local_uri, self.local_tag = local_uri, local_tag
        self.remote_uri, self.remote_tag = remote_uri, remote_tag
        self.target = target
        self.cseq = cseq

    def request(self, method, body="", ctype="application/sdp", cseq=None,
                extra=(), branch=None):
        """Send method in the dialog; returns (cseq, branch)."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        branch = branch or "z9hG4bK" + new_id()
        ua = self.ua
        ua.branches.append(branch)
        to = "<%s>" % self.remote_uri
        if self.remote_tag:
            to += ";tag=" + self.remote_tag
        lines = ["%s %s SIP/2.0" % (method, self.target),
                 "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (
                     ua.ip, ua.port, branch),
                 "Max-Forwards: 70",
                 "From: <%s>;tag=%s" % (self.local_uri, self.local_tag),
                 "To: " + to,
                 "Call-ID: " + self.call_id,
                 "CSeq: %d %s" % (cseq, method)]
        if method in ("INVITE", "UPDATE"):
            lines.append("Contact: <%s>" % ua.contact)
        lines += list(extra)
        if body:
            lines.append("Content-Type: " + ctype)
        lines.append("Content-Length: %d" % len(body))
        ua.c.send("\r\n".join(lines) + "\r\n\r\n" + body)
        return cseq, branch

    def ack(self, cseq, body="", branch=None):
        """ACK: a 2xx's (new branch) or, with the INVITE's branch, a
        non-2xx's."""
        self.request("ACK", body=body, cseq=cseq, branch=branch)

    def final(self, cseq, method, timeout=WAIT_S):
        return self.ua.c.expect(
            lambda m: not m.is_request and m.call_id == self.call_id and
            m.cseq == (cseq, method) and m.status >= 200, timeout,
            "final to %s %d" % (method, cseq))

    def wait_request(self, method, timeout=WAIT_S):
        return self.ua.c.expect(
            lambda m: m.method == method and m.call_id == self.call_id,
            timeout, method)

    def respond(self, req, status, body="", ctype="application/sdp"):
        self.ua.respond(req, status, self.local_tag, body, ctype)


class PyUA:
    """A UA on its own loopback address, talking to the server by UDP."""

    def __init__(self, server, name, host=None, port=None):
        self.name = name
        self.server = server
        self.c = RecConn(server.host, server.port, "udp",
                         source_host=host or loopback_addr())
        if port:
            self.c.sock.close()
            self.c.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.c.sock.bind((host, port))
            self.c.local = (host, port)
        self.branches = []
        self.ip, self.port = self.c.local
        self.rtp = 40000 + (self.port % 20000)
        self.contact = "sip:%s@%s:%d" % (name, self.ip, self.port)
        self.sent = []

    def addr(self):
        return "%s:%d" % (self.ip, self.port)

    def close(self):
        self.c.close()

    def invite(self, ruri, body=None, extra=(), from_uri=None, cseq=1):
        """An initial INVITE to the server; returns its Dlg."""
        d = Dlg(self, new_id() + "@" + self.ip,
                from_uri or "sip:%s@example.test" % self.name, new_id()[:10],
                ruri, None, ruri, cseq)
        if body is None:
            body = sdp(self)
        d.request("INVITE", body=body, cseq=cseq, extra=extra)
        return d

    def wait_invite(self, timeout=WAIT_S):
        inv = self.c.expect(lambda m: m.method == "INVITE" and
                            m.tag("To") is None, timeout, "INVITE")
        d = Dlg(self, inv.call_id, uri_of(inv.get("To")), new_id()[:10],
                uri_of(inv.get("From")), inv.tag("From"),
                uri_of(inv.get("Contact")), 0)
        d.invite = inv
        return d

    def respond(self, req, status, to_tag=None, body="",
                ctype="application/sdp", contact=True):
        to = req.get("To")
        if to_tag and ";tag=" not in to and status != 100:
            to += ";tag=" + to_tag
        reason = {100: "Trying", 180: "Ringing", 183: "Session Progress",
                  200: "OK", 486: "Busy Here", 487: "Request Terminated",
                  491: "Request Pending"}.get(status, "Whatever")
        lines = ["SIP/2.0 %d %s" % (status, reason)]
        lines += ["Via: " + v for v in req.all("Via")]
        lines += ["From: " + req.get("From"), "To: " + to,
                  "Call-ID: " + req.call_id, "CSeq: " + req.get("CSeq")]
        if contact and status < 300 and status > 100:
            lines.append("Contact: <%s>" % self.contact)
        if body:
            lines.append("Content-Type: " + ctype)
        lines.append("Content-Length: %d" % len(body))
        self.c.send("\r\n".join(lines) + "\r\n\r\n" + body)


@pytest.fixture
def uas(start_server):
    """Factory: (server, caller PyUA, callee PyUA); closed after."""
    made = []

    def make(extra=""):
        server = start(start_server, extra)
        a, b = PyUA(server, "alice"), PyUA(server, "bob")
        made.extend([a, b])
        return server, a, b
    yield make
    for u in made:
        u.close()


def ruri_of(b):
    return "sip:service@%s" % b.addr()


def establish(a, b, ruri=None, a_body=None, ring=True, cseq=1):
    """A calls b through the server and b answers; returns (A dialog,
    B dialog, 200 at A). Both sides confirmed (ACKed)."""
    da = a.invite(ruri or ruri_of(b), body=a_body, cseq=cseq)
    db = b.wait_invite()
    if ring:
        db.respond(db.invite, 180)
    db.respond(db.invite, 200, body=sdp(b))
    ok = da.final(cseq, "INVITE")
    assert ok.status == 200, ok.raw
    da.remote_tag = ok.tag("To")
    da.target = uri_of(ok.get("Contact"))
    da.ack(cseq)
    db.wait_request("ACK")
    return da, db, ok


def bye_from(x, y):
    """x hangs up, y answers the relayed BYE; x gets 200."""
    cseq, _ = x.request("BYE")
    bye = y.wait_request("BYE")
    y.respond(bye, 200)
    r = x.final(cseq, "BYE")
    assert r.status == 200, r.raw


# -- SIPp -------------------------------------------------------------------

def sipp_pair(sipps, server, uac, uas_sc, calls=1, rate=None, limit=None,
              hold_ms=200):
    """A SIPp callee (main scenario uas_sc, as a server) and a SIPp caller
    (uac) calling sip:service@<callee>; returns (caller, callee), both
    run to their end."""
    callee = sipps(server, "uas", uas_sc, calls=calls, timeout_s=40)
    callee.cmd = [c for c in callee.cmd if c != "%s:%d" % (
        server.host, server.port)]
    callee.start()
    time.sleep(0.3)
    caller = sipps(server, "uac", uac, calls=calls, rate=rate,
                   limit=limit, hold_ms=hold_ms, timeout_s=40,
                   keys=[("callee", "%s:%d" % (callee.host, callee.port))])
    caller.start()
    with evidence(server, sipps):
        rc = caller.wait(60)
        ok, bad = caller.calls()
        assert rc == 0 and ok == calls and bad == 0, \
            "caller rc=%s ok=%s failed=%s" % (rc, ok, bad)
        rc = callee.wait(30)
        assert rc == 0, "callee rc=%s" % rc
    return caller, callee


def sipp_call_ids(s, d):
    return {m.call_id for _, dd, m in s.messages() if dd == d}


def test_sipp_call_caller_hangs_up(start_server, sipps):
    server = start(start_server)
    caller, callee = sipp_pair(sipps, server, "b2bua_uac.xml",
                               "b2bua_uas.xml", hold_ms=1200)
    (a_cid,) = sipp_call_ids(caller, "sent")
    (b_cid,) = sipp_call_ids(callee, "recv")
    assert a_cid != b_cid
    r = cdr_for(server, a_cid)
    assert r["b_call_id"] == b_cid, r
    assert (r["disposition"], r["cause"], r["hangup_by"]) == \
        ("answered", "normal", "caller"), r
    assert (r["a_status"], r["b_status"]) == (200, 200), r
    assert 1 <= r["billsec"] <= 3, r
    assert r["answer_ms"] >= r["ring_ms"] >= r["start_ms"] > 0, r
    assert r["end_ms"] >= r["answer_ms"], r


def test_sipp_call_callee_hangs_up(start_server, sipps):
    server = start(start_server)
    caller, callee = sipp_pair(sipps, server, "b2bua_uac_recv_bye.xml",
                               "b2bua_uas_bye.xml")
    (a_cid,) = sipp_call_ids(caller, "sent")
    r = cdr_for(server, a_cid)
    assert (r["disposition"], r["cause"], r["hangup_by"]) == \
        ("answered", "normal", "callee"), r
    assert (r["a_status"], r["b_status"]) == (200, 200), r
    assert r["billsec"] >= 1, r


def test_sipp_100_calls(start_server, sipps):
    server = start(start_server)
    caller, callee = sipp_pair(sipps, server, "b2bua_uac.xml",
                               "b2bua_uas.xml", calls=100, rate=20,
                               limit=30, hold_ms=100)
    assert wait_for(lambda: len(cdrs(server)) == 100, 5), len(cdrs(server))
    rows = cdrs(server)
    assert all(r["disposition"] == "answered" and r["cause"] == "normal"
               for r in rows), [r for r in rows
                                if r["disposition"] != "answered"][:3]
    assert len({r["call_id"] for r in rows}) == 100
    assert len({r["b_call_id"] for r in rows}) == 100


def test_sipp_cancel(start_server, sipps):
    server = start(start_server)
    caller, callee = sipp_pair(sipps, server, "b2bua_uac_cancel.xml",
                               "b2bua_uas_cancel.xml")
    (a_cid,) = sipp_call_ids(caller, "sent")
    got = [m.status for _, d, m in caller.messages() if d == "recv" and
           m.status]
    assert 487 in got, got
    r = cdr_for(server, a_cid)
    assert (r["disposition"], r["cause"], r["a_status"]) == \
        ("cancelled", "cancelled", 487), r
    assert r["billsec"] == 0 and r["answer_ms"] == 0, r


def test_sipp_busy(start_server, sipps):
    server = start(start_server)
    caller, callee = sipp_pair(sipps, server, "b2bua_uac_busy.xml",
                               "b2bua_uas_busy.xml")
    (a_cid,) = sipp_call_ids(caller, "sent")
    r = cdr_for(server, a_cid)
    assert (r["disposition"], r["cause"]) == ("busy", "busy"), r
    assert (r["a_status"], r["b_status"]) == (486, 486), r


# -- Python UA flows ----------------------------------------------------------

def strip_media(m):
    """m's text without the SDP c= and m= lines (media is not anchored)."""
    text = m.raw.decode("utf-8", "replace")
    return "\n".join(line for line in text.split("\r\n")
                     if not re.match(r"^[cm]=", line))


def test_topology_hiding(start_server):
    """The caller dials a name and the call leaves by the outbound proxy
    (the callee), so neither side is ever told where the other is."""
    b_host = loopback_addr()
    b_port = free_udp_port(b_host)
    server = start(start_server,
                   "  outbound_proxy: sip:%s:%d\n" % (b_host, b_port))
    a = PyUA(server, "alice")
    b = PyUA(server, "bob", host=b_host, port=b_port)
    try:
        da, db, ok = establish(a, b, ruri="sip:service@far.example.net",
                               cseq=4711)
        inv = db.invite
        # mid-call traffic both ways: INFO, hold and resume, BYE
        for x, y in ((da, db), (db, da)):
            cseq, _ = x.request("INFO", "Signal=5\r\nDuration=160\r\n",
                                "application/dtmf-relay")
            info = y.wait_request("INFO")
            y.respond(info, 200)
            assert x.final(cseq, "INFO").status == 200
            reinvite(x, y, "sendonly")
        bye_from(db, da)
        time.sleep(0.2)
        a_ids = [a.addr(), da.call_id, "tag=" + da.local_tag, a.contact,
                 a.ip] + a.branches
        b_ids = [b.addr(), db.call_id, "tag=" + db.local_tag, b.contact,
                 b.ip] + b.branches
        assert len(b.c.seen) >= 8 and len(a.c.seen) >= 8
        for m in b.c.seen:
            text = strip_media(m)
            for x in a_ids:
                assert x not in text, (x, text)
        for m in a.c.seen:
            text = strip_media(m)
            for x in b_ids:
                assert x not in text, (x, text)
        # the B-leg has its own Call-ID, tags and CSeq numbers
        assert db.call_id != da.call_id
        assert db.remote_tag != da.local_tag
        assert da.remote_tag != db.local_tag
        assert inv.cseq[0] != 4711, inv.raw
        b_reqs = [m.cseq for m in b.c.seen if m.is_request and
                  m.method not in ("ACK", "CANCEL")]
        # the B-leg's own numbers: its INVITE's, one up per request
        # (RFC 3261 12.2.1.1), never the caller's 4712, 4713...
        assert [n for n, _ in b_reqs] == list(range(
            inv.cseq[0], inv.cseq[0] + len(b_reqs))), b_reqs
        assert all(n < 4711 or n > 4720 for n, _ in b_reqs), b_reqs
        # Max-Forwards: decremented by one across
        assert inv.get("Max-Forwards") == "69", inv.raw
        assert len(inv.values("Via")) == 1, inv.raw
        # o= rewritten on each leg: the server's address, its own session
        for body in (inv.body, ok.body):
            o = o_line(body)
            assert o[-1] == server.host and o[1] != "1000", body
        assert o_line(inv.body)[1] != o_line(ok.body)[1]
    finally:
        a.close()
        b.close()


def reinvite(x, y, direction, x_ver=None, y_ver=None):
    """x sends a re-INVITE (a=direction), y answers 200; both ACKed.
    Returns (SDP y received, SDP x received in the 200)."""
    x.sdp_ver = x_ver or getattr(x, "sdp_ver", 1) + 1
    y.sdp_ver = y_ver or getattr(y, "sdp_ver", 1) + 1
    answer_dir = {"sendonly": "recvonly", "inactive": "inactive"}.get(
        direction, "sendrecv")
    cseq, _ = x.request("INVITE", sdp(x.ua, x.sdp_ver, direction))
    r = y.wait_request("INVITE")
    assert r.tag("To") == y.local_tag, r.raw
    y.respond(r, 200, body=sdp(y.ua, y.sdp_ver, answer_dir))
    ok = x.final(cseq, "INVITE")
    assert ok.status == 200, ok.raw
    x.ack(cseq)
    y.ua.c.expect(lambda m: m.method == "ACK" and
                  m.cseq == (r.cseq[0], "ACK"), WAIT_S, "ACK of the 200")
    return r, ok


def test_delayed_offer(uas):
    """INVITE without SDP: the 200 carries the offer and the caller's ACK
    the answer, which the callee's ACK carries with its own o= line."""
    server, a, b = uas()
    da = a.invite(ruri_of(b), body="")
    db = b.wait_invite()
    assert db.invite.body == b"", db.invite.raw
    db.respond(db.invite, 200, body=sdp(b))
    ok = da.final(1, "INVITE")
    assert ok.status == 200 and b"m=audio" in ok.body, ok.raw
    assert o_line(ok.body)[-1] == server.host
    da.remote_tag = ok.tag("To")
    da.target = uri_of(ok.get("Contact"))
    da.ack(1, body=sdp(a))
    ack = db.wait_request("ACK")
    assert ack.get("Content-Type") == "application/sdp", ack.raw
    assert b"m=audio %d" % a.rtp in ack.body, ack.raw
    o = o_line(ack.body)
    assert o[-1] == server.host and o[0] == "-", ack.body
    bye_from(da, db)


def test_info_both_ways(uas):
    server, a, b = uas()
    da, db, _ = establish(a, b)
    for x, y, digit in ((da, db, "5"), (db, da, "#")):
        body = "Signal=%s\r\nDuration=160\r\n" % digit
        cseq, _ = x.request("INFO", body, "application/dtmf-relay")
        info = y.wait_request("INFO")
        assert info.get("Content-Type") == "application/dtmf-relay"
        assert info.body == body.encode(), info.raw
        y.respond(info, 200)
        r = x.final(cseq, "INFO")
        assert r.status == 200, r.raw
    bye_from(db, da)


@pytest.mark.parametrize("holder", ["caller", "callee"])
def test_hold_resume(uas, holder):
    server, a, b = uas()
    da, db, ok = establish(a, b)
    x, y = (da, db) if holder == "caller" else (db, da)
    # the first SDP y received on its leg
    first_y = o_line(db.invite.body if holder == "caller" else ok.body)
    r1, ok1 = reinvite(x, y, "sendonly")
    assert b"a=sendonly" in r1.body, r1.body
    assert b"a=recvonly" in ok1.body, ok1.body
    v1 = int(o_line(r1.body)[2])
    assert v1 > int(first_y[2]), (first_y, r1.body)
    assert o_line(r1.body)[1] == first_y[1]  # same session on the leg
    r2, ok2 = reinvite(x, y, "sendrecv")
    assert b"a=sendrecv" in r2.body and b"a=sendonly" not in r2.body
    assert int(o_line(r2.body)[2]) > v1, r2.body
    assert int(o_line(ok2.body)[2]) > int(o_line(ok1.body)[2])
    bye_from(da, db)
    r = cdr_for(server, da.call_id)
    assert r["disposition"] == "answered" and r["cause"] == "normal", r


def test_update_early_dialog(uas):
    """RFC 3311: UPDATEs from the caller in the early dialog (after a 183
    with a To tag, before the 200) reach the callee on the B-leg's early
    dialog and the 200 comes back. Without 100rel the SDP of the 183 is
    no reliable answer, so the initial exchange is still open: an UPDATE
    carrying a new offer is refused (RFC 3311 5.2), one without a body
    (a target refresh) and an INFO-like UPDATE are relayed."""
    server, a, b = uas()
    da = a.invite(ruri_of(b))
    db = b.wait_invite()
    db.respond(db.invite, 183, body=sdp(b))
    p = a.c.expect(lambda m: m.status == 183, WAIT_S, "183")
    assert b"m=audio" in p.body and o_line(p.body)[-1] == server.host
    da.remote_tag = p.tag("To")
    da.target = uri_of(p.get("Contact"))
    assert da.remote_tag
    cseq, _ = da.request("UPDATE")
    up = db.wait_request("UPDATE")
    assert up.tag("To") == db.local_tag, up.raw
    assert up.tag("From") == db.remote_tag, up.raw
    db.respond(up, 200)
    r = da.final(cseq, "UPDATE")
    assert r.status == 200, r.raw
    cseq, _ = da.request("UPDATE", sdp(a, 2))
    r = da.final(cseq, "UPDATE")
    assert r.status == 500 and r.get("Retry-After"), r.raw
    db.respond(db.invite, 200, body=sdp(b))
    ok = da.final(1, "INVITE")
    assert ok.status == 200, ok.raw
    da.ack(1)
    db.wait_request("ACK")
    # once the exchange is complete an UPDATE with an offer goes across
    cseq, _ = da.request("UPDATE", sdp(a, 3, "sendonly"))
    up = db.wait_request("UPDATE")
    assert b"a=sendonly" in up.body, up.raw
    db.respond(up, 200, body=sdp(b, 3, "recvonly"))
    r = da.final(cseq, "UPDATE")
    assert r.status == 200 and b"a=recvonly" in r.body, r.raw
    bye_from(da, db)


def test_glare(uas):
    """Both sides send a re-INVITE at once: at least one gets 491
    (RFC 3261 14.2), and the call goes on."""
    server, a, b = uas()
    da, db, _ = establish(a, b)
    ca, bra = da.request("INVITE", sdp(a, 2, "sendonly"))
    cb, brb = db.request("INVITE", sdp(b, 2, "sendonly"))
    finals = {}
    deadline = time.monotonic() + WAIT_S
    while len(finals) < 2 and time.monotonic() < deadline:
        for x, ua, c in ((da, a, ca), (db, b, cb)):
            m = ua.c._read_one(time.monotonic() + 0.05)
            if m is None:
                continue
            if m.method == "INVITE":
                # a re-INVITE while ours is pending: 491 (RFC 3261 14.2)
                x.respond(m, 491)
            elif m.method == "ACK":
                pass
            elif not m.is_request and m.cseq == (c, "INVITE") and \
                    m.status >= 200:
                finals[ua.name] = m
            elif not m.is_request and m.status >= 200 and \
                    m.cseq[1] == "INVITE":
                finals.setdefault(ua.name, m)
    assert len(finals) == 2, finals
    statuses = sorted(m.status for m in finals.values())
    assert 491 in statuses, statuses
    for x, br, c, name in ((da, bra, ca, "alice"), (db, brb, cb, "bob")):
        if finals[name].status >= 300:
            x.ack(c, branch=br)
        else:
            x.ack(c)
    time.sleep(0.3)
    # after the glare a new re-INVITE goes through
    reinvite(da, db, "sendrecv", x_ver=3, y_ver=3)
    bye_from(da, db)


def test_cancel(uas):
    server, a, b = uas()
    da = a.invite(ruri_of(b))
    db = b.wait_invite()
    db.respond(db.invite, 180)
    a.c.expect(lambda m: m.status == 180, WAIT_S, "180")
    inv_branch = a.branches[0]
    a.c.send("\r\n".join([
        "CANCEL %s SIP/2.0" % ruri_of(b),
        "Via: SIP/2.0/UDP %s;branch=%s;rport" % (a.addr(), inv_branch),
        "Max-Forwards: 70",
        "From: <%s>;tag=%s" % (da.local_uri, da.local_tag),
        "To: <%s>" % ruri_of(b), "Call-ID: " + da.call_id,
        "CSeq: 1 CANCEL", "Content-Length: 0"]) + "\r\n\r\n")
    r = da.final(1, "CANCEL")
    assert r.status == 200, r.raw
    c = db.wait_request("CANCEL")
    db.respond(c, 200)
    db.respond(db.invite, 487)
    fin = da.final(1, "INVITE")
    assert fin.status == 487, fin.raw
    da.ack(1, branch=inv_branch)
    row = cdr_for(server, da.call_id)
    assert (row["disposition"], row["cause"], row["a_status"],
            row["hangup_by"]) == ("cancelled", "cancelled", 487,
                                  "caller"), row


def test_ring_timeout(uas):
    server, a, b = uas("b2bua:\n  ring_timeout_s: 2\n")
    t0 = time.monotonic()
    da = a.invite(ruri_of(b))
    db = b.wait_invite()
    db.respond(db.invite, 180)
    c = db.wait_request("CANCEL", timeout=5)
    assert 1.5 <= time.monotonic() - t0 <= 4, time.monotonic() - t0
    db.respond(c, 200)
    db.respond(db.invite, 487)
    fin = da.final(1, "INVITE", timeout=3)
    assert fin.status == 408, fin.raw
    da.ack(1, branch=a.branches[0])
    row = cdr_for(server, da.call_id)
    assert (row["disposition"], row["cause"], row["a_status"]) == \
        ("no-answer", "no-answer", 408), row


def test_busy(uas):
    server, a, b = uas()
    da = a.invite(ruri_of(b))
    db = b.wait_invite()
    db.respond(db.invite, 486)
    b.c.expect(lambda m: m.method == "ACK", WAIT_S, "ACK of 486")
    fin = da.final(1, "INVITE")
    assert fin.status == 486, fin.raw
    da.ack(1, branch=a.branches[0])
    row = cdr_for(server, da.call_id)
    assert (row["disposition"], row["cause"], row["a_status"],
            row["b_status"]) == ("busy", "busy", 486, 486), row


def test_no_ack_from_caller(uas):
    """No ACK for the 200 within 64*T1 (3.2 s here): BYE on both legs
    (RFC 3261 13.3.1.4), CDR cause timeout."""
    server, a, b = uas("timers:\n  t1_ms: 50\n")
    da = a.invite(ruri_of(b))
    db = b.wait_invite()
    db.respond(db.invite, 200, body=sdp(b))
    ok = da.final(1, "INVITE")
    assert ok.status == 200
    da.remote_tag = ok.tag("To")
    t0 = time.monotonic()
    bye_b = db.wait_request("BYE", timeout=6)
    db.respond(bye_b, 200)
    # the callee's 200 is ACKed before the BYE (RFC 3261 13.2.2.4)
    i_bye = next(i for i, m in enumerate(b.c.seen) if m.method == "BYE")
    assert any(m.method == "ACK" and m.cseq == (db.invite.cseq[0], "ACK")
               for m in b.c.seen[:i_bye]), b.c.seen
    bye_a = da.wait_request("BYE", timeout=2)
    da.respond(bye_a, 200)
    assert 2.5 <= time.monotonic() - t0 <= 5.5, time.monotonic() - t0
    # the 200 was resent meanwhile (RFC 6026 7.1)
    oks = [m for m in a.c.seen if m.status == 200 and
           m.cseq == (1, "INVITE")]
    assert len(oks) >= 3, len(oks)
    row = cdr_for(server, da.call_id)
    assert (row["disposition"], row["cause"]) == ("answered", "timeout"), \
        row


def test_bad_sdp_400(uas):
    server, a, b = uas()
    da = a.invite(ruri_of(b), body="this is not SDP\r\n")
    fin = da.final(1, "INVITE")
    assert fin.status == 400, fin.raw
    da.ack(1, branch=a.branches[0])
    assert b.c._read_one(time.monotonic() + 0.3) is None


def test_require_420(uas):
    server, a, b = uas()
    da = a.invite(ruri_of(b), extra=["Require: x-nonsense"])
    fin = da.final(1, "INVITE")
    assert fin.status == 420, fin.raw
    assert "x-nonsense" in (fin.get("Unsupported") or ""), fin.raw
    da.ack(1, branch=a.branches[0])
    assert b.c._read_one(time.monotonic() + 0.3) is None
    row = cdr_for(server, da.call_id)
    assert (row["disposition"], row["a_status"]) == ("failed", 420), row


def test_old_cseq_500(uas):
    server, a, b = uas()
    da, db, _ = establish(a, b)
    cseq, _ = da.request("INFO", "Signal=1\r\n", "application/dtmf-relay",
                         cseq=10)
    info = db.wait_request("INFO")
    db.respond(info, 200)
    assert da.final(10, "INFO").status == 200
    da.request("INFO", "Signal=2\r\n", "application/dtmf-relay", cseq=9)
    r = da.final(9, "INFO")
    assert r.status == 500, r.raw
    # from the callee too
    db.request("INFO", "Signal=3\r\n", "application/dtmf-relay", cseq=7)
    info = da.wait_request("INFO")
    da.respond(info, 200)
    assert db.final(7, "INFO").status == 200
    db.request("INFO", "Signal=4\r\n", "application/dtmf-relay", cseq=7)
    r = db.final(7, "INFO")
    assert r.status == 500, r.raw
    da.cseq = 10
    bye_from(da, db)
