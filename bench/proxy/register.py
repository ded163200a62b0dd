#!/usr/bin/env python3
"""One REGISTER over UDP from a given local address, with digest if asked.

    register.py --server 127.0.0.10:5060 --local 127.0.0.10:5090 \
        --user service --domain 127.0.0.10 [--password PW] [--expires 86400]

Binds --local (so the binding's Contact equals the UDP source: a registrar
that compares them does not take the UAS for a NAT'd phone), sends
REGISTER sip:DOMAIN with To/From sip:USER@DOMAIN and
Contact <sip:USER@LOCAL>, answers a 401/407 with an MD5 digest (qop=auth
or none) when --password is given, and closes the socket, so that the sipp
UAS can bind the same port afterwards. Exit 0 on a 2xx, 1 otherwise.
Standard library only.
"""
import argparse
import hashlib
import os
import re
import socket
import sys
import time


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def parse_addr(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def build(args, cseq, call_id, tag, auth=None):
    lh, lp = parse_addr(args.local)
    branch = "z9hG4bK" + os.urandom(8).hex()
    lines = [
        "REGISTER sip:%s SIP/2.0" % args.domain,
        "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (lh, lp, branch),
        "Max-Forwards: 70",
        "From: <sip:%s@%s>;tag=%s" % (args.user, args.domain, tag),
        "To: <sip:%s@%s>" % (args.user, args.domain),
        "Call-ID: %s" % call_id,
        "CSeq: %d REGISTER" % cseq,
        "Contact: <sip:%s@%s:%d>" % (args.user, lh, lp),
        "Expires: %d" % args.expires,
        "User-Agent: bench-proxy-register",
    ]
    if auth:
        lines.append(auth)
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_response(data):
    text = data.decode("utf-8", "replace")
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", head[0])
    if not m:
        return None, "", {}
    hdrs = {}
    for line in head[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    return int(m.group(1)), m.group(2), hdrs


def digest_header(challenge, method, uri, user, password, realm_hdr):
    """challenge: the value after 'Digest'; returns an (Proxy-)Authorization line."""
    params = dict((k.lower(), v.strip('"')) for k, v in
                  re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', challenge))
    realm, nonce = params.get("realm", ""), params["nonce"]
    alg = params.get("algorithm", "MD5")
    if alg.upper() != "MD5":
        raise ValueError("unsupported algorithm %s" % alg)
    ha1 = md5("%s:%s:%s" % (user, realm, password))
    ha2 = md5("%s:%s" % (method, uri))
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    out = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=MD5' % (
        user, realm, nonce, uri)
    if "auth" in qops:
        nc, cnonce = "00000001", os.urandom(8).hex()
        resp = md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
        out += ', qop=auth, nc=%s, cnonce="%s"' % (nc, cnonce)
    else:
        resp = md5("%s:%s:%s" % (ha1, nonce, ha2))
    out += ', response="%s"' % resp
    if "opaque" in params:
        out += ', opaque="%s"' % params["opaque"]
    return "%s: %s" % (realm_hdr, out)


def transact(sock, server, msg, timeout):
    """send msg (retransmitted every 500 ms) until a final response arrives"""
    deadline = time.monotonic() + timeout
    next_tx = 0.0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_tx:
            sock.sendto(msg, server)
            next_tx = now + 0.5
        sock.settimeout(max(0.01, min(next_tx, deadline) - time.monotonic()))
        try:
            data, _ = sock.recvfrom(65535)
        except socket.timeout:
            continue
        code, reason, hdrs = parse_response(data)
        if code is None or code < 200:
            continue
        return code, reason, hdrs
    return None, "timeout", {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="registrar IP:PORT")
    ap.add_argument("--local", required=True, help="local IP:PORT to send from (= Contact)")
    ap.add_argument("--user", default="service")
    ap.add_argument("--domain", required=True)
    ap.add_argument("--password")
    ap.add_argument("--expires", type=int, default=86400)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()

    server = parse_addr(args.server)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(parse_addr(args.local))
    try:
        call_id = os.urandom(10).hex() + "@bench"
        tag = os.urandom(6).hex()
        code, reason, hdrs = transact(sock, server, build(args, 1, call_id, tag), args.timeout)
        if code in (401, 407) and args.password is not None:
            chal_hdr = "www-authenticate" if code == 401 else "proxy-authenticate"
            auth_hdr = "Authorization" if code == 401 else "Proxy-Authorization"
            chals = [c[len("Digest"):].strip() for c in hdrs.get(chal_hdr, [])
                     if c.lower().startswith("digest")]
            md5c = [c for c in chals if re.search(r"algorithm=\"?MD5\"?(,|\s|$)", c, re.I)
                    or "algorithm=" not in c.lower()]
            if not md5c:
                print("register: no MD5 challenge in %s" % hdrs.get(chal_hdr), file=sys.stderr)
                return 1
            auth = digest_header(md5c[0], "REGISTER", "sip:%s" % args.domain,
                                 args.user, args.password, auth_hdr)
            code, reason, hdrs = transact(sock, server, build(args, 2, call_id, tag, auth),
                                          args.timeout)
        if code is not None and 200 <= code < 300:
            print("register: %d %s, Contact: %s" % (code, reason, "; ".join(hdrs.get("contact", []))))
            return 0
        print("register: failed: %s %s" % (code, reason), file=sys.stderr)
        return 1
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
