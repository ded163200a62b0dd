"""Per-route choices for the B2BUA, driven from raw UDP sockets: the mode
of a route (and `serve --call-mode`), a route's header rules and identity
rewriting, RFC 3323 privacy, the whitelist (b2bua.copy_headers), the
User-Agent, CDRs in CSV, and a call looping back through switchboard."""
# SPDX-License-Identifier: BSD-2-Clause
import csv
import re
import sqlite3
import time
import uuid

import pytest

from reghelp import ctl, wait_for
from test_b2bua_timer import SDP, Peer, first_line, hdr, reply
from test_b2bua_transfer import contact_uri, in_dialog, is_req

BASE = """\
listen:
  - udp:127.0.0.1:5060
log:
  level: debug
proxy:
  foreign_domains: forward
"""

A_FROM = '"Alice" <sip:alice@example.net>;tag=a1'


def hdrs(m, name):
    """Every value of header name (full name only) in message m."""
    head = m.split("\r\n\r\n", 1)[0]
    return re.findall(r"^%s:\s*(.*?)\r?$" % re.escape(name), head,
                      re.M | re.I)


def is_status(code, method="INVITE"):
    return lambda m: (first_line(m).startswith("SIP/2.0 %d" % code) and
                      method in (hdr(m, "CSeq") or ""))


def is_final(method="INVITE"):
    return lambda m: (re.match(r"SIP/2\.0 [2-6]\d\d ", first_line(m)) and
                      method in (hdr(m, "CSeq") or ""))


def send_invite(a, server, user, b, extra="", cid=None, frm=A_FROM):
    """An INVITE with SDP from a to user@<b's address>, through server."""
    cid = cid or uuid.uuid4().hex
    ruri = "sip:%s@%s:%d" % ((user,) + b.addr)
    a.send(in_dialog(ruri, a.addr, frm, "<%s>" % ruri, cid, 1, "INVITE",
                     "Contact: <sip:alice@%s:%d>\r\n%s" % (a.addr + (extra,)),
                     SDP.format(ip=a.addr[0], port=4000)), server)
    return cid


def refuse(a, b, server, inv, src):
    """b answers inv 486; a gets it and ACKs (the call is over)."""
    b.send(reply(inv, 486, "Busy Here", "b1"), src)
    r, _ = a.recv(is_final(), 5)
    assert first_line(r).startswith("SIP/2.0 486"), r
    a.send(in_dialog("sip:x@%s:%d" % server, a.addr, A_FROM, hdr(r, "To"),
                     hdr(r, "Call-ID"), 1, "ACK"), server)


def answer_and_hang_up(a, b, server, inv, src, cid):
    """b answers inv with 200, a ACKs and hangs up with BYE."""
    b.send(reply(inv, 200, "OK", "b1",
                 "Contact: <sip:bob@%s:%d>\r\n" % b.addr,
                 SDP.format(ip=b.addr[0], port=5000)), src)
    ok, _ = a.recv(is_status(200), 5)
    a.send(in_dialog(contact_uri(ok), a.addr, A_FROM, hdr(ok, "To"), cid, 1,
                     "ACK"), server)
    b.recv(is_req("ACK"), 5)
    a.send(in_dialog(contact_uri(ok), a.addr, A_FROM, hdr(ok, "To"), cid, 2,
                     "BYE"), server)
    bye, src_b = b.recv(is_req("BYE"), 5)
    b.send(reply(bye, 200, "OK", "b1"), src_b)
    a.recv(is_status(200, "BYE"), 5)


def call_and_get_invite(srv, user, extra="", frm=A_FROM):
    """A new caller calls user@<a new callee>: (a, b, server, cid, the
    INVITE the callee got, its source)."""
    server = (srv.host, srv.port)
    a, b = Peer(srv.host), Peer(srv.host)
    cid = send_invite(a, server, user, b, extra, frm=frm)
    inv, src = b.recv(is_req("INVITE"), 5)
    return a, b, server, cid, inv, src


def assert_bridged(inv, cid, srv):
    assert hdr(inv, "Call-ID") != cid, inv
    assert len(hdrs(inv, "Via")) == 1, inv
    assert "%s:%d" % (srv.host, srv.port) in hdr(inv, "Via"), inv
    assert not hdrs(inv, "Record-Route"), inv


def assert_proxied(inv, cid, srv, a):
    assert hdr(inv, "Call-ID") == cid, inv
    vias = hdrs(inv, "Via")
    assert len(vias) == 2, inv
    assert "%s:%d" % (srv.host, srv.port) in vias[0], inv
    assert "%s:%d" % a.addr in vias[1], inv
    assert hdrs(inv, "Record-Route"), inv


# --- 1. the mode of a route, and --call-mode -------------------------------

ROUTE_MODE = BASE + """\
call_mode: proxy
b2bua:
  session_expires_s: 0
routes:
  - name: b2b
    match: {user_prefix: "9"}
    mode: b2bua
"""


def test_route_mode_b2bua_in_a_proxy_server(start_server):
    srv = start_server(config=ROUTE_MODE)
    a, b, server, cid, inv, src = call_and_get_invite(srv, "9001")
    assert_bridged(inv, cid, srv)
    refuse(a, b, server, inv, src)
    a, b, server, cid, inv, src = call_and_get_invite(srv, "1001")
    assert_proxied(inv, cid, srv, a)
    refuse(a, b, server, inv, src)
    b.recv(is_req("ACK"), 5)  # the proxy ACKs the 486 hop by hop


CLI_MODE = BASE + """\
call_mode: proxy
b2bua:
  session_expires_s: 0
routes:
  - name: pinned
    match: {user_prefix: "1"}
    mode: proxy
  - name: follows
    match: {user_prefix: "2"}
"""


def test_call_mode_option_overrides_the_file(start_server):
    srv = start_server(config=CLI_MODE, args=["--call-mode", "b2bua"])
    # no route: the command line's mode
    a, b, server, cid, inv, src = call_and_get_invite(srv, "3001")
    assert_bridged(inv, cid, srv)
    refuse(a, b, server, inv, src)
    # a route without mode follows the command line too
    a, b, server, cid, inv, src = call_and_get_invite(srv, "2001")
    assert_bridged(inv, cid, srv)
    refuse(a, b, server, inv, src)
    # a route with an explicit mode keeps it
    a, b, server, cid, inv, src = call_and_get_invite(srv, "1001")
    assert_proxied(inv, cid, srv, a)
    refuse(a, b, server, inv, src)
    b.recv(is_req("ACK"), 5)


# --- 2. header rules and identity on a route -------------------------------

RULES = BASE + """\
call_mode: b2bua
b2bua:
  session_expires_s: 0
routes:
  - name: b2b
    match: {user_prefix: "9"}
    headers:
      remove: [Organization]
      add: ["X-Route: b2b"]
      replace: ["Subject: redacted"]
    from_user: "+15550100"
    from_display: "Example Corp"
    to_user: "front-desk"
  - name: nosubject
    match: {user_prefix: "8"}
    headers:
      remove: [s]
  - name: pai
    match: {user_prefix: "7"}
    pai_user: "+15550199"
    pai_display: "Example Main"
"""

CALLER_HDRS = ("Subject: secret plans\r\nOrganization: ACME\r\n"
               "Priority: urgent\r\n")


def test_route_header_rules(start_server):
    srv = start_server(config=RULES)
    a, b, server, cid, inv, src = call_and_get_invite(srv, "9001",
                                                      CALLER_HDRS)
    assert_bridged(inv, cid, srv)
    assert hdrs(inv, "Subject") == ["redacted"], inv       # replace
    assert not hdrs(inv, "Organization"), inv              # remove
    assert hdrs(inv, "Priority") == ["urgent"], inv        # whitelist
    assert hdrs(inv, "X-Route") == ["b2b"], inv            # add
    frm = hdr(inv, "From")
    assert frm.startswith('"Example Corp" <sip:+15550100@example.net>;tag='), inv
    to = hdr(inv, "To")
    assert to.startswith("<sip:front-desk@%s:%d>" % b.addr), inv
    assert "Alice" not in inv and "alice@" not in inv, inv
    refuse(a, b, server, inv, src)
    # replace only replaces: no Subject from the caller, none at the callee
    a, b, server, cid, inv, src = call_and_get_invite(srv, "9002")
    assert not hdrs(inv, "Subject"), inv
    assert hdrs(inv, "X-Route") == ["b2b"], inv
    refuse(a, b, server, inv, src)
    # remove by the compact name; the rest of the identity is kept
    a, b, server, cid, inv, src = call_and_get_invite(srv, "8001",
                                                      CALLER_HDRS)
    assert not hdrs(inv, "Subject"), inv
    assert hdrs(inv, "Organization") == ["ACME"], inv
    assert not hdrs(inv, "X-Route"), inv
    assert hdr(inv, "From").startswith(
        '"Alice" <sip:alice@example.net>;tag='), inv
    assert hdr(inv, "To") == "<sip:8001@%s:%d>" % b.addr, inv
    refuse(a, b, server, inv, src)


def test_route_pai_rules(start_server):
    srv = start_server(config=RULES)
    # none from the caller: one is added (RFC 3325), on the From's host
    a, b, server, cid, inv, src = call_and_get_invite(srv, "7001")
    assert hdrs(inv, "P-Asserted-Identity") == [
        '"Example Main" <sip:+15550199@example.net>'], inv
    refuse(a, b, server, inv, src)
    # the caller's is rewritten, not doubled
    a, b, server, cid, inv, src = call_and_get_invite(
        srv, "7002", "P-Asserted-Identity: <sip:alice@pbx.example.net>\r\n")
    assert hdrs(inv, "P-Asserted-Identity") == [
        '"Example Main" <sip:+15550199@pbx.example.net>'], inv
    refuse(a, b, server, inv, src)
    # the caller asks for privacy (the default privacy: honor): none at all
    a, b, server, cid, inv, src = call_and_get_invite(
        srv, "7003", "Privacy: id\r\n")
    assert not hdrs(inv, "P-Asserted-Identity"), inv
    assert hdr(inv, "From").startswith(
        '"Anonymous" <sip:anonymous@anonymous.invalid>;tag='), inv
    refuse(a, b, server, inv, src)
    # no pai rule: a caller without one gets none
    a, b, server, cid, inv, src = call_and_get_invite(srv, "9003")
    assert not hdrs(inv, "P-Asserted-Identity"), inv
    refuse(a, b, server, inv, src)


COPY = BASE + """\
call_mode: b2bua
b2bua:
  session_expires_s: 0
  copy_headers: [Subject, X-Custom]
"""


def test_copy_headers_whitelist(start_server):
    srv = start_server(config=COPY)
    a, b, server, cid, inv, src = call_and_get_invite(
        srv, "bob", "X-Custom: yes\r\nX-Other: no\r\n" + CALLER_HDRS)
    assert hdrs(inv, "X-Custom") == ["yes"], inv
    assert hdrs(inv, "Subject") == ["secret plans"], inv
    for name in ("X-Other", "Organization", "Priority"):
        assert not hdrs(inv, name), inv
    refuse(a, b, server, inv, src)


UA_SHOWN = BASE + """\
call_mode: b2bua
b2bua:
  session_expires_s: 0
  hide_user_agent: false
"""

UA_HIDDEN = BASE + """\
server:
  user_agent: sb-under-test
call_mode: b2bua
b2bua:
  session_expires_s: 0
"""


def test_user_agent_hidden(start_server):
    srv = start_server(config=UA_HIDDEN)
    a, b, server, cid, inv, src = call_and_get_invite(
        srv, "bob", "User-Agent: AlicePhone/1.0\r\n")
    assert hdrs(inv, "User-Agent") == ["sb-under-test"], inv
    b.send(reply(inv, 486, "Busy Here", "b1", "Server: BobPhone/2.0\r\n"),
           src)
    r, _ = a.recv(is_final(), 5)
    assert hdrs(r, "Server") == ["sb-under-test"], r
    a.send(in_dialog("sip:x@%s:%d" % server, a.addr, A_FROM, hdr(r, "To"),
                     cid, 1, "ACK"), server)


def test_user_agent_shown(start_server):
    srv = start_server(config=UA_SHOWN)
    a, b, server, cid, inv, src = call_and_get_invite(
        srv, "bob", "User-Agent: AlicePhone/1.0\r\n")
    # one User-Agent (RFC 3261 20.41 is not a list): the caller's
    assert hdrs(inv, "User-Agent") == ["AlicePhone/1.0"], inv
    b.send(reply(inv, 486, "Busy Here", "b1", "Server: BobPhone/2.0\r\n"),
           src)
    r, _ = a.recv(is_final(), 5)
    assert hdrs(r, "Server") == ["BobPhone/2.0"], r
    a.send(in_dialog("sip:x@%s:%d" % server, a.addr, A_FROM, hdr(r, "To"),
                     cid, 1, "ACK"), server)


# --- 3. privacy (RFC 3323, RFC 3325) ---------------------------------------

PRIVACY = BASE + """\
call_mode: b2bua
b2bua:
  session_expires_s: 0
routes:
  - name: honor
    match: {user_prefix: "1"}
    privacy: honor
  - name: ignore
    match: {user_prefix: "2"}
    privacy: ignore
"""

PRIVATE = ("Privacy: id\r\n"
           "P-Asserted-Identity: \"Alice\" <sip:alice@example.net>\r\n"
           "P-Preferred-Identity: <sip:alice@example.net>\r\n")


def test_privacy_honor(start_server):
    srv = start_server(config=PRIVACY)
    a, b, server, cid, inv, src = call_and_get_invite(srv, "1001", PRIVATE)
    assert hdr(inv, "From").startswith(
        '"Anonymous" <sip:anonymous@anonymous.invalid>;tag='), inv
    assert not hdrs(inv, "P-Asserted-Identity"), inv
    assert not hdrs(inv, "P-Preferred-Identity"), inv
    assert "alice" not in inv.lower(), inv
    refuse(a, b, server, inv, src)
    # without Privacy the identity passes
    a, b, server, cid, inv, src = call_and_get_invite(
        srv, "1002", PRIVATE.replace("Privacy: id\r\n", ""))
    assert hdr(inv, "From").startswith(
        '"Alice" <sip:alice@example.net>;tag='), inv
    assert hdrs(inv, "P-Asserted-Identity") == [
        '"Alice" <sip:alice@example.net>'], inv
    refuse(a, b, server, inv, src)


def test_privacy_ignore(start_server):
    srv = start_server(config=PRIVACY)
    a, b, server, cid, inv, src = call_and_get_invite(srv, "2001", PRIVATE)
    assert hdr(inv, "From").startswith(
        '"Alice" <sip:alice@example.net>;tag='), inv
    assert hdrs(inv, "P-Asserted-Identity") == [
        '"Alice" <sip:alice@example.net>'], inv
    assert hdrs(inv, "P-Preferred-Identity") == [
        "<sip:alice@example.net>"], inv
    assert hdrs(inv, "Privacy") == ["id"], inv
    refuse(a, b, server, inv, src)


# --- 4. CDRs in CSV --------------------------------------------------------

COLS = ("call_id,b_call_id,caller,callee,b_target,route,source,start_ms,"
        "ring_ms,answer_ms,end_ms,duration_s,billsec,disposition,cause,"
        "a_status,b_status,a_reason,b_reason,hangup_by,transfers")
MEDIA_COLS = ("media,codec,recording,a_rtp_packets,a_loss_pct,a_jitter_ms,"
              "a_mos,b_rtp_packets,b_loss_pct,b_jitter_ms,b_mos")


def csv_rows(path):
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.reader(f))


def one_answered_call(srv, user="bob"):
    a, b, server, cid, inv, src = call_and_get_invite(srv, user)
    answer_and_hang_up(a, b, server, inv, src, cid)
    return cid, hdr(inv, "Call-ID")


def test_cdr_csv_matches_sqlite(start_server, tmp_path):
    path = tmp_path / "cdrs.csv"
    srv = start_server(config=BASE + """\
call_mode: b2bua
b2bua:
  session_expires_s: 0
  cdr:
    csv: %s
routes:
  - name: "main"
""" % path)
    cid, b_cid = one_answered_call(srv)
    assert wait_for(lambda: len(csv_rows(path)) >= 2, timeout=1.0), \
        csv_rows(path)
    rows = csv_rows(path)
    assert ",".join(rows[0]) == COLS + "," + MEDIA_COLS, rows
    assert len(rows) == 2, rows
    line = rows[1][:21]  # the media columns print reals as "0.00"
    db = tmp_path / "data" / "switchboard.db"
    with sqlite3.connect(str(db)) as con:
        got = con.execute("SELECT %s FROM cdrs" % COLS).fetchall()
    assert len(got) == 1, got
    assert [str(v) for v in got[0]] == line, (got, line)
    assert line[0] == cid and line[1] == b_cid, line
    assert line[5] == "main" and line[13] == "answered", line
    assert line[19] == "caller", line


def test_cdr_csv_without_sqlite(start_server, tmp_path):
    path = tmp_path / "only.csv"
    srv = start_server(config=BASE + """\
call_mode: b2bua
b2bua:
  session_expires_s: 0
  cdr:
    sqlite: false
    csv: %s
""" % path)
    cid, _ = one_answered_call(srv)
    assert wait_for(lambda: len(csv_rows(path)) >= 2, timeout=1.0), \
        csv_rows(path)
    rows = csv_rows(path)
    assert len(rows) == 2 and rows[1][0] == cid, rows
    time.sleep(0.3)  # a second flush would have written the row by now
    db = tmp_path / "data" / "switchboard.db"
    with sqlite3.connect(str(db)) as con:
        n = con.execute("SELECT count(*) FROM cdrs").fetchone()[0]
    assert n == 0


# --- 5. a call looping through the B2BUA -----------------------------------

LOOP = BASE + """\
call_mode: b2bua
b2bua:
  session_expires_s: 0
"""


def test_max_forwards_one_is_not_reset(start_server):
    srv = start_server(config=LOOP)
    server = (srv.host, srv.port)
    a, b = Peer(srv.host), Peer(srv.host)
    ruri = "sip:bob@%s:%d" % b.addr
    cid = uuid.uuid4().hex
    msg = in_dialog(ruri, a.addr, A_FROM, "<%s>" % ruri, cid, 1, "INVITE",
                    "Contact: <sip:alice@%s:%d>\r\n" % a.addr,
                    SDP.format(ip=a.addr[0], port=4000))
    a.send(msg.replace("Max-Forwards: 70", "Max-Forwards: 1"), server)
    # RFC 3261 16.6 step 3: one hop left becomes none; or 483 here
    b.s.settimeout(2)
    try:
        data, src = b.s.recvfrom(65535)
    except OSError:
        data = None
    if data is not None:
        inv = data.decode()
        assert hdr(inv, "Max-Forwards") == "0", inv
        b.send(reply(inv, 483, "Too Many Hops", "b1"), src)
    r, _ = a.recv(is_final(), 5)
    assert first_line(r).startswith("SIP/2.0 483"), r
    a.send(in_dialog("sip:x@%s:%d" % server, a.addr, A_FROM, hdr(r, "To"),
                     cid, 1, "ACK"), server)


def test_loop_through_the_b2bua_ends(start_server):
    srv = start_server(config=LOOP)
    # every B-leg to a foreign domain comes back to switchboard
    srv.config_path.write_text(LOOP.replace(
        "foreign_domains: forward\n",
        "foreign_domains: forward\n  outbound_proxy: sip:%s:%d\n" %
        (srv.host, srv.port)))
    ctl(srv, "reload")
    server = (srv.host, srv.port)
    a, b = Peer(srv.host), Peer(srv.host)
    cid = send_invite(a, server, "loop", b)
    r, _ = a.recv(lambda m: is_final()(m) and hdr(m, "Call-ID") == cid, 5)
    code = int(first_line(r).split()[1])
    assert code >= 400, r
    a.send(in_dialog("sip:x@%s:%d" % server, a.addr, A_FROM, hdr(r, "To"),
                     cid, 1, "ACK"), server)
    b.s.settimeout(0.2)
    try:
        stray = b.s.recvfrom(65535)
    except OSError:
        stray = None
    assert stray is None, stray  # the callee never saw any of it
    # every call of the chain ends
    assert wait_for(lambda: ctl(srv, "stats")["b2bua"]["alive"] == 0,
                    timeout=10), ctl(srv, "stats")["b2bua"]
    st = ctl(srv, "stats")["b2bua"]
    assert st["legs_alive"] == 0, st
    # and a normal call works afterwards
    srv.config_path.write_text(LOOP)
    ctl(srv, "reload")
    one_answered_call(srv)
    assert wait_for(lambda: ctl(srv, "stats")["b2bua"]["alive"] == 0,
                    timeout=5), ctl(srv, "stats")["b2bua"]


def test_ctl_calls_lists_live_calls(start_server):
    """`switchboard ctl calls` shows each B2BUA call with its state."""
    srv = start_server(config=LOOP)
    a, b = Peer(srv.host), Peer(srv.host)
    server = (srv.host, srv.port)
    send_invite(a, server, "bob", b)
    inv, src = b.recv(lambda m: m.startswith("INVITE "), 5)
    b.send(reply(inv, 180, "Ringing", "b1"), src)
    a.recv(lambda m: first_line(m).startswith("SIP/2.0 180"), 5)
    calls = ctl(srv, "calls")["calls"]
    assert len(calls) == 1, calls
    assert calls[0]["state"] == "ringing", calls
    assert calls[0]["callee"].startswith("sip:bob@"), calls
    assert calls[0]["answer_ms"] == 0 and calls[0]["legs"] == 2, calls
    b.send(reply(inv, 486, "Busy Here", "b1"), src)
    a.recv(lambda m: first_line(m).startswith("SIP/2.0 486"), 5)
    assert wait_for(lambda: ctl(srv, "calls")["calls"] == [])


def test_max_duration_ends_both_legs(start_server, tmp_path):
    """b2bua.max_duration_s: an answered call that lasts longer gets a
    BYE on each leg, and its CDR says timeout/system."""
    srv = start_server(config=LOOP + "  max_duration_s: 2\n")
    a, b, server, cid, inv, src = call_and_get_invite(srv, "bob")
    b.send(reply(inv, 200, "OK", "b1",
                 "Contact: <sip:bob@%s:%d>\r\n" % b.addr,
                 SDP.format(ip=b.addr[0], port=5000)), src)
    ok, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 200"), 5)
    a.send(in_dialog(contact_uri(ok), a.addr, A_FROM, hdr(ok, "To"), cid,
                     1, "ACK"), server)
    b.recv(is_req("ACK"), 5)
    started = time.monotonic()
    bye_a, src_a = a.recv(is_req("BYE"), 6)
    assert 1.5 <= time.monotonic() - started <= 4, bye_a
    a.send(reply(bye_a, 200, "OK", "x"), src_a)
    bye_b, src_b = b.recv(is_req("BYE"), 5)
    b.send(reply(bye_b, 200, "OK", "b1"), src_b)
    db = tmp_path / "data" / "switchboard.db"
    assert wait_for(lambda: sqlite3.connect(str(db)).execute(
        "SELECT cause, hangup_by FROM cdrs WHERE call_id = ?",
        (cid,)).fetchone() == ("timeout", "system"))


def test_response_map(start_server):
    """b2bua.response_map: the callee's 486 reaches the caller as 480."""
    srv = start_server(config=LOOP + "  response_map: {486: 480}\n")
    a, b, server, cid, inv, src = call_and_get_invite(srv, "bob")
    b.send(reply(inv, 486, "Busy Here", "b1"), src)
    r, _ = a.recv(is_final(), 5)
    assert first_line(r).startswith("SIP/2.0 480"), r
    a.send(in_dialog("sip:x@%s:%d" % server, a.addr, A_FROM, hdr(r, "To"),
                     cid, 1, "ACK"), server)


def test_in_dialog_requests_are_bounded(start_server):
    """A caller cannot pile up requests the callee never answers: the
    17th INFO waiting on the other side gets 503 with Retry-After."""
    srv = start_server(config=LOOP)
    a, b, server, cid, inv, src = call_and_get_invite(srv, "bob")
    b.send(reply(inv, 200, "OK", "b1",
                 "Contact: <sip:bob@%s:%d>\r\n" % b.addr,
                 SDP.format(ip=b.addr[0], port=5000)), src)
    ok, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 200"), 5)
    a.send(in_dialog(contact_uri(ok), a.addr, A_FROM, hdr(ok, "To"), cid,
                     1, "ACK"), server)
    b.recv(is_req("ACK"), 5)
    for cseq in range(2, 19):
        a.send(in_dialog(contact_uri(ok), a.addr, A_FROM, hdr(ok, "To"),
                         cid, cseq, "INFO", body="Signal=1\r\n",
                         ctype="application/dtmf-relay"), server)
    got = [b.recv(is_req("INFO"), 5)[0] for _ in range(16)]
    assert len(got) == 16
    r, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 5"), 5)
    assert first_line(r).startswith("SIP/2.0 503"), r
    assert hdr(r, "CSeq") == "18 INFO" and hdr(r, "Retry-After"), r
    assert ctl(srv, "stats")["b2bua"]["relays_refused"] == 1
