"""End to end: the switchboard command line and config errors."""
# SPDX-License-Identifier: BSD-2-Clause
import json
import re
import subprocess
import time

from conftest import REPO, assert_clean, binary, dev_cert, loopback_addr, \
    free_udp_port, run_cli
from siphelp import Client

BAD_CONFIG = """\
listen:
  - udp:127.0.0.1:5060
limits:
  max_headers: 5000
"""


def test_version():
    p = run_cli("version")
    assert p.returncode == 0
    assert p.stdout == "switchboard 0.1.0\n"


def test_help_for_each_command():
    for args in (["--help"], ["serve", "--help"], ["check-config", "--help"],
                 ["version", "--help"], ["ctl", "--help"]):
        p = run_cli(*args)
        assert p.returncode == 0, args
        assert p.stdout.startswith("usage: switchboard"), args


def test_no_command_is_usage_error():
    p = run_cli()
    assert p.returncode == 2
    assert "usage: switchboard" in p.stderr


def test_unknown_command_is_usage_error():
    p = run_cli("frobnicate")
    assert p.returncode == 2
    assert "unknown command 'frobnicate'" in p.stderr
    assert "usage: switchboard" in p.stderr


def test_unknown_option_is_usage_error():
    for args in (["serve", "--bogus"], ["check-config", "--nope"],
                 ["serve", "--listen"], ["check-config", "--config"],
                 ["serve", "extra-arg"], ["version", "-x"],
                 ["ctl"], ["ctl", "--bogus", "stats"],
                 ["ctl", "stats", "extra"]):
        p = run_cli(*args)
        assert p.returncode == 2, args
        assert "usage: switchboard" in p.stderr, args


def test_check_config_default_file_is_ok(tmp_path):
    # The shipped file listens on TLS: its data_dir (./data) needs the
    # development pair that `make run` makes.
    dev_cert(tmp_path / "data")
    p = run_cli("check-config", "--config", REPO / "etc/switchboard.yaml",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "ok\n"


def test_check_config_tls_needs_certificate(tmp_path):
    p = run_cli("check-config", "--config", REPO / "etc/switchboard.yaml",
                cwd=tmp_path)
    assert p.returncode == 1
    assert re.search(r"switchboard\.yaml:\d+:5: tls\.certificate: required "
                     r"for listener tls:127\.0\.0\.1:5061 \(run "
                     r"scripts/dev-cert \./data for a development "
                     r"certificate\)", p.stderr), p.stderr


def test_check_config_bad_file_names_line_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CONFIG)
    p = run_cli("check-config", "--config", path)
    assert p.returncode == 1
    assert "%s:4:3: limits.max_headers: must be between 8 and 1024" % path \
        in p.stderr
    assert p.stdout == ""


def test_check_config_unknown_key_and_syntax(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("listen: [udp:127.0.0.1:5060]\nlogging:\n  level: x\n")
    p = run_cli("check-config", "--config", path)
    assert p.returncode == 1
    assert "%s:2:1: logging: unknown key" % path in p.stderr
    path.write_text("listen: [udp:127.0.0.1:5060\n")
    p = run_cli("check-config", "--config", path)
    assert p.returncode == 1
    assert re.search(re.escape(str(path)) + r":\d+:\d+: YAML syntax error",
                     p.stderr), p.stderr


def test_check_config_missing_file(tmp_path):
    p = run_cli("check-config", "--config", tmp_path / "none.yaml")
    assert p.returncode == 1
    assert "none.yaml: cannot open" in p.stderr


def test_serve_refuses_bad_config(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CONFIG)
    p = run_cli("serve", "--config", path, "--data-dir", tmp_path / "d",
                timeout=20)
    assert p.returncode == 1
    assert "limits.max_headers: must be between 8 and 1024" in p.stderr
    assert "listening" not in p.stderr
    assert not (tmp_path / "d").exists()


def test_serve_refuses_tls_without_certificate(tmp_path):
    host = loopback_addr()
    p = run_cli("serve", "--config", REPO / "etc/switchboard.yaml",
                "--listen", "tls:%s:5061" % host, "--data-dir",
                tmp_path / "d", timeout=20)
    assert p.returncode == 1
    assert "tls.certificate: required for listener tls:%s:5061 (run " \
        "scripts/dev-cert %s for a development certificate)" % (
            host, tmp_path / "d") in p.stderr
    assert "listening" not in p.stderr


def test_serve_fails_when_tcp_port_taken(tmp_path):
    host = loopback_addr()
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((host, 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = run_cli("serve", "--config", REPO / "etc/switchboard.yaml",
                    "--listen", "udp:%s:%d" % (host, port), "--listen",
                    "tcp:%s:%d" % (host, port), "--data-dir",
                    tmp_path / "d", timeout=20)
    assert p.returncode == 1
    assert "bind_failed proto=tcp addr=%s:%d" % (host, port) in p.stderr


def test_serve_refuses_bad_log_level(tmp_path):
    p = run_cli("serve", "--config", REPO / "etc/switchboard.yaml",
                "--log-level", "loud", timeout=20)
    assert p.returncode == 1
    assert "--log-level: must be one of" in p.stderr


def test_serve_fails_when_port_taken(tmp_path):
    host = loopback_addr()
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((host, 0))
        port = taken.getsockname()[1]
        p = run_cli("serve", "--config", REPO / "etc/switchboard.yaml",
                    "--listen", "udp:%s:%d" % (host, port), "--data-dir",
                    tmp_path / "d", timeout=20)
    assert p.returncode == 1
    assert "bind_failed proto=udp addr=%s:%d" % (host, port) in p.stderr


def test_serve_creates_data_dir(start_server):
    s = start_server()
    assert s.data_dir.is_dir()


def test_serve_json_log_format(start_server):
    s = start_server(config="listen: [udp:127.0.0.1:5060]\n"
                            "log: {level: debug, format: json}\n")
    c = Client(s.host, s.port)
    try:
        assert c.ask("OPTIONS", call_id="json\"quote@e2e").status == 200
    finally:
        c.close()
    text = s.stop()
    events = [json.loads(line) for line in text.splitlines() if line]
    listening = [e for e in events if e["event"] == "listening"]
    assert listening and listening[0]["proto"] == "udp"
    assert listening[0]["level"] == "info"
    assert listening[0]["module"] == "serve"
    req = [e for e in events if e["event"] == "request"]
    assert req and req[0]["method"] == "OPTIONS"
    assert req[0]["status"] == "200"
    assert req[0]["call_id"] == "json\"quote@e2e"
    assert any(e["event"] == "stopped" for e in events)


def test_serve_stops_on_sigint(start_server):
    s = start_server()
    import signal
    s.proc.send_signal(signal.SIGINT)
    assert s.proc.wait(10) == 0
    s.is_stopped = True
    assert "draining signal=INT" in s.stderr()
    assert_clean(s.stderr())


def test_serve_log_level_override(start_server):
    s = start_server(args=["--log-level", "warn"], quiet=True)
    c = Client(s.host, s.port)
    try:
        assert c.ask("OPTIONS").status == 200
    finally:
        c.close()
    text = s.stop()
    assert "DEBUG" not in text and "INFO serve stopped" not in text


def test_serve_default_config_path_is_used(tmp_path):
    """Without --config, serve reads the installed or in-tree default."""
    host = loopback_addr()
    port = free_udp_port(host)
    err_path = tmp_path / "stderr.log"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([binary(), "serve", "--listen",
                                 "udp:%s:%d" % (host, port), "--data-dir",
                                 str(tmp_path / "d")],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err,
                                cwd=tmp_path)
    try:
        deadline = time.monotonic() + 10
        while "listening" not in err_path.read_text() and \
                time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        c = Client(host, port)
        try:
            r = c.ask("OPTIONS")
            assert r is not None and r.status == 200
        finally:
            c.close()
    finally:
        proc.terminate()
        proc.wait(10)
    text = err_path.read_text()
    assert proc.returncode == 0, text
    assert_clean(text)
    assert re.search(r"INFO main starting version=\S+ config=\S*"
                     r"switchboard\.yaml", text), text
