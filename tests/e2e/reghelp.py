"""Helpers for the registrar tests: users, ctl, SIPp runs, digest REGISTERs."""
# SPDX-License-Identifier: BSD-2-Clause
import hashlib
import json
import pathlib
import re
import subprocess
import time

import pytest

from conftest import free_udp_port, run_cli
from siphelp import new_id

SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"
SIPP_DEADLINE_S = 60

# Short expiries so that expiry can be watched within a test.
CONFIG = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
registrar:
  min_expires_s: 2
"""


def add_user(data_dir, aor, password, *extra):
    p = run_cli("user", "add", "--data-dir", data_dir, *extra, aor, password)
    assert p.returncode == 0, p.stderr
    return p


def ctl(server, cmd):
    """`switchboard ctl --socket ... cmd` -> parsed JSON (must succeed)."""
    p = run_cli("ctl", "--socket", server.data_dir / "switchboard.sock", cmd)
    assert p.returncode == 0, p.stderr + p.stdout
    return json.loads(p.stdout)


def bindings(server, aor=None):
    rows = ctl(server, "bindings")["bindings"]
    return [b for b in rows if aor is None or b["aor"] == aor]


def wait_for(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def run_sipp(server, tmp_path, scenario, rows, name="sipp", port=None):
    """One SIPp call per injection row (a tuple of fields) against server,
    from port (default: any free one; the Contacts name it). Returns (exit
    code, output with the error log)."""
    host = server.host
    inf = tmp_path / ("%s.csv" % name)
    inf.write_text("SEQUENTIAL\n" + "".join(
        ";".join(str(f) for f in r) + "\n" for r in rows))
    errors = tmp_path / ("%s_errors.log" % name)
    cmd = ["sipp", "%s:%d" % (host, server.port),
           "-sf", str(SCENARIOS / scenario), "-inf", str(inf),
           "-m", str(len(rows)), "-l", "1",
           "-i", host, "-p", str(port or free_udp_port(host)),
           "-mi", host, "-mp", str(free_udp_port(host)),
           "-ci", host, "-cp", str(free_udp_port(host)),
           "-timeout", "20s", "-timeout_error", "-recv_timeout", "5000",
           "-nostdin", "-trace_err", "-error_file", str(errors)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=SIPP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("sipp still running after %d s" % SIPP_DEADLINE_S)
    text = out.decode(errors="replace")
    if errors.exists():
        text += errors.read_text(errors="replace")
    return proc.returncode, text


def sipp_ok(server, tmp_path, scenario, rows, name="sipp", port=None):
    rc, out = run_sipp(server, tmp_path, scenario, rows, name, port)
    assert rc == 0, "sipp %s failed (exit %d):\n%s\nserver:\n%s" % (
        scenario, rc, out[-3000:], server.stderr()[-5000:])


def challenge_params(value):
    """The parameters of one WWW-Authenticate value, unquoted."""
    assert value.startswith("Digest "), value
    return {k.lower(): v.strip('"') for k, v in re.findall(
        r'([A-Za-z-]+)=("[^"]*"|[^,\s]+)', value[len("Digest "):])}


def digest_header(user, password, realm, nonce, uri, method="REGISTER",
                  nc=1, cnonce="0a4f113b", algorithm="MD5"):
    """An Authorization value for qop=auth (RFC 7616 3.4.1)."""
    h = (lambda s: hashlib.md5(s.encode()).hexdigest()) \
        if algorithm == "MD5" else \
        (lambda s: hashlib.sha256(s.encode()).hexdigest())
    ha1 = h("%s:%s:%s" % (user, realm, password))
    ha2 = h("%s:%s" % (method, uri))
    resp = h("%s:%s:%08x:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
            'response="%s", algorithm=%s, qop=auth, nc=%08x, cnonce="%s"' %
            (user, realm, nonce, uri, resp, algorithm, nc, cnonce))


class Registrar:
    """REGISTERs from a siphelp client (UDP or stream) for one user."""

    def __init__(self, client, host, port, user, password, transport="UDP",
                 contact_port=5999):
        self.c = client
        self.host, self.port = host, port
        self.user, self.password = user, password
        self.transport = transport
        self.call_id = new_id() + "@reg"
        self.cseq = 0
        self.contact = "<sip:%s@%s:%d>" % (user, host, contact_port)

    def request(self, expires=None, contact=None, auth=None, to_user=None,
                extra=()):
        self.cseq += 1
        uri = "sip:%s:%d" % (self.host, self.port)
        lines = [
            "REGISTER %s SIP/2.0" % uri,
            "Via: SIP/2.0/%s %s:5999;branch=z9hG4bK%s;rport" % (
                self.transport, self.host, new_id()),
            "Max-Forwards: 70",
            "From: <sip:%s@%s>;tag=%s" % (self.user, self.host,
                                          new_id()[:8]),
            "To: <sip:%s@%s>" % (to_user or self.user, self.host),
            "Call-ID: " + self.call_id,
            "CSeq: %d REGISTER" % self.cseq,
            "Contact: " + (contact or self.contact),
        ]
        if expires is not None:
            lines.append("Expires: %d" % expires)
        if auth:
            lines.append("Authorization: " + auth)
        lines += list(extra)
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def ask(self, data):
        self.c.send(data)
        r = self.c.recv()
        while r is not None and r.status == 100:
            r = self.c.recv()
        return r

    def register(self, expires=None, contact=None, password=None,
                 user=None, to_user=None, extra=()):
        """REGISTER, answer the challenge; returns (401, final)."""
        first = self.ask(self.request(expires, contact, to_user=to_user,
                                      extra=extra))
        assert first is not None and first.status == 401, first
        ch = challenge_params(first.all("WWW-Authenticate")[0])
        auth = digest_header(user or self.user,
                             self.password if password is None else password,
                             ch["realm"], ch["nonce"],
                             "sip:%s:%d" % (self.host, self.port))
        final = self.ask(self.request(expires, contact, auth=auth,
                                      to_user=to_user, extra=extra))
        assert final is not None, "no answer to the authenticated REGISTER"
        return first, final
