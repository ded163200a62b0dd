"""A tiny SIP-over-UDP client for the end-to-end tests: build, send, parse."""
# SPDX-License-Identifier: BSD-2-Clause
import random
import socket
import time

RECV_TIMEOUT_S = 3.0


def new_id():
    return "%016x" % random.getrandbits(64)


def request(method, host, port, *, ruri=None, call_id=None, cseq=1,
            cseq_method=None, via=None, version="SIP/2.0", to_tag=None,
            extra=(), body=b"", content_length=True):
    """Bytes of a request to host:port; every part can be spoiled."""
    host_ref = "[%s]" % host if ":" in host else host
    ruri = ruri or "sip:%s:%d" % (host_ref, port)
    via = via or "SIP/2.0/UDP %s:5999;branch=z9hG4bK%s;rport" % (
        host_ref, new_id())
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
