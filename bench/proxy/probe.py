#!/usr/bin/env python3
"""Latency probe: a few calls per second through the proxy, timed in µs.

    probe.py --server 127.0.0.10:5060 --uac 127.0.0.10:5084 --uas 127.0.0.10:5086 \
        --domain 127.0.0.10 --user probe [--password PW] --rate 20 --out probe.txt

sipp's response times have a 4 ms granularity on this VM (most calls read
0 ms), so the median added latency of a proxy cannot be read from them. This
probe is its own UAC and UAS on two UDP sockets: it registers the UAS socket
as USER@DOMAIN (digest if --password) from that socket, then places RATE
calls/s to sip:USER@DOMAIN:PORT through --server, the same flow as
uac_call.xml/uas_call.xml (INVITE, 180, 200, ACK, BYE, 200; Record-Route
copied by the UAS, ACK/BYE loose-routed), and writes one line per call:

    <epoch of the INVITE> <rt1 us: INVITE sent -> 200> <rt2 us: BYE sent -> 200> <status>

status is ok, or the failure (a response code, or timeout). --direct sends
straight to the UAS (no proxy, no REGISTER): the floor, probe overhead
included. Runs until SIGTERM/SIGINT (or --calls). Standard library only.
"""
import argparse
import hashlib
import os
import re
import select
import signal
import socket
import sys
import time

T1 = 0.5
CALL_TIMEOUT = 32.0


def parse_addr(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def parse(data):
    """(first line, [(name, value)], body) of a SIP message"""
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    hdrs = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and hdrs:
            hdrs[-1] = (hdrs[-1][0], hdrs[-1][1] + " " + line.strip())
        elif ":" in line:
            k, v = line.split(":", 1)
            hdrs.append((k.strip(), v.strip()))
    return lines[0], hdrs, body


COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length"}


def hname(k):
    k = k.lower()
    return COMPACT.get(k, k)


def hget(hdrs, name):
    for k, v in hdrs:
        if hname(k) == name:
            return v
    return None


def hall(hdrs, name):
    return [v for k, v in hdrs if hname(k) == name]


def split_list(v):
    """split a header value on commas outside <> and quotes"""
    out, cur, depth, quote = [], "", 0, False
    for ch in v:
        if ch == '"':
            quote = not quote
        elif not quote and ch == "<":
            depth += 1
        elif not quote and ch == ">":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def digest(challenge, method, uri, user, password):
    p = dict((k.lower(), v.strip('"')) for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', challenge))
    ha1 = md5("%s:%s:%s" % (user, p.get("realm", ""), password))
    ha2 = md5("%s:%s" % (method, uri))
    s = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=MD5' % (
        user, p.get("realm", ""), p["nonce"], uri)
    if "auth" in [q.strip() for q in p.get("qop", "").split(",")]:
        cn = os.urandom(8).hex()
        s += ', qop=auth, nc=00000001, cnonce="%s", response="%s"' % (
            cn, md5("%s:%s:00000001:%s:auth:%s" % (ha1, p["nonce"], cn, ha2)))
    else:
        s += ', response="%s"' % md5("%s:%s:%s" % (ha1, p["nonce"], ha2))
    if "opaque" in p:
        s += ', opaque="%s"' % p["opaque"]
    return s


def register(sock, server, a):
    host, port = sock.getsockname()
    cid, tag = os.urandom(8).hex() + "@probe", os.urandom(4).hex()
    auth = None
    for cseq in (1, 2):
        lines = ["REGISTER sip:%s SIP/2.0" % a.domain,
                 "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport" % (host, port, os.urandom(8).hex()),
                 "Max-Forwards: 70",
                 "From: <sip:%s@%s>;tag=%s" % (a.user, a.domain, tag),
                 "To: <sip:%s@%s>" % (a.user, a.domain),
                 "Call-ID: " + cid, "CSeq: %d REGISTER" % cseq,
                 "Contact: <sip:%s@%s:%d>" % (a.user, host, port), "Expires: 86400"]
        if auth:
            lines.append(auth)
        msg = ("\r\n".join(lines + ["Content-Length: 0"]) + "\r\n\r\n").encode()
        deadline = time.monotonic() + 5
        code, hdrs = None, []
        while time.monotonic() < deadline and code is None:
            sock.sendto(msg, server)
            sock.settimeout(0.5)
            try:
                while True:
                    data, _ = sock.recvfrom(65535)
                    first, hdrs, _ = parse(data)
                    m = re.match(r"SIP/2\.0 (\d+)", first)
                    if m and int(m.group(1)) >= 200:
                        code = int(m.group(1))
                        break
            except socket.timeout:
                pass
        if code is not None and 200 <= code < 300:
            return True
        if code in (401, 407) and a.password is not None and auth is None:
            chal = [c for c in hall(hdrs, "www-authenticate" if code == 401 else "proxy-authenticate")
                    if "md5" in c.lower() or "algorithm" not in c.lower()]
            if not chal:
                break
            auth = "%s: %s" % ("Authorization" if code == 401 else "Proxy-Authorization",
                               digest(chal[0][len("Digest"):], "REGISTER", "sip:%s" % a.domain,
                                      a.user, a.password))
            continue
        print("probe: REGISTER failed: %s" % code, file=sys.stderr)
        return False
    return False


class Call:
    __slots__ = ("cid", "tag", "branch", "epoch", "t_inv", "t_bye", "rt1", "state",
                 "next_tx", "interval", "msg", "bye_branch", "deadline")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="proxy IP:PORT (ignored with --direct)")
    ap.add_argument("--uac", required=True)
    ap.add_argument("--uas", required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--user", default="probe")
    ap.add_argument("--password")
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--calls", type=int, default=0, help="stop after N calls (0 = until a signal)")
    ap.add_argument("--direct", action="store_true")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    uac = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uac.bind(parse_addr(a.uac))
    uas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uas.bind(parse_addr(a.uas))
    uh, up = uac.getsockname()
    sh, sp = uas.getsockname()
    if a.direct:
        server = (sh, sp)
        ruri = "sip:%s@%s:%d" % (a.user, sh, sp)
    else:
        server = parse_addr(a.server)
        ruri = "sip:%s@%s:%d" % (a.user, a.domain, server[1])
        if not register(uas, server, a):
            return 1
    uas.setblocking(False)
    uac.setblocking(False)

    stop = [False]

    def on_signal(*_):
        stop[0] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    out = open(a.out, "w", buffering=1)
    calls = {}
    n = 0
    period = 1.0 / a.rate
    next_call = time.monotonic()

    def finish(c, status, rt2=None):
        out.write("%.6f %s %s %s\n" % (c.epoch, "-" if c.rt1 is None else "%d" % (c.rt1 // 1000),
                                       "-" if rt2 is None else "%d" % (rt2 // 1000), status))
        calls.pop(c.cid, None)

    def request(method, c, uri, routes, branch, cseq, to_tag):
        lines = ["%s %s SIP/2.0" % (method, uri),
                 "Via: SIP/2.0/UDP %s:%d;branch=%s" % (uh, up, branch),
                 "Max-Forwards: 70"]
        lines += ["Route: %s" % r for r in routes]
        lines += ["From: probe <sip:probe-uac@%s:%d>;tag=%s" % (uh, up, c.tag),
                  "To: <%s>%s" % (ruri, (";tag=" + to_tag) if to_tag else ""),
                  "Call-ID: " + c.cid, "CSeq: %d %s" % (cseq, method),
                  "Contact: <sip:probe-uac@%s:%d>" % (uh, up), "Content-Length: 0"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def uas_reply(hdrs, code, reason, to_tag, copy_rr):
        lines = ["SIP/2.0 %d %s" % (code, reason)]
        for k, v in hdrs:
            h = hname(k)
            if h == "via" or (copy_rr and h == "record-route"):
                lines.append("%s: %s" % (k, v))
        for k, v in hdrs:
            h = hname(k)
            if h in ("from", "call-id", "cseq"):
                lines.append("%s: %s" % (k, v))
            elif h == "to":
                lines.append("%s: %s%s" % (k, v, (";tag=" + to_tag) if to_tag and ";tag=" not in v else ""))
        lines += ["Contact: <sip:%s@%s:%d>" % (a.user, sh, sp), "Content-Length: 0"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    uas_tags = {}
    while not stop[0] or calls:
        now = time.monotonic()
        if stop[0] and now > next_call + 5:   # give pending calls 5 s after a stop
            break
        if not stop[0] and now >= next_call and (a.calls == 0 or n < a.calls):
            n += 1
            c = Call()
            c.cid, c.tag = "probe-%d-%s" % (n, os.urandom(4).hex()), os.urandom(4).hex()
            c.branch = "z9hG4bK" + os.urandom(8).hex()
            c.epoch, c.rt1, c.state = time.time(), None, "inv"
            c.msg = request("INVITE", c, ruri, [], c.branch, 1, None)
            c.interval, c.deadline = T1, now + CALL_TIMEOUT
            c.t_inv = time.perf_counter_ns()
            uac.sendto(c.msg, server)
            c.next_tx = now + T1
            calls[c.cid] = c
            next_call += period
            if a.calls and n >= a.calls:
                stop[0] = True
                next_call = now
        # retransmissions and timeouts
        for c in list(calls.values()):
            if now >= c.deadline:
                finish(c, "timeout")
            elif now >= c.next_tx:
                uac.sendto(c.msg, server)
                c.interval = min(c.interval * 2, 4.0)
                c.next_tx = now + c.interval
        wait = max(0.0, min(next_call - time.monotonic(), 0.05))
        r, _, _ = select.select([uac, uas], [], [], wait)
        for s in r:
            while True:
                try:
                    data, src = s.recvfrom(65535)
                except BlockingIOError:
                    break
                t = time.perf_counter_ns()
                first, hdrs, _ = parse(data)
                if s is uas:
                    m = first.split(" ", 1)[0]
                    cid = hget(hdrs, "call-id")
                    if m == "INVITE":
                        tag = uas_tags.setdefault(cid, os.urandom(4).hex())
                        uas.sendto(uas_reply(hdrs, 180, "Ringing", tag, True), src)
                        uas.sendto(uas_reply(hdrs, 200, "OK", tag, True), src)
                    elif m == "BYE":
                        uas.sendto(uas_reply(hdrs, 200, "OK", None, False), src)
                        uas_tags.pop(cid, None)
                    elif m not in ("ACK",) and not first.startswith("SIP/2.0"):
                        uas.sendto(uas_reply(hdrs, 200, "OK", None, False), src)
                    continue
                m = re.match(r"SIP/2\.0 (\d+)", first)
                if not m:
                    continue
                code = int(m.group(1))
                c = calls.get(hget(hdrs, "call-id"))
                cseq = (hget(hdrs, "cseq") or "").split()
                if c is None or len(cseq) < 2 or code < 200:
                    continue
                if cseq[1] == "INVITE" and c.state == "inv":
                    to = hget(hdrs, "to") or ""
                    tt = re.search(r";\s*tag=([^;>\s]+)", to)
                    to_tag = tt.group(1) if tt else ""
                    if code >= 300:   # hop-by-hop ACK, same branch
                        ack = request("ACK", c, ruri, [], c.branch, 1, to_tag)
                        uac.sendto(ack, server)
                        finish(c, str(code))
                        continue
                    c.rt1 = t - c.t_inv
                    rr = []
                    for v in hall(hdrs, "record-route"):
                        rr += split_list(v)
                    rr.reverse()
                    ct = hget(hdrs, "contact") or ""
                    mm = re.search(r"<([^>]+)>", ct)
                    target = mm.group(1) if mm else ct.split(";")[0].strip()
                    uac.sendto(request("ACK", c, target, rr, "z9hG4bK" + os.urandom(8).hex(), 1, to_tag),
                               server)
                    c.state = "bye"
                    c.msg = request("BYE", c, target, rr, "z9hG4bK" + os.urandom(8).hex(), 2, to_tag)
                    c.interval, c.next_tx = T1, time.monotonic() + T1
                    c.t_bye = time.perf_counter_ns()
                    uac.sendto(c.msg, server)
                elif cseq[1] == "BYE" and c.state == "bye":
                    finish(c, "ok" if code < 300 else "bye-%d" % code, t - c.t_bye)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
