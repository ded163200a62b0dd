"""Session timers (RFC 4028) on each B2BUA leg, driven from raw UDP sockets:
a too-small interval gets 422, the B2BUA refreshes the leg where it is the
refresher (UPDATE), and a leg whose refresher stays silent expires: both
sides get BYE and the CDR says timeout."""
# SPDX-License-Identifier: BSD-2-Clause
import re
import socket
import sqlite3
import time
import uuid

from conftest import free_udp_port

SDP = ("v=0\r\no=a 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
       "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")

CONFIG = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
call_mode: b2bua
proxy:
  foreign_domains: forward
b2bua:
  session_expires_s: 90
  min_se_s: 90
"""


class Peer:
    """One UDP socket playing a phone."""

    def __init__(self, host):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((host, free_udp_port(host)))
        self.addr = self.s.getsockname()

    def send(self, text, to):
        self.s.sendto(text.encode(), to)

    def recv(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "timed out waiting on %s:%d" % self.addr
            self.s.settimeout(left)
            data, src = self.s.recvfrom(65535)
            m = data.decode(errors="replace")
            if pred(m):
                return m, src


def hdr(m, name):
    g = re.search(r"^%s:\s*(.*?)\r$" % re.escape(name), m, re.M | re.I)
    return g.group(1) if g else None


def first_line(m):
    return m.split("\r\n", 1)[0]


def reply(req, status, reason, tag, extra="", body=""):
    keep = [l for l in req.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
            if re.match(r"(Via|From|To|Call-ID|CSeq):", l, re.I)]
    out = []
    for l in keep:
        if l.lower().startswith("to:") and ";tag=" not in l:
            l += ";tag=" + tag
        out.append(l)
    head = "SIP/2.0 %d %s\r\n%s\r\n%s" % (status, reason, "\r\n".join(out),
                                           extra)
    if body:
        head += "Content-Type: application/sdp\r\n"
    return head + "Content-Length: %d\r\n\r\n%s" % (len(body), body)


def invite(caller, server, callee, se):
    ip, port = caller.addr
    body = SDP.format(ip=ip, port=4000)
    cid = uuid.uuid4().hex
    msg = ("INVITE sip:bob@%s:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a1\r\n"
           "To: <sip:bob@%s:%d>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
           "Contact: <sip:alice@%s:%d>\r\nSupported: timer\r\n"
           "Allow: INVITE, ACK, BYE, CANCEL, UPDATE\r\n"
           "Session-Expires: %s\r\nContent-Type: application/sdp\r\n"
           "Content-Length: %d\r\n\r\n%s") % (
               callee.addr[0], callee.addr[1], ip, port, uuid.uuid4().hex,
               callee.addr[0], callee.addr[1], cid, ip, port, se,
               len(body), body)
    caller.send(msg, server)
    return cid


def test_too_small_interval_gets_422(start_server):
    srv = start_server(config=CONFIG)
    a, b = Peer(srv.host), Peer(srv.host)
    cid = invite(a, (srv.host, srv.port), b, "30")
    r, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 4") and
                  cid in m, 5)
    assert first_line(r).startswith("SIP/2.0 422"), r
    assert hdr(r, "Min-SE") == "90", r


def test_refresh_and_expiry(start_server, tmp_path):
    srv = start_server(config=CONFIG)
    server = (srv.host, srv.port)
    a, b = Peer(srv.host), Peer(srv.host)
    cid = invite(a, server, b, "90;refresher=uac")
    inv, src = b.recv(lambda m: m.startswith("INVITE "), 5)
    # the B-leg asks for the timer on its own terms (RFC 4028 7.1)
    assert hdr(inv, "Session-Expires") == "90", inv
    assert hdr(inv, "Min-SE") == "90", inv
    assert "timer" in (hdr(inv, "Supported") or ""), inv
    body = SDP.format(ip=b.addr[0], port=5000)
    b.send(reply(inv, 200, "OK", "b1",
                 "Contact: <sip:bob@%s:%d>\r\nRequire: timer\r\n"
                 "Session-Expires: 90;refresher=uac\r\n"
                 "Allow: INVITE, ACK, BYE, UPDATE\r\n" % b.addr, body), src)
    ok, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 200") and
                   cid in m, 5)
    # the caller refreshes its own leg: refresher=uac, Require: timer
    assert hdr(ok, "Session-Expires") == "90;refresher=uac", ok
    assert "timer" in (hdr(ok, "Require") or ""), ok
    to = hdr(ok, "To")
    ack = ("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a1\r\n"
           "To: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\n"
           "Content-Length: 0\r\n\r\n") % (
               re.search(r"<(.*?)>", hdr(ok, "Contact")).group(1),
               a.addr[0], a.addr[1], uuid.uuid4().hex, to, cid)
    a.send(ack, server)
    b.recv(lambda m: m.startswith("ACK "), 5)
    answered = time.monotonic()
    # we are the refresher on the B-leg: an UPDATE at half the interval
    upd, src = b.recv(lambda m: m.startswith("UPDATE "), 60)
    waited = time.monotonic() - answered
    assert 40 <= waited <= 50, waited
    assert hdr(upd, "Session-Expires").startswith("90"), upd
    b.send(reply(upd, 200, "OK", "b1",
                 "Session-Expires: 90;refresher=uac\r\n"
                 "Require: timer\r\n"), src)
    # the caller never refreshes: at 90 - 30 s both legs end
    bye_a, src_a = a.recv(lambda m: m.startswith("BYE "), 30)
    waited = time.monotonic() - answered
    assert 55 <= waited <= 66, waited
    a.send(reply(bye_a, 200, "OK", "x"), src_a)
    bye_b, src_b = b.recv(lambda m: m.startswith("BYE "), 5)
    b.send(reply(bye_b, 200, "OK", "x"), src_b)
    db = tmp_path / "data" / "switchboard.db"
    deadline = time.monotonic() + 5
    while True:
        with sqlite3.connect(str(db)) as con:
            row = con.execute("SELECT disposition, cause, hangup_by FROM "
                              "cdrs WHERE call_id = ?", (cid,)).fetchone()
        if row or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert row == ("answered", "timeout", "system"), row
