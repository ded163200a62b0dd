"""End to end over TCP and TLS: sipp flows, keep-alives, connection limits,
slow senders, framing errors, IPv6, stats and reload."""
# SPDX-License-Identifier: BSD-2-Clause
import pathlib
import random
import signal
import subprocess
import time

import pytest

from conftest import free_tcp_port, free_udp_port
from siphelp import StreamClient, new_id, request
from test_txn_udp import stats, wait_for

SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"
SIPP_DEADLINE_S = 60


def config(*extra, level="info"):
    return "listen: [udp:127.0.0.1:5060]\nlog:\n  level: %s\n%s" % (
        level, "".join(line + "\n" for line in extra))


def other_loopback(host):
    """A loopback address that is not host: a second client's source."""
    while True:
        a = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255),
                              random.randint(2, 254))
        if a != host:
            return a


def sipp_has_tls():
    p = subprocess.run(["sipp", "-v"], capture_output=True, text=True,
                       timeout=10)
    first = [line for line in (p.stdout + p.stderr).splitlines()
             if "SIPp v" in line]
    return bool(first) and "TLS" in first[0]


def run_sipp(server, tmp_path, scenario, calls, rate, transport):
    """SIPp over one TCP (t1) or TLS (l1) connection until `calls` calls
    are done; returns (exit code, text)."""
    host = server.host
    proto = {"t1": "tcp", "l1": "tls"}[transport]
    cmd = ["sipp", "%s:%d" % (host, server.port_of(proto)),
           "-sf", str(SCENARIOS / scenario), "-t", transport,
           "-m", str(calls), "-r", str(rate), "-l", str(calls),
           "-i", host, "-p", str(free_tcp_port(host)),
           "-mi", host, "-mp", str(free_udp_port(host)),
           "-ci", host, "-cp", str(free_udp_port(host)),
           "-timeout", "40s", "-timeout_error", "-recv_timeout", "20000",
           "-nostdin", "-trace_err", "-trace_stat", "-stf",
           str(tmp_path / "sipp_stat.csv"),
           "-error_file", str(tmp_path / "sipp_errors.log")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=SIPP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail("sipp still running after %d s" % SIPP_DEADLINE_S)
    text = out.decode(errors="replace")
    errors = tmp_path / "sipp_errors.log"
    if errors.exists():
        text += errors.read_text(errors="replace")
    return proc.returncode, text


def connect(server, proto="tcp", source=None):
    return StreamClient(server.host, server.port_of(proto),
                        tls=proto == "tls", source=source)


def test_sipp_tcp_options_100_all_200(start_server, tmp_path):
    s = start_server(config=config("workers: 2"),
                     transports=("udp", "tcp"))
    rc, out = run_sipp(s, tmp_path, "options.xml", 100, 200, "t1")
    assert rc == 0, "sipp failed (exit %d):\n%s\nserver:\n%s" % (
        rc, out[-3000:], s.stderr())
    st = stats(s)
    assert st["requests"]["OPTIONS"] == 100
    assert st["responses_out"]["2xx"] == 100
    assert st["stream"]["accepted"] >= 1
    assert st["stream"]["messages_in"] == 100
    assert st["stream"]["messages_out"] == 100
    assert st["udp"]["received"] == 0


@pytest.mark.skipif(not sipp_has_tls(),
                    reason="this sipp is built without TLS (sipp -v)")
def test_sipp_tls_options_100_all_200(start_server, tmp_path):
    s = start_server(config=config("workers: 2"),
                     transports=("udp", "tls"))
    rc, out = run_sipp(s, tmp_path, "options.xml", 100, 200, "l1")
    assert rc == 0, "sipp failed (exit %d):\n%s" % (rc, out[-3000:])
    st = stats(s)
    assert st["requests"]["OPTIONS"] == 100
    assert st["responses_out"]["2xx"] == 100
    assert st["stream"]["handshakes"] >= 1


def test_sipp_tcp_invite_cancel_200_487(start_server, tmp_path):
    # SIPp's From names the server's own address, a local user: no 407
    # here, this test is about the stream.
    s = start_server(config=config("workers: 2", "local:",
                                   "  invite_delay_ms: 5000", "auth:",
                                   "  challenge_methods: []"),
                     transports=("udp", "tcp"))
    rc, out = run_sipp(s, tmp_path, "invite_cancel.xml", 5, 10, "t1")
    assert rc == 0, "sipp failed (exit %d):\n%s\nserver:\n%s" % (
        rc, out[-3000:], s.stderr())
    st = stats(s)
    assert st["requests"]["INVITE"] == 5
    assert st["requests"]["CANCEL"] == 5
    assert st["responses_out"]["2xx"] == 5
    assert st["responses_out"]["4xx"] == 5
    assert st["local"]["cancelled"] == 5
    assert wait_for(lambda: stats(s)["pending"] == 0)


def test_tls_options_100_all_200(start_server):
    """100 OPTIONS over TLS from a Python client (10 connections x 10),
    each answered on the connection it came on."""
    s = start_server(config=config("workers: 2"),
                     transports=("udp", "tls"))
    clients = [connect(s, "tls") for _ in range(10)]
    try:
        for i in range(10):
            for n, c in enumerate(clients):
                call_id = "tls-%d-%d@e2e" % (n, i)
                r = c.ask("OPTIONS", call_id=call_id)
                assert r is not None and r.status == 200, r
                assert r.get("Call-ID") == call_id
                assert "OPTIONS" in r.get("Allow")
                assert r.get("Via").startswith("SIP/2.0/TLS ")
                assert "received=" in r.get("Via")
    finally:
        for c in clients:
            c.close()
    st = stats(s)
    assert st["requests"]["OPTIONS"] == 100
    assert st["responses_out"]["2xx"] == 100
    assert st["stream"]["handshakes"] == 10
    assert st["stream"]["handshake_failed"] == 0


def test_tls_raw_client_same_connection(start_server):
    s = start_server(config=config(), transports=("udp", "tls"))
    c = connect(s, "tls")
    try:
        for _ in range(3):
            r = c.ask("OPTIONS")
            assert r is not None and r.status == 200, r
        # A request the parser refuses is answered on the connection,
        # which stays open.
        r = c.ask("OPTIONS", version="SIP/3.0")
        assert r is not None and r.status == 505, r
        assert c.ask("OPTIONS").status == 200
    finally:
        c.close()
    assert "tls_dev_certificate" in s.stderr()


@pytest.mark.parametrize("proto", ["tcp", "tls"])
def test_crlf_keepalive_ping_gets_pong(start_server, proto):
    """RFC 5626 3.5.1: CRLFCRLF is a ping, answered with CRLF."""
    s = start_server(config=config(), transports=("udp", proto))
    c = connect(s, proto)
    try:
        for _ in range(2):
            c.send(b"\r\n\r\n")
            assert c.recv_raw(2, timeout=3) == b"\r\n"
        assert c.ask("OPTIONS").status == 200
    finally:
        c.close()
    assert stats(s)["stream"]["pings"] == 2


def test_connections_per_ip_limit(start_server):
    s = start_server(config=config("tcp:", "  max_connections_per_ip: 4"),
                     transports=("udp", "tcp"))
    greedy_ip = other_loopback(s.host)
    greedy = [connect(s, source=greedy_ip) for _ in range(7)]
    try:
        # Workers accept in parallel, so which three go is not fixed: three
        # are closed at once, four are served.
        assert wait_for(lambda: stats(s)["stream"]["refused_per_ip"] == 3)
        closed = [c for c in greedy if c.is_closed(timeout=0.3)]
        kept = [c for c in greedy if c not in closed]
        assert len(closed) == 3 and len(kept) == 4
        for c in kept:
            assert c.ask("OPTIONS").status == 200
        # Someone else is still served, and the greedy four still are.
        normal = connect(s, source=other_loopback(greedy_ip))
        try:
            assert normal.ask("OPTIONS").status == 200
        finally:
            normal.close()
        assert kept[0].ask("OPTIONS").status == 200
        st = stats(s)
        assert st["stream"]["refused_per_ip"] == 3
        assert st["stream"]["conns"] == 4
    finally:
        for c in greedy:
            c.close()
    # Closed connections give their slots back.
    assert wait_for(lambda: stats(s)["stream"]["conns"] == 0)
    again = connect(s, source=greedy_ip)
    try:
        assert again.ask("OPTIONS").status == 200
    finally:
        again.close()


def test_half_message_is_cut_off(start_server):
    """A sender that stops in the middle of a message is disconnected after
    partial_message_timeout_ms, while another connection is served."""
    s = start_server(config=config("tcp:",
                                   "  partial_message_timeout_ms: 500"),
                     transports=("udp", "tcp"))
    slow, other = connect(s), connect(s)
    try:
        data = request("OPTIONS", s.host, s.port_of("tcp"),
                       transport="TCP")
        t0 = time.monotonic()
        slow.send(data[:len(data) // 2])
        assert other.ask("OPTIONS").status == 200
        assert slow.is_closed(timeout=5), "slow sender not disconnected"
        waited = time.monotonic() - t0
        assert 0.4 <= waited < 3, waited
        assert slow.buf == b"", "half a message got an answer"
        assert other.ask("OPTIONS").status == 200
    finally:
        slow.close()
        other.close()
    st = stats(s)
    assert st["stream"]["closed_partial"] == 1
    assert st["requests"]["OPTIONS"] == 2
    assert "why=partial_timeout" in s.stderr()


def test_bad_content_length_is_400_then_closed(start_server):
    s = start_server(config=config(), transports=("udp", "tcp"))
    c = connect(s)
    try:
        data = request("OPTIONS", s.host, s.port_of("tcp"), transport="TCP",
                       content_length=False,
                       extra=["Content-Length: 12x"])
        c.send(data)
        r = c.recv()
        assert r is not None and r.status == 400, r
        assert "Content-Length" in r.reason
        assert c.is_closed(timeout=5), "connection kept open after a 400"
    finally:
        c.close()
    st = stats(s)
    assert st["stream"]["framing_errors"] == 1
    assert st["requests"]["OPTIONS"] == 0


def test_ipv6_tcp_listener_answers(start_server):
    s = start_server(config=config(), hosts=["::1"], transports=("tcp",))
    assert "listening proto=tcp addr=[::1]:%d" % s.port in s.stderr()
    c = connect(s)
    try:
        r = c.ask("OPTIONS")
        assert r is not None and r.status == 200, r
        assert "received=::1" in r.get("Via")
    finally:
        c.close()


def test_stats_count_connections_and_hand_off(start_server):
    """Messages of one connection go to their Call-ID's worker."""
    s = start_server(config=config("workers: 4"), transports=("udp", "tcp"))
    clients = [connect(s) for _ in range(3)]
    try:
        for i in range(40):
            c = clients[i % 3]
            assert c.ask("OPTIONS", call_id="handoff-%d@e2e" % i).status \
                == 200
        st = stats(s)
        assert st["stream"]["conns"] == 3
        assert st["stream"]["alive"] == 3
        assert sum(w["conns"] for w in st["per_worker"]) == 3
        assert st["live"]["connections"] == 3
        assert st["stream"]["handed_off"] > 0
        assert st["stream"]["overflows"] == 0
        assert st["requests"]["OPTIONS"] == 40
    finally:
        for c in clients:
            c.close()
    assert wait_for(lambda: stats(s)["stream"]["conns"] == 0)
    assert wait_for(lambda: stats(s)["live"]["connections"] == 0)


def test_reload_keeps_stream_listeners(start_server):
    s = start_server(config=config(), transports=("udp", "tcp"))
    c = connect(s)
    try:
        assert c.ask("OPTIONS").status == 200
        s.config_path.write_text(config("tcp:", "  idle_timeout_ms: 1000"))
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "reloaded" in s.stderr()), s.stderr()
        assert "reload_needs_restart key=tcp" in s.stderr()
        # The open connection and the listener both still work.
        assert c.ask("OPTIONS").status == 200
        d = connect(s)
        try:
            assert d.ask("OPTIONS", call_id=new_id()).status == 200
        finally:
            d.close()
    finally:
        c.close()
