"""End to end through the stateful proxy: SIPp callers and callees over UDP
and TCP (the callees register first, then answer as out-of-call scenarios
of the same SIPp), parallel and serial forking, 100-call runs, and TLS
driven from Python (Debian's SIPp has no TLS), including a UDP<->TLS call
that must be double record-routed (RFC 5658)."""
# SPDX-License-Identifier: BSD-2-Clause
import contextlib
import datetime
import pathlib
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import free_udp_port, loopback_addr
from reghelp import add_user, bindings, ctl, wait_for
from uahelp import UA, Conn, Msg, parse_uri, uri_of

SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"
SIPP_DEADLINE_S = 30  # the Python bound on any one SIPp run
PASSWORD = "pw-bob-1"
# Two SIPps log a message sent and its consequence received by the other
# with timestamps taken around the send: allow this much disorder.
SKEW_S = 0.01

CONFIG = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
workers: 2
proxy:
  record_route: true
"""


def start(start_server, tmp_path, config=CONFIG, users=("bob",),
          transports=("udp",)):
    """A server on a fresh loopback address whose users exist first."""
    transports = tuple(dict.fromkeys(transports))
    host = loopback_addr()
    for user in users:
        add_user(tmp_path / "data", "%s@%s" % (user, host), PASSWORD)
    return start_server(config=config, hosts=[host], transports=transports)


def free_port(host):
    """A port free for both UDP and TCP on host (SIPp binds both)."""
    for _ in range(50):
        port = free_udp_port(host)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        return port
    raise AssertionError("no port free for UDP and TCP on " + host)


# -- SIPp processes --

SEP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)[ \t]*$",
                 re.M)


class Sipp:
    """One SIPp process against the server, its messages logged
    (-trace_msg) so that a test can read what it sent and received.
    Scenarios are names in scenarios/ or absolute paths."""

    def __init__(self, tmp_path, server, name, scenario, proto="udp",
                 rows=(), ooc=None, calls=1, rate=None, limit=None,
                 hold_ms=0, keys=(), timeout_s=25, extra=()):
        self.name = name
        self.host = server.host
        self.port = free_port(self.host)
        self.out_path = tmp_path / ("%s.out" % name)
        self.err_path = tmp_path / ("%s_errors.log" % name)
        self.msg_path = tmp_path / ("%s_messages.log" % name)
        inf = tmp_path / ("%s.csv" % name)
        inf.write_text("SEQUENTIAL\n" + "".join(
            ";".join(str(f) for f in r) + "\n" for r in rows) if rows
            else "SEQUENTIAL\nx\n")
        self.cmd = [
            "sipp", "%s:%d" % (self.host, server.port_of(proto)),
            "-sf", str(SCENARIOS / scenario), "-inf", str(inf),
            "-t", {"udp": "u1", "tcp": "t1"}[proto],
            "-m", str(calls), "-l", str(limit or calls),
            "-d", str(hold_ms),
            "-i", self.host, "-p", str(self.port),
            "-mi", self.host, "-mp", str(free_udp_port(self.host)),
            "-ci", self.host, "-cp", str(free_udp_port(self.host)),
            "-timeout", "%ds" % timeout_s, "-timeout_error",
            "-recv_timeout", "5000", "-nostdin", "-nd",
            "-trace_err", "-error_file", str(self.err_path),
            "-trace_msg", "-message_file", str(self.msg_path)]
        if rate:
            self.cmd += ["-r", str(rate)]
        if ooc:
            self.cmd += ["-oocsf", str(SCENARIOS / ooc)]
        for k, v in keys:
            self.cmd += ["-key", k, v]
        self.cmd += list(extra)
        self.tmp = tmp_path
        self.proc = None

    def start(self):
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(self.cmd, cwd=self.tmp,
                                         stdin=subprocess.DEVNULL,
                                         stdout=out,
                                         stderr=subprocess.STDOUT)
        return self

    def wait(self, timeout=SIPP_DEADLINE_S):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("sipp %s still running after %d s:\n%s" % (
                self.name, timeout, self.report()))

    def stop(self):
        """End a UAS whose main call is still pausing (SIGTERM: SIPp exits
        at once, logs flushed)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output(self):
        return self.out_path.read_text(errors="replace") \
            if self.out_path.exists() else ""

    BENIGN = ("The following events occurred",
              "Unable to bind remote control socket",
              "using the out-of-call scenario")

    def errors(self):
        """What SIPp logged as errors, the benign notes left out."""
        if not self.err_path.exists():
            return ""
        text = self.err_path.read_text(errors="replace")
        return "\n".join(
            line for line in text.splitlines()
            if line.strip() and not any(b in line for b in self.BENIGN))

    def report(self):
        return "--- %s (exit %s) ---\n%s\n--- errors ---\n%s" % (
            self.name, self.proc.returncode if self.proc else None,
            self.output()[-2500:], self.errors()[-4000:])

    def calls(self):
        """(successful, failed) main-scenario calls, from the last screen."""
        out = self.output()
        ok = re.findall(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", out)
        ko = re.findall(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", out)
        return (int(ok[-1]) if ok else None, int(ko[-1]) if ko else None)

    def messages(self):
        """[(unix time, "sent" | "recv", Msg)] from the message log."""
        if not self.msg_path.exists():
            return []
        text = self.msg_path.read_text(errors="replace").replace("\r\n",
                                                                 "\n")
        parts = SEP.split(text)
        out = []
        for ts, chunk in zip(parts[1::2], parts[2::2]):
            what, _, rest = chunk.lstrip("\n").partition("\n")
            if "message sent" in what:
                d = "sent"
            elif "message received" in what:
                d = "recv"
            else:
                continue
            rest = rest.strip("\n")
            if not rest:
                continue
            head, _, body = rest.partition("\n\n")
            data = head.replace("\n", "\r\n") + "\r\n\r\n" + body
            t = datetime.datetime.strptime(
                ts, "%Y-%m-%d %H:%M:%S.%f").timestamp()
            out.append((t, d, Msg(data.encode())))
        return out


def find(msgs, d, pred):
    return [(t, m) for t, dd, m in msgs if dd == d and pred(m)]


def req(method):
    return lambda m: m.method == method


def resp(status, method="INVITE"):
    return lambda m: m.status == status and m.cseq[1] == method


@pytest.fixture
def sipps(tmp_path):
    """Factory for Sipp processes; every one is ended after the test."""
    made = []

    def make(*a, **kw):
        s = Sipp(tmp_path, *a, **kw)
        made.append(s)
        return s

    make.all = made
    yield make
    for s in made:
        s.kill()


@contextlib.contextmanager
def evidence(server, *groups):
    """On a failed assertion, stop the SIPps and add their logs and the
    server's to the message."""
    try:
        yield
    except AssertionError as e:
        procs = [p for g in groups for p in getattr(g, "all", [g])]
        for p in procs:
            p.stop()
        raise AssertionError("%s\n%s\nserver:\n%s" % (
            e, "\n".join(p.report() for p in procs),
            server.stderr()[-8000:])) from None


def sipp_uas(sipps, server, name, ooc, user="bob", q="1.0", proto="udp",
             life_ms=25000, keys=()):
    """A SIPp that registers user@server with Contact
    sip:name@its-address;transport=proto;q=q (digest, from the socket it
    will be called on), then answers with the ooc scenario. Returns once
    the binding is visible."""
    s = sipps(server, name, "proxy_register.xml", proto=proto,
              rows=[(user, PASSWORD, name, q, proto)], ooc=ooc,
              hold_ms=life_ms, keys=keys, timeout_s=life_ms // 1000 + 5)
    s.start()
    contact = "sip:%s@%s:%d" % (name, server.host, s.port)

    def bound():
        if s.proc.poll() is not None:
            return True
        return any(b["contact"].startswith(contact)
                   for b in bindings(server, "%s@%s" % (user, server.host)))
    assert wait_for(bound, timeout=5) and s.proc.poll() is None, \
        "UAS %s did not register:\n%s\nserver:\n%s" % (
            name, s.report(), server.stderr()[-3000:])
    return s


def run_uac(sipps, server, name="uac", scenario="proxy_uac.xml",
            rows=(("bob",),), proto="udp", calls=1, rate=None, limit=None,
            hold_ms=100, uas=(), extra=()):
    """Run a SIPp caller to its end; assert every call succeeded."""
    s = sipps(server, name, scenario, proto=proto, rows=rows, calls=calls,
              rate=rate, limit=limit, hold_ms=hold_ms, timeout_s=25,
              extra=extra)
    rc = s.start().wait()
    ok, failed = s.calls()
    if rc != 0 or ok != calls or failed != 0:
        for u in uas:
            u.stop()
        pytest.fail("caller: exit %d, %s successful, %s failed of %d\n%s\n"
                    "%s\nserver:\n%s" % (
                        rc, ok, failed, calls, s.report(),
                        "\n".join(u.report() for u in uas),
                        server.stderr()[-6000:]))
    return s


def finish(server, *uas):
    """Stop the callees (their main call only pauses) once they are quiet;
    assert they logged no error."""
    time.sleep(0.3)
    for u in uas:
        u.stop()
    for u in uas:
        assert u.errors() == "", "%s\nserver:\n%s" % (
            u.report(), server.stderr()[-6000:])


# -- what the proxy must have written --

def rr_uris(msg):
    return [parse_uri(uri_of(v)) for v in msg.values("Record-Route")]


def assert_rr_names(server, rr, proto, double=False):
    """rr (user, host, port, params) names this server's proto listener,
    loose-routing, with ;transport= for streams only."""
    user, host, port, params = rr
    assert host == server.host and port == server.port_of(proto), rr
    assert "lr" in params, rr
    if proto == "udp":
        assert params.get("transport", "udp").lower() == "udp", rr
    else:
        assert params.get("transport", "").lower() == proto, rr
    if double:
        assert params.get("r2") == "on", rr


def proxy_stats(server):
    st = ctl(server, "stats")
    assert "proxy" in st, sorted(st)
    return st


def assert_proxy_counts(server, calls, branches, **exact):
    """The proxy's counters once every transaction ended: calls INVITEs and
    calls BYEs handled statefully over branches branches, one stateless
    ACK per call, no error answered upstream; exact: other counters."""
    assert wait_for(lambda: proxy_stats(server)["proxy"]["alive"] == 0)
    p = proxy_stats(server)["proxy"]
    want = dict(requests=2 * calls, branches=branches, stateless_acks=calls,
                final_errors=0, **exact)
    assert {k: p[k] for k in want} == want, p


# -- one call --

@pytest.mark.parametrize("uac_proto,uas_proto", [
    ("udp", "udp"), ("tcp", "tcp"), ("udp", "tcp"), ("tcp", "udp")])
def test_call_through_proxy(start_server, tmp_path, sipps, uac_proto,
                            uas_proto):
    """uac -> switchboard -> uas, the UAS registered first: the INVITE is
    retargeted to the binding, record-routed (twice, RFC 5658, when the
    transports differ: the callee's side on top), Max-Forwards
    decremented; ACK and BYE follow the route set; over TCP the proxy
    reaches the UAS through the connection it registered on."""
    s = start(start_server, tmp_path,
              transports=("udp", uac_proto, uas_proto))
    uas = sipp_uas(sipps, s, "uas1", "proxy_uas_answer.xml", proto=uas_proto)
    uac = run_uac(sipps, s, proto=uac_proto, uas=[uas])
    finish(s, uas)
    with evidence(s, sipps):
        got = uas.messages()
        contact = "sip:uas1@%s:%d;transport=%s" % (s.host, uas.port,
                                                   uas_proto)
        [(_, inv)] = find(got, "recv", req("INVITE"))
        assert inv.ruri == contact, inv.raw
        assert inv.get("Max-Forwards") == "69", inv.raw
        vias = inv.values("Via")
        assert len(vias) == 2, vias
        assert vias[0].startswith("SIP/2.0/%s %s:%d;" % (
            uas_proto.upper(), s.host, s.port_of(uas_proto))), vias
        assert vias[1].startswith("SIP/2.0/%s %s:%d;" % (
            uac_proto.upper(), s.host, uac.port)), vias
        assert "caller@example.test" in inv.get("From")
        rr = rr_uris(inv)
        if uac_proto == uas_proto:
            assert len(rr) == 1, inv.values("Record-Route")
            assert_rr_names(s, rr[0], uas_proto)
        else:
            assert len(rr) == 2, inv.values("Record-Route")
            assert_rr_names(s, rr[0], uas_proto, double=True)
            assert_rr_names(s, rr[1], uac_proto, double=True)
        assert inv.get("Route") is None, inv.raw
        # In-dialog requests come through the proxy, its Routes removed,
        # to the Contact of the UAS's 200.
        [(_, ack)] = find(got, "recv", req("ACK"))
        [(_, bye)] = find(got, "recv", req("BYE"))
        for m in (ack, bye):
            assert m.ruri.startswith("sip:uas@%s:%d;" % (s.host, uas.port)), \
                m.raw
            assert m.get("Route") is None, m.raw
            assert len(m.values("Via")) == 2, m.raw
        # The caller saw the same Record-Route in the 200 and used it,
        # reversed.
        sent = uac.messages()
        [(_, ok)] = find(sent, "recv", resp(200))
        assert ok.values("Record-Route") == inv.values("Record-Route")
        [(_, bye_out)] = find(sent, "sent", req("BYE"))
        assert [uri_of(v) for v in bye_out.values("Route")] == \
            [uri_of(v) for v in reversed(inv.values("Record-Route"))]
        assert_proxy_counts(s, 1, 2, forwarded_1xx=1, forwarded_2xx=2)
        st = proxy_stats(s)
        assert st["requests"]["INVITE"] == 1 and st["requests"]["BYE"] == 1
        streams = [uac_proto, uas_proto].count("tcp")
        assert st["stream"]["accepted"] == streams, st["stream"]
        assert st["stream"]["connected"] == 0, st["stream"]
        assert st["stream"]["connect_failed"] == 0, st["stream"]


def test_caller_authenticates_with_digest(start_server, tmp_path, sipps):
    """A local caller is challenged (407) and passes with credentials;
    the in-dialog BYE is not challenged."""
    s = start(start_server, tmp_path, users=("bob", "alice"))
    uas = sipp_uas(sipps, s, "uas1", "proxy_uas_answer.xml")
    # SIPp's digest uri is sip:remote_ip:remote_port unless told: the
    # server checks it against the Request-URI (RFC 2617 3.2.2.5).
    uac = run_uac(sipps, s, scenario="proxy_uac_auth.xml",
                  rows=[("bob", "alice", PASSWORD)], uas=[uas],
                  extra=["-auth_uri", "bob@%s:%d" % (s.host, s.port)])
    finish(s, uas)
    with evidence(s, sipps):
        [(_, inv)] = find(uas.messages(), "recv", req("INVITE"))
        assert "alice@%s" % s.host in inv.get("From")
        assert inv.cseq == (2, "INVITE")
        assert len(find(uac.messages(), "recv", resp(407))) == 1
        assert_proxy_counts(s, 1, 2)
        st = ctl(s, "stats")["auth"]
        assert st["proxy_challenged"] == 1, st
        assert st["proxy_authenticated"] == 1, st
        assert st["failed"] == 0, st


# -- forking --

def invite_finals(msgs):
    return [(t, m) for t, d, m in msgs if d == "recv" and m.status and
            m.status >= 200 and m.cseq[1] == "INVITE"]


def test_parallel_fork_one_answers_other_cancelled(start_server, tmp_path,
                                                    sipps):
    """Two bindings with equal q ring at once; the first 200 wins, the
    other branch gets CANCEL (200, then 487 and the proxy's ACK) and the
    caller sees only the winner's answer."""
    s = start(start_server, tmp_path)
    answer = sipp_uas(sipps, s, "uas1", "proxy_uas_answer.xml", q="1.0")
    ring = sipp_uas(sipps, s, "uas2", "proxy_uas_ring.xml", q="1.0")
    uac = run_uac(sipps, s, uas=[answer, ring])
    finish(s, answer, ring)
    with evidence(s, sipps):
        a, r = answer.messages(), ring.messages()
        [(t_a_inv, _)] = find(a, "recv", req("INVITE"))
        [(t_a_200, _)] = find(a, "sent", resp(200))
        [(t_r_inv, r_inv)] = find(r, "recv", req("INVITE"))
        [(t_cancel, cancel)] = find(r, "recv", req("CANCEL"))
        [(t_c200, _)] = find(r, "sent", resp(200, "CANCEL"))
        [(t_487, _)] = find(r, "sent", resp(487))
        [(t_ack, ack)] = find(r, "recv", req("ACK"))
        # Parallel: both branches got the INVITE before anyone answered.
        assert max(t_a_inv, t_r_inv) < t_a_200, (t_a_inv, t_r_inv, t_a_200)
        assert t_cancel >= t_a_200 - SKEW_S, (t_a_200, t_cancel)
        assert t_cancel <= t_c200 <= t_487 <= t_ack
        # The CANCEL and the ACK are the proxy's, for its branch (9.1,
        # 17.1.1.3): the INVITE's top Via only, same Request-URI and CSeq.
        branch = r_inv.values("Via")[0]
        assert cancel.values("Via") == [branch], cancel.raw
        assert ack.values("Via") == [branch], ack.raw
        assert cancel.ruri == r_inv.ruri and cancel.cseq[0] == r_inv.cseq[0]
        # The caller got one final response: the 200 of uas1.
        finals = invite_finals(uac.messages())
        assert [m.status for _, m in finals] == [200], finals
        assert ":%d;" % answer.port in finals[0][1].get("Contact")
        # Two INVITE branches and the BYE's; both 180s relayed.
        assert_proxy_counts(s, 1, 3, forwarded_1xx=2, forwarded_2xx=2)
        assert wait_for(lambda: ctl(s, "stats")["pending"] == 0)


@pytest.mark.parametrize("refuse", ["486 Busy Here",
                                    "480 Temporarily Unavailable"])
def test_serial_fork_by_q(start_server, tmp_path, sipps, refuse):
    """q=1.0 is tried alone first; when it refuses, q=0.5 gets the INVITE
    and answers: the caller gets that 200 and never the refusal."""
    s = start(start_server, tmp_path)
    refusing = tmp_path / "uas_refuse.xml"
    refusing.write_text((SCENARIOS / "proxy_uas_refuse.xml").read_text()
                        .replace("SIP/2.0 486 Busy Here", "SIP/2.0 " + refuse))
    first = sipp_uas(sipps, s, "uas1", refusing, q="1.0")
    second = sipp_uas(sipps, s, "uas2", "proxy_uas_answer.xml", q="0.5")
    uac = run_uac(sipps, s, uas=[first, second])
    finish(s, first, second)
    with evidence(s, sipps):
        f, g = first.messages(), second.messages()
        code = int(refuse.split()[0])
        [(t1_inv, _)] = find(f, "recv", req("INVITE"))
        [(t1_no, _)] = find(f, "sent", resp(code))
        assert len(find(f, "recv", req("ACK"))) == 1
        [(t2_inv, _)] = find(g, "recv", req("INVITE"))
        # Serial: the second INVITE left after the refusal (the first UAS
        # waits 200 ms before refusing); SKEW_S for SIPp's log clocks.
        assert t2_inv - t1_inv >= 0.15, (t1_inv, t2_inv)
        assert t2_inv >= t1_no - SKEW_S, (t1_no, t2_inv)
        finals = invite_finals(uac.messages())
        assert [m.status for _, m in finals] == [200], finals
        assert ":%d;" % second.port in finals[0][1].get("Contact")
        assert_proxy_counts(s, 1, 3, forwarded_2xx=2)


def test_serial_timeout_cancels_and_tries_next_q(start_server, tmp_path,
                                                  sipps):
    """proxy.serial_timeout_s: the q=1.0 branch that only rings is
    CANCELled after the timeout and the q=0.5 branch answers."""
    s = start(start_server, tmp_path,
              config=CONFIG + "  serial_timeout_s: 1\n")
    first = sipp_uas(sipps, s, "uas1", "proxy_uas_ring.xml", q="1.0")
    second = sipp_uas(sipps, s, "uas2", "proxy_uas_answer.xml", q="0.5")
    uac = run_uac(sipps, s, uas=[first, second])
    finish(s, first, second)
    with evidence(s, sipps):
        f, g = first.messages(), second.messages()
        [(t1_inv, _)] = find(f, "recv", req("INVITE"))
        [(t1_cancel, _)] = find(f, "recv", req("CANCEL"))
        [(t2_inv, _)] = find(g, "recv", req("INVITE"))
        assert 0.8 <= t2_inv - t1_inv <= 3.0, (t1_inv, t2_inv)
        assert 0.8 <= t1_cancel - t1_inv <= 3.0, (t1_inv, t1_cancel)
        assert len(find(f, "sent", resp(487))) == 1
        assert len(find(f, "recv", req("ACK"))) == 1
        finals = invite_finals(uac.messages())
        assert [m.status for _, m in finals] == [200], finals
        assert_proxy_counts(s, 1, 3, forwarded_2xx=2)


# -- 100 calls --

@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_sipp_100_calls_no_failure(start_server, tmp_path, sipps, proto):
    """100 calls at 50/s from one SIPp to one registered SIPp: all
    succeed, every INVITE/ACK/BYE reaches the callee once per call (TCP:
    over the connection it registered on)."""
    s = start(start_server, tmp_path, transports=("udp", proto),
              config=CONFIG.replace("level: debug", "level: info"))
    uas = sipp_uas(sipps, s, "uas1", "proxy_uas_answer.xml", proto=proto)
    t0 = time.monotonic()
    run_uac(sipps, s, proto=proto, calls=100, rate=50, limit=60,
            hold_ms=50, uas=[uas])
    elapsed = time.monotonic() - t0
    finish(s, uas)
    with evidence(s, sipps):
        assert elapsed < 20, elapsed
        got = uas.messages()
        for method in ("INVITE", "ACK", "BYE"):
            n = len({m.call_id for _, m in find(got, "recv", req(method))})
            assert n == 100, (method, n)
        n = len({m.call_id for _, m in find(got, "sent", resp(200, "BYE"))})
        assert n == 100, n
        assert_proxy_counts(s, 100, 200, forwarded_2xx=200)
        st = proxy_stats(s)
        assert st["requests"]["INVITE"] == 100, st["requests"]
        assert st["requests"]["BYE"] == 100, st["requests"]
        if proto == "tcp":
            assert st["stream"]["connected"] == 0, st["stream"]
        assert wait_for(lambda: ctl(s, "stats")["pending"] == 0)


# -- TLS, from Python --

@pytest.fixture
def conns():
    made = []

    def make(*a, **kw):
        c = Conn(*a, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def tls_ua(conns, server, user, q=None):
    """user registered over its own TLS connection (Contact: that
    connection's address, ;transport=tls)."""
    c = conns(server.host, server.port_of("tls"), "tls",
              source_host=server.host)
    ua = UA(c, user, server.host, PASSWORD)
    r = ua.register(q=q)
    assert r.status == 200, (r, r.raw, server.stderr()[-3000:])
    return ua


def tls_caller(conns, server):
    """An unregistered TLS caller at example.test (not challenged)."""
    c = conns(server.host, server.port_of("tls"), "tls",
              source_host=server.host)
    return UA(c, "caller", server.host, from_domain="example.test")


def test_tls_100_calls_no_failure(start_server, tmp_path, conns):
    """100 calls, five at a time, between a TLS caller and a callee
    registered over TLS: each INVITE reaches the callee on its registered
    connection, record-routed with transport=tls; ACK and BYE (from each
    side in turn) go through; no failure and no new connection. One
    Python thread plays both sides: it sends, answers, then collects."""
    s = start(start_server, tmp_path, transports=("udp", "tls"))
    with evidence(s):
        bob = tls_ua(conns, s, "bob")
        caller = tls_caller(conns, s)
        deadline = time.monotonic() + 20
        batch = 5
        for n in range(0, 100, batch):
            assert time.monotonic() < deadline, "too slow: %d calls" % n
            calls = [caller.invite("bob") for _ in range(batch)]
            incs = {}
            for _ in range(batch):
                inc = bob.wait_invite()
                assert inc.invite.ruri == bob.contact_uri, inc.invite.raw
                rr = rr_uris(inc.invite)
                assert len(rr) == 1, inc.invite.values("Record-Route")
                assert_rr_names(s, rr[0], "tls")
                incs[inc.call_id] = inc
            assert sorted(incs) == sorted(c.call_id for c in calls)
            for c in calls:
                incs[c.call_id].ring()
                incs[c.call_id].answer()
            for c in calls:
                r = c.wait_answer()
                assert r.status == 200, (n, r.raw)
                assert [p.status for p in c.provisional
                        if p.status != 100] == [180], (n, c.provisional)
                c.ack()
            for c in calls:
                ack = incs[c.call_id].wait_request("ACK")
                assert ack.get("Route") is None, ack.raw
            pairs = [(c, incs[c.call_id]) if (n + i) % 2 else
                     (incs[c.call_id], c) for i, c in enumerate(calls)]
            for ender, _ in pairs:
                ender.send_bye()
            for _, other in pairs:
                bye = other.wait_bye_and_answer()
                assert bye.get("Route") is None, bye.raw
            for ender, _ in pairs:
                done = ender.wait_bye_response()
                assert done.status == 200, (n, done.raw)
        assert_proxy_counts(s, 100, 200, forwarded_2xx=200,
                            forwarded_1xx=100)
        st = proxy_stats(s)
        assert st["requests"]["INVITE"] == 100, st["requests"]
        assert st["requests"]["BYE"] == 100, st["requests"]
        assert st["stream"]["handshakes"] == 2, st["stream"]
        assert st["stream"]["connected"] == 0, st["stream"]
        assert st["responses_out"]["5xx"] == 0, st["responses_out"]
        assert wait_for(lambda: ctl(s, "stats")["pending"] == 0)


# -- UDP <-> TLS --

@pytest.mark.parametrize("hangup", ["caller", "callee"])
def test_udp_caller_to_tls_callee_double_record_route(start_server, tmp_path,
                                                      sipps, conns, hangup):
    """A SIPp caller over UDP, a callee registered over TLS: the INVITE
    carries two Record-Routes of switchboard (RFC 5658), the TLS one on top
    (what the callee reaches), then the UDP one; ACK and BYE (either side
    hangs up) pass both hops."""
    s = start(start_server, tmp_path, transports=("udp", "tls"))
    with evidence(s, sipps):
        bob = tls_ua(conns, s, "bob")
        scenario = "proxy_uac.xml" if hangup == "caller" else \
            "proxy_uac_recv_bye.xml"
        uac = sipps(s, "uac", scenario, rows=[("bob",)], hold_ms=100)
        uac.start()
        inc = bob.wait_invite(timeout=5)
        inv = inc.invite
        rr = rr_uris(inv)
        assert len(rr) == 2, inv.values("Record-Route")
        assert_rr_names(s, rr[0], "tls", double=True)
        assert_rr_names(s, rr[1], "udp", double=True)
        vias = inv.values("Via")
        assert len(vias) == 2 and vias[0].startswith(
            "SIP/2.0/TLS %s:%d;" % (s.host, s.port_of("tls"))), vias
        inc.ring()
        inc.answer()
        ack = inc.wait_request("ACK", timeout=5)
        assert ack.ruri == bob.contact_uri, ack.raw
        assert ack.get("Route") is None, ack.raw
        if hangup == "caller":
            bye = inc.wait_bye_and_answer(timeout=5)
            assert bye.get("Route") is None, bye.raw
        else:
            done = inc.bye()
            assert done.status == 200, done.raw
        rc = uac.wait()
        assert rc == 0 and uac.calls() == (1, 0), "caller failed"
        got = uac.messages()
        [(_, ok)] = find(got, "recv", resp(200))
        assert ok.values("Record-Route") == inv.values("Record-Route")
        [(_, ack_out)] = find(got, "sent", req("ACK"))
        # The caller's route set is the reverse: the UDP hop first.
        assert [uri_of(v) for v in ack_out.values("Route")] == \
            [uri_of(v) for v in reversed(inv.values("Record-Route"))]
        if hangup == "callee":
            [(_, bye_in)] = find(got, "recv", req("BYE"))
            assert bye_in.get("Route") is None, bye_in.raw
            assert bye_in.ruri.startswith("sip:caller@%s:%d;" % (
                s.host, uac.port)), bye_in.raw
        st = proxy_stats(s)
        assert st["stream"]["connected"] == 0, st["stream"]


def test_tls_caller_to_udp_callee_double_record_route(start_server, tmp_path,
                                                      sipps, conns):
    """The other way: a TLS caller, a SIPp callee registered over UDP. The
    200 brings back both Record-Routes, the UDP one (callee side) on top;
    ACK and BYE go through."""
    s = start(start_server, tmp_path, transports=("udp", "tls"))
    uas = sipp_uas(sipps, s, "uas1", "proxy_uas_answer.xml")
    with evidence(s, sipps):
        caller = tls_caller(conns, s)
        call = caller.invite("bob")
        r = call.wait_answer(timeout=5)
        assert r.status == 200, r.raw
        rr = rr_uris(r)
        assert len(rr) == 2, r.values("Record-Route")
        assert_rr_names(s, rr[0], "udp", double=True)
        assert_rr_names(s, rr[1], "tls", double=True)
        call.ack()
        done = call.bye()
        assert done.status == 200, done.raw
    finish(s, uas)
    with evidence(s, sipps):
        got = uas.messages()
        [(_, inv)] = find(got, "recv", req("INVITE"))
        assert inv.values("Record-Route") == r.values("Record-Route")
        for method in ("ACK", "BYE"):
            [(_, m)] = find(got, "recv", req(method))
            assert m.get("Route") is None, m.raw
