"""End to end: a real client, baresip, registers with digest."""
# SPDX-License-Identifier: BSD-2-Clause
from baresiphelp import Baresip
from conftest import loopback_addr
from reghelp import CONFIG, add_user, bindings, ctl, wait_for

# baresip 1.0 (libre 1.x) gives up on a challenge list holding an algorithm
# it does not know (SHA-256): the default config offers MD5 only, so a plain
# config must work (docs/users.md).
MD5_ONLY = CONFIG


def test_baresip_registers_and_unregisters(start_server, tmp_path):
    host = loopback_addr()
    add_user(tmp_path / "data", "alice@" + host, "s3cret")
    s = start_server(config=MD5_ONLY, hosts=[host])
    ua = Baresip(tmp_path, loopback_addr())
    try:
        ua.command("uanew", "<sip:alice@%s:%d>;auth_pass=s3cret;regint=300"
                   % (s.host, s.port))
        ev = ua.wait_event({"REGISTER_OK", "REGISTER_FAIL"})
        assert ev is not None and ev["type"] == "REGISTER_OK", \
            (ev, ua.events, ua.log(), s.stderr()[-3000:])
        b = bindings(s, "alice@" + s.host)
        assert len(b) == 1, b
        assert b[0]["contact"].startswith("sip:alice")
        assert "@%s:%d" % (ua.host, ua.sip_port) in b[0]["contact"], b
        assert "baresip" in b[0]["user_agent"]
        assert 290 <= b[0]["expires_s"] <= 300
        st = ctl(s, "stats")["auth"]
        assert st["challenged"] >= 1 and st["authenticated"] >= 1
    finally:
        ua.close()
    # On quit baresip unregisters (Expires: 0): the binding goes.
    assert wait_for(lambda: bindings(s) == [], timeout=3), bindings(s)


def test_baresip_wrong_password_is_banned(start_server, tmp_path):
    """baresip 1.0 answers every fresh challenge again, without end: the
    ban stops it after bans.failures_per_ip wrong answers."""
    host = loopback_addr()
    add_user(tmp_path / "data", "alice@" + host, "s3cret")
    s = start_server(config=MD5_ONLY, hosts=[host])
    ua = Baresip(tmp_path, loopback_addr())
    try:
        ua.command("uanew", "<sip:alice@%s:%d>;auth_pass=wrong;regint=300"
                   % (s.host, s.port))
        ev = ua.wait_event({"REGISTER_OK", "REGISTER_FAIL"}, timeout=3)
        assert ev is None or ev["type"] == "REGISTER_FAIL", \
            (ev, ua.events, ua.log())
        assert wait_for(lambda: ctl(s, "stats")["bans"]["bans"] == 1)
        assert bindings(s) == []
        assert ctl(s, "stats")["auth"]["failed"] == 10
    finally:
        ua.close()
