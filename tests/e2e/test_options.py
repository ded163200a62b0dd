"""End to end: a real `switchboard serve` answers OPTIONS and rejects what
the message engine rejects, over real UDP sockets on loopback."""
# SPDX-License-Identifier: BSD-2-Clause
import pathlib
import re
import subprocess

import pytest

from conftest import free_udp_port
from siphelp import Client, request, new_id

SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"
SIPP_DEADLINE_S = 20


def run_sipp(server, tmp_path, scenario):
    """Run one SIPp call against server; returns (exit code, output)."""
    host = server.host
    cmd = ["sipp", "%s:%d" % (host, server.port),
           "-sf", str(SCENARIOS / scenario), "-m", "1", "-l", "1",
           "-i", host, "-p", str(free_udp_port(host)),
           "-mi", host, "-mp", str(free_udp_port(host)),
           "-ci", host, "-cp", str(free_udp_port(host)),
           "-timeout", "10s", "-timeout_error", "-recv_timeout", "5000",
           "-nostdin", "-trace_err",
           "-error_file", str(tmp_path / "sipp_errors.log")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=SIPP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail("sipp still running after %d s" % SIPP_DEADLINE_S)
    errors = tmp_path / "sipp_errors.log"
    text = out.decode(errors="replace")
    if errors.exists():
        text += errors.read_text(errors="replace")
    return proc.returncode, text


def test_options_sipp_gets_200(server, tmp_path):
    rc, out = run_sipp(server, tmp_path, "options.xml")
    assert rc == 0, "sipp failed (exit %d):\n%s\nserver:\n%s" % (
        rc, out[-3000:], server.stderr())


def test_options_200_headers(server, client):
    call_id = new_id() + "@e2e"
    r = client.ask("OPTIONS", call_id=call_id, cseq=42)
    assert r is not None, server.stderr()
    assert (r.version, r.status, r.reason) == ("SIP/2.0", 200, "OK")
    allow = [m.strip() for m in r.get("Allow").split(",")]
    assert "OPTIONS" in allow and "ACK" in allow
    assert r.get("Supported") is not None
    assert r.get("Accept") == "application/sdp"
    assert r.get("Server") == "switchboard/0.1.0"
    assert r.get("Call-ID") == call_id
    assert r.get("CSeq") == "42 OPTIONS"
    assert r.get("Via").startswith("SIP/2.0/UDP ")
    assert re.search(r";tag=[0-9a-f]{16}$", r.get("To")), r.get("To")
    assert r.get("Content-Length") == "0"
    assert r.body == b""


def test_options_to_tags_differ(client):
    a = client.ask("OPTIONS")
    b = client.ask("OPTIONS")
    assert a.get("To") != b.get("To")


def test_options_server_header_from_config(start_server):
    s = start_server(config="listen: [udp:127.0.0.1:5060]\n"
                            "server:\n  user_agent: \"acme edge 7\"\n")
    c = Client(s.host, s.port)
    try:
        r = c.ask("OPTIONS")
        assert r.status == 200 and r.get("Server") == "acme edge 7"
    finally:
        c.close()


def test_options_require_unknown_is_420(client):
    r = client.ask("OPTIONS", extra=["Require: foo, 100rel",
                                     "Require: bar"])
    assert r.status == 420
    assert [t.strip() for t in r.get("Unsupported").split(",")] == \
        ["foo", "100rel", "bar"]


def test_bad_via_is_400_naming_via(client):
    r = client.ask("OPTIONS", via="SIP/2.0/UDP")
    assert r is not None, "no answer to a request with a bad Via"
    assert r.status == 400
    assert "via" in r.reason.lower(), r.reason


def test_sip_version_3_is_505(client):
    r = client.ask("OPTIONS", version="SIP/3.0")
    assert r is not None and r.status == 505, r


def test_unknown_method_is_501_with_allow(client):
    r = client.ask("FROBNICATE")
    assert r.status == 501
    assert "OPTIONS" in r.get("Allow")


def test_known_method_without_service_is_405(client):
    for method in ("INVITE", "SUBSCRIBE", "MESSAGE"):
        r = client.ask(method)
        if method == "INVITE":
            # RFC 3261 17.2.1: the INVITE server transaction sends 100
            # Trying first, then the final response.
            assert r.status == 100, (method, r)
            r = client.recv()
        assert r.status == 405, (method, r)
        assert "OPTIONS" in r.get("Allow")
        assert method not in r.get("Allow")


def test_cancel_and_bye_are_481(client):
    assert client.ask("CANCEL").status == 481
    assert client.ask("BYE").status == 481
    assert client.ask("OPTIONS", to_tag="abc").status == 481


def test_unsupported_uri_scheme_is_416(client):
    r = client.ask("OPTIONS", ruri="http://example.test/x")
    assert r is not None and r.status == 416, r


def test_oversize_is_413(start_server):
    s = start_server(config="listen: [udp:127.0.0.1:5060]\n"
                            "limits:\n  max_message_bytes: 2048\n")
    c = Client(s.host, s.port)
    try:
        pad = ["X-Pad-%d: %s" % (i, "x" * 90) for i in range(30)]
        r = c.ask("OPTIONS", extra=pad)
        assert r is not None and r.status == 413, r
        assert c.ask("OPTIONS").status == 200
    finally:
        c.close()


def test_cseq_method_mismatch_is_400(client):
    r = client.ask("OPTIONS", cseq_method="INVITE")
    assert r is not None and r.status == 400, r
    assert "cseq" in r.reason.lower(), r.reason


def test_ack_gets_no_answer(client):
    client.send(request("ACK", client.host, client.port))
    client.assert_silent_then_alive()


def test_bad_ack_gets_no_answer(client):
    client.send(request("ACK", client.host, client.port, via="SIP/2.0/UDP"))
    client.assert_silent_then_alive()


def test_response_gets_no_answer(client):
    client.send(b"SIP/2.0 200 OK\r\n"
                b"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKresp\r\n"
                b"From: <sip:a@example.test>;tag=1\r\n"
                b"To: <sip:b@example.test>;tag=2\r\n"
                b"Call-ID: resp@e2e\r\nCSeq: 1 OPTIONS\r\n"
                b"Content-Length: 0\r\n\r\n")
    client.assert_silent_then_alive()


def test_garbage_gets_no_answer_and_server_lives(client):
    for junk in (b"\x00\x01\x02\xff" * 64, b"hello", b"\r\n\r\n",
                 b"OPTIONS", b"SIP/2.0", bytes(range(256)) * 8):
        client.send(junk)
    client.assert_silent_then_alive()


def test_keepalive_crlf_is_ignored(client):
    client.send(b"\r\n\r\n")
    client.send(b"\r\n")
    client.assert_silent_then_alive()


def test_ipv6_listener_answers(start_server):
    s = start_server(hosts=["::1"])
    c = Client("::1", s.port)
    try:
        r = c.ask("OPTIONS")
        assert r is not None and r.status == 200
        assert "received" not in r.get("Via") or "::1" in r.get("Via")
    finally:
        c.close()


def test_debug_log_line_per_request(server, client):
    call_id = new_id() + "@log"
    assert client.ask("OPTIONS", call_id=call_id).status == 200
    text = server.stderr()
    assert re.search(r"DEBUG local request method=OPTIONS from=127\.0\.0\.1:"
                     r"\d+ status=200 call_id=" + re.escape(call_id), text), \
        text
