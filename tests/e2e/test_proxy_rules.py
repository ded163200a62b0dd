"""End to end: the proxy's rules (RFC 3261 16) seen from raw sockets:
483, 420, 482, 404/480, best response (6xx, 503 as 500), 3xx relayed or
recursed, ring timeout, CANCEL."""
# SPDX-License-Identifier: BSD-2-Clause
import pytest

from conftest import loopback_addr
from reghelp import Registrar, add_user, ctl
from siphelp import Client, new_id
from test_proxy_dns import Uas, final_of, header, method_of

BASE = "listen: [udp:127.0.0.1:5060]\nlog:\n  level: debug\n" \
       "auth:\n  challenge_methods: []\n"


def invite(srv, ruri, call_id=None, extra=(), mf=70, branch=None):
    call_id = call_id or new_id() + "@rules"
    branch = branch or "z9hG4bK" + new_id()
    lines = [
        "INVITE %s SIP/2.0" % ruri,
        "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=%s;rport" % branch,
        "Max-Forwards: %d" % mf,
        "From: <sip:caller@example.net>;tag=ft%s" % call_id[:6],
        "To: <%s>" % ruri,
        "Call-ID: " + call_id,
        "CSeq: 1 INVITE",
        "Contact: <sip:caller@127.0.0.1:5999>",
    ] + list(extra) + ["Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def cancel_for(inv):
    """The CANCEL of an INVITE we sent (RFC 3261 9.1)."""
    head = inv.split(b"\r\n\r\n")[0].decode().split("\r\n")
    out = ["CANCEL " + head[0].split(" ")[1] + " SIP/2.0"]
    for line in head[1:]:
        name = line.split(":")[0].lower()
        if name in ("via", "from", "to", "call-id", "max-forwards"):
            out.append(line)
        elif name == "cseq":
            out.append("CSeq: 1 CANCEL")
    out.append("Content-Length: 0")
    return ("\r\n".join(out) + "\r\n\r\n").encode()


def registered_uas(srv, user, q=None):
    """A Uas whose socket registered itself as user's binding."""
    c = Client(srv.host, srv.port)
    port = c.sock.getsockname()[1]
    reg = Registrar(c, srv.host, srv.port, user, "pw", contact_port=port)
    reg.contact = "<sip:%s@127.0.0.1:%d>%s" % (
        user, port, ";q=%s" % q if q else "")
    _, final = reg.register(expires=300)
    assert final.status == 200, final
    u = Uas.__new__(Uas)
    u.sock, u.port, u.tag = c.sock, port, new_id()[:8]
    return u


@pytest.fixture
def srv_of(start_server, tmp_path):
    def make(extra="", users=()):
        host = loopback_addr()
        for u in users:
            add_user(tmp_path / "data", "%s@%s" % (u, host), "pw")
        return start_server(config=BASE + extra, hosts=[host])
    return make


def test_max_forwards_zero_is_483(srv_of):
    srv = srv_of()
    c = Client(srv.host, srv.port)
    c.send(invite(srv, "sip:bob@%s:%d" % (srv.host, srv.port), mf=0))
    r, _ = final_of(c)
    assert r is not None and r.status == 483, r
    assert ctl(srv, "stats")["proxy"]["too_many_hops"] == 1


def test_proxy_require_is_420_with_unsupported(srv_of):
    srv = srv_of()
    c = Client(srv.host, srv.port)
    c.send(invite(srv, "sip:bob@%s:%d" % (srv.host, srv.port),
                  extra=["Proxy-Require: foo, bar"]))
    r, _ = final_of(c)
    assert r is not None and r.status == 420, r
    assert r.get("Unsupported") == "foo, bar", r.raw


def test_loop_through_own_outbound_proxy_is_482(srv_of):
    srv = srv_of("proxy:\n  foreign_domains: forward\n")
    # switchboard made its own outbound proxy (after a reload, once its
    # port is known): the INVITE comes back unchanged with our Via on it
    srv.config_path.write_text(
        BASE + "proxy:\n  foreign_domains: forward\n"
        "  outbound_proxy: \"sip:%s:%d\"\n" % (srv.host, srv.port))
    ctl(srv, "reload")
    c = Client(srv.host, srv.port)
    c.send(invite(srv, "sip:x@example.org"))
    r, _ = final_of(c)
    # RFC 3261 16.3 step 4: the second pass answers 482, sent back up
    assert r is not None and r.status == 482, r
    assert ctl(srv, "stats")["proxy"]["loops"] == 1
    c.close()


def test_unknown_user_404_known_without_binding_480(srv_of):
    srv = srv_of(users=["carol"])
    c = Client(srv.host, srv.port)
    c.send(invite(srv, "sip:nobody@%s:%d" % (srv.host, srv.port)))
    r, _ = final_of(c)
    assert r is not None and r.status == 404, r
    c.send(invite(srv, "sip:carol@%s:%d" % (srv.host, srv.port)))
    r, _ = final_of(c)
    assert r is not None and r.status == 480, r
    st = ctl(srv, "stats")["proxy"]
    assert st["not_found"] == 1 and st["unavailable"] == 1, st


def test_six_xx_cancels_the_others(srv_of):
    srv = srv_of(users=["bob"])
    a = registered_uas(srv, "bob")
    b = registered_uas(srv, "bob")
    c = Client(srv.host, srv.port)
    c.send(invite(srv, "sip:bob@%s:%d" % (srv.host, srv.port)))
    ra, sa = a.recv()
    rb, sb = b.recv()
    assert ra and rb and method_of(ra) == method_of(rb) == "INVITE"
    a.reply(ra, sa, 180, "Ringing")
    b.reply(rb, sb, 603, "Decline")
    # RFC 3261 16.7 step 5: a 6xx ends the other branches
    can, csrc = a.recv()
    assert can is not None and method_of(can) == "CANCEL", can
    a.reply(can, csrc, 200, "OK")
    a.reply(ra, sa, 487, "Request Terminated")
    r, seen = final_of(c)
    assert r is not None and r.status == 603, r
    assert 180 in seen


def test_503_goes_up_as_500(srv_of):
    srv = srv_of(users=["bob"])
    a = registered_uas(srv, "bob")
    c = Client(srv.host, srv.port)
    c.send(invite(srv, "sip:bob@%s:%d" % (srv.host, srv.port)))
    req, src = a.recv()
    a.reply(req, src, 503, "Service Unavailable")
    r, _ = final_of(c)
    # RFC 3261 16.7 step 6
    assert r is not None and r.status == 500, r


@pytest.mark.parametrize("mode", ["relay", "recurse"])
def test_3xx_relayed_or_recursed(srv_of, mode):
    srv = srv_of("proxy:\n  redirect: %s\n" % mode, users=["bob"])
    a = registered_uas(srv, "bob")
    other = Uas()
    c = Client(srv.host, srv.port)
    c.send(invite(srv, "sip:bob@%s:%d" % (srv.host, srv.port)))
    req, src = a.recv()
    head = req.split(b"\r\n\r\n")[0].decode().split("\r\n")
    lines = ["SIP/2.0 302 Moved Temporarily"]
    lines += [h for h in head[1:]
              if h.split(":")[0].lower() in ("via", "from", "call-id",
                                             "cseq")]
    lines += [[h for h in head if h.startswith("To:")][0] + ";tag=r1",
              "Contact: <sip:dana@127.0.0.1:%d>" % other.port,
              "Content-Length: 0"]
    a.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), src)
    if mode == "relay":
        r, _ = final_of(c)
        assert r is not None and r.status == 302, r
        assert "127.0.0.1:%d" % other.port in r.get("Contact")
    else:
        req2, src2 = other.recv()
        assert req2 is not None and method_of(req2) == "INVITE", req2
        assert req2.startswith(b"INVITE sip:dana@127.0.0.1:%d " %
                               other.port)
        other.reply(req2, src2, 200, "OK", contact=True)
        r, _ = final_of(c)
        assert r is not None and r.status == 200, r
    other.close()


def test_ring_timeout_cancels_and_answers_408(srv_of):
    srv = srv_of("proxy:\n  ring_timeout_s: 1\n", users=["bob"])
    a = registered_uas(srv, "bob")
    c = Client(srv.host, srv.port)
    c.send(invite(srv, "sip:bob@%s:%d" % (srv.host, srv.port)))
    req, src = a.recv()
    a.reply(req, src, 180, "Ringing")
    can, csrc = a.recv(3.0)
    assert can is not None and method_of(can) == "CANCEL", can
    a.reply(can, csrc, 200, "OK")
    a.reply(req, src, 487, "Request Terminated")
    r, seen = final_of(c)
    assert r is not None and r.status == 408, r
    assert ctl(srv, "stats")["proxy"]["ring_timeouts"] == 1


def test_cancel_is_passed_on_and_ends_with_487(srv_of):
    srv = srv_of(users=["bob"])
    a = registered_uas(srv, "bob")
    c = Client(srv.host, srv.port)
    inv = invite(srv, "sip:bob@%s:%d" % (srv.host, srv.port))
    c.send(inv)
    req, src = a.recv()
    a.reply(req, src, 180, "Ringing")
    r = c.recv()
    while r is not None and r.status == 100:
        r = c.recv()
    assert r is not None and r.status == 180, r
    c.send(cancel_for(inv))
    # RFC 3261 16.10: 200 to the CANCEL, CANCEL to the branch
    can, csrc = a.recv()
    assert can is not None and method_of(can) == "CANCEL", can
    assert header(can, "Via") == header(req, "Via").split(",")[0]
    a.reply(can, csrc, 200, "OK")
    a.reply(req, src, 487, "Request Terminated")
    got = {}
    for _ in range(2):
        resp = c.recv()
        assert resp is not None
        got[resp.get("CSeq").split()[1]] = resp.status
    assert got == {"CANCEL": 200, "INVITE": 487}, got
    st = ctl(srv, "stats")
    assert st["proxy"]["cancelled"] == 1
    # the request is over: nothing of it is left in the proxy
    assert st["proxy"]["alive"] == 0 and st["live"]["proxy"] == 0, st


def test_phone_behind_nat_reached_through_its_flow_in_dialog(srv_of):
    # bob's Contact names a private address nobody can reach; the REGISTER
    # came from a loopback socket: the INVITE, and later the caller's ACK
    # and BYE (by the flow token in our Record-Route), go to that socket
    srv = srv_of(users=["bob"])
    c0 = Client(srv.host, srv.port)
    port = c0.sock.getsockname()[1]
    reg = Registrar(c0, srv.host, srv.port, "bob", "pw", contact_port=port)
    reg.contact = "<sip:bob@10.255.0.7:5060>"
    _, final = reg.register(expires=300)
    assert final.status == 200, final
    bob = Uas.__new__(Uas)
    bob.sock, bob.port, bob.tag = c0.sock, port, new_id()[:8]

    c = Client(srv.host, srv.port)
    call_id = new_id() + "@nat"
    c.send(invite(srv, "sip:bob@%s:%d" % (srv.host, srv.port), call_id))
    req, src = bob.recv()
    assert req is not None and method_of(req) == "INVITE", req
    assert req.startswith(b"INVITE sip:bob@10.255.0.7:5060 ")
    rr = header(req, "Record-Route")
    assert rr and ";sbd=" in rr, rr
    # bob answers with its private Contact, as a phone behind NAT does
    head = req.split(b"\r\n\r\n")[0].decode().split("\r\n")
    lines = ["SIP/2.0 200 OK"]
    lines += [h for h in head[1:] if h.split(":")[0].lower() in
              ("via", "from", "call-id", "cseq", "record-route")]
    lines += [[h for h in head if h.startswith("To:")][0] + ";tag=" + bob.tag,
              "Contact: <sip:bob@10.255.0.7:5060>", "Content-Length: 0"]
    bob.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), src)
    r, _ = final_of(c)
    assert r is not None and r.status == 200, r
    route = ", ".join(reversed(r.all("Record-Route")))
    to = r.get("To")
    for method, cseq in (("ACK", 1), ("BYE", 2)):
        msg = "\r\n".join([
            "%s sip:bob@10.255.0.7:5060 SIP/2.0" % method,
            "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK%s;rport" %
            new_id(),
            "Max-Forwards: 70", "Route: " + route,
            "From: <sip:caller@example.net>;tag=ft%s" % call_id[:6],
            "To: " + to, "Call-ID: " + call_id,
            "CSeq: %d %s" % (cseq, method), "Content-Length: 0", "", ""])
        c.send(msg.encode())
        got, gsrc = bob.recv()
        assert got is not None and method_of(got) == method, got
    bob.reply(got, gsrc, 200, "OK")
    r = c.recv()
    assert r is not None and r.status == 200 and "BYE" in r.get("CSeq"), r
    c.close()
    bob.close()
