"""Media anchoring (docs/media.md) with raw UDP phones: SDP rewritten per
leg, RTP relayed both ways from switchboard's address, latching to the
real source, spoofed sources dropped, hold and media timeouts, codec
policy, DTMF and recording."""
# SPDX-License-Identifier: BSD-2-Clause
import json
import math
import os
import re
import sqlite3
import struct
import time
import wave

from conftest import run_cli
from mediahelp import (Call, Phone, body, event_packets, events_of,
                       first_line, hdr, reply, sdp_media)
from reghelp import wait_for

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
  mode: anchor
  ports: 30000-30999
  latch_window_ms: 500
%s
"""


def stats(srv):
    p = run_cli("ctl", "--socket", str(srv.data_dir / "switchboard.sock"),
                "stats")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["media"]


def cdr(srv, cid):
    db = sqlite3.connect(str(srv.data_dir / "switchboard.db"))
    db.row_factory = sqlite3.Row
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        row = db.execute("SELECT * FROM cdrs WHERE call_id = ?",
                         (cid,)).fetchone()
        if row:
            return row
        time.sleep(0.1)
    raise AssertionError("no CDR for %s" % cid)


def phones(srv):
    return Phone(srv.host, "alice"), Phone(srv.host, "bob")


def stream(call, n=10, gap=0.02):
    """n packets each way; returns what a and b received."""
    for _ in range(n):
        call.a.rtp_send(call.a_dst)
        call.b.rtp_send(call.b_dst)
        time.sleep(gap)
    return call.a.rtp_drain(0.3), call.b.rtp_drain(0.3)


def test_sdp_rewritten_and_rtp_relayed_both_ways(start_server):
    srv = start_server(config=CONFIG % "")
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    # each side sees only switchboard's address and a port of the range
    for text, phone in ((body(call.inv), a), (body(call.ok), b)):
        c, port, fmts, attrs = sdp_media(text)
        assert c == srv.host, text
        assert 30000 <= port <= 30999 and port % 2 == 0, text
        assert str(phone.rtp_port) not in text, text
        assert fmts == ["0", "101"], text
    assert call.a_dst != call.b_dst
    got_a, got_b = stream(call)
    assert len(got_b) >= 8 and len(got_a) >= 8, (len(got_a), len(got_b))
    # from the port switchboard advertised to each side (symmetric RTP)
    assert {src[:2] for _, src in got_b} == {tuple(call.b_dst)}
    assert {src[:2] for _, src in got_a} == {tuple(call.a_dst)}
    # relayed as sent
    assert all(len(p) == 172 for p, _ in got_a + got_b)
    s = stats(srv)
    assert s["packets"] >= 16 and s["alive"] == 1, s
    call.hangup()
    row = cdr(srv, call.cid)
    assert row["media"] == "anchor" and row["codec"] == "PCMU", dict(row)
    assert row["a_rtp_packets"] >= 8 and row["b_rtp_packets"] >= 8
    assert row["a_mos"] > 4.0, dict(row)
    assert stats(srv)["alive"] == 0
    assert "media_summary" in srv.stderr()


def test_round_trip_from_relayed_rtcp(start_server):
    """The caller's SR crosses the relay; the callee's RR naming it 60 ms
    later (held 10 ms by its DLSR) gives a round trip of about 50 ms, in
    the media_summary line."""
    srv = start_server(config=CONFIG % "")
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    stream(call, n=3)
    a_rtcp = (call.a_dst[0], call.a_dst[1] + 1)
    b_rtcp = (call.b_dst[0], call.b_dst[1] + 1)
    # SR: NTP 0x00011234.56780000, so its middle 32 bits are 0x12345678
    sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, a.ssrc, 0x00011234,
                     0x56780000, 1000, 3, 480)
    a.rtp.sendto(sr, a_rtcp)
    time.sleep(0.06)
    # RR: one block about a's stream, LSR 0x12345678, DLSR 10 ms
    rr = struct.pack("!BBHIIIIIII", 0x81, 201, 7, b.ssrc, a.ssrc, 0, 3, 0,
                     0x12345678, 655)
    b.rtp.sendto(rr, b_rtcp)
    time.sleep(0.1)
    call.hangup()
    assert wait_for(lambda: "media_summary" in srv.stderr(), 3)
    rtt = int(re.search(r"media_summary call=\S+ codec=\S+ rtt_ms=(\d+)",
                        srv.stderr()).group(1))
    assert 40 <= rtt <= 200, rtt


def test_latching_to_the_real_source(start_server):
    """A phone behind NAT advertises a private address: what it sends from
    its SIP address is latched and it hears the other side."""
    srv = start_server(config=CONFIG % "")
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port), sdp=a.sdp(cip="10.20.30.40"))
    got_a, got_b = stream(call)
    assert len(got_b) >= 8, "a's RTP reached b"
    assert len(got_a) >= 8, "b's RTP reached a at its real address"
    assert stats(srv)["latches"] >= 2
    call.hangup()


def test_spoofed_source_is_dropped(start_server):
    srv = start_server(config=CONFIG % "")
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    stream(call, n=5)
    time.sleep(0.7)  # past latch_window_ms: the latch is fixed
    # another address (RTP-Bleed style), then another port of a's address
    import socket
    for host in ("127.0.0.2" if srv.host != "127.0.0.2" else "127.0.0.3",
                 srv.host):
        spoof = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        spoof.bind((host, 0))
        before = stats(srv)["dropped_source"]
        for _ in range(5):
            a.rtp_send(call.a_dst, payload=b"\x11" * 160, sock=spoof)
        got = b.rtp_drain(0.3)
        assert not any(p[12:] == b"\x11" * 160 for p, _ in got), host
        assert stats(srv)["dropped_source"] >= before + 5
        spoof.close()
    # the real source still flows
    got_a, got_b = stream(call, n=5)
    assert len(got_b) >= 4
    call.hangup()


def test_media_timeout_ends_the_call(start_server):
    srv = start_server(config=CONFIG % "  timeout_s: 2\n")
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    stream(call, n=5)
    # silence from both: after 2 s both legs get BYE
    bye_a, src_a = a.recv(lambda m: m.startswith("BYE "), 6)
    bye_b, src_b = b.recv(lambda m: m.startswith("BYE "), 2)
    a.send(reply(bye_a, 200, "OK", "x"), src_a)
    b.send(reply(bye_b, 200, "OK", "x"), src_b)
    row = cdr(srv, call.cid)
    assert row["cause"] == "media-timeout", dict(row)
    assert row["hangup_by"] == "system"
    assert stats(srv)["timeouts"] == 1


def test_hold_pauses_the_timeout_and_resume_restarts_flow(start_server):
    srv = start_server(config=CONFIG % "  timeout_s: 2\n")
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    stream(call, n=5)
    inv, ok = call.a_reinvite(a.sdp(extra="a=sendonly\r\n"))
    assert "a=sendonly" in body(inv), inv
    # held: no RTP for longer than timeout_s, the call stays up
    time.sleep(3.5)
    assert not any(m.startswith("BYE ") for m, _ in a.pending + b.pending)
    a.sip.settimeout(0.1)
    try:
        data = a.sip.recv(65535).decode()
        assert not data.startswith("BYE "), data
    except OSError:
        pass
    inv, ok = call.a_reinvite(a.sdp())
    c, port, _, _ = sdp_media(body(ok))
    assert (c, port) == tuple(call.a_dst), "the relay port stays"
    got_a, got_b = stream(call, n=8)
    assert len(got_a) >= 6 and len(got_b) >= 6
    call.hangup()
    assert cdr(srv, call.cid)["cause"] == "normal"


ROUTE_CODECS = """\
routes:
  - name: g729only
    match: {user_prefix: "729"}
    media: {codecs: {allow: [G729]}}
  - name: alaw
    match: {user_prefix: "8"}
    media: {codecs: {allow: [PCMA, PCMU], strip: [G722]}}
"""


def test_no_common_codec_is_488(start_server):
    srv = start_server(config=CONFIG % "" + ROUTE_CODECS)
    a, b = phones(srv)
    b.name = "7291"
    call = Call(a, b, (srv.host, srv.port), b_sdp=False)
    r, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 4"))
    assert first_line(r).startswith("SIP/2.0 488"), r
    row = cdr(srv, call.cid)
    assert row["cause"] == "no-common-codec", dict(row)


def test_codec_policy_orders_and_keeps_dtmf(start_server):
    srv = start_server(config=CONFIG % "" + ROUTE_CODECS)
    a, b = phones(srv)
    b.name = "8001"
    call = Call(a, b, (srv.host, srv.port),
                sdp=a.sdp(fmts=("18", "0", "8", "101")))
    _, _, fmts, attrs = sdp_media(body(call.inv))
    assert fmts == ["8", "0", "101"], body(call.inv)
    assert "rtpmap:18 G729/8000" not in attrs
    call.hangup()


def test_ipv6_caller_ipv4_callee_bridged(start_server):
    """IPv4 <-> IPv6: each side's SDP is in its own family."""
    from conftest import loopback_addr
    srv = start_server(config=CONFIG % "", hosts=[loopback_addr(), "::1"])
    a = Phone("::1", "alice")
    b = Phone(srv.host, "bob")
    call = Call(a, b, ("::1", srv.ports[("::1", "udp")]))
    assert "c=IN IP4 %s" % srv.host in body(call.inv), call.inv
    assert "c=IN IP6 ::1" in body(call.ok), call.ok
    assert call.a_dst[0] == "::1"
    got_a, got_b = stream(call)
    assert len(got_a) >= 8 and len(got_b) >= 8, (len(got_a), len(got_b))
    call.hangup()


def test_dtmf_rfc4733_detected_and_relayed(start_server):
    srv = start_server(config=CONFIG % "")
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    stream(call, n=3)
    event_packets(a, call.a_dst, 5)
    got = b.rtp_drain(0.4)
    ev = events_of(got)
    assert ev and all(e == 5 for e, _, _ in ev), ev
    assert sum(1 for _, end, _ in ev if end) == 3, ev
    assert wait_for(lambda: "digit=5" in srv.stderr(), 2), srv.stderr()
    assert stats(srv)["dtmf_events"] == 1
    call.hangup()


def test_dtmf_info_interworking(start_server):
    srv = start_server(config=CONFIG % "  dtmf: info\n")
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    stream(call, n=3)
    # RFC 4733 from the caller becomes an INFO to the callee
    event_packets(a, call.a_dst, 5)
    info, src = b.recv(lambda m: m.startswith("INFO "))
    assert "Signal=5" in body(info), info
    assert hdr(info, "Content-Type") == "application/dtmf-relay", info
    b.send(reply(info, 200, "OK", "btag"), src)
    assert not events_of(b.rtp_drain(0.2)), "events are not relayed"
    # an INFO from the callee becomes RFC 4733 toward the caller
    a.rtp_drain(0.1)
    call.b_request("INFO", "Signal=7\r\nDuration=100\r\n",
                   "application/dtmf-relay")
    ok, _ = b.recv(lambda m: first_line(m).startswith("SIP/2.0 200") and
                   "INFO" in (hdr(m, "CSeq") or ""))
    ev = events_of(a.rtp_drain(0.5))
    assert ev and all(e == 7 for e, _, _ in ev), ev
    assert ev[-1][1] and ev[-1][2] >= 800, ev
    call.hangup()


def test_recording_is_a_stereo_wav_of_the_call(start_server):
    srv = start_server(config=CONFIG % "  record: true\n")
    a, b = phones(srv)
    call = Call(a, b, (srv.host, srv.port))
    # 2 s: a tone from the caller, silence (0xff) from the callee
    for _ in range(100):
        a.rtp_send(call.a_dst)
        b.rtp_send(call.b_dst, payload=b"\xff" * 160)
        time.sleep(0.02)
    call.hangup()
    row = cdr(srv, call.cid)
    path = row["recording"]
    assert path.endswith(".wav"), dict(row)
    assert wait_for(lambda: os.path.exists(path) and
                    "recording_finished" in srv.stderr(), 3), srv.stderr()
    with wave.open(path) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 8000
        n = w.getnframes()
        frames = w.readframes(n)
    secs = n / 8000.0
    assert 1.8 <= secs <= 2.8, secs
    samples = struct.unpack("<%dh" % (len(frames) // 2), frames)
    left, right = samples[0::2], samples[1::2]
    rms = lambda xs: math.sqrt(sum(x * x for x in xs) / max(1, len(xs)))
    assert rms(left) > 2000, rms(left)   # the 8000-amplitude tone
    assert rms(right) < 100, rms(right)  # mu-law 0xff is silence


def test_recording_on_demand_with_ctl(start_server):
    srv = start_server(config=CONFIG % "")
    a, b = phones(srv)
    sock = str(srv.data_dir / "switchboard.sock")
    p = run_cli("ctl", "--socket", sock, "record", "nosuchcall", "on")
    assert p.returncode == 1 and "no such call" in p.stderr, p.stderr
    call = Call(a, b, (srv.host, srv.port))
    p = run_cli("ctl", "--socket", sock, "record", call.cid, "on")
    assert p.returncode == 0, p.stderr
    path = json.loads(p.stdout)["path"]
    p = run_cli("ctl", "--socket", sock, "record", call.cid, "on")
    assert p.returncode == 1 and "already" in p.stderr, p.stderr
    stream(call, n=50)
    p = run_cli("ctl", "--socket", sock, "record", call.cid, "off")
    assert p.returncode == 0 and json.loads(p.stdout)["recording"] == \
        "stopped", p.stdout
    assert wait_for(lambda: "recording_finished" in srv.stderr(), 3)
    with wave.open(path) as w:
        assert 0.9 <= w.getnframes() / 8000.0 <= 3.0, w.getnframes()
    call.hangup()
    assert cdr(srv, call.cid)["recording"] == path


def test_streams_past_the_fourth_are_refused(start_server):
    """Only 4 m= lines are anchored: a fifth goes on with port 0, so the
    phone's port never reaches the other side behind our address."""
    srv = start_server(config=CONFIG % "")
    a, b = phones(srv)
    ports = [a.rtp_port] + [40000 + 2 * i for i in range(4)]
    offer = a.sdp() + "".join(
        "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % p
        for p in ports[1:])
    answer = b.sdp() + "".join(
        "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % p
        for p in (b.rtp_port + 2, b.rtp_port + 4, b.rtp_port + 6, 0))
    call = Call(a, b, (srv.host, srv.port), sdp=offer, b_sdp=answer)
    got = [int(p) for p in re.findall(r"^m=audio (\d+)", body(call.inv),
                                       re.M)]
    assert len(got) == 5 and got[4] == 0, body(call.inv)
    assert all(30000 <= p <= 30999 for p in got[:4]), got
    assert not set(got) & set(ports), got
    got_a, got_b = stream(call, n=5)
    assert len(got_a) >= 4 and len(got_b) >= 4
    call.hangup()
