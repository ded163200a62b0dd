"""Blind transfer (RFC 3515) carried out by the B2BUA, driven from raw UDP
sockets: the callee REFERs the caller to a third party; switchboard calls
the target without SDP, re-INVITEs the caller with the target's offer,
answers the target in its ACK (RFC 3725 flow I), NOTIFYs the transferor
with sipfrag progress, and the caller and the target end up talking."""
# SPDX-License-Identifier: BSD-2-Clause
import re
import sqlite3
import time
import uuid

import pytest

from rtpehelp import PORTS, RTPE, Rtpengine
from test_b2bua_timer import SDP, Peer, first_line, hdr, reply

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
b2bua:
  session_expires_s: 0
"""


def is_req(method):
    return lambda m: m.startswith(method + " ")


def in_dialog(req_uri, via_peer, frm, to, cid, cseq, method, extra="",
              body="", ctype="application/sdp"):
    msg = ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s\r\n"
           "Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\n"
           "CSeq: %d %s\r\n%s") % (method, req_uri, via_peer[0],
                                   via_peer[1], uuid.uuid4().hex, frm, to,
                                   cid, cseq, method, extra)
    if body:
        msg += "Content-Type: %s\r\n" % ctype
    return msg + "Content-Length: %d\r\n\r\n%s" % (len(body), body)


def contact_uri(m):
    return re.search(r"<([^>]*)>", hdr(m, "Contact")).group(1)


def media_port(msg):
    return int(re.search(r"m=audio (\d+)", msg).group(1))


@pytest.fixture(params=["bypass", "rtpengine"])
def media(request, tmp_path):
    """The config for a media mode (rtpengine: the daemon runs), and what
    a phone's port looks like on the other side."""
    if request.param == "bypass":
        yield CONFIG, lambda ip, port, msg: (
            media_port(msg) == port and "c=IN IP4 %s\r\n" % ip in msg)
        return
    if RTPE is None:
        pytest.skip("rtpengine-daemon not installed")
    rtpe = Rtpengine(tmp_path)
    cfg = CONFIG.replace("mode: bypass", "mode: rtpengine\n  rtpengine: "
                         "{servers: [%s]}" % rtpe.addr())
    yield cfg, lambda ip, port, msg: (
        PORTS[0] <= media_port(msg) <= PORTS[1] and
        "c=IN IP4 127.0.0.1\r\n" in msg)  # rtpengine's, not the peer's
    rtpe.stop()


def test_blind_transfer_by_callee(start_server, tmp_path, media):
    config, crossed = media
    srv = start_server(config=config)
    server = (srv.host, srv.port)
    a, b, c = Peer(srv.host), Peer(srv.host), Peer(srv.host)
    # A calls B through the B2BUA
    cid = uuid.uuid4().hex
    sdp_a = SDP.format(ip=a.addr[0], port=4000)
    a_from = "<sip:alice@example.net>;tag=a1"
    a_to = "<sip:bob@%s:%d>" % b.addr
    a.send(in_dialog("sip:bob@%s:%d" % b.addr, a.addr, a_from, a_to, cid, 1,
                     "INVITE", "Contact: <sip:alice@%s:%d>\r\n" % a.addr,
                     sdp_a), server)
    inv_b, src = b.recv(is_req("INVITE"), 5)
    sdp_b = SDP.format(ip=b.addr[0], port=5000)
    b.send(reply(inv_b, 200, "OK", "b1",
                 "Contact: <sip:bob@%s:%d>\r\n" % b.addr, sdp_b), src)
    ok, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 200") and
                   "INVITE" in hdr(m, "CSeq"), 5)
    a_to_tagged = hdr(ok, "To")
    a.send(in_dialog(contact_uri(ok), a.addr, a_from, a_to_tagged, cid, 1,
                     "ACK"), server)
    b.recv(is_req("ACK"), 5)
    # B (the transferor) refers A (the transferee) to C
    b_cid, b_from_us = hdr(inv_b, "Call-ID"), hdr(inv_b, "From")
    b_me = hdr(inv_b, "To") + ";tag=b1"
    b.send(in_dialog(contact_uri(inv_b), b.addr, b_me, b_from_us, b_cid, 1,
                     "REFER", "Refer-To: <sip:carol@%s:%d>\r\n"
                     "Contact: <sip:bob@%s:%d>\r\n" % (c.addr + b.addr)),
           server)
    r202, _ = b.recv(lambda m: first_line(m).startswith("SIP/2.0 2") and
                     "REFER" in hdr(m, "CSeq"), 5)
    assert first_line(r202).startswith("SIP/2.0 202"), r202
    n100, src_n = b.recv(is_req("NOTIFY"), 5)
    assert hdr(n100, "Event") == "refer", n100
    assert n100.endswith("SIP/2.0 100 Trying\r\n"), n100
    b.send(reply(n100, 200, "OK", "x"), src_n)
    # the target gets an INVITE without SDP (a delayed offer), not from B
    inv_c, src_c = c.recv(is_req("INVITE"), 5)
    assert hdr(inv_c, "Content-Length") == "0", inv_c
    assert "%s:%d" % b.addr not in inv_c and b_cid not in inv_c, inv_c
    sdp_c = SDP.format(ip=c.addr[0], port=6000)
    c.send(reply(inv_c, 200, "OK", "c1",
                 "Contact: <sip:carol@%s:%d>\r\n" % c.addr, sdp_c), src_c)
    # A is re-INVITEd with C's offer (its own o= line on A's leg)
    reinv, src_a = a.recv(is_req("INVITE"), 5)
    assert crossed(c.addr[0], 6000, reinv), reinv
    a.send(reply(reinv, 200, "OK", "a1",
                 "Contact: <sip:alice@%s:%d>\r\n" % a.addr, sdp_a), src_a)
    a.recv(is_req("ACK"), 5)
    # C's ACK carries A's answer
    ack_c, _ = c.recv(is_req("ACK"), 5)
    assert crossed(a.addr[0], 4000, ack_c), ack_c
    # B hears that it worked and leaves
    n200, src_n = b.recv(lambda m: m.startswith("NOTIFY ") and
                         "200 OK" in m, 5)
    assert "terminated" in hdr(n200, "Subscription-State"), n200
    b.send(reply(n200, 200, "OK", "x"), src_n)
    b.send(in_dialog(contact_uri(inv_b), b.addr, b_me, b_from_us, b_cid, 2,
                     "BYE"), server)
    b.recv(lambda m: first_line(m).startswith("SIP/2.0 200") and
           "BYE" in hdr(m, "CSeq"), 5)
    # A and C are bridged: A's BYE reaches C
    a.send(in_dialog(contact_uri(ok), a.addr, a_from, a_to_tagged, cid, 2,
                     "BYE"), server)
    bye_c, src_c = c.recv(is_req("BYE"), 5)
    c.send(reply(bye_c, 200, "OK", "c1"), src_c)
    a.recv(lambda m: first_line(m).startswith("SIP/2.0 200") and
           "BYE" in hdr(m, "CSeq"), 5)
    db = tmp_path / "data" / "switchboard.db"
    deadline = time.monotonic() + 5
    while True:
        with sqlite3.connect(str(db)) as con:
            row = con.execute("SELECT disposition, transfers, hangup_by "
                              "FROM cdrs WHERE call_id = ?",
                              (cid,)).fetchone()
        if row or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert row == ("answered", 1, "caller"), row


def test_transfer_to_busy_target_keeps_the_call(start_server):
    srv = start_server(config=CONFIG)
    server = (srv.host, srv.port)
    a, b, c = Peer(srv.host), Peer(srv.host), Peer(srv.host)
    cid = uuid.uuid4().hex
    sdp_a = SDP.format(ip=a.addr[0], port=4000)
    a_from = "<sip:alice@example.net>;tag=a1"
    a.send(in_dialog("sip:bob@%s:%d" % b.addr, a.addr, a_from,
                     "<sip:bob@%s:%d>" % b.addr, cid, 1, "INVITE",
                     "Contact: <sip:alice@%s:%d>\r\n" % a.addr, sdp_a),
           server)
    inv_b, src = b.recv(is_req("INVITE"), 5)
    b.send(reply(inv_b, 200, "OK", "b1",
                 "Contact: <sip:bob@%s:%d>\r\n" % b.addr,
                 SDP.format(ip=b.addr[0], port=5000)), src)
    ok, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 200"), 5)
    a.send(in_dialog(contact_uri(ok), a.addr, a_from, hdr(ok, "To"), cid,
                     1, "ACK"), server)
    b.recv(is_req("ACK"), 5)
    b_cid, b_from_us = hdr(inv_b, "Call-ID"), hdr(inv_b, "From")
    b_me = hdr(inv_b, "To") + ";tag=b1"
    b.send(in_dialog(contact_uri(inv_b), b.addr, b_me, b_from_us, b_cid, 1,
                     "REFER", "Refer-To: <sip:carol@%s:%d>\r\n" % c.addr),
           server)
    inv_c, src_c = c.recv(is_req("INVITE"), 5)
    c.send(reply(inv_c, 486, "Busy Here", "c1"), src_c)
    n486, src_n = b.recv(lambda m: m.startswith("NOTIFY ") and
                         "486" in m.split("\r\n\r\n", 1)[1], 5)
    assert "terminated" in hdr(n486, "Subscription-State"), n486
    b.send(reply(n486, 200, "OK", "x"), src_n)
    # A and B still talk: A's BYE reaches B
    a.send(in_dialog(contact_uri(ok), a.addr, a_from, hdr(ok, "To"), cid,
                     2, "BYE"), server)
    bye_b, src = b.recv(is_req("BYE"), 5)
    b.send(reply(bye_b, 200, "OK", "b1"), src)


def fnv1a(text):
    """slice_hash() of src/base/slice.c: the worker of a Call-ID."""
    h = 2166136261
    for ch in text.encode():
        h = ((h ^ ch) * 16777619) & 0xffffffff
    return h


def call_id_on(worker, nworkers=2):
    while True:
        cid = uuid.uuid4().hex
        if fnv1a(cid) % nworkers == worker:
            return cid


def place_call(caller, callee, server, cid, tag, sdp_port):
    """caller calls callee through the B2BUA; returns (200 to the caller,
    INVITE the callee got)."""
    sdp = SDP.format(ip=caller.addr[0], port=sdp_port)
    frm = "<sip:u%s@example.net>;tag=%s" % (tag, tag)
    caller.send(in_dialog("sip:x@%s:%d" % callee.addr, caller.addr, frm,
                          "<sip:x@%s:%d>" % callee.addr, cid, 1, "INVITE",
                          "Contact: <sip:u@%s:%d>\r\n" % caller.addr, sdp),
                server)
    inv, src = callee.recv(is_req("INVITE"), 5)
    callee.send(reply(inv, 200, "OK", "t" + tag,
                      "Contact: <sip:x@%s:%d>\r\n" % callee.addr,
                      SDP.format(ip=callee.addr[0], port=sdp_port + 2)),
                src)
    ok, _ = caller.recv(lambda m: first_line(m).startswith("SIP/2.0 200")
                        and cid in m, 5)
    caller.send(in_dialog(contact_uri(ok), caller.addr, frm, hdr(ok, "To"),
                          cid, 1, "ACK"), server)
    callee.recv(is_req("ACK"), 5)
    return ok, inv, frm


@pytest.mark.parametrize("where", ["same-worker", "other-worker"])
def test_attended_transfer(start_server, where):
    srv = start_server(config=CONFIG + "workers: 2\n")
    server = (srv.host, srv.port)
    a, b, b2, c = (Peer(srv.host) for _ in range(4))
    cid1 = call_id_on(0)
    cid2 = call_id_on(0 if where == "same-worker" else 1)
    # call 1: A -> B; call 2: B (from its second socket) -> C
    ok1, inv_b, a_from = place_call(a, b, server, cid1, "a1", 4000)
    ok2, inv_c, b_from2 = place_call(b2, c, server, cid2, "b2", 6000)
    our_tag2 = re.search(r";tag=([^;>\s]+)", hdr(ok2, "To")).group(1)
    # B refers A (in call 1) to its dialog with C (call 2), Replaces
    # naming B's own dialog with us: to-tag ours, from-tag B's
    rep = "%s%%3Bto-tag%%3D%s%%3Bfrom-tag%%3Db2" % (cid2, our_tag2)
    b_cid1, b_from_us = hdr(inv_b, "Call-ID"), hdr(inv_b, "From")
    b_me = hdr(inv_b, "To") + ";tag=ta1"
    b.send(in_dialog(contact_uri(inv_b), b.addr, b_me, b_from_us, b_cid1,
                     1, "REFER",
                     "Refer-To: <sip:x@%s:%d?Replaces=%s>\r\n" % (
                         c.addr + (rep,))), server)
    r202, _ = b.recv(lambda m: first_line(m).startswith("SIP/2.0 2") and
                     "REFER" in hdr(m, "CSeq"), 5)
    assert first_line(r202).startswith("SIP/2.0 202"), r202
    # C gets an INVITE replacing its dialog with us (its own tags)
    inv_x, src_c = c.recv(is_req("INVITE"), 5)
    rep_c = hdr(inv_x, "Replaces")
    c_cid, c_tag_ours = hdr(inv_c, "Call-ID"), re.search(
        r";tag=([^;>\s]+)", hdr(inv_c, "From")).group(1)
    assert rep_c == "%s;to-tag=tb2;from-tag=%s" % (c_cid, c_tag_ours), \
        inv_x
    assert cid2 not in inv_x and "%s:%d" % b2.addr not in inv_x, inv_x
    c.send(reply(inv_x, 200, "OK", "c9",
                 "Contact: <sip:x@%s:%d>\r\n" % c.addr,
                 SDP.format(ip=c.addr[0], port=7000)), src_c)
    reinv, src_a = a.recv(is_req("INVITE"), 5)
    assert "m=audio 7000" in reinv, reinv
    a.send(reply(reinv, 200, "OK", "a1",
                 "Contact: <sip:u@%s:%d>\r\n" % a.addr,
                 SDP.format(ip=a.addr[0], port=4000)), src_a)
    a.recv(is_req("ACK"), 5)
    ack_x, _ = c.recv(is_req("ACK"), 5)
    assert "m=audio 4000" in ack_x, ack_x
    b.recv(lambda m: m.startswith("NOTIFY ") and "200 OK" in m, 5)
    # C ends the replaced dialog: B's call 2 leg is ended by us
    c.send(in_dialog("sip:%s:%d" % server, c.addr, hdr(inv_c, "To") +
                     ";tag=tb2", hdr(inv_c, "From"), c_cid, 1, "BYE"),
           server)
    bye_b2, src = b2.recv(is_req("BYE"), 5)
    b2.send(reply(bye_b2, 200, "OK", "x"), src)
    # B leaves call 1; A and C talk until A hangs up
    b.send(in_dialog(contact_uri(inv_b), b.addr, b_me, b_from_us, b_cid1,
                     2, "BYE"), server)
    a.send(in_dialog(contact_uri(ok1), a.addr, a_from, hdr(ok1, "To"),
                     cid1, 2, "BYE"), server)
    bye_c, src_c = c.recv(lambda m: m.startswith("BYE ") and
                          hdr(m, "Call-ID") == hdr(inv_x, "Call-ID"), 5)
    c.send(reply(bye_c, 200, "OK", "c9"), src_c)
