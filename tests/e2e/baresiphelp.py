"""A headless baresip (1.0, Debian baresip-core) driven over ctrl_tcp.

Facts about baresip 1.0 these helpers rely on (found by trying them, see
../shared/PEERS.md too):
- ctrl_tcp commands act on the current call of the current UA; one UA per
  process keeps that unambiguous.  `dial URI`, `accept`, `hangup` (an
  unanswered incoming call is rejected with "486 Rejected", an unanswered
  outgoing one is CANCELled), `hold`, `resume` (re-INVITE a=sendonly /
  a=sendrecv), `sndcode D` (one RFC 4733 digit, start and end),
  `audio_debug` (RTP/RTCP counters), `callstat`, `listcalls`, `uanew`.
  There is no busy/`hangup CODE` command: `hangup` is the way to answer 486.
- Events: CALL_INCOMING, CALL_RINGING (a 180 arrived), CALL_PROGRESS (183),
  CALL_ESTABLISHED, CALL_CLOSED (param: "486 Rejected", "404 Not Found",
  "Connection reset by peer" = BYE received, "Connection reset by user" =
  local hangup), CALL_DTMF_START (param: the digit), CALL_DTMF_END,
  CALL_REMOTE_SDP (param offer/answer, also for re-INVITEs), CALL_RTCP.
- Without `net_interface` it puts the machine's first non-loopback address
  in its SDP; `net_interface <the SIP address>` keeps media on loopback.
  RTP is still bound to 0.0.0.0, so packets arrive from 127.0.0.1.
- ausine only runs at 48 kHz stereo: without ausrc_srate/ausrc_channels the
  source does not start and that side sends no RTP at all.
- RTP counters: `audio_debug` lists each RTCP member (a peer SSRC) with
  `rcvd=N`, the RTP packets received from it, next to our own SSRC
  (`Encode: ... ssrc=`) and the negotiated `audio dir=`; CALL_RTCP events
  only carry the sender-report counts.  While held (sendonly/recvonly)
  both sides stop sending; after resume the decode filters (sndfile) are
  gone, so only the first leg of a call can be checked in the WAV dump.
- The SIP trace (-s) goes to stdout: "\x1b[36;1m#", "UDP src -> dst", the
  message with CRLFs, "\x1b[;m".  A message arriving on a TCP connection
  is shown with the connection's addresses.
"""
# SPDX-License-Identifier: BSD-2-Clause
import json
import math
import random
import re
import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import free_tcp_port, free_udp_port

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 5.0

# ../shared/PEERS.md: no sound card (ausine source, ALSA null player), the
# control module, menu (for REFER); RTP below the ephemeral port range.
# sndfile dumps what each side decodes to snd_path (dump-*-dec.wav).
CONFIG = """\
poll_method		epoll
sip_listen		{sip}
net_interface		{host}
call_local_timeout	120
call_max_calls		4
audio_player		alsa,null
audio_source		ausine,{tone}
audio_alert		alsa,null
audio_level		no
ausrc_srate		48000
ausrc_channels		2
rtp_ports		{rtp_lo}-{rtp_hi}
rtp_timeout		0
rtp_stats		yes
dns_server		127.0.0.1:53
statmode_default	off
snd_path		{snd}
module_path		/usr/lib/baresip/modules
{codecs}module			ausine.so
module			alsa.so
module			sndfile.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		{ctrl}
"""

_CODE = re.compile(r"^([1-6]\d\d)\b")


def close_code(event):
    """The SIP status of a CALL_CLOSED event ("486 Rejected" -> 486), or
    None when the call ended for another reason (BYE, local hangup)."""
    m = _CODE.match((event or {}).get("param") or "")
    return int(m.group(1)) if m else None


def free_sip_port(host):
    """A port baresip can take whole: UDP and TCP on it, and TCP on the
    next one, which it takes for SIP over TLS."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        port = free_udp_port(host)
        try:
            for p, kind in ((port, socket.SOCK_STREAM),
                            (port + 1, socket.SOCK_STREAM)):
                with socket.socket(family, kind) as sock:
                    sock.bind((host, p))
            return port
        except OSError:
            continue
    raise AssertionError("no free SIP port pair on %s" % host)


class Baresip:
    """One baresip process with its own config folder, bound to host.

    tone_hz: the frequency of the sine this side sends.  trace: SIP trace
    (-s) in the log, which sip_messages() parses.  codecs: the audio codec
    modules, in order of preference (each adds lines to the SDP).
    rtp_base: the first of the ten RTP ports (default: random in
    20000-30009)."""

    def __init__(self, tmp_path, host, name="baresip", tone_hz=440,
                 trace=False, codecs=("g711",), rtp_base=None):
        if shutil.which("baresip") is None:
            pytest.skip("baresip is not installed (scripts/install-deps)")
        self.host = host
        self.name = name
        self.tone_hz = tone_hz
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.snd_dir = self.dir / "snd"
        self.snd_dir.mkdir()
        self.sip_port = free_sip_port(host)
        self.ctrl_port = free_tcp_port(host)
        while self.ctrl_port in (self.sip_port, self.sip_port + 1):
            self.ctrl_port = free_tcp_port(host)
        rtp = rtp_base or random.randrange(20000, 30000, 2)
        (self.dir / "config").write_text(CONFIG.format(
            sip="%s:%d" % (host, self.sip_port), host=host, tone=tone_hz,
            rtp_lo=rtp, rtp_hi=rtp + 9, snd=self.snd_dir,
            codecs="".join("module\t\t\t%s.so\n" % c for c in codecs),
            ctrl="%s:%d" % (host, self.ctrl_port)))
        (self.dir / "accounts").write_text("")
        self.log_path = self.dir / "baresip.log"
        self.events = []     # every event seen, for diagnostics
        self.pending = []    # events not yet returned by wait_event
        self.responses = {}  # token -> response
        self.buf = b""
        self.sock = None
        cmd = ["baresip", "-f", str(self.dir)] + (["-s"] if trace else [])
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=self.dir)
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

    def __repr__(self):
        return "<baresip %s %s:%d>" % (self.name, self.host, self.sip_port)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def diag(self):
        """Events and log, for assertion messages."""
        return "\n--- %s events:\n%s\n--- %s log:\n%s" % (
            self.name, "\n".join(json.dumps(e) for e in self.events),
            self.name, self.log()[-20000:])

    # -- control connection -------------------------------------------

    def command(self, cmd, params=""):
        """Send a command; returns its token (the response is kept)."""
        token = str(random.getrandbits(32))
        j = json.dumps({"command": cmd, "params": params,
                        "token": token}).encode()
        self.sock.sendall(b"%d:%s," % (len(j), j))
        return token

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

    def _pump(self, deadline):
        """Read one message into events/responses; False at the deadline."""
        m = self._next(deadline)
        if m is None:
            return False
        if m.get("event"):
            self.events.append(m)
            self.pending.append(m)
        elif m.get("response"):
            self.responses[m.get("token")] = m
        return True

    def run(self, cmd, params="", timeout=COMMAND_TIMEOUT_S):
        """A command and its response text (it must succeed)."""
        token = self.command(cmd, params)
        deadline = time.monotonic() + timeout
        while token not in self.responses:
            if not self._pump(deadline):
                raise AssertionError("%s: no response to %s %r%s" % (
                    self.name, cmd, params, self.diag()))
        r = self.responses.pop(token)
        assert r.get("ok"), "%s: %s %r failed: %r" % (self.name, cmd,
                                                      params, r)
        return r.get("data") or ""

    def wait_event(self, types, timeout=10.0, call_id=None):
        """The oldest event not yet returned whose type is in types (and
        of call_id, if given), or None after timeout.  Other events stay
        pending for later calls."""
        if isinstance(types, str):
            types = {types}
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.pending):
                if e.get("type") in types and \
                        (call_id is None or e.get("id") == call_id):
                    return self.pending.pop(i)
            if not self._pump(deadline):
                return None

    def expect(self, types, timeout=10.0, call_id=None, context=None):
        """wait_event that must succeed.  context: a function giving more
        text for the failure message (called only on failure)."""
        e = self.wait_event(types, timeout, call_id)
        if e is None:
            raise AssertionError("%s: no %s within %.1f s%s" % (
                self.name,
                sorted({types} if isinstance(types, str) else types),
                timeout, context() if context else self.diag()))
        return e

    def drop_pending(self, types):
        """Forget the pending events of these types (after reading what
        has arrived)."""
        if isinstance(types, str):
            types = {types}
        self.settle(0.05)
        self.pending = [e for e in self.pending if e.get("type") not in types]

    def settle(self, secs=0.3):
        """Read (and keep) what arrives during secs."""
        deadline = time.monotonic() + secs
        while self._pump(deadline):
            pass

    # -- accounts and calls -------------------------------------------

    def add_account(self, aor):
        """uanew: an account line such as
        '<sip:alice@HOST:PORT>;auth_pass=x;regint=300'."""
        return self.run("uanew", aor)

    def register(self, aor, timeout=5.0):
        """Create an account that registers; must get REGISTER_OK."""
        self.add_account(aor)
        e = self.expect({"REGISTER_OK", "REGISTER_FAIL"}, timeout)
        assert e["type"] == "REGISTER_OK", "%s%s" % (e, self.diag())
        return e

    def dial(self, uri):
        return self.run("dial", uri)

    def accept(self):
        return self.run("accept")

    def hangup(self):
        """BYE an established call, CANCEL an outgoing one, answer an
        incoming one with 486."""
        return self.run("hangup")

    def hold(self):
        return self.run("hold")

    def resume(self):
        return self.run("resume")

    def send_dtmf(self, digits, gap=0.25):
        """One RFC 4733 event per digit, gap seconds apart."""
        for d in digits:
            self.run("sndcode", d)
            time.sleep(gap)

    def calls(self):
        """listcalls: [(state, peer uri)]."""
        return re.findall(r"\[line \d+\]\s+\S+\s+(\w+)\s+(\S+)",
                          self.run("listcalls"))

    def audio_stats(self):
        """Counters of the current call's audio stream (audio_debug):
        tx_packets, rx_packets (RTP received, summed over the peers' SSRCs),
        rx_from {ssrc: packets}, ssrc (ours), dir (negotiated direction),
        remote (the RTP address from the peer's SDP)."""
        text = self.run("audio_debug")
        st = {"text": text}
        m = re.search(r"TX: packets=(\d+)", text)
        st["tx_packets"] = int(m.group(1)) if m else 0
        rx = {}
        for ssrc, n in re.findall(
                r"member 0x([0-9a-f]+):.*?rcvd=(\d+)", text, re.S):
            rx[int(ssrc, 16)] = int(n)
        st["rx_from"] = rx
        st["rx_packets"] = sum(rx.values())
        m = re.search(r"Encode: seq=\d+ ssrc=0x([0-9a-f]+)", text)
        st["ssrc"] = int(m.group(1), 16) if m else None
        m = re.search(r"audio dir=(\w+)", text)
        st["dir"] = m.group(1) if m else None
        m = re.search(r"remote: (\S+?)/", text)
        st["remote"] = m.group(1) if m else None
        return st

    # -- what baresip wrote -------------------------------------------

    def sip_messages(self):
        """The SIP trace (-s) in the log: [{proto, src, dst, start,
        headers: [(name, value)], size (bytes on the wire)}] in order."""
        out = []
        for m in re.finditer(
                r"\x1b\[36;1m#\n(\w+) (\S+) -> (\S+)\n(.*?)\x1b\[;m",
                self.log_path.read_bytes().decode("utf-8", "replace"),
                re.S):
            raw = m.group(4)
            if raw.endswith("\n") and not raw.endswith("\r\n"):
                raw = raw[:-1]  # the trace's own line end
            head = raw.split("\r\n\r\n", 1)[0].split("\r\n")
            hdrs = []
            for ln in head[1:]:
                if ":" in ln:
                    k, v = ln.split(":", 1)
                    hdrs.append((k.strip().lower(), v.strip()))
            out.append({"proto": m.group(1), "src": m.group(2),
                        "dst": m.group(3), "start": head[0],
                        "headers": hdrs,
                        "size": len(raw.encode("utf-8", "replace"))})
        return out

    def decoded_wavs(self):
        return sorted(self.snd_dir.glob("dump-*-dec.wav"))

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


def header(msg, name):
    """All values of one header of a sip_messages() entry."""
    return [v for k, v in msg["headers"] if k == name.lower()]


def wav_samples(path):
    """(sample rate, mono int16 samples) of a WAV file that may still be
    being written (the header sizes are not trusted)."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", path
    pos, rate, channels, bits = 12, None, 1, 16
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack(
            "<I", data[pos + 4:pos + 8])[0]
        if cid == b"fmt ":
            _, channels, rate, _, _, bits = struct.unpack(
                "<HHIIHH", data[pos + 8:pos + 24])
        elif cid == b"data":
            body = data[pos + 8:]
            break
        pos += 8 + size + (size & 1)
    else:
        raise AssertionError("no data chunk in %s" % path)
    assert bits == 16 and rate, (path, rate, bits)
    n = len(body) // (2 * channels)
    s = struct.unpack("<%dh" % (n * channels), body[:n * 2 * channels])
    return rate, list(s[::channels])


def tone_power(samples, rate, hz):
    """Goertzel: the share of the signal's power at hz (0..1)."""
    if not samples:
        return 0.0
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    total = sum(x * x for x in samples) * len(samples) / 2
    return power / total if total else 0.0
