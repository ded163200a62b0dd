"""Fixtures: a real `switchboard serve` per test on its own loopback address."""
# SPDX-License-Identifier: BSD-2-Clause
import os
import pathlib
import random
import signal
import socket
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "UndefinedBehaviorSanitizer")

DEFAULT_CONFIG = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
"""


def binary():
    path = os.environ.get("SB_BINARY")
    if not path:
        pytest.fail("SB_BINARY must name the switchboard binary to test")
    return path


def loopback_addr():
    """A random 127.x.y.z so parallel runs on one machine do not meet."""
    return "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255),
                             random.randint(2, 254))


def free_udp_port(host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_tcp_port(host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def listen_arg(host, port, proto="udp"):
    return "%s:[%s]:%d" % (proto, host, port) if ":" in host else \
        "%s:%s:%d" % (proto, host, port)


def dev_cert(data_dir):
    """The development certificate pair in data_dir/tls (scripts/dev-cert).
    Returns (certificate path, key path)."""
    p = subprocess.run([str(REPO / "scripts/dev-cert"), str(data_dir)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    tls = pathlib.Path(data_dir) / "tls"
    return tls / "dev-cert.pem", tls / "dev-key.pem"


class Server:
    """One switchboard process; stderr goes to a file the test can read."""

    def __init__(self, tmp_path, config=DEFAULT_CONFIG, hosts=None,
                 args=(), quiet=False, transports=("udp",)):
        self.tmp = tmp_path
        self.config_path = tmp_path / "switchboard.yaml"
        self.config_path.write_text(config)
        self.data_dir = tmp_path / "data"
        self.stderr_path = tmp_path / "stderr.log"
        self.hosts = hosts or [loopback_addr()]
        self.args = list(args)
        self.quiet = quiet  # logs below info: probe with OPTIONS instead
        self.transports = list(transports)  # listened on by every host
        self.proc = None
        self.addrs = []
        self.ports = {}  # (host, proto) -> port
        self.is_stopped = False

    @property
    def host(self):
        return self.addrs[0][0]

    @property
    def port(self):
        return self.addrs[0][1]

    def port_of(self, proto, host=None):
        """The port of this transport's listener (on the first host)."""
        return self.ports[(host or self.host, proto)]

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def start(self):
        if "tls" in self.transports:
            dev_cert(self.data_dir)
        for h in self.hosts:
            for proto in self.transports:
                free = free_udp_port if proto == "udp" else free_tcp_port
                self.ports[(h, proto)] = free(h)
        self.addrs = [(h, self.ports[(h, self.transports[0])])
                      for h in self.hosts]
        cmd = [binary(), "serve", "--config", str(self.config_path),
               "--data-dir", str(self.data_dir)]
        listens = [(h, self.ports[(h, proto)], proto) for h in self.hosts
                   for proto in self.transports]
        for h, p, proto in listens:
            cmd += ["--listen", listen_arg(h, p, proto)]
        cmd += self.args
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=err, cwd=self.tmp)
        # The listening line in the text and in the JSON log format.
        want = [("listening proto=%s addr=%s" %
                 (proto, listen_arg(h, p, proto)[len(proto) + 1:]),
                 '"event":"listening","proto":"%s","addr":"%s"' %
                 (proto, listen_arg(h, p, proto)[len(proto) + 1:]))
                for h, p, proto in listens]
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            text = self.stderr()
            if all(w[0] in text or w[1] in text for w in want):
                return self
            if self.quiet and self.answers_options():
                return self
            if self.proc.poll() is not None:
                pytest.fail("switchboard exited with %d at start:\n%s" %
                            (self.proc.returncode, text))
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        pytest.fail("switchboard did not log listening within %.0f s:\n%s" %
                    (START_TIMEOUT_S, self.stderr()))

    def answers_options(self):
        from siphelp import Client
        c = Client(self.host, self.port)
        try:
            c.send(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
                   b"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKprobe;rport\r\n"
                   b"From: <sip:p@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>"
                   b"\r\nCall-ID: probe\r\nCSeq: 1 OPTIONS\r\n"
                   b"Content-Length: 0\r\n\r\n")
            return c.recv(0.1) is not None
        finally:
            c.close()

    def stop(self):
        """SIGTERM, then check a clean exit. Returns stderr."""
        self.is_stopped = True
        if self.proc is None or self.proc.poll() is not None:
            rc = self.proc.returncode if self.proc else None
            raise AssertionError("switchboard died early (rc=%s):\n%s" %
                                 (rc, self.stderr()))
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("switchboard ignored SIGTERM:\n" +
                                 self.stderr())
        text = self.stderr()
        assert rc == 0, "exit %d after SIGTERM:\n%s" % (rc, text)
        assert_clean(text)
        return text


def assert_clean(stderr_text):
    for mark in SANITIZER_MARKS:
        assert mark not in stderr_text, "sanitizer report:\n" + stderr_text
    assert "live_leak" not in stderr_text, "leak at exit:\n" + stderr_text


def run_cli(*args, timeout=10, cwd=None):
    """Run the switchboard command to completion (bounded in time)."""
    p = subprocess.run([binary()] + [str(a) for a in args],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout, cwd=cwd)
    assert_clean(p.stderr)
    return p


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(config=..., hosts=[...]) -> a running Server.
    Every server started is stopped at the end of the test and must exit 0
    without sanitizer reports."""
    started = []

    def start(**kw):
        s = Server(tmp_path, **kw).start()
        started.append(s)
        return s

    yield start
    for s in started:
        if not s.is_stopped:
            s.stop()


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture
def client(server):
    from siphelp import Client
    c = Client(server.host, server.port)
    yield c
    c.close()
