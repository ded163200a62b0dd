"""End to end: `switchboard user` on a temporary data directory."""
# SPDX-License-Identifier: BSD-2-Clause
import hashlib
import sqlite3
import time

from conftest import run_cli


def ha1(algo, user, realm, password):
    return hashlib.new(algo, ("%s:%s:%s" % (user, realm, password))
                       .encode()).hexdigest()


def db_rows(data_dir):
    db = sqlite3.connect(str(data_dir / "switchboard.db"))
    try:
        return db.execute(
            "SELECT user, domain, ha1_md5, ha1_sha256, display, caller_id, "
            "max_bindings FROM users ORDER BY domain, user").fetchall()
    finally:
        db.close()


def db_value(data_dir, sql):
    db = sqlite3.connect(str(data_dir / "switchboard.db"))
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


def user(data_dir, *args):
    return run_cli("user", args[0], "--data-dir", data_dir, *args[1:])


def test_user_add_list_passwd_del(tmp_path):
    data = tmp_path / "data"
    p = user(data, "add", "--display", "Alice Liddell", "--caller-id",
             "+15551001", "--max-bindings", "3", "alice@127.0.0.1", "secret")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "added alice@127.0.0.1\n"
    assert db_value(data, "PRAGMA user_version") == 3
    assert db_value(data, "PRAGMA journal_mode") == "wal"
    assert (data / "switchboard.db").stat().st_mode & 0o777 == 0o600
    assert db_rows(data) == [
        ("alice", "127.0.0.1", hashlib.md5(b"alice:127.0.0.1:secret")
         .hexdigest(), ha1("sha256", "alice", "127.0.0.1", "secret"),
         "Alice Liddell", "+15551001", 3)]

    p = user(data, "add", "bob@127.0.0.1", "p@ss:w rd")
    assert p.returncode == 0, p.stderr
    p = user(data, "list")
    assert p.returncode == 0, p.stderr
    assert p.stdout == ("alice@127.0.0.1\tAlice Liddell\t+15551001\t3\n"
                        "bob@127.0.0.1\t\t\t0\n")
    assert db_rows(data)[1][2] == ha1("md5", "bob", "127.0.0.1", "p@ss:w rd")

    p = user(data, "passwd", "alice@127.0.0.1", "n3w")
    assert p.returncode == 0, p.stderr
    row = db_rows(data)[0]
    assert row[2] == ha1("md5", "alice", "127.0.0.1", "n3w")
    assert row[3] == ha1("sha256", "alice", "127.0.0.1", "n3w")
    assert row[4:] == ("Alice Liddell", "+15551001", 3)  # kept

    p = user(data, "del", "alice@127.0.0.1")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "removed alice@127.0.0.1\n"
    p = user(data, "list")
    assert p.stdout == "bob@127.0.0.1\t\t\t0\n"


def test_user_exists_and_missing_fail(tmp_path):
    data = tmp_path / "data"
    assert user(data, "add", "alice@example.com", "x").returncode == 0
    p = user(data, "add", "alice@example.com", "y")
    assert p.returncode == 1
    assert "alice@example.com already exists" in p.stderr
    assert db_rows(data)[0][2] == ha1("md5", "alice", "example.com", "x")
    for args in (["del", "carol@example.com"],
                 ["passwd", "carol@example.com", "z"]):
        p = user(data, *args)
        assert p.returncode == 1, args
        assert "no user carol@example.com" in p.stderr, args


def test_user_domain_is_lower_case_realm(tmp_path):
    data = tmp_path / "data"
    assert user(data, "add", "Alice@Example.COM", "s").returncode == 0
    assert db_rows(data)[0][:3] == (
        "Alice", "example.com", ha1("md5", "Alice", "example.com", "s"))
    assert user(data, "del", "Alice@EXAMPLE.com").returncode == 0
    assert db_rows(data) == []


def test_user_bad_input_is_usage_error(tmp_path):
    data = tmp_path / "data"
    cases = [
        (["add"], "USER@DOMAIN and PASSWORD needed"),
        (["add", "alice@example.com"], "USER@DOMAIN and PASSWORD needed"),
        (["add", "alice", "pw"], "'alice' is not USER@DOMAIN"),
        (["add", "@example.com", "pw"], "the user part"),
        (["add", "a" * 65 + "@example.com", "pw"], "1 to 64 bytes"),
        (["add", "al ice@example.com", "pw"], "the user part may hold"),
        (["add", "al%40ice@example.com", "pw"], "the user part may hold"),
        (["add", "a@b@example.com", "pw"], "the domain must be"),
        (["add", "alice@", "pw"], "the domain must be"),
        (["add", "alice@exa..mple.com", "pw"], "the domain must be"),
        (["add", "alice@" + "d" * 129, "pw"], "at most 128 bytes"),
        (["add", "alice@example.com", ""], "the password is empty"),
        (["add", "--max-bindings", "lots", "alice@example.com", "pw"],
         "--max-bindings"),
        (["add", "--display", "x" * 129, "alice@example.com", "pw"],
         "--display"),
        (["add", "--caller-id", "1 2", "alice@example.com", "pw"],
         "--caller-id"),
        (["add", "--bogus", "alice@example.com", "pw"], "unknown option"),
        (["passwd", "--display", "A", "alice@example.com", "pw"],
         "are for 'user add'"),
        (["del", "alice@example.com", "extra"], "unexpected argument"),
        (["list", "extra"], "unexpected argument"),
        (["frobnicate"], "unknown user command 'frobnicate'"),
    ]
    for args, why in cases:
        p = user(data, *args)
        assert p.returncode == 2, (args, p.stderr)
        assert why in p.stderr, (args, p.stderr)
        assert "usage: switchboard user" in p.stderr, args
    p = run_cli("user")
    assert p.returncode == 2
    assert "a user command is needed" in p.stderr
    assert not data.exists()  # nothing was opened


def test_user_help(tmp_path):
    for args in (["user", "--help"], ["user", "add", "--help"]):
        p = run_cli(*args)
        assert p.returncode == 0, args
        assert p.stdout.startswith("usage: switchboard user add"), args
    assert "  user " in run_cli("--help").stdout


def test_user_list_never_shows_secrets(tmp_path):
    data = tmp_path / "data"
    secrets = []
    for name, pw in (("alice", "correct horse"), ("bob", "hunter2")):
        assert user(data, "add", "%s@127.0.0.1" % name, pw).returncode == 0
        secrets += [pw, ha1("md5", name, "127.0.0.1", pw),
                    ha1("sha256", name, "127.0.0.1", pw)]
    assert user(data, "passwd", "bob@127.0.0.1", "s3cret").returncode == 0
    p = user(data, "list")
    assert p.returncode == 0
    assert len(p.stdout.splitlines()) == 2
    for s in secrets + ["s3cret", ha1("md5", "bob", "127.0.0.1", "s3cret")]:
        assert s not in p.stdout and s not in p.stderr
    # Nor is the password itself anywhere in the database.
    raw = (data / "switchboard.db").read_bytes()
    assert b"correct horse" not in raw and b"hunter2" not in raw


def test_user_data_dir_from_config(tmp_path):
    data = tmp_path / "from-config"
    cfg = tmp_path / "sb.yaml"
    cfg.write_text("listen:\n  - udp:127.0.0.1:5060\ndata_dir: %s\n" % data)
    p = run_cli("user", "add", "--config", cfg, "alice@127.0.0.1", "pw")
    assert p.returncode == 0, p.stderr
    assert db_rows(data)[0][0] == "alice"
    p = run_cli("user", "list", "--config", cfg)
    assert p.stdout == "alice@127.0.0.1\t\t\t0\n"
    # --data-dir wins over the config.
    other = tmp_path / "other"
    p = run_cli("user", "list", "--config", cfg, "--data-dir", other)
    assert p.returncode == 0 and p.stdout == ""
    assert (other / "switchboard.db").exists()
    # A config with an error is not silently passed over.
    bad = tmp_path / "bad.yaml"
    bad.write_text("listen: [udp:127.0.0.1:5060]\nbogus: 1\n")
    p = run_cli("user", "list", "--config", bad)
    assert p.returncode == 1
    assert "bogus: unknown key" in p.stderr


def test_user_while_server_runs(server):
    """The command works beside a running server and tells it, quickly."""
    cfg = server.config_path
    start = time.monotonic()
    p = run_cli("user", "add", "--config", cfg, "--data-dir",
                server.data_dir, "alice@%s" % server.host, "pw")
    assert p.returncode == 0, p.stderr
    p = run_cli("user", "list", "--config", cfg, "--data-dir",
                server.data_dir)
    assert p.stdout == "alice@%s\t\t\t0\n" % server.host
    assert time.monotonic() - start < 4.0
    assert (server.data_dir / "switchboard.sock").exists()
