"""End to end: password guessing is banned, users cannot be enumerated
(svcrack and svwar from sipvicious, and a scripted client)."""
# SPDX-License-Identifier: BSD-2-Clause
import shutil
import subprocess

import pytest

from conftest import free_udp_port, loopback_addr
from reghelp import CONFIG, Registrar, add_user, ctl
from siphelp import Client

SCANNER_DEADLINE_S = 120
PASSWORD = "tr0ub4dor"
WORDS = 300
PASSWORD_AT = 250


def start(start_server, tmp_path, config=CONFIG):
    host = loopback_addr()
    add_user(tmp_path / "data", "alice@" + host, PASSWORD)
    return start_server(config=config, hosts=[host])


def words(tmp_path):
    w = ["guess%03d" % i for i in range(WORDS)]
    w[PASSWORD_AT - 1] = PASSWORD
    path = tmp_path / "words.txt"
    path.write_text("\n".join(w) + "\n")
    return path


def run_scanner(tmp_path, cmd):
    """Run a sipvicious tool to its end (bounded); returns its output. Its
    source address is 127.0.0.1 (it cannot be pinned); its port we pick."""
    if shutil.which(cmd[0]) is None:
        pytest.skip("%s is not installed (scripts/install-deps)" % cmd[0])
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=SCANNER_DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")


def svcrack(server, tmp_path):
    return run_scanner(tmp_path, [
        "svcrack", "-u", "alice", "-d", str(words(tmp_path)),
        "-p", str(server.port), "-P", str(free_udp_port("127.0.0.1")),
        "--maximumtime", "3", server.host])


def test_svcrack_is_banned_before_it_finds_the_password(start_server,
                                                        tmp_path):
    s = start(start_server, tmp_path)
    out = svcrack(s, tmp_path)
    assert PASSWORD not in out, out
    st = ctl(s, "stats")
    assert st["bans"]["bans"] >= 1, st["bans"]
    assert st["bans"]["dropped"] >= 1, st["bans"]
    # Banned after bans.failures_per_ip (10) wrong guesses, not 250.
    assert st["auth"]["failed"] <= 12, st["auth"]
    assert "banned src=127.0.0.1:" in s.stderr()


def test_svcrack_finds_the_password_without_bans(start_server, tmp_path):
    """The control: the same run does find it when bans never trigger, so
    the test above proves the ban, not a scanner that cannot talk to us."""
    s = start(start_server, tmp_path, config=CONFIG + (
        "bans:\n  failures_per_ip: 1000000\n"
        "  failures_per_user: 1000000\n"))
    out = svcrack(s, tmp_path)
    assert PASSWORD in out, out
    assert ctl(s, "stats")["bans"]["bans"] == 0


def test_svwar_finds_no_user(start_server, tmp_path):
    s = start(start_server, tmp_path)
    names = tmp_path / "names.txt"
    names.write_text("alice\nbob\nadmin\n100\n1000\n")
    for extra in ([], ["--force"]):
        out = run_scanner(tmp_path, [
            "svwar", "-d", str(names), "-p", str(s.port),
            "-P", str(free_udp_port("127.0.0.1")), "--maximumtime", "3"] +
            extra + [s.host])
        assert "found nothing" in out, out
        assert "| alice" not in out, out


def test_ban_drops_everything_from_the_source(start_server, tmp_path):
    s = start(start_server, tmp_path, config=CONFIG + (
        "bans:\n  failures_per_ip: 3\n"))
    c = Client(s.host, s.port)
    try:
        a = Registrar(c, s.host, s.port, "alice", PASSWORD)
        for _ in range(3):
            assert a.register(expires=60, password="nope")[1].status == 401
        c.send(a.request(60))
        assert c.recv(0.5) is None  # a REGISTER: dropped
        c.send(b"OPTIONS sip:%s SIP/2.0\r\n" % s.host.encode() +
               b"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKban1;rport\r\n"
               b"From: <sip:x@y>;tag=1\r\nTo: <sip:z@y>\r\n"
               b"Call-ID: ban1\r\nCSeq: 1 OPTIONS\r\n"
               b"Content-Length: 0\r\n\r\n")
        assert c.recv(0.5) is None  # anything else too
    finally:
        c.close()
    st = ctl(s, "stats")
    assert st["bans"]["bans"] == 1 and st["bans"]["banned"] == 1
    assert st["bans"]["dropped"] >= 2


def test_ban_action_403(start_server, tmp_path):
    s = start(start_server, tmp_path, config=CONFIG + (
        "bans:\n  failures_per_ip: 3\n  action: 403\n"))
    c = Client(s.host, s.port)
    try:
        a = Registrar(c, s.host, s.port, "alice", PASSWORD)
        for _ in range(2):
            assert a.register(expires=60, password="nope")[1].status == 401
        # The guess that reaches the threshold is answered 403 ...
        assert a.register(expires=60, password="nope")[1].status == 403
        # ... and so is everything after it, even the right password.
        r = a.ask(a.request(60))
        assert r.status == 403 and r.get("To").count(";tag=sb") == 1, r
        r2 = a.ask(a.request(60))
        assert r2.status == 403
    finally:
        c.close()
    assert ctl(s, "stats")["bans"]["refused"] >= 2


def test_success_forgets_failures(start_server, tmp_path):
    s = start(start_server, tmp_path, config=CONFIG + (
        "bans:\n  failures_per_ip: 3\n"))
    c = Client(s.host, s.port)
    try:
        a = Registrar(c, s.host, s.port, "alice", PASSWORD)
        for _ in range(3):
            for _ in range(2):
                assert a.register(expires=60,
                                  password="typo")[1].status == 401
            assert a.register(expires=60)[1].status == 200
    finally:
        c.close()
    assert ctl(s, "stats")["bans"]["bans"] == 0
