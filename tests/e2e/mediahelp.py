"""Phones for media tests: a SIP socket and an RTP socket per phone, calls
through the B2BUA built by hand, and G.711 streams with known content."""
# SPDX-License-Identifier: BSD-2-Clause
import math
import re
import socket
import struct
import time
import uuid

from conftest import free_udp_port

SDP = ("v=0\r\no=- {sid} 1 IN {fam} {ip}\r\ns=-\r\nc=IN {fam} {cip}\r\n"
       "t=0 0\r\nm=audio {port} RTP/AVP {fmts}\r\n{maps}{extra}")
MAPS = {"0": "a=rtpmap:0 PCMU/8000\r\n", "8": "a=rtpmap:8 PCMA/8000\r\n",
        "18": "a=rtpmap:18 G729/8000\r\n",
        "101": "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"}


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def hdr(m, name):
    g = re.search(r"^%s:\s*(.*?)\r$" % re.escape(name), m, re.M | re.I)
    return g.group(1) if g else None


def first_line(m):
    return m.split("\r\n", 1)[0]


def body(m):
    return m.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in m else ""


def sdp_media(text):
    """(connection address, audio port, formats, attributes) of an SDP."""
    c = re.findall(r"^c=IN IP[46] (\S+)\r?$", text, re.M)
    m = re.search(r"^m=audio (\d+) \S+ ([\d ]+)\r?$", text, re.M)
    attrs = re.findall(r"^a=(.*?)\r?$", text, re.M)
    return (c[-1] if c else None, int(m.group(1)) if m else None,
            m.group(2).split() if m else [], attrs)


def host_of(addr):
    return "[%s]" % addr[0] if ":" in addr[0] else addr[0]


class Phone:
    """A SIP UDP socket and an RTP UDP socket on one loopback address."""

    def __init__(self, host, name):
        self.name = name
        self.host = host
        fam = family(host)
        self.sip = socket.socket(fam, socket.SOCK_DGRAM)
        self.sip.bind((host, free_udp_port(host)))
        self.addr = self.sip.getsockname()[:2]
        self.rtp = socket.socket(fam, socket.SOCK_DGRAM)
        self.rtp.bind((host, 0))
        self.rtp_port = self.rtp.getsockname()[1]
        self.seq = 1000
        self.ts = 0
        self.ssrc = hash(name) & 0xffffffff
        self.pending = []

    def close(self):
        self.sip.close()
        self.rtp.close()

    def uri(self):
        return "sip:%s@%s:%d" % (self.name, host_of(self.addr), self.addr[1])

    def sdp(self, fmts=("0", "101"), cip=None, extra="", port=None):
        fam = "IP6" if ":" in self.host else "IP4"
        return SDP.format(sid=abs(hash(self.name)) % 100000, fam=fam,
                          ip=self.host, cip=cip or self.host,
                          port=self.rtp_port if port is None else port,
                          fmts=" ".join(fmts),
                          maps="".join(MAPS[f] for f in fmts), extra=extra)

    def send(self, text, to):
        self.sip.sendto(text.encode(), to)

    def recv(self, pred, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            for i, (m, src) in enumerate(self.pending):
                if pred(m):
                    del self.pending[i]
                    return m, src
            left = deadline - time.monotonic()
            assert left > 0, "%s: timed out" % self.name
            self.sip.settimeout(left)
            data, src = self.sip.recvfrom(65535)
            self.pending.append((data.decode(errors="replace"), src))

    def rtp_send(self, dst, pt=0, payload=None, marker=False, ts=None,
                 seq=None, sock=None):
        self.seq = (self.seq + 1) & 0xffff
        if ts is None:
            self.ts = (self.ts + 160) & 0xffffffff
        pkt = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt,
                          self.seq if seq is None else seq,
                          self.ts if ts is None else ts, self.ssrc)
        pkt += payload if payload is not None else tone_ulaw(self.ts)
        (sock or self.rtp).sendto(pkt, dst)

    def rtp_drain(self, timeout=0.2):
        """Every datagram that arrives within timeout: (bytes, source)."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            self.rtp.settimeout(left)
            try:
                got.append(self.rtp.recvfrom(4096))
            except socket.timeout:
                return got


def event_packets(phone, dst, event, pt=101, steps=4):
    """An RFC 4733 event: updates then the end packet three times, one
    timestamp (2.5.1)."""
    phone.ts = (phone.ts + 160) & 0xffffffff
    ts = phone.ts
    for i in range(steps + 3):
        end = i >= steps
        dur = 160 * min(i + 1, steps)
        payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, dur)
        phone.rtp_send(dst, pt=pt, payload=payload, marker=i == 0, ts=ts)
        time.sleep(0.02)


def events_of(packets, pt=101):
    """(event, end bit, duration) of the telephone-event packets."""
    out = []
    for p, _ in packets:
        if len(p) >= 16 and p[1] & 0x7f == pt:
            out.append((p[12], bool(p[13] & 0x80), (p[14] << 8) | p[15]))
    return out


def ulaw(sample):
    """G.711 mu-law of a 16-bit sample."""
    sign = 0x80 if sample < 0 else 0
    s = min(abs(sample), 32635) + 0x84
    exp = 7
    while exp > 0 and not s & (0x4000 >> (7 - exp)):
        exp -= 1
    exp = max(exp, 0)
    mant = (s >> (exp + 3)) & 0x0f
    return ~(sign | (exp << 4) | mant) & 0xff


def tone_ulaw(ts, hz=1000, amp=8000):
    return bytes(ulaw(int(amp * math.sin(2 * math.pi * hz * (ts + i) / 8000)))
                 for i in range(160))


def reply(req, status, reason, tag, extra="", sdp=""):
    keep = [l for l in req.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
            if re.match(r"(Via|From|To|Call-ID|CSeq|Record-Route):", l,
                        re.I)]
    out = []
    for l in keep:
        if l.lower().startswith("to:") and ";tag=" not in l:
            l += ";tag=" + tag
        out.append(l)
    head = "SIP/2.0 %d %s\r\n%s\r\n%s" % (status, reason, "\r\n".join(out),
                                           extra)
    if sdp:
        head += "Content-Type: application/sdp\r\n"
    return head + "Content-Length: %d\r\n\r\n%s" % (len(sdp), sdp)


class Call:
    """A call from phone a to phone b through the B2BUA at server."""

    def __init__(self, a, b, server, sdp=None, ruri=None, b_sdp=None):
        self.a, self.b, self.server = a, b, server
        self.cid = uuid.uuid4().hex
        self.a_cseq = 0
        offer = sdp if sdp is not None else a.sdp()
        self.ruri = ruri or b.uri()
        a.send(self.request("INVITE", offer), server)
        self.final = None
        if b_sdp is False:
            return
        self.inv, self.inv_src = b.recv(lambda m: m.startswith("INVITE "))
        self.b_contact = "sip:%s@%s:%d" % (b.name, host_of(b.addr),
                                           b.addr[1])
        b.send(reply(self.inv, 200, "OK", "btag",
                     "Contact: <%s>\r\n" % self.b_contact,
                     b_sdp if b_sdp is not None else b.sdp()), self.inv_src)
        self.ok, _ = a.recv(lambda m: first_line(m).startswith("SIP/2.0 200")
                            and "INVITE" in (hdr(m, "CSeq") or ""))
        self.a_to = hdr(self.ok, "To")
        contact = re.search(r"<([^>]+)>", hdr(self.ok, "Contact")).group(1)
        self.a_target = contact
        a.send(self.request("ACK", cseq=1), server)
        self.b_ack, _ = b.recv(lambda m: m.startswith("ACK "))
        # where each phone sends RTP: the relay's address in its SDP
        c, p, _, _ = sdp_media(body(self.ok))
        self.a_dst = (c, p)
        c, p, _, _ = sdp_media(body(self.inv))
        self.b_dst = (c, p)

    def request(self, method, sdp="", cseq=None, ctype="application/sdp"):
        a = self.a
        if cseq is None:
            self.a_cseq += 1
            cseq = self.a_cseq
        ruri = self.ruri if method == "INVITE" and cseq == 1 else \
            getattr(self, "a_target", self.ruri)
        to = getattr(self, "a_to", "<%s>" % self.ruri)
        msg = ("%s %s SIP/2.0\r\n"
               "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:%s@example.net>;tag=atag\r\n"
               "To: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
               "Contact: <%s>\r\n") % (
                   method, ruri, host_of(a.addr), a.addr[1],
                   uuid.uuid4().hex, a.name, to, self.cid, cseq,
                   method if method != "ACK" else "ACK", a.uri())
        if sdp:
            msg += "Content-Type: %s\r\n" % ctype
        return msg + "Content-Length: %d\r\n\r\n%s" % (len(sdp), sdp)

    def b_request(self, method, text="", ctype="application/sdp"):
        """An in-dialog request from b on the B-leg."""
        b, inv = self.b, self.inv
        self.b_cseq = getattr(self, "b_cseq", 0) + 1
        target = re.search(r"<([^>]+)>", hdr(inv, "Contact")).group(1)
        msg = ("%s %s SIP/2.0\r\n"
               "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport\r\n"
               "Max-Forwards: 70\r\nFrom: %s;tag=btag\r\nTo: %s\r\n"
               "Call-ID: %s\r\nCSeq: %d %s\r\nContact: <%s>\r\n") % (
                   method, target, host_of(b.addr), b.addr[1],
                   uuid.uuid4().hex, hdr(inv, "To"), hdr(inv, "From"),
                   hdr(inv, "Call-ID"), self.b_cseq, method, self.b_contact)
        if text:
            msg += "Content-Type: %s\r\n" % ctype
        b.send(msg + "Content-Length: %d\r\n\r\n%s" % (len(text), text),
               self.inv_src)

    def a_reinvite(self, sdp):
        """A re-INVITE from a answered by b with b's SDP; returns b's view
        of the offer and a's view of the answer."""
        self.a.send(self.request("INVITE", sdp), self.server)
        inv, src = self.b.recv(lambda m: m.startswith("INVITE "))
        self.b.send(reply(inv, 200, "OK", "btag",
                          "Contact: <%s>\r\n" % self.b_contact,
                          self.b.sdp()), src)
        ok, _ = self.a.recv(lambda m: first_line(m).startswith("SIP/2.0 200")
                            and "INVITE" in (hdr(m, "CSeq") or ""))
        self.a.send(self.request("ACK", cseq=self.a_cseq), self.server)
        self.b.recv(lambda m: m.startswith("ACK "))
        return inv, ok

    def hangup(self):
        self.a.send(self.request("BYE"), self.server)
        bye, src = self.b.recv(lambda m: m.startswith("BYE "))
        self.b.send(reply(bye, 200, "OK", "btag"), src)
        self.a.recv(lambda m: first_line(m).startswith("SIP/2.0 200") and
                    "BYE" in (hdr(m, "CSeq") or ""))
