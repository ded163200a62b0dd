"""End to end: 407 for INVITE, MESSAGE ... from local users (RFC 3261 22.3)."""
# SPDX-License-Identifier: BSD-2-Clause
import pytest

from conftest import loopback_addr
from reghelp import CONFIG, add_user, challenge_params, ctl, digest_header
from siphelp import Client, new_id


@pytest.fixture
def srv(start_server, tmp_path):
    host = loopback_addr()
    add_user(tmp_path / "data", "alice@%s" % host, "secret")
    add_user(tmp_path / "data", "bob@%s" % host, "hunter2")
    return start_server(config=CONFIG, hosts=[host])


@pytest.fixture
def c(srv):
    client = Client(srv.host, srv.port)
    yield client
    client.close()


def req(srv, method, from_uri, auth=None):
    """A request to carol at the server, from from_uri."""
    ruri = "sip:carol@%s:%d" % (srv.host, srv.port)
    lines = [
        "%s %s SIP/2.0" % (method, ruri),
        "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK%s;rport" % new_id(),
        "Max-Forwards: 70",
        "From: <%s>;tag=%s" % (from_uri, new_id()[:8]),
        "To: <%s>" % ruri,
        "Call-ID: %s@e2e" % new_id(),
        "CSeq: 1 %s" % method,
        "Contact: <sip:alice@127.0.0.1:5999>",
    ]
    if auth:
        lines.append("Proxy-Authorization: " + auth)
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), ruri


def final(c, data):
    """Send data; the final response (1xx skipped), and whether 100 came."""
    c.send(data)
    r, trying = c.recv(), False
    while r is not None and r.status < 200:
        trying = trying or r.status == 100
        r = c.recv()
    assert r is not None, "no final response"
    return r, trying


def challenge(srv, c, method, user="alice"):
    data, _ = req(srv, method, "sip:%s@%s" % (user, srv.host))
    r, _ = final(c, data)
    assert r.status == 407, (r, r.raw)
    assert r.get("WWW-Authenticate") is None
    values = r.all("Proxy-Authenticate")
    assert len(values) == 1, values
    ch = challenge_params(values[0])
    assert ch["realm"] == srv.host
    assert ch["qop"] == "auth" and ch["algorithm"] == "MD5"
    return ch


def authed(srv, c, method, ch, user="alice", password="secret",
           from_user="alice"):
    _, ruri = req(srv, method, "")
    auth = digest_header(user, password, ch["realm"], ch["nonce"], ruri,
                         method=method)
    data, _ = req(srv, method, "sip:%s@%s" % (from_user, srv.host), auth)
    return final(c, data)


def test_invite_challenged_then_passes(srv, c):
    ch = challenge(srv, c, "INVITE")
    r, trying = authed(srv, c, "INVITE", ch)
    # Past auth: the proxy's 100, then 404 (carol is no user of ours).
    assert trying and r.status == 404, (r, r.raw)
    st = ctl(srv, "stats")["auth"]
    assert st["proxy_challenged"] == 1 and st["proxy_authenticated"] == 1


def test_invite_wrong_password_407_again(srv, c):
    ch = challenge(srv, c, "INVITE")
    r, _ = authed(srv, c, "INVITE", ch, password="wrong")
    assert r.status == 407, (r, r.raw)
    again = challenge_params(r.all("Proxy-Authenticate")[0])
    assert again["realm"] == srv.host and "stale" not in again
    assert ctl(srv, "stats")["auth"]["failed"] == 1


def test_message_challenged_then_passes(srv, c):
    ch = challenge(srv, c, "MESSAGE")
    r, _ = authed(srv, c, "MESSAGE", ch)
    assert r.status == 404, (r, r.raw)
    r, _ = authed(srv, c, "MESSAGE", challenge(srv, c, "MESSAGE"),
                  password="wrong")
    assert r.status == 407, (r, r.raw)


def test_other_users_credentials_refused(srv, c):
    ch = challenge(srv, c, "MESSAGE")
    r, _ = authed(srv, c, "MESSAGE", ch, user="bob", password="hunter2")
    assert r.status == 403 and r.reason == "Identity mismatch", (r, r.raw)
    assert ctl(srv, "stats")["auth"]["identity_mismatch"] == 1


def test_check_from_off_lets_other_users_credentials_pass(start_server,
                                                          tmp_path):
    host = loopback_addr()
    add_user(tmp_path / "data", "alice@%s" % host, "secret")
    add_user(tmp_path / "data", "bob@%s" % host, "hunter2")
    srv = start_server(config=CONFIG + "auth:\n  check_from: false\n",
                       hosts=[host])
    c = Client(srv.host, srv.port)
    try:
        ch = challenge(srv, c, "MESSAGE")
        r, _ = authed(srv, c, "MESSAGE", ch, user="bob", password="hunter2")
        assert r.status == 404, (r, r.raw)
        assert ctl(srv, "stats")["auth"]["identity_mismatch"] == 0
    finally:
        c.close()


def test_in_dialog_request_not_challenged(srv, c):
    data, _ = req(srv, "INVITE", "sip:alice@%s" % srv.host)
    data = data.replace(b"\r\nTo: <sip:carol@%s:%d>" % (
        srv.host.encode(), srv.port), b"\r\nTo: <sip:carol@%s:%d>;tag=x1" % (
        srv.host.encode(), srv.port))
    assert b";tag=x1" in data
    r, _ = final(c, data)
    assert r.status != 407, (r, r.raw)
    assert ctl(srv, "stats")["auth"]["proxy_challenged"] == 0


def test_foreign_from_not_challenged(srv, c):
    data, _ = req(srv, "INVITE", "sip:mallory@example.org")
    r, trying = final(c, data)
    assert trying and r.status == 404, (r, r.raw)
    assert ctl(srv, "stats")["auth"]["proxy_challenged"] == 0


def test_ack_never_challenged(srv, c):
    data, _ = req(srv, "ACK", "sip:alice@%s" % srv.host)
    c.send(data)
    c.assert_silent_then_alive()
    assert ctl(srv, "stats")["auth"]["proxy_challenged"] == 0
