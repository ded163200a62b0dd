"""Tiny SIP clients for the end-to-end tests (UDP, TCP, TLS): build, send,
parse."""
# SPDX-License-Identifier: BSD-2-Clause
import random
import socket
import ssl
import time

RECV_TIMEOUT_S = 3.0


def new_id():
    return "%016x" % random.getrandbits(64)


def request(method, host, port, *, ruri=None, call_id=None, cseq=1,
            cseq_method=None, via=None, version="SIP/2.0", to_tag=None,
            extra=(), body=b"", content_length=True, transport="UDP"):
    """Bytes of a request to host:port; every part can be spoiled."""
    host_ref = "[%s]" % host if ":" in host else host
    ruri = ruri or "sip:%s:%d" % (host_ref, port)
    via = via or "SIP/2.0/%s %s:5999;branch=z9hG4bK%s;rport" % (
        transport, host_ref, new_id())
    call_id = call_id or new_id() + "@e2e"
    to = "<sip:%s:%d>" % (host_ref, port)
    if to_tag:
        to += ";tag=" + to_tag
    lines = [
        "%s %s %s" % (method, ruri, version),
        "Via: " + via,
        "Max-Forwards: 70",
        "From: <sip:e2e@example.test>;tag=%s" % new_id()[:8],
        "To: " + to,
        "Call-ID: " + call_id,
        "CSeq: %d %s" % (cseq, cseq_method or method),
    ]
    lines += list(extra)
    if content_length:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Response:
    """A parsed response: status, reason, headers (in order), body."""

    def __init__(self, data):
        self.raw = data
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        self.version = version
        self.status = int(status)
        self.reason = reason
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip(), value.strip()))

    def get(self, name):
        """Value of the first header called name, or None."""
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.reason)


class Client:
    """A UDP socket on loopback that talks to one server address."""

    def __init__(self, host, port):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host, self.port = host, port
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1",
                        0))

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendto(data, (self.host, self.port))

    def recv(self, timeout=RECV_TIMEOUT_S):
        """The next response, or None after timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65535)
        except socket.timeout:
            return None
        return Response(data)

    def ask(self, method="OPTIONS", **kw):
        """Send a request and return its response (None when none came)."""
        self.send(request(method, self.host, self.port, **kw))
        return self.recv()

    def ask_raw(self, data):
        self.send(data)
        return self.recv()

    def assert_silent_then_alive(self):
        """Prove the server answered nothing to what was just sent: an
        OPTIONS sent after it must be the first thing that comes back
        (same socket, same loopback path, so order is kept)."""
        call_id = new_id() + "@probe"
        deadline = time.monotonic() + RECV_TIMEOUT_S
        self.send(request("OPTIONS", self.host, self.port, call_id=call_id))
        r = self.recv(max(0.1, deadline - time.monotonic()))
        assert r is not None, "server did not answer OPTIONS afterwards"
        assert r.get("Call-ID") == call_id, \
            "server answered something it should not have: %r %r" % (
                r, r.raw[:200])
        assert r.status == 200


class StreamClient:
    """One TCP or TLS connection to the server (TLS: no certificate check),
    optionally from a chosen local address. Messages are framed by
    Content-Length, as the server frames them."""

    def __init__(self, host, port, tls=False, source=None,
                 timeout=RECV_TIMEOUT_S):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host, self.port = host, port
        self.transport = "TLS" if tls else "TCP"
        self.buf = b""
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        if source:
            sock.bind((source, 0))
        try:
            sock.connect((host, port))
            if tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                sock = ctx.wrap_socket(sock)
        except Exception:
            sock.close()
            raise
        self.sock = sock

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _read(self, deadline):
        """More bytes into buf: False on EOF, reset or timeout."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLError, OSError):
            return False
        self.buf += data
        return bool(data)

    def recv_raw(self, n, timeout=RECV_TIMEOUT_S):
        """Exactly n bytes, or what came before timeout or EOF."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < n and self._read(deadline):
            pass
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def recv(self, timeout=RECV_TIMEOUT_S):
        """The next message (keep-alive CRLFs skipped), or None."""
        deadline = time.monotonic() + timeout
        while True:
            self.buf = self.buf.lstrip(b"\r\n")
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = self.buf[:end].decode("utf-8", "replace")
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() in ("content-length", "l"):
                        length = int(value.strip())
                total = end + 4 + length
                if len(self.buf) >= total:
                    data, self.buf = self.buf[:total], self.buf[total:]
                    return Response(data)
            if not self._read(deadline):
                return None

    def ask(self, method="OPTIONS", **kw):
        kw.setdefault("transport", self.transport)
        self.send(request(method, self.host, self.port, **kw))
        return self.recv()

    def is_closed(self, timeout=RECV_TIMEOUT_S):
        """True once the server closed the connection (EOF or reset)
        within timeout; bytes that come first are kept."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            self.sock.settimeout(max(left, 0.001))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ssl.SSLError, OSError):
                return True
            if not data:
                return True
            self.buf += data
        return False
