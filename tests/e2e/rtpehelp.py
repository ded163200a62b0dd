"""The rtpengine daemon for end-to-end tests (media.mode: rtpengine)."""
# SPDX-License-Identifier: BSD-2-Clause
import shutil
import subprocess

from conftest import free_udp_port
from reghelp import wait_for

RTPE = shutil.which("rtpengine")
PORTS = (33000, 33999)  # the media ports it gives out


class Rtpengine:
    """The rtpengine daemon on 127.0.0.1, userspace only, its own log."""

    def __init__(self, tmp_path, name="rtpe"):
        self.port = free_udp_port("127.0.0.1")
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.rec = self.dir / "rec"
        self.rec.mkdir()
        self.log_path = self.dir / "log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [RTPE, "--config-file=none", "--foreground", "--table=-1",
             "--interface=127.0.0.1",
             "--listen-ng=127.0.0.1:%d" % self.port,
             "--port-min=%d" % PORTS[0], "--port-max=%d" % PORTS[1],
             "--num-threads=1", "--delete-delay=0", "--log-stderr",
             "--log-level=6", "--recording-dir=%s" % self.rec,
             "--recording-method=pcap"],
            stdout=self.log, stderr=subprocess.STDOUT)
        assert wait_for(lambda: self.has("Startup complete") or
                        self.proc.poll() is not None, 10)
        assert self.proc.poll() is None, self.text()

    def addr(self):
        return '"127.0.0.1:%d"' % self.port

    def text(self):
        return self.log_path.read_text(errors="replace")

    def has(self, needle):
        return needle in self.text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
