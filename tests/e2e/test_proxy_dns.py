"""End to end: the proxy locates a next hop by DNS (RFC 3263) against a
real dnsmasq on loopback, tries SRV targets in order and fails over on 503.
"""
# SPDX-License-Identifier: BSD-2-Clause
import os
import socket
import subprocess
import time

import pytest

from conftest import free_udp_port, loopback_addr
from reghelp import ctl
from siphelp import Client, new_id

DNSMASQ = "/usr/sbin/dnsmasq"


def dnsmasq(tmp_path, records, local=True):
    """A dnsmasq answering only the given records on 127.0.0.1; without
    local, names it has no record of get REFUSED (no upstream)."""
    if not os.path.exists(DNSMASQ):
        pytest.skip("dnsmasq is not installed (scripts/install-deps)")
    port = free_udp_port("127.0.0.1")
    cmd = [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts",
           "--conf-file=/dev/null", "--listen-address=127.0.0.1",
           "--bind-interfaces", "--local-ttl=60",
           "--port=%d" % port, "--user=root",
           "--group=root", "--pid-file=%s" % (tmp_path / "dnsmasq.pid"),
           "--log-facility=%s" % (tmp_path / "dnsmasq.log")] + \
        (["--local=/edge.test/"] if local else []) + records
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    time.sleep(0.2)
    if proc.poll() is not None:
        pytest.fail("dnsmasq exited: %s" % proc.stderr.read().decode())
    return proc, port


class Uas:
    """A UDP socket answering as a UAS: replies built from the request."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.tag = new_id()[:8]

    def recv(self, timeout=5.0):
        self.sock.settimeout(timeout)
        try:
            data, src = self.sock.recvfrom(65535)
        except socket.timeout:
            return None, None
        return data, src

    def reply(self, req, src, status, reason, contact=False):
        head = req.split(b"\r\n\r\n")[0].decode().split("\r\n")
        out = ["SIP/2.0 %d %s" % (status, reason)]
        for line in head[1:]:
            name = line.split(":")[0].strip().lower()
            if name in ("via", "from", "call-id", "cseq", "record-route"):
                out.append(line)
            elif name == "to":
                out.append(line if ";tag=" in line else
                           "%s;tag=%s" % (line, self.tag))
        if contact:
            out.append("Contact: <sip:uas@127.0.0.1:%d>" % self.port)
        out.append("Content-Length: 0")
        self.sock.sendto(("\r\n".join(out) + "\r\n\r\n").encode(), src)

    def close(self):
        self.sock.close()


def method_of(data):
    return data.split(b" ", 1)[0].decode()


def header(data, name):
    for line in data.split(b"\r\n\r\n")[0].decode().split("\r\n")[1:]:
        n, _, v = line.partition(":")
        if n.strip().lower() == name.lower():
            return v.strip()
    return None


def invite(srv, ruri, call_id):
    lines = [
        "INVITE %s SIP/2.0" % ruri,
        "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK%s;rport" % new_id(),
        "Max-Forwards: 70",
        "From: <sip:caller@example.net>;tag=%s" % new_id()[:8],
        "To: <%s>" % ruri,
        "Call-ID: " + call_id,
        "CSeq: 1 INVITE",
        "Contact: <sip:caller@127.0.0.1:5999>",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def config(dns_port, outbound=None):
    text = ("listen: [udp:127.0.0.1:5060]\nlog:\n  level: debug\n"
            "proxy:\n  foreign_domains: forward\n")
    if outbound:
        text += "  outbound_proxy: \"%s\"\n" % outbound
    text += ("dns:\n  servers: [\"127.0.0.1:%d\"]\n  timeout_ms: 300\n"
             "  tries: 1\n" % dns_port)
    return text


@pytest.fixture
def uas_pair():
    a, b = Uas(), Uas()
    yield a, b
    a.close()
    b.close()


def final_of(c):
    """Responses until a final one: (final, provisional statuses)."""
    seen = []
    r = c.recv()
    while r is not None and r.status < 200:
        seen.append(r.status)
        r = c.recv()
    return r, seen


@pytest.mark.parametrize("via", ["outbound_proxy", "request_uri"])
def test_srv_targets_in_order_503_fails_over(start_server, tmp_path, uas_pair,
                                             via):
    a, b = uas_pair
    proc, dport = dnsmasq(tmp_path, [
        "--host-record=a.edge.test,127.0.0.1",
        "--host-record=b.edge.test,127.0.0.1",
        # RFC 2782: priority 10 first, 20 after it fails
        "--srv-host=_sip._udp.edge.test,b.edge.test,%d,20,0" % b.port,
        "--srv-host=_sip._udp.edge.test,a.edge.test,%d,10,0" % a.port,
    ])
    try:
        srv = start_server(config=config(
            dport, "sip:edge.test" if via == "outbound_proxy" else None),
            hosts=[loopback_addr()])
        c = Client(srv.host, srv.port)
        ruri = ("sip:carol@example.org" if via == "outbound_proxy"
                else "sip:carol@edge.test")
        call_id = new_id() + "@dns"
        c.send(invite(srv, ruri, call_id))

        # the first SRV target gets the INVITE and refuses it
        req, src = a.recv()
        assert req is not None and method_of(req) == "INVITE", req
        assert header(req, "Call-ID") == call_id
        # the Request-URI is kept (RFC 3261 16.6: only the next hop is DNS)
        assert req.split(b"\r\n")[0].decode() == "INVITE %s SIP/2.0" % ruri
        a.reply(req, src, 503, "Service Unavailable")
        ack, _ = a.recv()
        assert ack is not None and method_of(ack) == "ACK", ack

        # RFC 3263 4.3: the next target, a new transaction (branch)
        req2, src2 = b.recv()
        assert req2 is not None and method_of(req2) == "INVITE", req2
        assert header(req2, "Via").split("branch=")[1] != \
            header(req, "Via").split("branch=")[1]
        b.reply(req2, src2, 180, "Ringing")
        b.reply(req2, src2, 200, "OK", contact=True)
        r, seen = final_of(c)
        assert r is not None and r.status == 200, r
        assert 180 in seen, seen
        rr = r.all("Record-Route")
        assert rr and "%s:%d" % (srv.host, srv.port) in rr[0], rr
        st = ctl(srv, "stats")["proxy"]
        assert st["forwarded_2xx"] == 1 and st["branches"] == 2, st
        assert st["dns_failures"] == 0, st
        c.close()
    finally:
        proc.terminate()
        proc.wait(5)


def test_unknown_name_is_500_not_503(start_server, tmp_path):
    proc, dport = dnsmasq(tmp_path, ["--host-record=x.edge.test,127.0.0.1"])
    try:
        srv = start_server(config=config(dport, "sip:nowhere.edge.test"),
                           hosts=[loopback_addr()])
        c = Client(srv.host, srv.port)
        c.send(invite(srv, "sip:carol@example.org", new_id() + "@dns"))
        r, _ = final_of(c)
        # RFC 3261 16.7 step 6: no next hop is a 503, sent up as 500
        assert r is not None and r.status == 500, r
        assert ctl(srv, "stats")["proxy"]["dns_failures"] == 1
        c.close()
    finally:
        proc.terminate()
        proc.wait(5)


def test_numeric_host_needs_no_dns(start_server, uas_pair):
    a, _ = uas_pair
    # a name server that does not exist: numeric hosts never ask it
    srv = start_server(config=config(1, "sip:127.0.0.1:%d" % a.port),
                       hosts=[loopback_addr()])
    c = Client(srv.host, srv.port)
    c.send(invite(srv, "sip:carol@example.org", new_id() + "@dns"))
    req, src = a.recv()
    assert req is not None and method_of(req) == "INVITE", req
    a.reply(req, src, 486, "Busy Here")
    r, _ = final_of(c)
    assert r is not None and r.status == 486, r
    c.close()


def test_foreign_domain_refused_by_default(start_server):
    srv = start_server(config="listen: [udp:127.0.0.1:5060]\n",
                       hosts=[loopback_addr()])
    c = Client(srv.host, srv.port)
    c.send(invite(srv, "sip:carol@example.org", new_id() + "@dns"))
    r, _ = final_of(c)
    assert r is not None and r.status == 403, r
    assert ctl(srv, "stats")["proxy"]["refused"] == 1
    c.close()



def test_silent_target_times_out_then_next(start_server, tmp_path, uas_pair):
    # RFC 3263 4.3: a target that never answers (Timer B, short T1 here)
    # is left for the next one
    a, b = uas_pair
    proc, dport = dnsmasq(tmp_path, [
        "--host-record=a.edge.test,127.0.0.1",
        "--host-record=b.edge.test,127.0.0.1",
        "--srv-host=_sip._udp.edge.test,a.edge.test,%d,10,0" % a.port,
        "--srv-host=_sip._udp.edge.test,b.edge.test,%d,20,0" % b.port,
    ])
    try:
        srv = start_server(config=config(dport, "sip:edge.test") +
                           "timers:\n  t1_ms: 20\n",
                           hosts=[loopback_addr()])
        c = Client(srv.host, srv.port)
        c.send(invite(srv, "sip:carol@example.org", new_id() + "@dns"))
        first, _ = a.recv()
        assert first is not None and method_of(first) == "INVITE", first
        # a stays silent: its retransmissions, then b after 64*T1
        req, src = b.recv(5.0)
        while req is not None and method_of(req) != "INVITE":
            req, src = b.recv(5.0)
        assert req is not None, "the second target never got the INVITE"
        b.reply(req, src, 200, "OK", contact=True)
        r, _ = final_of(c)
        assert r is not None and r.status == 200, r
        c.close()
    finally:
        proc.terminate()
        proc.wait(5)


def test_naptr_refused_falls_back_to_srv(start_server, tmp_path, uas_pair):
    # a name server that refuses NAPTR queries (no upstream, no NAPTR
    # record) still has the SRV records: they are asked next
    a, _ = uas_pair
    proc, dport = dnsmasq(tmp_path, [
        "--host-record=a.edge.test,127.0.0.1",
        "--srv-host=_sip._udp.edge.test,a.edge.test,%d,10,0" % a.port,
    ], local=False)
    try:
        srv = start_server(config=config(dport, "sip:edge.test"),
                           hosts=[loopback_addr()])
        c = Client(srv.host, srv.port)
        c.send(invite(srv, "sip:carol@example.org", new_id() + "@dns"))
        req, src = a.recv()
        assert req is not None and method_of(req) == "INVITE", req
        a.reply(req, src, 486, "Busy Here")
        r, _ = final_of(c)
        assert r is not None and r.status == 486, r
        assert "NAPTR" in srv.stderr() or "type=35" in srv.stderr()
        c.close()
    finally:
        proc.terminate()
        proc.wait(5)
