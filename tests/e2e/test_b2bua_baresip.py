"""End to end: two real baresip UAs register with digest and call each
other through switchboard as a B2BUA (call_mode: b2bua).

switchboard terminates alice's INVITE (the A-leg) and places a new call to
bob (the B-leg): each phone sees its own dialog with switchboard, with its
own Call-ID, tags and Contact.  Media is not anchored yet: the RTP (and DTMF
as RFC 4733 events in it) goes straight between the two baresips, so these
tests prove that switchboard set the media up right through both legs' SDP.

Every SIP message either baresip sent or received is read back from its SIP
trace, to check that it went through switchboard and that nothing of one
leg's signalling leaked to the other (topology hiding).
"""
# SPDX-License-Identifier: BSD-2-Clause
import random
import re
import sqlite3
import time

import pytest

from baresiphelp import Baresip, close_code, header, tone_power, wav_samples
from reghelp import add_user, ctl, wait_for

CONFIG = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
call_mode: {mode}
proxy:
  record_route: true
b2bua:
  ring_timeout_s: {ring}
media:
  mode: {media}
"""

ALICE_HZ, BOB_HZ = 440, 1000
RTP_WAIT_S = 1.2  # 20 ms packets: ~60 each way
CDR_WAIT_S = 3.0  # the store writes behind (~100 ms); bounded wait


def short_loopback():
    """A random 127.d.d.d (short addresses keep INVITEs well under 1300
    bytes, so everything stays on UDP)."""
    return "127.%d.%d.%d" % (random.randint(1, 9), random.randint(0, 9),
                             random.randint(2, 9))


def distinct_loopbacks(n):
    out = []
    while len(out) < n:
        a = short_loopback()
        if a not in out:
            out.append(a)
    return out


# -- the SIP trace, raw ------------------------------------------------------

_TRACE = re.compile(r"\x1b\[36;1m#\n(\w+) (\S+) -> (\S+)\n(.*?)\x1b\[;m",
                    re.S)


def raw_messages(ua):
    """[(src, dst, raw text)] of ua's SIP trace, in order (what
    Baresip.sip_messages parses, with the whole message kept)."""
    out = []
    text = ua.log_path.read_bytes().decode("utf-8", "replace")
    for m in _TRACE.finditer(text):
        raw = m.group(4)
        if raw.endswith("\n") and not raw.endswith("\r\n"):
            raw = raw[:-1]
        out.append((m.group(2), m.group(3), raw))
    return out


def unique(msgs):
    seen, out = set(), []
    for m in msgs:
        key = (m["src"], m["dst"], m["start"], tuple(header(m, "cseq")),
               tuple(header(m, "via")[:1]))
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def requests(msgs, method, sent_by=None):
    return unique([m for m in msgs if m["start"].startswith(method + " ")
                   and (sent_by is None or m["src"] == sent_by)])


def responses(msgs, method, code=None):
    out = []
    for m in msgs:
        if not m["start"].startswith("SIP/2.0 "):
            continue
        cseq = header(m, "cseq")
        if cseq and cseq[0].split()[-1] == method and \
                (code is None or m["start"].split()[1] == str(code)):
            out.append(m)
    return unique(out)


def sdp_origins(ua, sb):
    """The o= lines of the SDP bodies ua received from sb, in order, UDP
    retransmissions left out: [(start line, sess-id, sess-version,
    address)]."""
    out, seen = [], set()
    for src, dst, raw in raw_messages(ua):
        if src != sb:
            continue
        head, _, body = raw.partition("\r\n\r\n")
        o = re.search(r"^o=\S+ (\d+) (\d+) IN IP4 (\S+?)\r?$", body,
                      re.M)
        cseq = re.search(r"^CSeq:\s*(.*?)\r?$", head, re.M | re.I)
        key = (head.split("\r\n")[0], cseq and cseq.group(1))
        if o and key not in seen:
            seen.add(key)
            out.append((key[0], o.group(1), int(o.group(2)), o.group(3)))
    return out


def tag_of(value):
    m = re.search(r";\s*tag=([^;>\s]+)", value)
    return m.group(1) if m else None


class Call:
    """switchboard (B2BUA), alice (caller) and bob (callee), registered."""

    def __init__(self, server, alice, bob):
        self.s, self.a, self.b = server, alice, bob
        self.sb = "%s:%d" % (server.host, server.port)

    def addr(self, ua):
        return "%s:%d" % (ua.host, ua.sip_port)

    def uri(self, user):
        return "sip:%s@%s" % (user, self.sb)

    def diag(self):
        return "%s%s\n--- switchboard:\n%s" % (
            self.a.diag(), self.b.diag(), self.s.stderr()[-30000:])

    def dial_and_ring(self):
        """alice dials bob; bob's phone rings and alice hears 180.
        Returns (bob's CALL_INCOMING, alice's CALL_RINGING)."""
        self.a.dial(self.uri("bob"))
        ring = self.a.expect({"CALL_RINGING", "CALL_CLOSED"}, 5,
                             context=self.diag)
        assert ring["type"] == "CALL_RINGING", "%s%s" % (ring, self.diag())
        inc = self.b.expect("CALL_INCOMING", 5, context=self.diag)
        assert "alice@" in inc["peeruri"], inc
        # Two dialogs: the B-leg has its own Call-ID.
        assert inc["id"] != ring["id"], (inc, ring)
        return inc, ring

    def dial_and_ring_proxy(self):
        """dial_and_ring for a proxied call (one Call-ID at both ends)."""
        self.a.dial(self.uri("bob"))
        ring = self.a.expect({"CALL_RINGING", "CALL_CLOSED"}, 5,
                             context=self.diag)
        assert ring["type"] == "CALL_RINGING", "%s%s" % (ring, self.diag())
        inc = self.b.expect("CALL_INCOMING", 5, context=self.diag)
        assert inc["id"] == ring["id"], (inc, ring)
        return inc, ring

    def establish(self):
        """Returns (alice's Call-ID, bob's Call-ID)."""
        inc, ring = self.dial_and_ring()
        self.b.accept()
        ea = self.a.expect("CALL_ESTABLISHED", 5, ring["id"], self.diag)
        eb = self.b.expect("CALL_ESTABLISHED", 5, inc["id"], self.diag)
        return ea["id"], eb["id"]

    def assert_rtp_flows(self, min_packets=20):
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
        # Not anchored: the media addresses are the phones' own, carried
        # from one leg's SDP to the other's.
        assert sa["remote"].startswith(self.b.host + ":"), sa["remote"]
        assert sb["remote"].startswith(self.a.host + ":"), sb["remote"]
        return sa, sb

    def assert_through_switchboard(self):
        """No SIP message went straight from one phone to the other."""
        for ua in (self.a, self.b):
            msgs = ua.sip_messages()
            assert msgs, "no SIP trace in %s's log" % ua.name
            for m in msgs:
                assert self.sb in (m["src"], m["dst"]), \
                    "%s: %s %s -> %s not through switchboard%s" % (
                        ua.name, m["start"], m["src"], m["dst"],
                        self.diag())
        return self.a.sip_messages(), self.b.sip_messages()

    def identity(self, ua):
        """What ua put in the SIP messages it sent: Call-IDs, its own tags
        (From tag of its requests, To tag of its responses), Contact URIs,
        User-Agent / Server values."""
        me = self.addr(ua)
        ids = {"call_id": set(), "tag": set(), "contact": set(),
               "user_agent": set()}
        for m in ua.sip_messages():
            if m["src"] != me:
                continue
            ids["call_id"].update(header(m, "call-id"))
            is_req = not m["start"].startswith("SIP/2.0 ")
            for v in header(m, "from" if is_req else "to"):
                if tag_of(v):
                    ids["tag"].add(tag_of(v))
            for v in header(m, "contact"):
                u = re.search(r"<([^>]+)>", v)
                ids["contact"].add(u.group(1) if u else v.split(";")[0])
            ids["user_agent"].update(header(m, "user-agent"))
            ids["user_agent"].update(header(m, "server"))
        return ids

    def topology_leaks(self):
        """What assert_topology_hidden looks for, as a list of findings
        ("alice: Call-ID '...' in 'SIP/2.0 200 Answering'")."""
        leaks = []
        for ua, other in ((self.a, self.b), (self.b, self.a)):
            ids = self.identity(other)
            assert ids["call_id"] and ids["tag"] and ids["contact"], ids
            me = self.addr(ua)
            got = [r for r in raw_messages(ua)
                   if r[0] == self.sb and r[1] == me]
            assert got, "%s received nothing from switchboard" % ua.name
            for _, _, raw in got:
                head, _, body = raw.partition("\r\n\r\n")
                lines = [ln for ln in (head + "\r\n" + body).split("\r\n")
                         if not re.match(r"^[cm]=", ln)]
                text = "\r\n".join(lines)
                start = lines[0]
                needles = [("Call-ID", x) for x in ids["call_id"]] + \
                    [("tag", x) for x in ids["tag"]] + \
                    [("Contact", x) for x in ids["contact"]] + \
                    [("User-Agent", x) for x in ids["user_agent"]] + \
                    [("address", other.host)]
                for what, needle in needles:
                    if needle and needle in text:
                        leaks.append("%s: %s %r in %r" % (
                            ua.name, what, needle, start))
                if re.search(r":%d(?!\d)" % other.sip_port, text):
                    leaks.append("%s: SIP port %d in %r" % (
                        ua.name, other.sip_port, start))
                # No header names the phone software: switchboard sends
                # its own User-Agent / Server (b2bua.hide_user_agent).
                # (The SDP's a=tool:baresip is body, relayed as is.)
                if "baresip" in head:
                    leaks.append("%s: 'baresip' in the headers of %r" % (
                        ua.name, start))
        return sorted(set(leaks))

    def assert_topology_hidden(self):
        """In each phone's trace, no message received from switchboard
        carries the other phone's Call-ID, tags, Contact, SIP address
        (host or port) or User-Agent; the SDP's c= and m= lines are
        the exception (media is not anchored)."""
        leaks = self.topology_leaks()
        assert not leaks, "%s\n%s" % ("\n".join(leaks), self.diag())

    def b2bua_stats(self):
        st = ctl(self.s, "stats")
        assert "b2bua" in st, sorted(st)
        return st["b2bua"]

    def cdrs(self):
        db = self.s.data_dir / "switchboard.db"
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=2)
        try:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute(
                "SELECT * FROM cdrs ORDER BY id")]
        finally:
            con.close()

    def wait_cdrs(self, n=1):
        rows = []

        def have():
            rows[:] = self.cdrs()
            return len(rows) >= n
        wait_for(have, CDR_WAIT_S)
        return rows


@pytest.fixture
def make_call(start_server, tmp_path):
    """make_call(ring_timeout_s=...) -> Call: switchboard in b2bua mode
    with users alice and bob, both registered from baresip with digest."""
    uas = []

    def make(ring_timeout_s=30, mode="b2bua", media="bypass", phones=None):
        host, ha, hb = distinct_loopbacks(3)
        if phones:  # the phones' own addresses (RTP leaves from 127.0.0.1)
            ha, hb = phones
        data = tmp_path / "data"
        for user in ("alice", "bob"):
            add_user(data, "%s@%s" % (user, host), user + "-pw")
        s = start_server(config=CONFIG.format(ring=ring_timeout_s,
                                                   mode=mode, media=media),
                         hosts=[host])
        a = Baresip(tmp_path, ha, "alice", tone_hz=ALICE_HZ, trace=True)
        uas.append(a)
        b = Baresip(tmp_path, hb, "bob", tone_hz=BOB_HZ, trace=True)
        uas.append(b)
        for ua, user in ((a, "alice"), (b, "bob")):
            ua.register("<sip:%s@%s:%d>;auth_pass=%s-pw;regint=300" % (
                user, s.host, s.port, user))
        return Call(s, a, b)

    yield make
    for ua in uas:
        ua.close()


# -- tests -------------------------------------------------------------------

@pytest.mark.parametrize("bye_from", ["caller", "callee"])
def test_call_answer_audio_bye(make_call, bye_from):
    """Ringing, answer, audio both ways (RTP counters and the other side's
    tone in the decoded audio), BYE from either side: switchboard answers
    it and BYEs the other leg."""
    c = make_call()
    a_id, b_id = c.establish()
    assert a_id != b_id
    c.assert_rtp_flows()
    time.sleep(RTP_WAIT_S)
    assert c.a.calls() == [("ESTABLISHED", c.uri("bob"))], c.a.calls()
    assert c.b.calls()[0][0] == "ESTABLISHED", c.b.calls()

    ender, other = (c.a, c.b) if bye_from == "caller" else (c.b, c.a)
    e_id, o_id = (a_id, b_id) if ender is c.a else (b_id, a_id)
    ender.hangup()
    e = ender.expect("CALL_CLOSED", 5, e_id, c.diag)
    o = other.expect("CALL_CLOSED", 5, o_id, c.diag)
    assert o["param"] == "Connection reset by peer", "%s%s" % (o, c.diag())
    assert close_code(e) is None, e
    assert c.a.calls() == [] and c.b.calls() == []
    assert wait_for(lambda: responses(ender.sip_messages(), "BYE", 200)), \
        c.diag()
    assert wait_for(lambda: responses(other.sip_messages(), "BYE", 200)), \
        c.diag()

    am, bm = c.assert_through_switchboard()
    # Each phone's dialog has one Call-ID, its own.
    assert {v for m in am for v in header(m, "call-id")
            if header(m, "cseq")[0].split()[-1] != "REGISTER"} == {a_id}
    assert {v for m in bm for v in header(m, "call-id")
            if header(m, "cseq")[0].split()[-1] != "REGISTER"} == {b_id}
    ender_msgs, other_msgs = (am, bm) if ender is c.a else (bm, am)
    assert len(requests(ender_msgs, "BYE", c.addr(ender))) == 1
    assert len(requests(other_msgs, "BYE", c.sb)) == 1, other_msgs
    # alice's INVITE was challenged (407) and sent again with credentials;
    # bob's INVITE carries no credentials of alice's.
    inv_a = requests(am, "INVITE", c.addr(c.a))
    assert len(inv_a) == 2, inv_a
    assert responses(am, "INVITE", 407)
    inv_b = requests(bm, "INVITE", c.sb)
    assert len(inv_b) == 1, inv_b
    assert header(inv_b[0], "proxy-authorization") == []

    # What each side decoded is the other side's tone.
    for ua, hz, own in ((c.a, BOB_HZ, ALICE_HZ), (c.b, ALICE_HZ, BOB_HZ)):
        wavs = ua.decoded_wavs()
        assert len(wavs) == 1, (ua.name, wavs)
        rate, samples = wav_samples(wavs[0])
        samples = samples[rate // 4:]
        assert len(samples) >= rate // 2, (ua.name, len(samples))
        assert tone_power(samples, rate, hz) > 0.5, (ua.name, hz)
        assert tone_power(samples, rate, own) < 0.05, (ua.name, own)

    c.assert_topology_hidden()

    # One CDR for the answered call, naming both legs.
    rows = c.wait_cdrs(1)
    assert len(rows) == 1, "%r%s" % (rows, c.diag())
    r = rows[0]
    assert r["call_id"] == a_id and r["b_call_id"] == b_id, r
    assert r["disposition"] == "answered", r
    assert r["cause"] == "normal", r
    assert r["hangup_by"] == bye_from, r
    assert "alice" in r["caller"] and "bob" in r["callee"], r
    assert r["a_status"] == 200 and r["b_status"] == 200, r
    assert 0 < r["start_ms"] <= r["ring_ms"] <= r["answer_ms"] <= \
        r["end_ms"], r
    assert r["billsec"] >= 1 and r["duration_s"] >= 1, r
    assert "%s:%d" % (c.b.host, c.b.sip_port) in r["b_target"], r

    st = c.b2bua_stats()
    assert st["calls"] == 1 and st["answered"] == 1 and \
        st["failed"] == 0 and st["b_legs"] == 1, st
    assert st["cdrs"] == 1 and st["alive"] == 0, st


def test_dtmf_both_ways(make_call):
    """RFC 4733 digits sent by either side arrive at the other, in order:
    the telephone-event payload was negotiated across both legs."""
    c = make_call()
    a_id, b_id = c.establish()
    c.assert_rtp_flows(min_packets=5)
    c.a.send_dtmf("1#9")
    c.b.send_dtmf("*0")

    def digits(ua, call_id, n):
        got = []
        for _ in range(n):
            e = ua.wait_event("CALL_DTMF_START", 5, call_id)
            if e is None:
                break
            got.append(e["param"])
        return "".join(got)

    assert digits(c.b, b_id, 3) == "1#9", c.diag()
    assert digits(c.a, a_id, 2) == "*0", c.diag()
    c.a.hangup()
    c.b.expect("CALL_CLOSED", 5, b_id, c.diag)
    c.assert_through_switchboard()
    c.assert_topology_hidden()


@pytest.mark.parametrize("holder", ["caller", "callee"])
def test_hold_resume(make_call, holder):
    """hold / resume re-INVITEs (a=sendonly, then a=sendrecv) from either
    side are relayed to the other leg; audio stops and returns."""
    c = make_call()
    a_id, b_id = c.establish()
    c.assert_rtp_flows()
    h, o = (c.a, c.b) if holder == "caller" else (c.b, c.a)
    o_id = b_id if o is c.b else a_id

    o.drop_pending("CALL_REMOTE_SDP")
    h.hold()
    e = o.expect("CALL_REMOTE_SDP", 5, o_id, c.diag)
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
    assert sh["dir"] == so["dir"] == "sendrecv", (sh["dir"], so["dir"],
                                                  c.diag())
    time.sleep(RTP_WAIT_S)
    again = o.audio_stats()["rx_packets"], h.audio_stats()["rx_packets"]
    assert again[0] - after[0] >= 20 and again[1] - after[1] >= 20, \
        "%s %s%s" % (after, again, c.diag())

    c.a.hangup()
    c.b.expect("CALL_CLOSED", 5, b_id, c.diag)
    hm, om = h.sip_messages(), o.sip_messages()
    c.assert_through_switchboard()
    # Two re-INVITEs from the holder to switchboard, two from switchboard
    # to the other phone, in the other phone's own dialog.
    re_h = [m for m in requests(hm, "INVITE", c.addr(h))
            if tag_of(header(m, "to")[0])]
    re_o = [m for m in requests(om, "INVITE", c.sb)
            if tag_of(header(m, "to")[0])]
    assert len(re_h) == 2 and len(re_o) == 2, (re_h, re_o)
    for m in re_o:
        assert header(m, "call-id") == [o_id], m
    oks = [r for r in responses(hm, "INVITE", 200) if r["dst"] == c.addr(h)]
    assert len(oks) == (3 if h is c.a else 2), oks
    assert len(requests(hm, "ACK", c.addr(h))) >= 2
    # switchboard ACKed the other phone's 200s to its re-INVITEs.
    assert len(requests(om, "ACK", c.sb)) >= 2, om
    # Each leg's SDP from switchboard has its own origin (switchboard's
    # address, one session id) whose version goes up by one with each
    # new SDP (RFC 3264 5, 8): initial, hold, resume.
    for ua in (c.a, c.b):
        origins = sdp_origins(ua, c.sb)
        assert len(origins) == 3, (ua.name, origins)
        assert len({o[1] for o in origins}) == 1, (ua.name, origins)
        v0 = origins[0][2]
        assert [o[2] for o in origins] == [v0, v0 + 1, v0 + 2], \
            (ua.name, origins)
        assert {o[3] for o in origins} == {c.s.host}, (ua.name, origins)
    c.assert_topology_hidden()


def test_cancel_before_answer(make_call):
    """The caller hangs up while the callee rings: switchboard answers the
    CANCEL (200, 487 to the INVITE) and CANCELs the B-leg."""
    c = make_call()
    inc, ring = c.dial_and_ring()
    c.a.hangup()
    c.a.expect("CALL_CLOSED", 5, ring["id"], c.diag)
    e = c.b.expect("CALL_CLOSED", 5, inc["id"], c.diag)
    assert close_code(e) is None, e
    assert c.a.calls() == [] and c.b.calls() == []
    wait_for(lambda: responses(c.a.sip_messages(), "INVITE", 487) and
             responses(c.b.sip_messages(), "INVITE", 487))
    am, bm = c.assert_through_switchboard()
    assert len(requests(am, "CANCEL", c.addr(c.a))) == 1, am
    assert responses(am, "CANCEL", 200), am
    assert responses(am, "INVITE", 487), am
    assert len(requests(bm, "CANCEL", c.sb)) == 1, bm
    assert responses(bm, "INVITE", 487), bm
    assert not responses(am, "INVITE", 200), am
    c.assert_topology_hidden()
    rows = c.wait_cdrs(1)
    assert len(rows) == 1 and rows[0]["disposition"] == "cancelled", rows
    assert rows[0]["hangup_by"] == "caller" and \
        rows[0]["a_status"] == 487 and rows[0]["billsec"] == 0, rows


def test_busy(make_call):
    """The callee rejects the ringing call (baresip answers 486): the
    caller's call ends with 486."""
    c = make_call()
    inc, ring = c.dial_and_ring()
    c.b.hangup()
    e = c.a.expect("CALL_CLOSED", 5, ring["id"], c.diag)
    assert close_code(e) == 486, "%s%s" % (e, c.diag())
    c.b.expect("CALL_CLOSED", 5, inc["id"], c.diag)
    assert wait_for(lambda: responses(c.b.sip_messages(), "INVITE", 486))
    # switchboard ACKed bob's 486 (hop by hop, in bob's transaction).
    assert wait_for(lambda: requests(c.b.sip_messages(), "ACK", c.sb))
    am, bm = c.assert_through_switchboard()
    assert responses(am, "INVITE", 486), am
    c.assert_topology_hidden()
    rows = c.wait_cdrs(1)
    assert len(rows) == 1 and rows[0]["disposition"] == "busy", rows
    assert rows[0]["a_status"] == rows[0]["b_status"] == 486, rows


def test_no_answer_times_out(make_call):
    """Nobody answers: after b2bua.ring_timeout_s switchboard CANCELs the
    B-leg (bob stops ringing) and answers alice 408."""
    c = make_call(ring_timeout_s=3)
    t0 = time.monotonic()
    inc, ring = c.dial_and_ring()
    e = c.a.expect("CALL_CLOSED", 10, ring["id"], c.diag)
    took = time.monotonic() - t0
    assert close_code(e) == 408, "%s%s" % (e, c.diag())
    assert 2.5 <= took <= 7, took
    eb = c.b.expect("CALL_CLOSED", 5, inc["id"], c.diag)
    assert close_code(eb) is None, eb
    wait_for(lambda: responses(c.b.sip_messages(), "INVITE", 487))
    am, bm = c.assert_through_switchboard()
    assert len(requests(bm, "CANCEL", c.sb)) == 1, bm
    assert responses(bm, "INVITE", 487), bm
    assert not requests(am, "CANCEL"), am
    assert c.a.calls() == [] and c.b.calls() == []
    c.assert_topology_hidden()
    rows = c.wait_cdrs(1)
    assert len(rows) == 1 and rows[0]["disposition"] == "no-answer", rows
    assert rows[0]["a_status"] == 408 and rows[0]["answer_ms"] == 0, rows


def test_control_scan_sees_the_proxy(make_call):
    """Control for the topology-hiding scan: the same call through
    switchboard as a proxy (one dialog end to end) must show up as leaks,
    so that the scan passing in b2bua mode means something."""
    c = make_call(mode="proxy")
    inc, ring = c.dial_and_ring_proxy()
    c.a.hangup()
    c.b.expect("CALL_CLOSED", 5, inc["id"], c.diag)
    leaks = c.topology_leaks()
    for who, what in (("alice", "Call-ID"), ("bob", "Call-ID"),
                      ("alice", "tag"), ("bob", "tag"),
                      ("bob", "Contact"), ("bob", "User-Agent")):
        assert any(x.startswith("%s: %s " % (who, what)) for x in leaks), \
            (who, what, leaks)
