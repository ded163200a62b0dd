"""A headless baresip (1.0, Debian baresip-core) driven over ctrl_tcp."""
# SPDX-License-Identifier: BSD-2-Clause
import json
import random
import shutil
import socket
import subprocess
import time

import pytest

from conftest import free_tcp_port, free_udp_port

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0

# ../shared/PEERS.md: no sound card (ausine source, ALSA null player), the
# control module, menu (for REFER); RTP below the ephemeral port range.
CONFIG = """\
poll_method		epoll
sip_listen		{sip}
call_local_timeout	120
call_max_calls		4
audio_player		alsa,null
audio_source		ausine,440
audio_alert		alsa,null
audio_level		no
rtp_ports		{rtp_lo}-{rtp_hi}
rtp_timeout		0
dns_server		127.0.0.1:53
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			alsa.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		{ctrl}
"""


class Baresip:
    """One baresip process with its own config folder, bound to host."""

    def __init__(self, tmp_path, host, name="baresip"):
        if shutil.which("baresip") is None:
            pytest.skip("baresip is not installed (scripts/install-deps)")
        self.host = host
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.sip_port = free_udp_port(host)
        self.ctrl_port = free_tcp_port(host)
        rtp = random.randrange(20000, 30000, 2)
        (self.dir / "config").write_text(CONFIG.format(
            sip="%s:%d" % (host, self.sip_port), rtp_lo=rtp,
            rtp_hi=rtp + 9, ctrl="%s:%d" % (host, self.ctrl_port)))
        (self.dir / "accounts").write_text("")
        self.log_path = self.dir / "baresip.log"
        self.events = []
        self.buf = b""
        self.sock = None
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                ["baresip", "-f", str(self.dir)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.sock is None:
            try:
                self.sock = socket.create_connection(
                    (host, self.ctrl_port), timeout=0.2)
            except OSError:
                if self.proc.poll() is not None or \
                        time.monotonic() > deadline:
                    self.close()
                    pytest.fail("baresip did not start:\n" + self.log())
                time.sleep(0.05)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def command(self, cmd, params=""):
        j = json.dumps({"command": cmd, "params": params,
                        "token": str(random.getrandbits(32))}).encode()
        self.sock.sendall(b"%d:%s," % (len(j), j))

    def _next(self, deadline):
        """The next netstring as JSON, or None at the deadline."""
        while True:
            head, sep, rest = self.buf.partition(b":")
            if sep:
                n = int(head)
                if len(rest) > n:
                    self.buf = rest[n + 1:]
                    return json.loads(rest[:n])
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not data:
                return None
            self.buf += data

    def wait_event(self, types, timeout=10.0):
        """The first event whose type is in types (others are kept)."""
        deadline = time.monotonic() + timeout
        while True:
            m = self._next(deadline)
            if m is None:
                return None
            if m.get("event"):
                self.events.append(m)
                if m.get("type") in types:
                    return m

    def close(self):
        """quit, then wait; kill our PID if it does not go."""
        if self.sock is not None:
            try:
                self.command("quit")
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
