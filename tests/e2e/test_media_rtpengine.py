"""Media relayed by rtpengine (media.mode: rtpengine, docs/media.md): the
real rtpengine daemon in userspace mode rewrites every SDP that crosses
and relays the RTP; switchboard waits for its answers without blocking,
fails over between servers, deletes the call at the end and refuses a
call when no rtpengine answers."""
# SPDX-License-Identifier: BSD-2-Clause
import signal
import time

import pytest

from conftest import free_udp_port, run_cli
from mediahelp import Call, Phone, body, first_line, hdr, reply, sdp_media
from reghelp import wait_for
from rtpehelp import PORTS, RTPE, Rtpengine

pytestmark = pytest.mark.skipif(RTPE is None,
                                reason="rtpengine-daemon not installed")

CONFIG = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
call_mode: b2bua
proxy:
  foreign_domains: forward
b2bua:
  session_expires_s: 0
media:
  mode: rtpengine
  rtpengine:
    servers: [%s]
    timeout_ms: 100
    tries: 2
    disable_s: 30
%s
"""


@pytest.fixture
def rtpe(tmp_path):
    r = Rtpengine(tmp_path)
    yield r
    r.stop()


def phones(srv):
    return Phone(srv.host, "alice"), Phone(srv.host, "bob")


def in_range(port):
    return PORTS[0] <= port <= PORTS[1]


def stream(call, n=10, gap=0.02):
    for _ in range(n):
        call.a.rtp_send(call.a_dst)
        call.b.rtp_send(call.b_dst)
        time.sleep(gap)
    return call.a.rtp_drain(0.3), call.b.rtp_drain(0.3)


def test_sdp_from_rtpengine_and_rtp_both_ways(start_server, rtpe):
    srv = start_server(config=CONFIG % (rtpe.addr(), ""))
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    # each phone sees rtpengine's address and ports, never the other's
    for text, other in ((body(call.inv), a), (body(call.ok), b)):
        c, port, fmts, _ = sdp_media(text)
        assert c == "127.0.0.1" and in_range(port), text
        assert str(other.rtp_port) not in text, text
        assert "0" in fmts, text
    assert call.a_dst != call.b_dst
    assert rtpe.has("Received command 'offer'")
    assert rtpe.has("Received command 'answer'")
    got_a, got_b = stream(call)
    # RTP crossed rtpengine both ways and arrives from its ports
    assert len(got_a) >= 8 and len(got_b) >= 8, (len(got_a), len(got_b))
    assert {src for _, src in got_a} == {call.a_dst}
    assert {src for _, src in got_b} == {call.b_dst}
    call.hangup()
    assert wait_for(lambda: rtpe.has("Received command 'delete'"), 5)
    assert wait_for(lambda: "relay=rtpengine packets=" in srv.stderr(), 5)


def test_reinvite_hold_goes_through_rtpengine(start_server, rtpe):
    srv = start_server(config=CONFIG % (rtpe.addr(), ""))
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    inv, ok = call.a_reinvite(a.sdp(extra="a=sendonly\r\n"))
    c, port, _, attrs = sdp_media(body(inv))
    assert in_range(port) and "sendonly" in attrs, body(inv)
    c, port, _, _ = sdp_media(body(ok))
    assert in_range(port), body(ok)
    assert wait_for(lambda: "to=held" in srv.stderr(), 3)
    # resumed: media flows again through the same call on rtpengine
    inv, ok = call.a_reinvite(a.sdp())
    call.a_dst = sdp_media(body(ok))[:2]
    call.b_dst = sdp_media(body(inv))[:2]
    got_a, got_b = stream(call)
    assert len(got_a) >= 8 and len(got_b) >= 8
    call.hangup()


def test_early_and_final_answers_keep_their_order(start_server, rtpe):
    """A 183 with SDP and the 200 right behind it: both wait for rtpengine
    and reach the caller in the order the callee sent them."""
    srv = start_server(config=CONFIG % (rtpe.addr(), ""))
    a, b = phones(srv)
    Call(a, b, (srv.host, srv.port), b_sdp=False)
    inv, src = b.recv(lambda m: m.startswith("INVITE "))
    contact = "Contact: <sip:bob@%s:%d>\r\n" % b.addr
    b.send(reply(inv, 183, "Session Progress", "btag", contact, b.sdp()), src)
    b.send(reply(inv, 200, "OK", "btag", contact, b.sdp()), src)
    first, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 1") and
                      not first_line(m).startswith("SIP/2.0 100"))
    assert first_line(first).startswith("SIP/2.0 183"), first
    assert in_range(sdp_media(body(first))[1]), first
    ok, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 200"))
    assert in_range(sdp_media(body(ok))[1]), ok


def test_failover_to_the_second_server(start_server, rtpe):
    dead = '"127.0.0.1:%d"' % free_udp_port("127.0.0.1")
    srv = start_server(config=CONFIG % (dead + ", " + rtpe.addr(), ""))
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    assert in_range(sdp_media(body(call.inv))[1])
    got_a, got_b = stream(call)
    assert len(got_a) >= 8 and len(got_b) >= 8
    assert "rtpengine_down" in srv.stderr()
    call.hangup()


def test_no_rtpengine_refuses_the_call(start_server):
    dead = '"127.0.0.1:%d"' % free_udp_port("127.0.0.1")
    srv = start_server(config=CONFIG % (dead, ""))
    a, b = phones(srv)
    Call(a, b, (srv.host, srv.port), b_sdp=False)
    final, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 5"),
                      timeout=5)
    assert first_line(final).startswith("SIP/2.0 503"), final
    # the callee was never bothered: nothing to offer it
    with pytest.raises((AssertionError, TimeoutError)):
        b.recv(lambda m: m.startswith("INVITE "), timeout=0.3)


def test_recording_on_demand_by_rtpengine(start_server, rtpe):
    srv = start_server(config=CONFIG % (rtpe.addr(), ""))
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    sock = str(srv.data_dir / "switchboard.sock")
    p = run_cli("ctl", "--socket", sock, "record", call.cid, "on")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rtpengine" in p.stdout, p.stdout
    assert wait_for(lambda: rtpe.has("Received command 'start recording'"),
                    3)
    stream(call)
    call.hangup()
    assert wait_for(lambda: any(rtpe.rec.rglob("*.pcap")), 5), \
        list(rtpe.rec.rglob("*"))


def test_waiting_sdp_is_bounded_when_rtpengine_stalls(start_server, rtpe):
    """rtpengine stops answering mid-call: re-INVITEs with SDP wait in the
    call's queue up to its bound, the rest get 503 at once, and every one
    ends with 503 once the retries run out; the call survives to its BYE."""
    srv = start_server(config=CONFIG % (rtpe.addr(), ""))
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    rtpe.proc.send_signal(signal.SIGSTOP)
    try:
        sent = time.monotonic()
        for _ in range(24):
            a.send(call.request("INVITE", a.sdp()), call.server)
        got, seen = [], set()
        while len(got) < 24:
            # a final is resent until ACKed: each CSeq counts once
            m, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 5") and
                          hdr(m, "CSeq") not in seen, timeout=10)
            seen.add(hdr(m, "CSeq"))
            got.append((first_line(m), time.monotonic() - sent))
    finally:
        rtpe.proc.send_signal(signal.SIGCONT)
    assert all(line.startswith("SIP/2.0 503") for line, _ in got), got
    # past the bound (16 waiting) refused at once; those waiting take
    # 200 ms each (timeout_ms 100, 2 tries)
    assert sum(1 for _, t in got if t < 0.15) >= 7, got
    assert got[-1][1] > 2.5, " ".join("%.2f" % t for _, t in got)
    assert "rtpengine_queue_full" in srv.stderr()
    # nothing reached the callee, and the call still ends cleanly
    with pytest.raises((AssertionError, TimeoutError)):
        b.recv(lambda m: m.startswith("INVITE "), timeout=0.2)
    call.hangup()


def test_cancel_of_a_waiting_reinvite(start_server, rtpe):
    """A re-INVITE waiting for a stalled rtpengine is CANCELled: 487, it
    never reaches the callee, and the call goes on."""
    srv = start_server(config=CONFIG % (rtpe.addr(), ""))
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    rtpe.proc.send_signal(signal.SIGSTOP)
    try:
        inv = call.request("INVITE", a.sdp())
        a.send(inv, call.server)
        time.sleep(0.05)
        head = inv.split("\r\n\r\n", 1)[0].split("\r\n")
        keep = [h for h in head[1:] if h.split(":", 1)[0].lower() in
                ("via", "from", "to", "call-id", "max-forwards")]
        cseq = hdr(inv, "CSeq").split()[0]
        cancel = "\r\n".join(
            [head[0].replace("INVITE", "CANCEL", 1)] + keep +
            ["CSeq: %s CANCEL" % cseq, "Content-Length: 0", "", ""])
        a.send(cancel, call.server)
        ok, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 200") and
                       "CANCEL" in hdr(m, "CSeq"))
        final, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 4") and
                          "INVITE" in hdr(m, "CSeq"))
        assert first_line(final).startswith("SIP/2.0 487"), final
    finally:
        rtpe.proc.send_signal(signal.SIGCONT)
    time.sleep(0.5)  # the stalled request times out meanwhile
    with pytest.raises((AssertionError, TimeoutError)):
        b.recv(lambda m: m.startswith("INVITE "), timeout=0.2)
    call.hangup()
