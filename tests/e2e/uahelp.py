"""A small SIP user agent for the proxy tests, over UDP, TCP or TLS: it
registers with digest, places and answers calls through a record-routing
proxy (route sets, ACK, BYE), and sorts what arrives on its one socket by
what the test waits for."""
# SPDX-License-Identifier: BSD-2-Clause
import re
import socket
import ssl
import time

from reghelp import challenge_params, digest_header
from siphelp import new_id

RECV_TIMEOUT_S = 3.0

SDP = ("v=0\r\no=py 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
       "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")

COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id",
           "m": "contact", "l": "content-length", "c": "content-type",
           "k": "supported"}


class Msg:
    """A parsed request or response."""

    def __init__(self, data):
        self.raw = data
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.first = lines[0]
        parts = (lines[0].split(" ", 2) + ["", ""])[:3]
        if parts[0].startswith("SIP/"):
            self.method, self.ruri = None, None
            self.status, self.reason = int(parts[1]), parts[2]
        else:
            self.method, self.ruri = parts[0], parts[1]
            self.status, self.reason = None, None
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip()
            name = COMPACT.get(name.lower(), name)
            self.headers.append((name, value.strip()))

    @property
    def is_request(self):
        return self.method is not None

    def get(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def values(self, name):
        """Every value of a header that may be comma-separated
        (Via, Record-Route, Route), in order."""
        out = []
        for v in self.all(name):
            out += split_values(v)
        return out

    @property
    def call_id(self):
        return self.get("Call-ID")

    @property
    def cseq(self):
        n, _, m = (self.get("CSeq") or "0 ?").partition(" ")
        return int(n), m.strip()

    def tag(self, header):
        m = re.search(r";\s*tag=([^;>\s]+)", self.get(header) or "")
        return m.group(1) if m else None

    def __repr__(self):
        return "<Msg %s>" % self.first


def split_values(value):
    """'<a,b>;x, <c>' -> ['<a,b>;x', '<c>']: commas inside <> or quotes
    do not split."""
    out, cur, depth, quoted = [], "", 0, False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def uri_of(nameaddr):
    """The URI inside a name-addr ('"x" <sip:a@b;lr>;p' -> 'sip:a@b;lr')."""
    m = re.search(r"<([^>]*)>", nameaddr)
    return m.group(1) if m else nameaddr.split(";")[0].strip()


def parse_uri(uri):
    """'sip:user@host:port;a=b;lr' -> (user, host, port, {params})."""
    m = re.match(r"sips?:(?:([^@]*)@)?(\[[^\]]+\]|[^:;>]+)(?::(\d+))?(.*)$",
                 uri)
    assert m, "not a SIP URI: %r" % uri
    params = {}
    for p in m.group(4).split(";"):
        if p:
            k, _, v = p.partition("=")
            params[k.lower()] = v
    return (m.group(1), m.group(2),
            int(m.group(3)) if m.group(3) else None, params)


class Conn:
    """One socket toward the server: a UDP socket or one TCP/TLS
    connection (TLS: no certificate check). Messages that arrive while the
    test waits for another one are kept, in order, for later."""

    def __init__(self, server_host, server_port, transport="tls",
                 source_host=None, timeout=RECV_TIMEOUT_S):
        self.transport = transport.lower()
        self.server = (server_host, server_port)
        self.buf = b""
        self.backlog = []
        family = socket.AF_INET6 if ":" in server_host else socket.AF_INET
        src = source_host or ("::1" if family == socket.AF_INET6
                              else "127.0.0.1")
        if self.transport == "udp":
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind((src, 0))
        else:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            # A 180 and a 200 written back to back must not wait for the
            # peer's delayed ACK (Nagle).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((src, 0))
            try:
                sock.connect(self.server)
                if self.transport == "tls":
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                    sock = ctx.wrap_socket(sock)
            except Exception:
                sock.close()
                raise
            self.sock = sock
        self.local = self.sock.getsockname()[:2]

    @property
    def via_transport(self):
        return self.transport.upper()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def _read_one(self, deadline):
        """The next message off the socket, or None at the deadline."""
        if self.transport == "udp":
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
                try:
                    data, _ = self.sock.recvfrom(65535)
                except (socket.timeout, OSError):
                    return None
                if data.strip(b"\r\n"):
                    return Msg(data)
        while True:
            self.buf = self.buf.lstrip(b"\r\n")
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                length = 0
                for line in self.buf[:end].decode("utf-8",
                                                  "replace").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() in ("content-length", "l"):
                        length = int(value.strip())
                total = end + 4 + length
                if len(self.buf) >= total:
                    data, self.buf = self.buf[:total], self.buf[total:]
                    return Msg(data)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLError, OSError):
                return None
            if not data:
                return None
            self.buf += data

    def expect(self, pred, timeout=RECV_TIMEOUT_S, what="a message"):
        """The first message (kept or new) for which pred is true; others
        are kept. Fails the test after timeout seconds."""
        for i, m in enumerate(self.backlog):
            if pred(m):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_one(deadline)
            if m is None:
                raise AssertionError("no %s within %.1f s; kept: %r" % (
                    what, timeout, self.backlog[-10:]))
            if pred(m):
                return m
            self.backlog.append(m)


class UA:
    """A user agent for user@domain, talking to the server through conn.
    Its Contact is the socket's own address (with ;transport= for TCP and
    TLS), as a UA behind a connection-oriented transport would write it."""

    def __init__(self, conn, user, domain, password=None, from_domain=None):
        self.c = conn
        self.user, self.domain, self.password = user, domain, password
        self.from_domain = from_domain or domain
        host, port = conn.local
        self.ip = host
        tp = "" if conn.transport == "udp" else ";transport=" + \
            conn.transport
        self.contact_uri = "sip:%s@%s:%d%s" % (user, host, port, tp)
        self.reg_call_id = new_id() + "@ua"
        self.reg_cseq = 0

    def via(self):
        return "Via: SIP/2.0/%s %s:%d;branch=z9hG4bK%s;rport" % (
            self.c.via_transport, self.c.local[0], self.c.local[1], new_id())

    # -- registration -----------------------------------------------------

    def _register_req(self, expires, q, auth):
        self.reg_cseq += 1
        server = "%s:%d" % self.c.server
        contact = "<%s>" % self.contact_uri
        if q is not None:
            contact += ";q=%s" % q
        lines = [
            "REGISTER sip:%s SIP/2.0" % server,
            self.via(),
            "Max-Forwards: 70",
            "From: <sip:%s@%s>;tag=%s" % (self.user, self.domain,
                                          new_id()[:8]),
            "To: <sip:%s@%s>" % (self.user, self.domain),
            "Call-ID: " + self.reg_call_id,
            "CSeq: %d REGISTER" % self.reg_cseq,
            "Contact: " + contact,
            "Expires: %d" % expires,
            "User-Agent: uahelp",
        ]
        if auth:
            lines.append("Authorization: " + auth)
        lines.append("Content-Length: 0")
        return "\r\n".join(lines) + "\r\n\r\n"

    def _final_for(self, call_id, cseq, method, timeout):
        return self.c.expect(
            lambda m: not m.is_request and m.call_id == call_id and
            m.cseq == (cseq, method) and m.status >= 200,
            timeout, "final response to %s %d" % (method, cseq))

    def register(self, expires=300, q=None, timeout=RECV_TIMEOUT_S):
        """REGISTER, answer the 401; returns the final response."""
        self.c.send(self._register_req(expires, q, None))
        r = self._final_for(self.reg_call_id, self.reg_cseq, "REGISTER",
                            timeout)
        assert r.status == 401, (r, r.raw)
        ch = challenge_params(r.all("WWW-Authenticate")[0])
        auth = digest_header(self.user, self.password, ch["realm"],
                             ch["nonce"], "sip:%s:%d" % self.c.server)
        self.c.send(self._register_req(expires, q, auth))
        return self._final_for(self.reg_call_id, self.reg_cseq, "REGISTER",
                               timeout)

    # -- caller side ------------------------------------------------------

    def invite(self, to_user, to_domain=None):
        """Send an INVITE to to_user at the server; returns the Call."""
        call = Call(self, caller=True)
        target = "sip:%s@%s" % (to_user, to_domain or
                                "%s:%d" % self.c.server)
        call.remote_uri = target
        call.local_uri = "sip:%s@%s" % (self.user, self.from_domain)
        call.local_tag = new_id()[:10]
        call.call_id = new_id() + "@ua"
        call.cseq = 1
        body = SDP.format(ip=self.ip)
        self.c.send("\r\n".join([
            "INVITE %s SIP/2.0" % target,
            self.via(),
            "Max-Forwards: 70",
            "From: <%s>;tag=%s" % (call.local_uri, call.local_tag),
            "To: <%s>" % target,
            "Call-ID: " + call.call_id,
            "CSeq: 1 INVITE",
            "Contact: <%s>" % self.contact_uri,
            "Content-Type: application/sdp",
            "Content-Length: %d" % len(body),
            "", body]))
        return call

    # -- callee side ------------------------------------------------------

    def wait_invite(self, timeout=RECV_TIMEOUT_S):
        """The next initial INVITE (no To tag) as a Call being answered."""
        inv = self.c.expect(lambda m: m.method == "INVITE" and
                            m.tag("To") is None, timeout, "INVITE")
        call = Call(self, caller=False)
        call.invite = inv
        call.call_id = inv.call_id
        call.remote_uri = uri_of(inv.get("From"))
        call.remote_tag = inv.tag("From")
        call.local_uri = uri_of(inv.get("To"))
        call.local_tag = new_id()[:10]
        call.target = uri_of(inv.get("Contact"))
        call.routes = inv.values("Record-Route")  # in order for the callee
        call.cseq = 0
        return call

    def respond(self, req, status, reason, to_tag=None, record_route=(),
                body="", contact=True):
        to = req.get("To")
        if to_tag and ";tag=" not in to:
            to += ";tag=" + to_tag
        lines = ["SIP/2.0 %d %s" % (status, reason)]
        lines += ["Via: " + v for v in req.all("Via")]
        lines += ["Record-Route: " + v for v in record_route]
        lines += ["From: " + req.get("From"), "To: " + to,
                  "Call-ID: " + req.call_id, "CSeq: " + req.get("CSeq")]
        if contact:
            lines.append("Contact: <%s>" % self.contact_uri)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        self.c.send("\r\n".join(lines) + "\r\n\r\n" + body)


class Call:
    """One dialog of a UA, caller or callee side."""

    def __init__(self, ua, caller):
        self.ua = ua
        self.is_caller = caller
        self.invite = None
        self.routes = []
        self.target = None
        self.remote_tag = None
        self.provisional = []

    def _is_mine(self, m):
        return m.call_id == self.call_id

    # caller side

    def wait_answer(self, timeout=RECV_TIMEOUT_S):
        """Provisional responses, then the final one; on 2xx the dialog's
        route set (reversed Record-Route) and target are kept."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.ua.c.expect(
                lambda m: not m.is_request and self._is_mine(m) and
                m.cseq == (1, "INVITE"),
                max(0.01, deadline - time.monotonic()), "INVITE response")
            if r.status < 200:
                self.provisional.append(r)
                continue
            self.final = r
            if r.status < 300:
                self.remote_tag = r.tag("To")
                self.routes = list(reversed(r.values("Record-Route")))
                self.target = uri_of(r.get("Contact"))
            return r

    def ack(self):
        """ACK the 2xx (a new transaction, along the route set)."""
        self._send_in_dialog("ACK", cseq=1)

    # both sides

    def _send_in_dialog(self, method, cseq=None):
        if cseq is None:
            self.cseq = (self.cseq or 1) + 1
            cseq = self.cseq
        ua = self.ua
        lines = ["%s %s SIP/2.0" % (method, self.target), ua.via(),
                 "Max-Forwards: 70"]
        lines += ["Route: " + r for r in self.routes]
        lines += [
            "From: <%s>;tag=%s" % (self.local_uri, self.local_tag),
            "To: <%s>;tag=%s" % (self.remote_uri, self.remote_tag),
            "Call-ID: " + self.call_id,
            "CSeq: %d %s" % (cseq, method),
            "Content-Length: 0"]
        ua.c.send("\r\n".join(lines) + "\r\n\r\n")
        return cseq

    def send_bye(self):
        """Send BYE along the route set; returns its CSeq number."""
        self.bye_cseq = self._send_in_dialog("BYE")
        return self.bye_cseq

    def wait_bye_response(self, timeout=RECV_TIMEOUT_S):
        """The final response to the BYE sent last."""
        return self.ua.c.expect(
            lambda m: not m.is_request and self._is_mine(m) and
            m.cseq == (self.bye_cseq, "BYE") and m.status >= 200,
            timeout, "response to BYE")

    def bye(self, timeout=RECV_TIMEOUT_S):
        """Send BYE and wait for its final response (when the other side
        answers on its own, e.g. SIPp)."""
        self.send_bye()
        return self.wait_bye_response(timeout)

    def wait_request(self, method, timeout=RECV_TIMEOUT_S):
        return self.ua.c.expect(
            lambda m: m.method == method and self._is_mine(m),
            timeout, method)

    def wait_bye_and_answer(self, timeout=RECV_TIMEOUT_S):
        bye = self.wait_request("BYE", timeout)
        self.ua.respond(bye, 200, "OK", contact=False)
        return bye

    # callee side

    def ring(self):
        self.ua.respond(self.invite, 180, "Ringing", to_tag=self.local_tag,
                        record_route=self.invite.all("Record-Route"))

    def answer(self):
        self.ua.respond(self.invite, 200, "OK", to_tag=self.local_tag,
                        record_route=self.invite.all("Record-Route"),
                        body=SDP.format(ip=self.ua.ip))
