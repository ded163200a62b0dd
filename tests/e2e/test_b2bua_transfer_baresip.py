"""End to end: call transfer through switchboard as a B2BUA (call_mode:
b2bua) with three real baresip phones (alice, bob, carol).

switchboard carries a REFER out itself (b2bua.refer: handle, docs/b2bua.md
"Transfers"): the transferor (bob) gets 202 and sipfrag NOTIFYs, the
target (carol) gets a new INVITE without SDP, and the transferee (alice)
a re-INVITE with carol's offer, in alice's own dialog; alice never sees
the REFER.  Media is not anchored: after the transfer alice's RTP goes
straight to carol and back, which is what the audio checks prove.

baresip 1.0 (Debian baresip-core) can only do blind transfer: its menu
module has `/transfer <uri>` (a REFER without Replaces) and no attended
transfer commands.
"""
# SPDX-License-Identifier: BSD-2-Clause
import re
import subprocess
import time

import pytest

from baresiphelp import Baresip, header, tone_power, wav_samples
from reghelp import add_user, wait_for
from test_b2bua_baresip import (CONFIG, RTP_WAIT_S, Call,
                                distinct_loopbacks, raw_messages, requests,
                                responses)

ALICE_HZ, BOB_HZ, CAROL_HZ = 440, 1000, 700
TRANSFER_WAIT_S = 10.0


class Trio(Call):
    """switchboard, alice (caller), bob (callee, the transferor) and carol
    (the transfer target), all registered with digest."""

    def __init__(self, server, alice, bob, carol):
        Call.__init__(self, server, alice, bob)
        self.c = carol

    def diag(self):
        return "%s%s%s\n--- switchboard:\n%s" % (
            self.a.diag(), self.b.diag(), self.c.diag(),
            self.s.stderr()[-60000:])

    def assert_all_through_switchboard(self):
        for ua in (self.a, self.b, self.c):
            for m in ua.sip_messages():
                assert self.sb in (m["src"], m["dst"]), \
                    "%s: %s %s -> %s not through switchboard%s" % (
                        ua.name, m["start"], m["src"], m["dst"],
                        self.diag())

    def rtp_between(self, x, y, min_packets=20, timeout=5.0):
        """RTP flows both ways between phones x and y (each one's
        counters for the other's SSRC); returns (stats x, stats y)."""
        deadline = time.monotonic() + timeout
        while True:
            sx, sy = x.audio_stats(), y.audio_stats()
            ok = sx["rx_from"].get(sy["ssrc"], 0) >= min_packets and \
                sy["rx_from"].get(sx["ssrc"], 0) >= min_packets
            if ok or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert ok, "RTP did not flow both ways between %s and %s:\n" \
            "%s %s\n%s %s%s" % (x.name, y.name, x.name, sx["text"],
                                y.name, sy["text"], self.diag())
        return sx, sy


def notify_frags(ua, sb):
    """The sipfrag status lines of the NOTIFYs ua received from sb, in
    order, UDP retransmissions left out: [(status line,
    Subscription-State)]."""
    out, seen = [], set()
    for src, dst, raw in raw_messages(ua):
        if src != sb or not raw.startswith("NOTIFY "):
            continue
        head, _, body = raw.partition("\r\n\r\n")
        hdrs = {}
        for ln in head.split("\r\n")[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        key = hdrs.get("cseq")
        if key in seen:
            continue
        seen.add(key)
        out.append((body.split("\r\n")[0].strip(),
                    hdrs.get("subscription-state", "")))
    return out


def tail_tone(ua, hz, own, secs=0.5):
    """(power at hz, power at own) in the last secs of what ua decoded
    (its last decoded-audio dump)."""
    wavs = ua.decoded_wavs()
    assert wavs, "%s decoded nothing" % ua.name
    rate, samples = wav_samples(wavs[-1])
    tail = samples[-int(rate * secs):]
    assert len(tail) >= rate * secs // 2, (ua.name, len(samples))
    return tone_power(tail, rate, hz), tone_power(tail, rate, own)


@pytest.fixture
def make_trio(start_server, tmp_path):
    uas = []

    def make(ring_timeout_s=30):
        host, ha, hb, hc = distinct_loopbacks(4)
        data = tmp_path / "data"
        for user in ("alice", "bob", "carol"):
            add_user(data, "%s@%s" % (user, host), user + "-pw")
        s = start_server(config=CONFIG.format(ring=ring_timeout_s,
                                                   mode="b2bua",
                                                   media="bypass"),
                         hosts=[host])
        phones = []
        for name, h, hz in (("alice", ha, ALICE_HZ), ("bob", hb, BOB_HZ),
                            ("carol", hc, CAROL_HZ)):
            ua = Baresip(tmp_path, h, name, tone_hz=hz, trace=True)
            uas.append(ua)
            phones.append(ua)
            ua.register("<sip:%s@%s:%d>;auth_pass=%s-pw;regint=300" % (
                name, s.host, s.port, name))
        return Trio(s, *phones)

    yield make
    for ua in uas:
        ua.close()


def transfer_and_answer(t):
    """alice calls bob, bob answers, bob transfers alice to carol, carol
    rings and answers.  Returns (alice's, bob's, carol's Call-ID)."""
    a_id, b_id = t.establish()
    t.rtp_between(t.a, t.b)
    t.b.run("transfer", t.uri("carol"))
    inc = t.c.expect("CALL_INCOMING", 5, context=t.diag)
    # The target is called in the transferee's name.
    assert "alice@" in inc["peeruri"], inc
    assert inc["id"] not in (a_id, b_id), inc
    t.c.accept()
    t.c.expect("CALL_ESTABLISHED", 5, inc["id"], t.diag)
    return a_id, b_id, inc["id"]


def test_blind_transfer_by_callee(make_trio):
    """bob blind-transfers alice to carol (baresip's /transfer: a REFER
    in bob's dialog): carol rings and answers, alice and carol talk,
    bob's call ends; the CDR counts the transfer."""
    t = make_trio()
    a_id, b_id, c_id = transfer_and_answer(t)
    # bob: the final NOTIFY (200) ends his call ("Call transfered"),
    # baresip sends BYE on it.
    e = t.b.expect("CALL_CLOSED", TRANSFER_WAIT_S, b_id, t.diag)
    assert e["param"] == "Call transfered", "%s%s" % (e, t.diag())
    assert wait_for(lambda: t.b.calls() == [], 3), t.b.calls()
    # alice's call with switchboard goes on (her dialog, re-INVITEd with
    # carol's offer); she now talks with carol.
    sa, sc = t.rtp_between(t.a, t.c, min_packets=20, timeout=8)
    assert sa["dir"] == sc["dir"] == "sendrecv", (sa["dir"], sc["dir"])
    assert sa["remote"].startswith(t.c.host + ":"), sa["remote"]
    assert sc["remote"].startswith(t.a.host + ":"), sc["remote"]
    assert t.a.calls() == [("ESTABLISHED", t.uri("bob"))], t.a.calls()
    assert [x[0] for x in t.c.calls()] == ["ESTABLISHED"], t.c.calls()
    time.sleep(RTP_WAIT_S)
    # What alice decodes last is carol's tone, and what carol decodes is
    # alice's.
    pc, pb = tail_tone(t.a, CAROL_HZ, BOB_HZ)
    assert pc > 0.5 and pb < 0.05, (pc, pb, t.a.decoded_wavs())
    pa, pown = tail_tone(t.c, ALICE_HZ, CAROL_HZ)
    assert pa > 0.5 and pown < 0.05, (pa, pown)

    # Signalling, from the three traces.
    t.assert_all_through_switchboard()
    am, bm, cm = (t.a.sip_messages(), t.b.sip_messages(),
                  t.c.sip_messages())
    # bob: REFER answered 202, NOTIFYs 100 ... 200 (terminated), his BYE.
    refers = requests(bm, "REFER", t.addr(t.b))
    assert len(refers) == 1, refers
    assert header(refers[0], "call-id") == [b_id], refers
    assert "carol@" in header(refers[0], "refer-to")[0], refers
    assert responses(bm, "REFER", 202), bm
    frags = notify_frags(t.b, t.sb)
    assert frags and frags[0][0] == "SIP/2.0 100 Trying", frags
    assert frags[-1][0].startswith("SIP/2.0 200"), frags
    assert frags[-1][1].startswith("terminated"), frags
    assert all(f[1].startswith("active") for f in frags[:-1]), frags
    assert len(requests(bm, "BYE", t.addr(t.b))) == 1, bm
    assert wait_for(lambda: responses(t.b.sip_messages(), "BYE", 200), 3)
    # alice never saw the REFER; one re-INVITE in her own dialog.
    assert not requests(am, "REFER") and not requests(am, "NOTIFY"), am
    reinv = [m for m in requests(am, "INVITE", t.sb)]
    assert len(reinv) == 1, reinv
    assert header(reinv[0], "call-id") == [a_id], reinv
    assert not requests(am, "BYE"), am
    # carol: an INVITE without SDP (she makes the offer in her 200, gets
    # the answer in the ACK).
    invc = requests(cm, "INVITE", t.sb)
    assert len(invc) == 1, invc
    assert header(invc[0], "call-id") == [c_id], invc
    assert header(invc[0], "content-length") in (["0"], []), invc
    assert requests(cm, "ACK", t.sb), cm

    # Hang up: alice's BYE ends carol's call too.
    t.a.hangup()
    t.a.expect("CALL_CLOSED", 5, a_id, t.diag)
    e = t.c.expect("CALL_CLOSED", 5, c_id, t.diag)
    assert e["param"] == "Connection reset by peer", "%s%s" % (e, t.diag())
    assert t.a.calls() == [] and t.c.calls() == []
    # Nothing of one phone's dialog reached another.
    for x, y in ((t.a, t.b), (t.a, t.c), (t.b, t.c)):
        Call(t.s, x, y).assert_topology_hidden()
    rows = t.wait_cdrs(1)
    time.sleep(0.3)  # a second row would show up by now
    rows = t.cdrs()
    assert len(rows) == 1, "%r%s" % (rows, t.diag())
    r = rows[0]
    assert r["transfers"] == 1, r
    assert r["call_id"] == a_id and r["b_call_id"] == b_id, r
    assert "alice" in r["caller"] and "bob" in r["callee"], r
    assert r["disposition"] == "answered" and r["cause"] == "normal", r
    assert r["hangup_by"] == "caller", r
    assert wait_for(lambda: t.b2bua_stats()["alive"] == 0, 3), \
        t.b2bua_stats()


@pytest.mark.parametrize("target", ["rejects", "unknown"])
def test_blind_transfer_fails(make_trio, target):
    """The transfer cannot be carried out: carol rejects the call (baresip
    answers 486; bob gets NOTIFYs 100, 180, then 486 with the subscription
    terminated), or the target is no user of ours (the REFER itself gets
    404).  alice is never touched: no re-INVITE, her media stays with bob,
    and switchboard keeps the call up.

    baresip 1.0 as the transferor then ends the call itself: its ua.c
    handles CALL_EVENT_TRANSFER_FAILED with mem_deref(call), which sends
    BYE (and no CALL_CLOSED event).  So "alice and bob go on talking" is
    shown on switchboard's side: bob's BYE after the failure is answered
    200 in the still-answered call (state answered -> terminated), and only
    then is alice sent BYE; the CDR has hangup_by=callee and no transfer.
    (A target that does not answer is given 60 s, too long for this
    suite.)"""
    t = make_trio()
    a_id, b_id = t.establish()
    t.rtp_between(t.a, t.b)
    user = "carol" if target == "rejects" else "nobody"
    t.b.run("transfer", t.uri(user))
    if target == "rejects":
        inc = t.c.expect("CALL_INCOMING", 5, context=t.diag)
        assert "alice@" in inc["peeruri"], inc
        t.c.hangup()
        e = t.c.expect("CALL_CLOSED", 5, inc["id"], t.diag)
    e = t.b.expect("TRANSFER_FAILED", TRANSFER_WAIT_S, b_id, t.diag)
    want = "486 Rejected" if target == "rejects" else "404 Not Found"
    assert e["param"] == want, "%s%s" % (e, t.diag())
    # baresip 1.0's own doing (see above): bob's BYE, then alice's call
    # is ended by switchboard.
    e = t.a.expect("CALL_CLOSED", 5, a_id, t.diag)
    assert e["param"] == "Connection reset by peer", "%s%s" % (e, t.diag())
    assert t.a.calls() == [] and t.b.calls() == [] and t.c.calls() == []

    t.assert_all_through_switchboard()
    am, bm, cm = (t.a.sip_messages(), t.b.sip_messages(),
                  t.c.sip_messages())
    refers = requests(bm, "REFER", t.addr(t.b))
    assert len(refers) == 1, refers
    frags = notify_frags(t.b, t.sb)
    if target == "rejects":
        assert responses(bm, "REFER", 202), bm
        assert [f[0] for f in frags] == ["SIP/2.0 100 Trying",
                                         "SIP/2.0 180 Ringing",
                                         "SIP/2.0 486 Rejected"], frags
        assert frags[-1][1].startswith("terminated"), frags
        # switchboard ACKed carol's 486; she got no SDP from anyone.
        assert wait_for(lambda: requests(t.c.sip_messages(), "ACK", t.sb),
                        3), cm
        assert responses(cm, "INVITE", 486), cm
    else:
        assert responses(bm, "REFER", 404), bm
        assert frags == [], frags
        assert not [m for m in cm
                    if not header(m, "cseq")[0].endswith("REGISTER")], cm
    # alice: one INVITE (hers), no re-INVITE: her media never moved.
    assert not requests(am, "INVITE", t.sb), am
    assert not requests(am, "REFER") and not requests(am, "NOTIFY"), am
    # The call ended only by bob's BYE, after the failure: switchboard
    # sent no BYE of its own to bob, and alice's BYE came from it.
    assert len(requests(bm, "BYE", t.addr(t.b))) == 1, bm
    assert not requests(bm, "BYE", t.sb), bm
    assert wait_for(lambda: responses(t.b.sip_messages(), "BYE", 200), 3)
    assert len(requests(am, "BYE", t.sb)) == 1, am
    log = t.s.stderr()
    i = log.find("transfer_failed") if target == "rejects" else \
        log.find("b2bua transfer ")
    assert i >= 0, log[-20000:]
    assert "from=answered to=terminated" in log[i:], log[i:]
    rows = t.wait_cdrs(1)
    assert len(rows) == 1, rows
    r = rows[0]
    assert r["transfers"] == 0 and r["hangup_by"] == "callee", r
    assert r["disposition"] == "answered" and r["cause"] == "normal", r


ATTENDED_CMDS = ("atransferstart", "atransferexec", "atransferabort")


def test_attended_transfer(make_trio):
    """Attended transfer (REFER with Replaces), if this baresip can send
    one: bob holds alice and calls carol (/atransferstart), carol answers,
    bob completes it (/atransferexec); alice and carol talk, bob has no
    calls left.  baresip 1.0 has no such command: skipped there."""
    t = make_trio()
    a_id, b_id = t.establish()
    helptext = t.b.run("help")  # during a call: the call commands too
    missing = [c for c in ATTENDED_CMDS if "/" + c not in helptext]
    if missing:
        ver = subprocess.run(["baresip", "-h"], capture_output=True,
                             text=True, timeout=5, stdin=subprocess.DEVNULL)
        m = re.search(r"baresip v(\S+)", ver.stdout + ver.stderr)
        pytest.skip("attended transfer needs baresip's /atransferstart, "
                    "/atransferexec, /atransferabort; baresip %s (menu "
                    "module) has only /transfer (blind REFER, no "
                    "Replaces); missing: %s" % (
                        m.group(1) if m else "(unknown version)",
                        ", ".join("/" + c for c in missing)))
    # Newer baresip (not available here, so never run on this machine):
    # atransferstart holds the current call and dials the target.
    t.b.run("atransferstart", t.uri("carol"))
    inc = t.c.expect("CALL_INCOMING", 5, context=t.diag)
    t.c.accept()
    t.c.expect("CALL_ESTABLISHED", 5, inc["id"], t.diag)
    t.b.run("atransferexec")
    # carol swaps her dialog with bob for one with alice (Replaces).
    t.rtp_between(t.a, t.c, timeout=TRANSFER_WAIT_S)
    assert wait_for(lambda: t.b.calls() == [], TRANSFER_WAIT_S), \
        "%s%s" % (t.b.calls(), t.diag())
    assert len(t.a.calls()) == 1 and len(t.c.calls()) == 1, \
        (t.a.calls(), t.c.calls())
    t.a.hangup()
    t.a.expect("CALL_CLOSED", 5, a_id, t.diag)
    assert wait_for(lambda: t.c.calls() == [], 5), t.c.calls()
    rows = t.wait_cdrs(2)
    assert any(r["transfers"] == 1 for r in rows), rows
