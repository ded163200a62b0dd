"""End to end: two real baresip phones call each other through switchboard
as a B2BUA (call_mode: b2bua) with the media anchored (media.mode: anchor).

Unlike test_b2bua_baresip.py, where RTP goes straight from phone to phone,
here every RTP packet goes through switchboard's relay: each phone's SDP
from switchboard names switchboard's address and a port of media.ports,
never the other phone's.  What the phones count and decode (baresip's
audio_debug counters, the sndfile WAV dumps), what switchboard counts
(`ctl stats`), logs and writes (the CDR, the recording) are checked
against each other.

baresip binds RTP to 0.0.0.0, so its RTP leaves from 127.0.0.1 whatever
its SIP address; the relay only latches to a source whose IP is the one
of the phone's SDP or SIP (no RTP-Bleed), so both phones run their SIP on
127.0.0.1 (distinct ports) and their SDP says 127.0.0.1 too.  switchboard
keeps its own random 127.x address, which is where the relay binds.
"""
# SPDX-License-Identifier: BSD-2-Clause
import array
import os
import random
import re
import signal
import socket
import time
import wave

import pytest

from baresiphelp import Baresip, tone_power, wav_samples
from reghelp import add_user, ctl, wait_for
from test_b2bua_baresip import (ALICE_HZ, BOB_HZ, Call, raw_messages,
                                short_loopback)

CONFIG = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
call_mode: b2bua
proxy:
  record_route: true
b2bua:
  ring_timeout_s: 30
media:
  mode: anchor
  ports: {lo}-{hi}
{media}{routes}"""

PHONE_HOST = "127.0.0.1"  # where baresip's RTP comes from, whatever its SIP
RTP_WAIT_S = 1.2  # 20 ms packets: ~60 each way
# The relay's ports (a random window per test): apart from the phones'
# and from baresip's default range (20000-30009, baresiphelp), below the
# ephemeral range.
RELAY_PORTS = (30100, 32600)
RELAY_SPAN = 100
# The phones' RTP: baresip binds it to 0.0.0.0, so any program on the
# machine holding one of its ten ports on any address (a media benchmark
# relaying on 20000-39999, say) makes its dial fail with "Address already
# in use".  Take ranges free right now, away from the usual relay ranges.
PHONE_RTP = (12000, 19990)


def udp_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
        return True


def free_rtp_bases(n, span=10):
    """n even ports p, each with p..p+span-1 free on 0.0.0.0 and apart."""
    out = []
    for _ in range(200):
        p = random.randrange(PHONE_RTP[0], PHONE_RTP[1] - span, 2)
        if all(abs(p - q) >= span for q in out) and \
                all(udp_free(x) for x in range(p, p + span)):
            out.append(p)
            if len(out) == n:
                return out
    pytest.fail("no free RTP port ranges in %d-%d" % PHONE_RTP)


class Anchored(Call):
    """A Call (switchboard, alice, bob registered) whose media switchboard
    anchors on ports lo..hi."""

    def __init__(self, server, alice, bob, lo, hi):
        Call.__init__(self, server, alice, bob)
        self.lo, self.hi = lo, hi

    def media(self):
        st = ctl(self.s, "stats")
        assert "media" in st, sorted(st)
        return st["media"]

    def counts(self):
        """(RTP alice received from bob's SSRC, bob from alice's), per
        the phones' own counters."""
        sa, sb = self.a.audio_stats(), self.b.audio_stats()
        return (sa["rx_from"].get(sb["ssrc"], 0),
                sb["rx_from"].get(sa["ssrc"], 0))

    def rtp_flows(self, min_packets=20, since=(0, 0), timeout=5.0):
        """Both phones receive at least min_packets more RTP packets of
        the other's SSRC than since; returns their audio_stats."""
        deadline = time.monotonic() + timeout
        while True:
            sa, sb = self.a.audio_stats(), self.b.audio_stats()
            got = (sa["rx_from"].get(sb["ssrc"], 0),
                   sb["rx_from"].get(sa["ssrc"], 0))
            ok = got[0] - since[0] >= min_packets and \
                got[1] - since[1] >= min_packets
            if ok or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert ok, "RTP did not flow both ways through the relay " \
            "(since %s):\nalice %s\nbob %s%s" % (since, sa["text"],
                                                 sb["text"], self.diag())
        return sa, sb

    def wait_dirs(self, want_a, want_b, timeout=5.0):
        """Until alice's and bob's negotiated audio directions are these."""
        deadline = time.monotonic() + timeout
        while True:
            da, db = self.a.audio_stats()["dir"], self.b.audio_stats()["dir"]
            if (da, db) == (want_a, want_b) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert (da, db) == (want_a, want_b), "%s %s%s" % (da, db,
                                                          self.diag())

    def sdps_from_switchboard(self, ua):
        """(c= address, m=audio port) of every SDP ua received from
        switchboard (UDP retransmissions included)."""
        out = []
        for src, _, raw in raw_messages(ua):
            if src != self.sb:
                continue
            body = raw.partition("\r\n\r\n")[2]
            m = re.search(r"^m=audio (\d+) ", body, re.M)
            if not m:
                continue
            cs = re.findall(r"^c=IN IP4 (\S+?)\r?$", body, re.M)
            out.append((cs[-1] if cs else None, int(m.group(1))))
        return out

    def end_by_caller(self):
        self.a.hangup()
        self.b.expect("CALL_CLOSED", 5, context=self.diag)
        self.a.expect("CALL_CLOSED", 5, context=self.diag)

    def cdr(self):
        rows = self.wait_cdrs(1)
        assert len(rows) == 1, "%r%s" % (rows, self.diag())
        return rows[0]

    def assert_relay_idle(self):
        """Every session and port pair given back once the calls ended."""
        assert wait_for(lambda: self.media()["alive"] == 0, 3), \
            self.media()
        m = self.media()
        assert m["port_pairs_used"] == 0 and m["sockets"] == 0, m


def local_rtp_port(stats):
    m = re.search(r"local: \S+?:(\d+)", stats["text"])
    assert m, stats["text"]
    return int(m.group(1))


@pytest.fixture
def anchored(start_server, tmp_path):
    """anchored(media="  timeout_s: 2\\n", routes="...") -> Anchored:
    switchboard in b2bua mode anchoring media on its own random loopback
    address, with users alice and bob registered from baresip phones
    whose SIP (and so RTP) address is 127.0.0.1."""
    uas = []
    stopped = []

    def make(media="", routes=""):
        host = short_loopback()
        while host == PHONE_HOST:
            host = short_loopback()
        lo = random.randrange(RELAY_PORTS[0], RELAY_PORTS[1] - RELAY_SPAN, 2)
        hi = lo + RELAY_SPAN - 1
        data = tmp_path / "data"
        for user in ("alice", "bob"):
            add_user(data, "%s@%s" % (user, host), user + "-pw")
        s = start_server(config=CONFIG.format(lo=lo, hi=hi, media=media,
                                              routes=routes),
                         hosts=[host])
        ra, rb = free_rtp_bases(2)
        a = Baresip(tmp_path, PHONE_HOST, "alice", tone_hz=ALICE_HZ,
                    trace=True, rtp_base=ra)
        uas.append(a)
        b = Baresip(tmp_path, PHONE_HOST, "bob", tone_hz=BOB_HZ, trace=True,
                    rtp_base=rb)
        uas.append(b)
        assert a.sip_port != b.sip_port
        for ua, user in ((a, "alice"), (b, "bob")):
            ua.register("<sip:%s@%s:%d>;auth_pass=%s-pw;regint=300" % (
                user, s.host, s.port, user))
        c = Anchored(s, a, b, lo, hi)
        c.stopped = stopped  # PIDs a test SIGSTOPped, resumed at the end
        return c

    yield make
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    for ua in uas:
        ua.close()


# -- tests -------------------------------------------------------------------

def test_two_way_audio_through_the_relay(anchored):
    """Each phone's SDP names switchboard's address and a relay port; RTP
    flows both ways through it (the phones' counters, the relay's); the
    phones decode each other's tone; the CDR has the media columns."""
    c = anchored()
    a_id, b_id = c.establish()
    sa, sb = c.rtp_flows()
    assert sa["dir"] == sb["dir"] == "sendrecv", (sa["dir"], sb["dir"])

    # What each phone was told: switchboard's address, a port of the
    # range (even, RTCP on the next), never the other phone's.
    a_port, b_port = local_rtp_port(sa), local_rtp_port(sb)
    relay = {}
    for ua, st, other_port in ((c.a, sa, b_port), (c.b, sb, a_port)):
        sdps = c.sdps_from_switchboard(ua)
        assert sdps, "%s got no SDP from switchboard%s" % (ua.name, c.diag())
        for addr, port in sdps:
            assert addr == c.s.host, (ua.name, sdps)
            assert c.lo <= port <= c.hi and port % 2 == 0, (ua.name, sdps)
            assert port != other_port, (ua.name, sdps, other_port)
        assert len(set(sdps)) == 1, (ua.name, sdps)
        relay[ua.name] = sdps[0][1]
        assert st["remote"] == "%s:%d" % (c.s.host, sdps[0][1]), \
            (ua.name, st["remote"], sdps)
    # One port pair per leg.
    assert relay["alice"] != relay["bob"], relay
    # The phones' own addresses never reached the other side's SDP.
    for ua in (c.a, c.b):
        for src, _, raw in raw_messages(ua):
            body = raw.partition("\r\n\r\n")[2]
            if src == c.sb and body:
                assert "IN IP4 %s" % PHONE_HOST not in body, (ua.name, body)

    # The relay counts what it forwards.
    m1 = c.media()
    assert m1["alive"] == 1 and m1["port_pairs_used"] == 2, m1
    assert m1["packets"] >= 40 and m1["latches"] >= 2, m1
    time.sleep(RTP_WAIT_S)
    m2 = c.media()
    assert m2["packets"] - m1["packets"] >= 80, (m1, m2)  # ~120 in 1.2 s
    # the callee's first packets may beat its 200 OK to us: until the
    # caller has heard of our port there is nowhere to send them
    assert m2["dropped_nodest"] == m1["dropped_nodest"] <= 3, (m1, m2)
    assert m2["dropped_source"] == 0 and m2["send_errors"] == 0, m2
    assert m2["timeouts"] == 0, m2
    n_a, n_b = c.counts()
    assert n_a >= 60 and n_b >= 60, (n_a, n_b)

    c.end_by_caller()

    # What each phone decoded is the other's tone, carried by the relay.
    for ua, hz, own in ((c.a, BOB_HZ, ALICE_HZ), (c.b, ALICE_HZ, BOB_HZ)):
        wavs = ua.decoded_wavs()
        assert len(wavs) == 1, (ua.name, wavs)
        rate, samples = wav_samples(wavs[0])
        samples = samples[rate // 4:]
        assert len(samples) >= rate, (ua.name, len(samples))
        assert tone_power(samples, rate, hz) > 0.5, (ua.name, hz)
        assert tone_power(samples, rate, own) < 0.05, (ua.name, own)

    r = c.cdr()
    assert r["call_id"] == a_id and r["b_call_id"] == b_id, r
    assert r["disposition"] == "answered" and r["cause"] == "normal", r
    assert r["media"] == "anchor" and r["codec"] == "PCMU", r
    assert r["recording"] == "", r
    answered_s = (r["end_ms"] - r["answer_ms"]) / 1000.0
    for side in ("a", "b"):
        # 50 packets a second for the answered time (a little slack for
        # the start and the end)
        assert r[side + "_rtp_packets"] >= 40 * answered_s - 10, \
            (side, answered_s, r)
        assert r[side + "_rtp_packets"] <= 50 * answered_s + 20, \
            (side, answered_s, r)
        assert r[side + "_mos"] > 3.5, r
        assert r[side + "_loss_pct"] < 1.0, r
    # The relay's counts agree with what the phones received.
    assert r["b_rtp_packets"] >= n_a and r["a_rtp_packets"] >= n_b, \
        (r, n_a, n_b)
    assert re.search(r"media_summary call=\S+ codec=PCMU rtt_ms=\d+ a_packets=%d " %
                     r["a_rtp_packets"], c.s.stderr()), c.s.stderr()[-3000:]
    c.assert_relay_idle()


@pytest.mark.parametrize("holder", ["caller", "callee"])
def test_hold_outlives_the_media_timeout_and_resume_restarts(anchored,
                                                             holder):
    """While held (baresip stops RTP both ways) the call outlives
    media.timeout_s (hold_timeout_s 0: never); resume brings RTP back
    both ways through the same relay ports."""
    c = anchored(media="  timeout_s: 2\n")
    a_id, b_id = c.establish()
    c.rtp_flows()
    h = c.a if holder == "caller" else c.b
    ports_before = (c.a.audio_stats()["remote"], c.b.audio_stats()["remote"])

    h.hold()
    c.wait_dirs(*(("sendonly", "recvonly") if h is c.a else
                  ("recvonly", "sendonly")))
    time.sleep(0.3)  # packets in flight
    before, m_before = c.counts(), c.media()
    t0 = time.monotonic()
    # No BYE for 2 * timeout_s (the sweep runs every second).
    for ua in (c.a, c.b):
        left = 4.0 - (time.monotonic() - t0)
        e = ua.wait_event("CALL_CLOSED", max(left, 0.1))
        assert e is None, "%s: held call ended: %s%s" % (ua.name, e,
                                                         c.diag())
    after, m_after = c.counts(), c.media()
    assert after[0] - before[0] <= 2 and after[1] - before[1] <= 2, \
        "RTP went on while held: %s -> %s" % (before, after)
    # Nothing but RTCP went through the relay (a few reports at most).
    assert m_after["packets"] - m_before["packets"] <= 10, (m_before,
                                                            m_after)
    assert m_after["timeouts"] == 0 and m_after["alive"] == 1, m_after
    assert "media_timeout" not in c.s.stderr()
    assert [x[0] for x in c.a.calls()] == ["ESTABLISHED"], c.a.calls()
    assert [x[0] for x in c.b.calls()] == ["ESTABLISHED"], c.b.calls()

    h.resume()
    c.wait_dirs("sendrecv", "sendrecv")
    c.rtp_flows(min_packets=30, since=after)
    assert (c.a.audio_stats()["remote"], c.b.audio_stats()["remote"]) == \
        ports_before
    # Resumed, the timeout counts again but the flow keeps it off.
    e = c.a.wait_event("CALL_CLOSED", 2.5)
    assert e is None, "%s%s" % (e, c.diag())
    c.end_by_caller()
    r = c.cdr()
    assert r["cause"] == "normal" and r["hangup_by"] == "caller", r
    assert r["a_rtp_packets"] > 0 and r["b_rtp_packets"] > 0, r
    assert c.media()["timeouts"] == 0
    c.assert_relay_idle()


def test_media_timeout_ends_the_call(anchored):
    """bob's phone freezes (SIGSTOP): no RTP from him for media.timeout_s,
    and switchboard ends the call (BYE both ways, CDR cause
    media-timeout)."""
    c = anchored(media="  timeout_s: 2\n")
    a_id, b_id = c.establish()
    c.rtp_flows(min_packets=10)
    pid = c.b.proc.pid
    os.kill(pid, signal.SIGSTOP)
    c.stopped.append(pid)
    t0 = time.monotonic()
    try:
        e = c.a.expect("CALL_CLOSED", 6, a_id, c.diag)
        took = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    assert e["param"] == "Connection reset by peer", "%s%s" % (e, c.diag())
    # timeout_s 2, checked every second
    assert 1.5 <= took <= 4.5, took
    # bob, thawed, reads the BYE waiting for him.
    c.b.expect("CALL_CLOSED", 5, b_id, c.diag)
    assert c.a.calls() == [] and c.b.calls() == []
    log = c.s.stderr()
    assert re.search(r"media_timeout call=\S+ side=callee", log), log[-5000:]
    assert "media_timeout call=" in log and \
        not re.search(r"media_timeout call=\S+ side=caller", log)
    r = c.cdr()
    assert r["cause"] == "media-timeout" and r["hangup_by"] == "system", r
    assert r["disposition"] == "answered" and r["media"] == "anchor", r
    assert r["a_rtp_packets"] > 0 and r["b_rtp_packets"] > 0, r
    m = c.media()
    assert m["timeouts"] == 1, m
    c.assert_relay_idle()


def test_hold_timeout_ends_a_held_call(anchored):
    """media.hold_timeout_s: a call held (baresip sends no RTP) for that
    long is ended like a media timeout; timeout_s (60) does not apply."""
    c = anchored(media="  hold_timeout_s: 2\n")
    a_id, b_id = c.establish()
    c.rtp_flows(min_packets=10)
    c.a.hold()
    c.wait_dirs("sendonly", "recvonly")
    t0 = time.monotonic()
    e = c.a.expect("CALL_CLOSED", 6, a_id, c.diag)
    took = time.monotonic() - t0
    assert e["param"] == "Connection reset by peer", "%s%s" % (e, c.diag())
    assert 1.5 <= took <= 4.5, took
    c.b.expect("CALL_CLOSED", 5, b_id, c.diag)
    # The holder is the side expected to send (sendonly) and silent; bob
    # (recvonly) is not expected to send.
    log = c.s.stderr()
    assert re.search(r"media_timeout call=\S+ side=caller", log), log[-5000:]
    r = c.cdr()
    assert r["cause"] == "media-timeout" and r["hangup_by"] == "system", r
    assert c.media()["timeouts"] == 1
    c.assert_relay_idle()


def wav_channels(path):
    """(rate, channels, left samples, right samples) of a finished WAV."""
    with wave.open(str(path), "rb") as w:
        rate, nch, width = w.getframerate(), w.getnchannels(), \
            w.getsampwidth()
        frames = w.readframes(w.getnframes())
    assert width == 2, (path, width)
    s = array.array("h", frames)
    if array.array("h", [1]).tobytes() != b"\x01\x00":
        s.byteswap()
    return rate, nch, list(s[0::nch]), list(s[1::nch]) if nch > 1 else []


@pytest.mark.parametrize("how", ["media", "route"])
def test_recording(anchored, how):
    """media.record (or a route's media: {record: true}): the CDR names a
    stereo 8 kHz WAV of the answered time, alice's tone on the left,
    bob's on the right."""
    if how == "media":
        c = anchored(media="  record: true\n")
    else:
        c = anchored(routes="routes:\n  - name: rec\n"
                     "    match: {user_prefix: bob}\n"
                     "    media: {record: true}\n")
    c.establish()
    c.rtp_flows(min_packets=10)
    time.sleep(1.8)  # a call of about 2 s
    c.end_by_caller()
    r = c.cdr()
    assert r["media"] == "anchor" and r["cause"] == "normal", r
    if how == "route":
        assert r["route"] == "rec", r
    path = r["recording"]
    assert path, "no recording in the CDR: %r%s" % (r, c.diag())
    assert os.path.isabs(path) and path.endswith(".wav"), path
    assert os.path.dirname(path) == str(c.s.data_dir / "recordings"), path
    # The recorder thread closes the file after the call ended.
    assert wait_for(lambda: c.media()["recordings"]["finished"] == 1, 5), \
        "%s%s" % (c.media(), c.diag())
    rec = c.media()["recordings"]
    assert rec["started"] == 1 and rec["errors"] == 0 and \
        rec["blocks_dropped"] == 0, rec
    assert os.path.exists(path), path
    assert re.search(r"recording call=\S+ path=%s" % re.escape(path),
                     c.s.stderr())

    rate, nch, left, right = wav_channels(path)
    assert (rate, nch) == (8000, 2), (rate, nch)
    secs = len(left) / rate
    answered_s = (r["end_ms"] - r["answer_ms"]) / 1000.0
    assert abs(secs - answered_s) <= 0.5, (secs, answered_s, r)
    assert secs >= 1.5, secs
    # Past the first packets and before the end.
    mid = slice(int(0.3 * rate), len(left) - int(0.1 * rate))
    for name, ch, hz, other in (("left", left, ALICE_HZ, BOB_HZ),
                                ("right", right, BOB_HZ, ALICE_HZ)):
        part = ch[mid]
        assert len(part) >= rate, (name, len(part))
        assert tone_power(part, rate, hz) > 0.5, \
            (name, hz, tone_power(part, rate, hz))
        assert tone_power(part, rate, other) < 0.05, \
            (name, other, tone_power(part, rate, other))
    c.assert_relay_idle()


def infos(ua, sb):
    """(Content-Type, body) of each INFO request ua received from sb (UDP
    retransmissions left out)."""
    out = {}
    for src, _, raw in raw_messages(ua):
        if src == sb and raw.startswith("INFO "):
            head, _, body = raw.partition("\r\n\r\n")
            cseq = re.search(r"^CSeq:\s*(.*?)\r?$", head, re.M | re.I)
            ct = re.search(r"^(?:Content-Type|c):\s*(.*?)\r?$", head,
                           re.M | re.I)
            out[cseq.group(1) if cseq else head] = (
                ct.group(1) if ct else None, body)
    return list(out.values())


def test_dtmf_rfc4733_relayed(anchored):
    """An RFC 4733 digit from alice (baresip's sndcode) is seen by the
    relay (logged, counted) and reaches bob as a telephone-event; one
    from bob reaches alice."""
    c = anchored()
    a_id, b_id = c.establish()
    c.rtp_flows(min_packets=10)
    c.a.send_dtmf("5")
    e = c.b.expect("CALL_DTMF_START", 5, b_id, c.diag)
    assert e["param"] == "5", e
    assert wait_for(lambda: re.search(
        r"dtmf call=\S+ from=caller digit=5 duration_ms=\d+",
        c.s.stderr()), 3), c.s.stderr()[-5000:]
    c.b.send_dtmf("#")
    e = c.a.expect("CALL_DTMF_START", 5, a_id, c.diag)
    assert e["param"] == "#", e
    assert wait_for(lambda: re.search(
        r"dtmf call=\S+ from=callee digit=# duration_ms=\d+",
        c.s.stderr()), 3), c.s.stderr()[-5000:]
    # One event each (the end packet is sent three times: one digit).
    assert c.media()["dtmf_events"] == 2, c.media()
    c.b.settle(0.3)
    assert not [x for x in c.b.pending if x["type"] == "CALL_DTMF_START"]
    # In the RTP, not as SIP INFO.
    assert not infos(c.a, c.sb) and not infos(c.b, c.sb)
    c.end_by_caller()
    assert c.cdr()["cause"] == "normal"
    c.assert_relay_idle()


def test_dtmf_as_info(anchored):
    """media.dtmf: info: an RFC 4733 digit from either phone reaches the
    other as a SIP INFO (application/dtmf-relay) from switchboard, and the
    telephone-events themselves are not relayed (one digit, not two)."""
    c = anchored(media="  dtmf: info\n")
    a_id, b_id = c.establish()
    c.rtp_flows(min_packets=10)
    c.a.send_dtmf("5")
    e = c.b.expect("CALL_DTMF_START", 5, b_id, c.diag)
    assert e["param"] == "5", e
    c.b.send_dtmf("#")
    e = c.a.expect("CALL_DTMF_START", 5, a_id, c.diag)
    assert e["param"] == "#", e
    for ua, digit in ((c.b, "5"), (c.a, "#")):
        ua.settle(0.5)
        assert not [x for x in ua.pending
                    if x["type"] == "CALL_DTMF_START"], (ua.name,
                                                         ua.pending)
        assert wait_for(lambda: infos(ua, c.sb), 2), c.diag()
        got = infos(ua, c.sb)
        assert len(got) == 1, (ua.name, got)
        ctype, body = got[0]
        assert ctype == "application/dtmf-relay", got
        assert re.search(r"(?m)^Signal=%s\r?$" % re.escape(digit), body), \
            got
    log = c.s.stderr()
    assert re.search(r"dtmf call=\S+ from=caller digit=5 ", log), log
    assert re.search(r"dtmf call=\S+ from=callee digit=# ", log), log
    assert "dtmf_info_failed" not in log
    c.rtp_flows(min_packets=10, since=c.counts())  # audio goes on
    c.end_by_caller()
    assert c.cdr()["cause"] == "normal"
    c.assert_relay_idle()
