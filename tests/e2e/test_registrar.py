"""End to end: REGISTER with digest authentication, bindings, persistence."""
# SPDX-License-Identifier: BSD-2-Clause
import time

import pytest

from conftest import free_udp_port, loopback_addr, run_cli
from reghelp import (CONFIG, Registrar, add_user, bindings, challenge_params,
                     ctl, digest_header, sipp_ok, wait_for)
from siphelp import Client, StreamClient


def start(start_server, tmp_path, users=(("alice", "secret"),),
          config=CONFIG, **kw):
    """A server on a fresh loopback address whose users exist first."""
    host = loopback_addr()
    for user, password in users:
        add_user(tmp_path / "data", "%s@%s" % (user, host), password)
    return start_server(config=config, hosts=[host], **kw)


# SHA-256 is offered only when configured (default [md5]).
BOTH = CONFIG + "auth:\n  algorithms: [md5, sha-256]\n"


@pytest.fixture
def reg(start_server, tmp_path):
    return start(start_server, tmp_path, config=BOTH)


def test_default_challenge_is_md5_only(start_server, tmp_path):
    s = start(start_server, tmp_path)
    c = Client(s.host, s.port)
    try:
        r = Registrar(c, s.host, s.port, "alice", "secret")
        resp = r.ask(r.request(expires=60))
        assert resp.status == 401, resp
        values = resp.all("WWW-Authenticate")
        assert [challenge_params(v)["algorithm"] for v in values] == ["MD5"]
    finally:
        c.close()


@pytest.fixture
def alice(reg):
    c = Client(reg.host, reg.port)
    yield Registrar(c, reg.host, reg.port, "alice", "secret")
    c.close()


def test_sipp_challenge_then_200(reg, tmp_path):
    sipp_ok(reg, tmp_path, "register.xml", [("alice", "secret", 300, "ph1")])
    b = bindings(reg, "alice@" + reg.host)
    assert len(b) == 1, b
    assert b[0]["contact"].startswith("sip:ph1@%s:" % reg.host)
    assert 295 <= b[0]["expires_s"] <= 300
    assert b[0]["transport"] == "udp" and b[0]["cseq"] == 2
    assert b[0]["user_agent"] == "sipp-e2e"
    st = ctl(reg, "stats")
    assert st["auth"]["challenged"] == 1 and st["auth"]["authenticated"] == 1
    assert st["registrar"]["accepted"] == 1
    assert st["live"]["bindings"] == 1
    assert wait_for(lambda: ctl(reg, "stats")["store"]["writes"] >= 1)


def test_challenge_offers_md5_first_then_sha256(alice):
    r = alice.ask(alice.request(expires=60))
    assert r.status == 401, r
    values = r.all("WWW-Authenticate")
    assert [challenge_params(v)["algorithm"] for v in values] == \
        ["MD5", "SHA-256"]
    a, b = (challenge_params(v) for v in values)
    assert a["realm"] == b["realm"] == alice.host
    assert a["nonce"] == b["nonce"] and a["qop"] == "auth"
    assert "stale" not in a


def test_200_echoes_contact_and_expires(alice):
    _, r = alice.register(expires=120)
    assert r.status == 200, (r, r.raw)
    assert r.all("Contact") == ["%s;expires=120" % alice.contact]
    assert r.get("Date") is not None


def test_sha256_credentials_are_accepted(alice):
    first = alice.ask(alice.request(expires=60))
    ch = challenge_params(first.all("WWW-Authenticate")[1])
    auth = digest_header("alice", "secret", ch["realm"], ch["nonce"],
                         "sip:%s:%d" % (alice.host, alice.port),
                         algorithm="SHA-256")
    r = alice.ask(alice.request(60, auth=auth))
    assert r.status == 200, (r, r.raw)


def test_sipp_wrong_password_gets_401_again(reg, tmp_path):
    sipp_ok(reg, tmp_path, "register_wrong_password.xml",
            [("alice", "not-it", 60, "ph1")])
    assert bindings(reg) == []
    st = ctl(reg, "stats")
    assert st["auth"]["failed"] == 1
    assert st["bans"]["failures"] == 1 and st["bans"]["bans"] == 0


def test_unknown_user_looks_like_wrong_password(alice, reg):
    """No enumeration: the answer to a wrong password and to a user that
    does not exist have the same headers and challenge, nonce aside."""
    _, wrong = alice.register(expires=60, password="wrong")
    mallory = Registrar(alice.c, reg.host, reg.port, "mallory", "x")
    _, unknown = mallory.register(expires=60)
    assert wrong.status == unknown.status == 401
    assert wrong.reason == unknown.reason
    assert [n for n, _ in wrong.headers] == [n for n, _ in unknown.headers]
    a = [challenge_params(v) for v in wrong.all("WWW-Authenticate")]
    b = [challenge_params(v) for v in unknown.all("WWW-Authenticate")]
    assert [sorted(x) for x in a] == [sorted(x) for x in b]
    for x, y in zip(a, b):
        assert x["nonce"] != y["nonce"]
        assert {k: v for k, v in x.items() if k != "nonce"} == \
            {k: v for k, v in y.items() if k != "nonce"}


def test_expiry_removes_binding(reg, tmp_path):
    sipp_ok(reg, tmp_path, "register.xml", [("alice", "secret", 2, "ph1")])
    b = bindings(reg, "alice@" + reg.host)
    assert len(b) == 1 and b[0]["expires_s"] <= 2, b
    time.sleep(3)
    assert wait_for(lambda: bindings(reg) == [], timeout=2)
    st = ctl(reg, "stats")
    assert st["registrar"]["expired"] == 1 and st["live"]["bindings"] == 0


def test_refresh_on_same_call_id(reg, tmp_path):
    sipp_ok(reg, tmp_path, "register_refresh.xml",
            [("alice", "secret", 60, "ph1", 240)])
    b = bindings(reg, "alice@" + reg.host)
    assert len(b) == 1, b
    assert b[0]["cseq"] == 4 and 235 <= b[0]["expires_s"] <= 240


def test_unregister_with_expires_0(reg, tmp_path):
    port = free_udp_port(reg.host)  # the same Contact both times
    sipp_ok(reg, tmp_path, "register.xml", [("alice", "secret", 300, "ph1")],
            port=port)
    assert len(bindings(reg)) == 1
    sipp_ok(reg, tmp_path, "register.xml", [("alice", "secret", 0, "ph1")],
            name="unreg", port=port)
    assert bindings(reg) == []


def test_star_removes_every_binding(reg, tmp_path):
    sipp_ok(reg, tmp_path, "register.xml",
            [("alice", "secret", 300, "ph1"), ("alice", "secret", 300, "ph2")])
    assert len(bindings(reg, "alice@" + reg.host)) == 2
    sipp_ok(reg, tmp_path, "register_star.xml",
            [("alice", "secret", 0, "-")], name="star")
    assert bindings(reg) == []
    assert ctl(reg, "stats")["live"]["bindings"] == 0


def test_too_brief_gets_423_with_min_expires(reg, tmp_path, alice):
    sipp_ok(reg, tmp_path, "register_too_brief.xml",
            [("alice", "secret", 1, "ph1")])
    _, r = alice.register(expires=1)
    assert r.status == 423 and r.get("Min-Expires") == "2", r
    assert bindings(reg) == []


def test_foreign_domain_gets_403_without_challenge(reg, tmp_path):
    sipp_ok(reg, tmp_path, "register_foreign.xml", [("alice", "example.org")])
    st = ctl(reg, "stats")
    assert st["auth"]["not_authoritative"] == 1
    assert st["auth"]["challenges"] == 0


def test_configured_domain_is_local(start_server, tmp_path):
    s = start(start_server, tmp_path, users=(),
              config=CONFIG + "domains: [Example.COM]\n")
    add_user(s.data_dir, "bob@example.com", "pw")
    c = Client(s.host, s.port)
    try:
        c.send(("REGISTER sip:example.com SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKdom1;rport\r\n"
                "From: <sip:bob@example.com>;tag=1\r\n"
                "To: <sip:bob@example.com>\r\nCall-ID: dom@e2e\r\n"
                "CSeq: 1 REGISTER\r\nContact: <sip:bob@127.0.0.1:5999>\r\n"
                "Content-Length: 0\r\n\r\n").encode())
        r = c.recv()
        assert r.status == 401, r
        assert challenge_params(r.get("WWW-Authenticate"))["realm"] == \
            "example.com"
    finally:
        c.close()


def test_to_other_than_credentials_is_403(alice):
    _, r = alice.register(expires=60, to_user="bob")
    assert r.status == 403, r


def test_malformed_credentials_get_400(alice):
    r = alice.ask(alice.request(60, auth='Digest username="alice", realm="%s"'
                                % alice.host))
    assert r.status == 400, r


def test_register_over_tcp(start_server, tmp_path):
    s = start(start_server, tmp_path, transports=("udp", "tcp"))
    c = StreamClient(s.host, s.port_of("tcp"))
    try:
        reg = Registrar(c, s.host, s.port_of("tcp"), "alice", "secret",
                        transport="TCP")
        _, r = reg.register(expires=60)
        assert r.status == 200, (r, r.raw)
        b = bindings(s)
        assert len(b) == 1 and b[0]["transport"] == "tcp", b
    finally:
        c.close()


def test_user_added_while_running_registers_within_a_second(start_server,
                                                             tmp_path):
    s = start(start_server, tmp_path, users=())
    c = Client(s.host, s.port)
    try:
        carol = Registrar(c, s.host, s.port, "carol", "pw")
        _, r = carol.register(expires=60)
        assert r.status == 401, r
        add_user(s.data_dir, "carol@" + s.host, "pw")
        t0 = time.monotonic()

        def ok():
            return carol.register(expires=60)[1].status == 200
        assert wait_for(ok, timeout=1.0, step=0.05), s.stderr()[-3000:]
        assert time.monotonic() - t0 < 1.2
    finally:
        c.close()


def test_user_removed_while_running_is_refused(start_server, tmp_path):
    s = start(start_server, tmp_path)
    c = Client(s.host, s.port)
    try:
        a = Registrar(c, s.host, s.port, "alice", "secret")
        assert a.register(expires=60)[1].status == 200
        p = run_cli("user", "del", "--data-dir", s.data_dir,
                    "alice@" + s.host)
        assert p.returncode == 0, p.stderr
        assert wait_for(lambda: a.register(expires=60)[1].status == 401,
                        timeout=2.0)
    finally:
        c.close()


def test_user_deleted_while_running_loses_bindings(start_server, tmp_path):
    s = start(start_server, tmp_path, users=(("alice", "secret"),
                                             ("bob", "pw")))
    c = Client(s.host, s.port)
    try:
        a = Registrar(c, s.host, s.port, "alice", "secret")
        b = Registrar(c, s.host, s.port, "bob", "pw")
        assert a.register(expires=600)[1].status == 200
        assert b.register(expires=600)[1].status == 200
        assert len(bindings(s, "alice@" + s.host)) == 1
        p = run_cli("user", "del", "--data-dir", s.data_dir,
                    "alice@" + s.host)
        assert p.returncode == 0, p.stderr
        # Nobody may be routed to a deleted user: her bindings go at once,
        # not when they expire; bob's stay.
        assert wait_for(lambda: not bindings(s, "alice@" + s.host),
                        timeout=3.0), s.stderr()[-3000:]
        assert len(bindings(s, "bob@" + s.host)) == 1
        assert "bindings_removed" in s.stderr()
    finally:
        c.close()


def test_binding_survives_restart(start_server, tmp_path):
    s = start(start_server, tmp_path)
    sipp_ok(s, tmp_path, "register.xml", [("alice", "secret", 300, "ph1")])
    before = bindings(s)
    assert len(before) == 1
    c = Client(s.host, s.port)
    old = challenge_params(c.ask_raw(Registrar(
        c, s.host, s.port, "alice", "secret").request(60)).get(
            "WWW-Authenticate"))
    s.stop()
    time.sleep(1.1)
    s2 = start_server(config=CONFIG, hosts=[s.host])
    after = bindings(s2)
    assert len(after) == 1, s2.stderr()
    assert after[0]["aor"] == before[0]["aor"]
    assert after[0]["contact"] == before[0]["contact"]
    assert before[0]["expires_s"] - 3 <= after[0]["expires_s"] < \
        before[0]["expires_s"]
    assert after[0]["source"] == before[0]["source"]
    st = ctl(s2, "stats")
    assert st["registrar"]["restored"] == 1 and st["users"] == 1
    assert "restored bindings=1" in s2.stderr()
    # A phone refreshing with a nonce of the old process is asked again
    # with stale=true, so it answers without giving up (RFC 7616 3.3).
    c2 = Client(s2.host, s2.port)
    try:
        reg = Registrar(c2, s2.host, s2.port, "alice", "secret")
        auth = digest_header("alice", "secret", old["realm"], old["nonce"],
                             "sip:%s:%d" % (s2.host, s2.port))
        r = reg.ask(reg.request(60, auth=auth))
        assert r.status == 401, r
        assert challenge_params(r.get("WWW-Authenticate"))["stale"] == \
            "true"
        assert reg.register(expires=60)[1].status == 200
    finally:
        c.close()
        c2.close()
