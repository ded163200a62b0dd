"""End to end: two real baresip UAs register with digest and call each
other through switchboard as a record-routing stateful proxy.

switchboard only routes the signalling: the audio (RTP, and DTMF as RFC
4733 events in it) goes straight between the two baresips, which is what
these tests check too.  Every SIP message either baresip sent or received
is read back from its SIP trace, to prove it went through switchboard.
"""
# SPDX-License-Identifier: BSD-2-Clause
import random
import time

import pytest

from baresiphelp import (Baresip, close_code, header, tone_power,
                         wav_samples)
from conftest import loopback_addr
from reghelp import add_user, ctl, wait_for

CONFIG = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
proxy:
  record_route: true
  ring_timeout_s: {ring}
"""

# Caller and callee send different tones: the decoded audio of each side
# must hold the other side's tone, not its own.
ALICE_HZ, BOB_HZ = 440, 1000
RTP_WAIT_S = 1.2  # 20 ms packets: ~60 each way

# RFC 3261 18.1.1: a request over 1300 bytes must not go over UDP, so
# switchboard moves it to TCP.  baresip's INVITE with its Proxy-Authorization,
# plus switchboard's Via and Record-Route, comes close to that (1250 bytes
# with 127.d.d.d addresses, 1300 and more with 127.ddd.ddd.ddd): the tests
# keep it below with short addresses (and check that it stayed below), and
# test_invite_over_1300_bytes goes above on purpose with long user names and
# more codecs.
UDP_MAX = 1300
LONG_CALLER = "alice." + "a" * 50
LONG_CALLEE = "bob." + "b" * 50
MORE_CODECS = ("g711", "g722", "l16", "gsm")


def short_loopback():
    """A random 127.d.d.d: the shortest loopback addresses."""
    return "127.%d.%d.%d" % (random.randint(1, 9), random.randint(0, 9),
                             random.randint(2, 9))


class Call:
    """switchboard, alice (caller) and bob (callee), both registered."""

    def __init__(self, server, alice, bob, caller="alice", callee="bob"):
        self.s, self.a, self.b = server, alice, bob
        self.sb = "%s:%d" % (server.host, server.port)
        self.caller, self.callee = caller, callee

    def uri(self, user):
        return "sip:%s@%s" % (user, self.sb)

    def diag(self):
        return "%s%s\n--- switchboard:\n%s" % (
            self.a.diag(), self.b.diag(), self.s.stderr()[-30000:])

    def dial_and_ring(self, stay_udp=True):
        """alice dials; bob's phone rings and alice hears 180."""
        self.a.dial(self.uri(self.callee))
        # bob's 180 reaches alice only after bob got the INVITE; a call
        # that failed on the way ends at alice instead.
        ring = self.a.expect({"CALL_RINGING", "CALL_CLOSED"}, 5,
                             context=self.diag)
        assert ring["type"] == "CALL_RINGING", "%s%s" % (ring, self.diag())
        inc = self.b.expect("CALL_INCOMING", 5, context=self.diag)
        assert self.caller + "@" in inc["peeruri"], inc
        if stay_udp:
            self.assert_invite_stayed_udp()
        return inc, ring

    def establish(self, stay_udp=True):
        inc, ring = self.dial_and_ring(stay_udp)
        self.b.accept()
        ea = self.a.expect("CALL_ESTABLISHED", 5, context=self.diag)
        eb = self.b.expect("CALL_ESTABLISHED", 5, context=self.diag)
        # One dialog: the same Call-ID at both ends (the proxy keeps it).
        assert ea["id"] == eb["id"] == inc["id"] == ring["id"], (ea, eb)
        return ea["id"]

    def assert_rtp_flows(self, min_packets=20):
        """Audio goes both ways, end to end: each side received RTP from
        the other's SSRC, addressed to what the other's SDP said."""
        deadline = time.monotonic() + 5
        while True:
            sa, sb = self.a.audio_stats(), self.b.audio_stats()
            ok = sa["rx_from"].get(sb["ssrc"], 0) >= min_packets and \
                sb["rx_from"].get(sa["ssrc"], 0) >= min_packets
            if ok or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert ok, "RTP did not flow both ways:\nalice %s\nbob %s%s" % (
            sa["text"], sb["text"], self.diag())
        assert sa["dir"] == sb["dir"] == "sendrecv", (sa["dir"], sb["dir"])
        # The media addresses are the UAs' own: switchboard is not in the
        # media path.
        assert sa["remote"].startswith(self.b.host + ":"), sa["remote"]
        assert sb["remote"].startswith(self.a.host + ":"), sb["remote"]
        return sa, sb

    def assert_through_switchboard(self, tcp_from_switchboard=False):
        """Every SIP message of both UAs went to or came from switchboard:
        none went straight from one phone to the other (Record-Route).
        tcp_from_switchboard: bob may also get messages on a TCP
        connection switchboard opened (from an address of its choice)."""
        for ua in (self.a, self.b):
            msgs = ua.sip_messages()
            assert msgs, "no SIP trace in %s's log" % ua.name
            for m in msgs:
                if tcp_from_switchboard and ua is self.b and \
                        m["proto"] == "TCP" and \
                        "%s:%d" % (self.a.host, self.a.sip_port) not in \
                        (m["src"], m["dst"]):
                    continue
                assert self.sb in (m["src"], m["dst"]), \
                    "%s: %s %s -> %s (%s, %d bytes) not through " \
                    "switchboard %s%s" % (
                        ua.name, m["start"], m["src"], m["dst"], m["proto"],
                        m["size"], self.sb, self.diag())
        return self.a.sip_messages(), self.b.sip_messages()

    def assert_invite_stayed_udp(self):
        """The precondition of the tests with short addresses: the INVITE
        switchboard forwarded to bob stayed below UDP_MAX bytes, on UDP."""
        inv = requests(self.b.sip_messages(), "INVITE")
        assert inv, "bob got no INVITE"
        assert inv[0]["proto"] == "UDP" and inv[0]["size"] <= UDP_MAX, \
            "the forwarded INVITE (%d bytes) went over %s: see " \
            "test_invite_over_1300_bytes" % (inv[0]["size"], inv[0]["proto"])

    def proxy_stats(self):
        """switchboard's proxy counters (`ctl stats`)."""
        st = ctl(self.s, "stats")
        assert "proxy" in st, sorted(st)
        return st["proxy"]


def unique(msgs):
    """msgs without UDP retransmissions (the same message again)."""
    seen, out = set(), []
    for m in msgs:
        key = (m["src"], m["dst"], m["start"], tuple(header(m, "cseq")),
               tuple(header(m, "via")[:1]))
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def requests(msgs, method, sent_by=None):
    """The requests of one method in a trace (sent_by: 'src' address),
    retransmissions left out."""
    return unique([m for m in msgs if m["start"].startswith(method + " ")
                   and (sent_by is None or m["src"] == sent_by)])


def responses(msgs, method, code=None):
    """The responses to one method (CSeq) in a trace, retransmissions
    left out."""
    out = []
    for m in msgs:
        if not m["start"].startswith("SIP/2.0 "):
            continue
        cseq = header(m, "cseq")
        if cseq and cseq[0].split()[-1] == method and \
                (code is None or m["start"].split()[1] == str(code)):
            out.append(m)
    return unique(out)


def rr_names_switchboard(msg, sb):
    return any(sb in v for v in header(msg, "record-route"))


@pytest.fixture
def make_call(start_server, tmp_path):
    """make_call(ring_timeout_s=...) -> Call: switchboard with users
    alice, bob and carol (never registered); alice and bob registered
    from baresip with digest."""
    uas = []

    def make(ring_timeout_s=30, caller="alice", callee="bob",
             transports=("udp",), codecs=("g711",), addr=short_loopback):
        host = addr()
        data = tmp_path / "data"
        for user in (caller, callee, "carol"):
            add_user(data, "%s@%s" % (user, host), user + "-pw")
        s = start_server(config=CONFIG.format(ring=ring_timeout_s),
                         hosts=[host], transports=transports)
        a = Baresip(tmp_path, addr(), "alice", tone_hz=ALICE_HZ,
                    trace=True, codecs=codecs)
        uas.append(a)
        b = Baresip(tmp_path, addr(), "bob", tone_hz=BOB_HZ,
                    trace=True, codecs=codecs)
        uas.append(b)
        for ua, user in ((a, caller), (b, callee)):
            ua.register("<sip:%s@%s:%d>;auth_pass=%s-pw;regint=300" % (
                user, s.host, s.port, user))
        return Call(s, a, b, caller, callee)

    yield make
    for ua in uas:
        ua.close()


def test_control_direct_call_without_switchboard(tmp_path):
    """Control: the same two baresips call each other directly (no
    registrar, no proxy), so that a failure of the tests below that this
    one does not share is switchboard's, not baresip's or the machine's."""
    a = Baresip(tmp_path, loopback_addr(), "alice", tone_hz=ALICE_HZ)
    b = Baresip(tmp_path, loopback_addr(), "bob", tone_hz=BOB_HZ)
    try:
        a.add_account("<sip:alice@%s:%d>;regint=0" % (a.host, a.sip_port))
        b.add_account("<sip:bob@%s:%d>;regint=0" % (b.host, b.sip_port))
        a.dial("sip:bob@%s:%d" % (b.host, b.sip_port))
        ring = a.expect({"CALL_RINGING", "CALL_CLOSED"}, 5)
        assert ring["type"] == "CALL_RINGING", "%s%s%s" % (
            ring, a.diag(), b.diag())
        b.expect("CALL_INCOMING", 5)
        b.accept()
        a.expect("CALL_ESTABLISHED", 5)
        b.expect("CALL_ESTABLISHED", 5)
        deadline = time.monotonic() + 5
        while True:
            sa, sb = a.audio_stats(), b.audio_stats()
            if (sa["rx_from"].get(sb["ssrc"], 0) >= 10 and
                    sb["rx_from"].get(sa["ssrc"], 0) >= 10) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert sa["rx_from"].get(sb["ssrc"], 0) >= 10, sa["text"]
        assert sb["rx_from"].get(sa["ssrc"], 0) >= 10, sb["text"]
        a.send_dtmf("7")
        assert b.expect("CALL_DTMF_START", 5)["param"] == "7"
        b.hangup()
        assert a.expect("CALL_CLOSED", 5)["param"] == \
            "Connection reset by peer"
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("bye_from", ["caller", "callee"])
def test_call_answer_audio_bye(make_call, bye_from):
    """Ringing, answer, audio both ways (RTP counters and the other side's
    tone in the decoded audio), BYE from either side through the proxy."""
    c = make_call()
    call_id = c.establish()
    c.assert_rtp_flows()
    time.sleep(RTP_WAIT_S)
    assert c.a.calls() == [("ESTABLISHED", c.uri("bob"))], c.a.calls()
    assert c.b.calls()[0][0] == "ESTABLISHED", c.b.calls()

    ender, other = (c.a, c.b) if bye_from == "caller" else (c.b, c.a)
    ender.hangup()
    e = ender.expect("CALL_CLOSED", 5, call_id, c.diag)
    o = other.expect("CALL_CLOSED", 5, call_id, c.diag)
    # The other side got a BYE ("reset by peer"), not a timeout or error.
    assert o["param"] == "Connection reset by peer", "%s%s" % (
        o, c.diag())
    assert close_code(e) is None, e
    assert c.a.calls() == [] and c.b.calls() == []
    # The ender's call closed when it sent the BYE: its 200 comes later.
    assert wait_for(lambda: responses(ender.sip_messages(), "BYE", 200)), \
        c.diag()

    am, bm = c.assert_through_switchboard()
    # The INVITE reached bob with switchboard's Record-Route, the 200
    # came back to alice with it: the BYE follows the route set.
    inv_b = requests(bm, "INVITE")
    assert len(inv_b) == 1 and rr_names_switchboard(inv_b[0], c.sb), inv_b
    ok_a = responses(am, "INVITE", 200)
    assert ok_a and rr_names_switchboard(ok_a[-1], c.sb), ok_a
    ender_msgs, other_msgs = (am, bm) if ender is c.a else (bm, am)
    assert len(requests(ender_msgs, "BYE", "%s:%d" % (
        ender.host, ender.sip_port))) == 1, ender_msgs
    assert len(requests(other_msgs, "BYE", c.sb)) == 1, other_msgs
    # alice's INVITE was challenged (407) and sent again with credentials.
    inv_a = requests(am, "INVITE", "%s:%d" % (c.a.host, c.a.sip_port))
    assert len(inv_a) == 2, inv_a
    assert responses(am, "INVITE", 407)
    assert header(inv_a[1], "proxy-authorization"), inv_a[1]

    # What each side decoded is the other side's tone.
    for ua, hz, own in ((c.a, BOB_HZ, ALICE_HZ), (c.b, ALICE_HZ, BOB_HZ)):
        wavs = ua.decoded_wavs()
        assert len(wavs) == 1, (ua.name, wavs)
        rate, samples = wav_samples(wavs[0])
        samples = samples[rate // 4:]  # past the jitter buffer's start
        assert len(samples) >= rate // 2, (ua.name, len(samples))
        assert tone_power(samples, rate, hz) > 0.5, (ua.name, hz)
        assert tone_power(samples, rate, own) < 0.05, (ua.name, own)

    st = c.proxy_stats()
    # INVITE and BYE forwarded, their 200s relayed, the 2xx ACK stateless.
    assert st["requests"] >= 2 and st["forwarded_2xx"] >= 2, st
    assert st["stateless_acks"] >= 1 and st["dropped"] == 0, st


def test_dtmf_both_ways(make_call):
    """RFC 4733 digits sent by either side arrive at the other, in order."""
    c = make_call()
    call_id = c.establish()
    c.assert_rtp_flows(min_packets=5)
    c.a.send_dtmf("1#9")
    c.b.send_dtmf("*0")

    def digits(ua, n):
        got = []
        for _ in range(n):
            e = ua.wait_event("CALL_DTMF_START", 5, call_id)
            if e is None:
                break
            got.append(e["param"])
        return "".join(got)

    assert digits(c.b, 3) == "1#9", c.diag()
    assert digits(c.a, 2) == "*0", c.diag()
    c.a.hangup()
    c.b.expect("CALL_CLOSED", 5, call_id, c.diag)
    c.assert_through_switchboard()


@pytest.mark.parametrize("holder", ["caller", "callee"])
def test_hold_resume(make_call, holder):
    """hold / resume re-INVITEs (a=sendonly, then a=sendrecv) from either
    side reach the other through switchboard; audio stops and returns."""
    c = make_call()
    call_id = c.establish()
    c.assert_rtp_flows()
    h, o = (c.a, c.b) if holder == "caller" else (c.b, c.a)
    h_addr = "%s:%d" % (h.host, h.sip_port)

    o.drop_pending("CALL_REMOTE_SDP")  # the ones of the call set-up
    h.hold()
    # The re-INVITE is an offer at the other end, answered there.
    e = o.expect("CALL_REMOTE_SDP", 5, call_id, c.diag)
    assert e["param"] == "offer", e
    deadline = time.monotonic() + 5
    while True:
        sh, so = h.audio_stats(), o.audio_stats()
        if (sh["dir"], so["dir"]) == ("sendonly", "recvonly") or \
                time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert (sh["dir"], so["dir"]) == ("sendonly", "recvonly"), \
        "%s %s%s" % (sh["dir"], so["dir"], c.diag())
    # baresip 1.0 stops sending both ways while held: the counters freeze.
    time.sleep(0.3)
    before = o.audio_stats()["rx_packets"], h.audio_stats()["rx_packets"]
    time.sleep(0.8)
    after = o.audio_stats()["rx_packets"], h.audio_stats()["rx_packets"]
    assert after[0] - before[0] <= 2 and after[1] - before[1] <= 2, \
        (before, after)

    h.resume()
    deadline = time.monotonic() + 5
    while True:
        sh, so = h.audio_stats(), o.audio_stats()
        if sh["dir"] == so["dir"] == "sendrecv" or \
                time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sh["dir"] == so["dir"] == "sendrecv", (sh["dir"], so["dir"])
    time.sleep(RTP_WAIT_S)
    again = o.audio_stats()["rx_packets"], h.audio_stats()["rx_packets"]
    assert again[0] - after[0] >= 20 and again[1] - after[1] >= 20, \
        "%s %s%s" % (after, again, c.diag())

    c.a.hangup()
    c.b.expect("CALL_CLOSED", 5, call_id, c.diag)
    hm = h.sip_messages()
    om = o.sip_messages()
    c.assert_through_switchboard()
    # Two re-INVITEs (in-dialog: To tag) from the holder, to switchboard,
    # each answered 200 and ACKed; the other side got both from it.
    re_h = [m for m in requests(hm, "INVITE", h_addr)
            if ";tag=" in header(m, "to")[0]]
    re_o = [m for m in requests(om, "INVITE", c.sb)
            if ";tag=" in header(m, "to")[0]]
    assert len(re_h) == 2 and len(re_o) == 2, (re_h, re_o)
    for m in re_h:
        assert m["dst"] == c.sb and header(m, "route"), m
    # The holder gets 200 for the initial INVITE (if caller) + 2 re-INVITEs.
    oks = [r for r in responses(hm, "INVITE", 200) if r["dst"] == h_addr]
    assert len(oks) == (3 if h is c.a else 2), oks
    assert len(requests(hm, "ACK", h_addr)) >= 2


def test_cancel_before_answer(make_call):
    """The caller hangs up while the callee rings: CANCEL goes through
    switchboard (200 to the CANCEL, 487 to the INVITE) to the callee,
    whose call ends."""
    c = make_call()
    _, ring = c.dial_and_ring()
    c.a.hangup()
    c.a.expect("CALL_CLOSED", 5, ring["id"], c.diag)
    e = c.b.expect("CALL_CLOSED", 5, ring["id"], c.diag)
    assert close_code(e) is None, e
    assert c.a.calls() == [] and c.b.calls() == []
    # The 487s come after the events; wait for them in the traces.
    a_addr = "%s:%d" % (c.a.host, c.a.sip_port)
    wait_for(lambda: responses(c.a.sip_messages(), "INVITE", 487) and
             responses(c.b.sip_messages(), "INVITE", 487))
    am, bm = c.assert_through_switchboard()
    assert len(requests(am, "CANCEL", a_addr)) == 1, am
    assert responses(am, "CANCEL", 200), am
    assert responses(am, "INVITE", 487), am
    assert len(requests(bm, "CANCEL", c.sb)) == 1, bm
    assert responses(bm, "INVITE", 487), bm
    assert not responses(am, "INVITE", 200), am
    assert c.proxy_stats()["cancelled"] == 1, c.proxy_stats()


def test_busy(make_call):
    """The callee rejects the ringing call (baresip answers 486): the
    caller's call ends with 486."""
    c = make_call()
    _, ring = c.dial_and_ring()
    c.b.hangup()
    e = c.a.expect("CALL_CLOSED", 5, ring["id"], c.diag)
    assert close_code(e) == 486, "%s%s" % (e, c.diag())
    c.b.expect("CALL_CLOSED", 5, ring["id"], c.diag)
    assert wait_for(lambda: responses(c.b.sip_messages(), "INVITE", 486))
    am, bm = c.assert_through_switchboard()
    assert responses(am, "INVITE", 486), am
    assert c.proxy_stats()["final_errors"] >= 1, c.proxy_stats()


def test_no_answer_times_out(make_call):
    """Nobody answers: after proxy.ring_timeout_s switchboard cancels the
    branch (the callee stops ringing) and answers the caller 408."""
    c = make_call(ring_timeout_s=2)
    t0 = time.monotonic()
    _, ring = c.dial_and_ring()
    e = c.a.expect("CALL_CLOSED", 8, ring["id"], c.diag)
    took = time.monotonic() - t0
    assert close_code(e) == 408, "%s%s" % (e, c.diag())
    assert 1.5 <= took <= 6, took
    eb = c.b.expect("CALL_CLOSED", 5, ring["id"], c.diag)
    assert close_code(eb) is None, eb
    wait_for(lambda: responses(c.b.sip_messages(), "INVITE", 487))
    am, bm = c.assert_through_switchboard()
    assert len(requests(bm, "CANCEL", c.sb)) == 1, bm
    assert responses(bm, "INVITE", 487), bm
    assert not requests(am, "CANCEL"), am  # alice did not give up
    assert c.a.calls() == [] and c.b.calls() == []
    assert c.proxy_stats()["ring_timeouts"] == 1, c.proxy_stats()


def test_unknown_user(make_call):
    """A user switchboard does not know: 404 to the caller, nobody rings."""
    c = make_call()
    c.a.dial(c.uri("nobody"))
    e = c.a.expect("CALL_CLOSED", 5, context=c.diag)
    assert close_code(e) == 404, "%s%s" % (e, c.diag())
    assert c.b.wait_event("CALL_INCOMING", 0.3) is None
    assert not requests(c.b.sip_messages(), "INVITE")
    assert c.proxy_stats()["not_found"] == 1, c.proxy_stats()


def test_known_user_not_registered(make_call):
    """carol exists but has no binding: 480 to the caller."""
    c = make_call()
    c.a.dial(c.uri("carol"))
    e = c.a.expect("CALL_CLOSED", 5, context=c.diag)
    assert close_code(e) == 480, "%s%s" % (e, c.diag())
    assert c.b.wait_event("CALL_INCOMING", 0.3) is None
    assert c.proxy_stats()["unavailable"] == 1, c.proxy_stats()




@pytest.mark.parametrize("transports", [
    pytest.param(("udp",), id="udp_listener"),
    pytest.param(("udp", "tcp"), id="udp_and_tcp_listeners"),
])
def test_invite_over_1300_bytes(make_call, transports):
    """An INVITE that switchboard forwards with more than 1300 bytes (long
    user names, more codecs): whatever transport switchboard picks for it
    (RFC 3261 18.1.1 says TCP), the call works: bob's 200 is ACKed (bob's
    call is established), audio flows, and alice's BYE reaches bob."""
    c = make_call(caller=LONG_CALLER, callee=LONG_CALLEE,
                  transports=transports, codecs=MORE_CODECS)
    call_id = c.establish(stay_udp=False)
    inv = requests(c.b.sip_messages(), "INVITE")
    assert inv[0]["size"] > UDP_MAX, inv[0]["size"]  # what this test is for
    c.assert_rtp_flows()
    c.a.hangup()
    o = c.b.expect("CALL_CLOSED", 5, call_id, c.diag)
    assert o["param"] == "Connection reset by peer", "%s%s" % (
        o, c.diag())
    c.a.expect("CALL_CLOSED", 5, call_id, c.diag)
    c.assert_through_switchboard(tcp_from_switchboard=True)


def test_own_credentials_not_forwarded(make_call):
    """The Proxy-Authorization alice answered switchboard's 407 with is
    for switchboard's realm: switchboard consumes it (RFC 3261 20.28,
    22.3) and does not hand alice's digest response on to bob."""
    c = make_call()
    _, ring = c.dial_and_ring()
    inv_a = requests(c.a.sip_messages(), "INVITE",
                     "%s:%d" % (c.a.host, c.a.sip_port))
    realm = 'realm="%s"' % c.s.host
    assert any(realm in v for v in header(inv_a[-1], "proxy-authorization"))
    inv_b = requests(c.b.sip_messages(), "INVITE")
    assert len(inv_b) == 1, inv_b
    assert header(inv_b[0], "proxy-authorization") == [], \
        header(inv_b[0], "proxy-authorization")
    c.a.hangup()
    c.b.expect("CALL_CLOSED", 5, ring["id"], c.diag)
