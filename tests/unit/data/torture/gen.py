#!/usr/bin/env python3
# Generates the SIP torture corpus, its manifest and the fuzz seed corpus.
# SPDX-License-Identifier: BSD-2-Clause
#
# Run from anywhere: python3 tests/unit/data/torture/gen.py
#
# Writes tests/unit/data/torture/<name>.sip and expect.txt, and
# tests/fuzz/corpus/msg/ (every torture message plus realistic traffic).
# The messages are modelled on RFC 4475 (sections 3.1.1 to 3.4) and
# RFC 5118 (IPv6), plus cases of our own ("own_" prefix). Edit messages and
# expectations here, never the generated files.
#
# Text conventions, applied by wire():
#   "\n" becomes CRLF (SIP needs CRLF; the files are byte-exact wire data),
#   <hex>0D0A</hex> is replaced by those bytes (the RFC 4475 notation),
#   <SP> is one space, written visibly where trailing space matters,
#   {CL} is replaced by the real body length (bytes after the empty line).
# Non-ASCII text is written as Python text and sent as UTF-8.
#
# Manifest (expect.txt), one line per case:
#   <name> ok [checks]         must parse; checks are key=value, see below
#   <name> <status> [checks]   sip_msg_parse fails with that status
#   <name> <status>@contacts   fails either in sip_msg_parse or, at the
#                              latest, in the lazy Contact parse
#   <name> drop                malformed response: fails with status 0
# Checks: method= method_known= status= vias= call_id= from_tag= to_tag=
# cseq= cseq_method= content_length= body_len= msg_len= contacts=
# contact_star= contact_params= contact_uri_params= contact_uri_headers=
# contact_expires= contact_q= ruri_scheme= ruri_user= ruri_host= ruri_port=
# via_host= via_port= via_transport= via_branch= via_received= via_rport=
# last_via_host= last_via_port= last_via_branch= parts= hdr.<Name>=<count>
# reason~<words> (case-insensitive substring of the reason phrase, "_" for
# a space) and
# lim.<sb_limits field>=<n> (parse with that limit changed). A value "-"
# means absent; an empty value means present and empty.
# A line "# <name>: <layer> decides <code>" records who answers a message
# the parser must accept.

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
FUZZ_DIR = os.path.join(ROOT, "tests", "fuzz", "corpus", "msg")

HEX_RE = re.compile(rb"<hex>([0-9A-Fa-f\s]*)</hex>")


def wire(text):
    """Message text as written here -> the exact bytes on the wire."""
    text = text.replace("\n", "\r\n").replace("<SP>", " ")
    data = text.encode("utf-8")
    data = HEX_RE.sub(lambda m: bytes.fromhex(m.group(1).decode()), data)
    return fill_cl(data)


def fill_cl(data):
    if b"{CL}" not in data:
        return data
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, "a {CL} message needs an empty line"
    return data.replace(b"{CL}", str(len(body)).encode())


def body_of(data):
    return data.partition(b"\r\n\r\n")[2]


def sdp(o_ip, c_ip=None, t="0 0"):
    """The SDP body the RFC 4475 messages carry (150 bytes for 192.0.2.x)."""
    return (
        "v=0\n"
        f"o=mhandley 29739 7272939 IN IP4 {o_ip}\n"
        "s=-\n"
        f"c=IN IP4 {c_ip or o_ip}\n"
        f"t={t}\n"
        "m=audio 49217 RTP/AVP 0 12\n"
        "m=video 3227 RTP/AVP 31\n"
        "a=rtpmap:31 LPC\n"
    )


CASES = []  # (name, bytes, expect line, comment or None)
NAMES = set()


def case(name, data, expect, comment=None, check_cl=None):
    """Add one case. data is text (see wire()) or bytes (used as is)."""
    assert name not in NAMES, name
    NAMES.add(name)
    raw = data if isinstance(data, bytes) else wire(data)
    if check_cl is not None:
        assert len(body_of(raw)) == check_cl, (name, len(body_of(raw)))
    CASES.append((name, raw, expect, comment))


# ---------------------------------------------------------------------------
# RFC 4475 3.1.1: valid messages (a parser must accept them)
# ---------------------------------------------------------------------------

# 3.1.1.1 A short tortuous INVITE: folding everywhere, compact and long
# forms mixed, LWS around every separator, leading zeros, empty Subject.
case("wsinv", r'''INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : 150
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \"\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

''' + sdp("192.0.2.3", "192.0.2.4"),
     "ok method=INVITE vias=3 call_id=wsinv.ndaksdj@192.0.2.1 "
     "from_tag=98asjd8 to_tag=1918181833n cseq=9 cseq_method=INVITE "
     "content_length=150 body_len=150 contacts=1 contact_q=0.33 "
     "via_host=192.0.2.2 via_transport=UDP via_branch=390skdjuw "
     "last_via_host=192.168.255.111 last_via_branch=z9hG4bK30239 "
     "ruri_host=chair-dnrc.example.com ruri_user=vivekg "
     "hdr.Subject=1 hdr.Via=2 hdr.Route=1", check_cl=150)

# 3.1.1.2 Wide range of valid characters: token characters in the method,
# branch, tag and header name; word characters in Call-ID; quoted-pairs
# with BEL, NUL and DEL in a display name; UTF-8 in values.
case("intmeth",
     "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~"
     "(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
     "(doesn't-it)@example.com SIP/2.0\n"
     "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\n"
     'To: "BEL:\\<hex>07</hex> NUL:\\<hex>00</hex> DEL:\\<hex>7F</hex>" '
     "<sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\n"
     "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;"
     "fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.\n"
     "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\n"
     "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\n"
     "Max-Forwards: 255\n"
     "extensionHeader-!.%*+_`'~:\ufeff大停電\n"
     "Content-Length: 0\n"
     "\n",
     "ok method=!interesting-Method0123456789_*+`.%indeed'~ method_known=0 "
     "vias=1 call_id=intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{ "
     "from_tag=_token~1'+`*%!-. to_tag=- cseq=139122385 "
     "cseq_method=!interesting-Method0123456789_*+`.%indeed'~ "
     "via_branch=z9hG4bK-.!%66*_+`'~ ruri_host=example.com "
     "ruri_user=1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;* "
     "content_length=0", check_cl=0)

# 3.1.1.3 Valid use of the % escaping mechanism.
case("esc01", '''INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: 150

''' + sdp("192.0.2.1"),
     "ok method=INVITE call_id=esc01.239409asdfakjkn23onasd0-3234 "
     "from_tag=938 cseq=234234 content_length=150 contacts=1 "
     "contact_uri_params=%6C%72;n%61me=v%61lue%25%34%31 "
     "ruri_user=sips%3Auser%40example.com ruri_host=example.net",
     check_cl=150)

# 3.1.1.4 Escaped nulls in URIs (%00 in user parts, two distinct contacts).
case("escnull", '''REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:0

''',
     "ok method=REGISTER call_id=escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd "
     "from_tag=839923423 to_tag=- cseq=14398234 contacts=2 "
     "content_length=0", check_cl=0)

# 3.1.1.5 Use of % when it is not an escape: unknown method RE%47IST%45R,
# header name C%6Fntact is an unknown header, not Contact.
case("esc02", '''RE%47IST%45R sip:registrar.example.com SIP/2.0
To: "%Z%45" <sip:resource@example.com>
From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234
CSeq: 29344 RE%47IST%45R
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: 0

''',
     "ok method=RE%47IST%45R method_known=0 cseq_method=RE%47IST%45R "
     "call_id=esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf from_tag=f232jadfj23 "
     "via_branch=z9hG4bK209%fzsnel234 contacts=2 hdr.Contact=2 "
     "hdr.C%6Fntact=1", check_cl=0)

# 3.1.1.6 Message with no LWS between display name and <.
case("lwsdisp", '''OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0

''',
     "ok method=OPTIONS call_id=lwsdisp.1234abcd@funky.example.com "
     "from_tag=323 cseq=60 vias=1", check_cl=0)

# 3.1.1.7 Long values in header fields, 34 Vias in every spelling of the
# name (long, compact, odd case, SP before the colon).
VIA_PREFIXES = ["Via: ", "v: ", "V: ", "Via: ", "ViA: ", "VIa: ", "VIA: ",
                "via: ", "viA: ", "vIa: ", "vIA: ", "V :  ", "v :  ", "V  : ",
                "v  : ", "Via : ", "Via  : "] + ["Via: "] * 16
LONGREQ_VIAS = "".join(f"{p}SIP/2.0/TCP sip{33 - i}.example.com\n"
                       for i, p in enumerate(VIA_PREFIXES))
LONG_USER = "amazinglylongcallername" * 5
LONGREQ_CALLID = "longreq.one" + "really" * 20 + "longcallid"
LONGREQ_TAG = "12" + "982" * 49 + "424"
case("longreq",
     "INVITE sip:user@example.com SIP/2.0\n"
     'To: "I have a user name of ' + "extreme" * 10 + ' proportion"'
     "<sip:user@example.com:6000;unknownparam1=very" + "long" * 20 +
     "value;longparam" + "name" * 25 + "=shortvalue;very" + "long" * 25 +
     "ParameterNameWithNoValue>\n"
     f"F: sip:{LONG_USER}@example.net;tag={LONGREQ_TAG};unknownheaderparam" +
     "name" * 20 + "=unknowheaderparam" + "value" * 15 +
     ";unknownValueless" + "paramname" * 10 + "\n"
     f"Call-ID: {LONGREQ_CALLID}\n"
     "CSeq: 3882340 INVITE\n"
     "Unknown-" + "Long" * 20 + "-Name: unknown-" + "long" * 20 +
     "-value; unknown-" + "long" * 20 + "-parameter-name = unknown-" +
     "long" * 20 + "-parameter-value\n" +
     LONGREQ_VIAS +
     "Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very" +
     "long" * 50 + "branchvalue\n"
     "Max-Forwards: 70\n"
     f"Contact: <sip:{LONG_USER}@host5.example.net>\n"
     "Content-Type: application/sdp\n"
     "l: 150\n"
     "\n" + sdp("192.0.2.1"),
     f"ok method=INVITE vias=34 call_id={LONGREQ_CALLID} "
     f"from_tag={LONGREQ_TAG} to_tag=- cseq=3882340 content_length=150 "
     "contacts=1 via_host=sip33.example.com via_branch=- "
     "last_via_host=host.example.com last_via_branch=very" + "long" * 50 +
     "branchvalue hdr.Via=34", check_cl=150)

# 3.1.1.8 Extra trailing octets in a UDP datagram: a second request after
# the first one's Content-Length. The first is parsed, the rest ignored.
DBLREQ_FIRST = wire('''REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0

''')
DBLREQ_SECOND = wire('''INVITE sip:joe@example.com SIP/2.0
t: sip:joe@example.com
From: sip:caller@example.net;tag=141334
Max-Forwards: 8
Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234
Content-Type: application/sdp
Content-Length: 150

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.15
s=-
c=IN IP4 192.0.2.15
t=0 0
m=audio 49217 RTP/AVP 0 12
m =video 3227 RTP/AVP 31
a=rtpmap:31 LPC

''')
case("dblreq", DBLREQ_FIRST + DBLREQ_SECOND,
     "ok method=REGISTER vias=1 call_id=dblreq.0ha0isndaksdj99sdfafnl3lk233412 "
     "from_tag=43251j3j324 cseq=8 cseq_method=REGISTER content_length=0 "
     f"body_len=0 msg_len={len(DBLREQ_FIRST)} contacts=1 hdr.To=1")

# 3.1.1.9 Semicolon-separated parameters in the URI user part.
case("semiuri", '''OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Call-ID: semiuri.0ha0isndaksdj
CSeq: 8 OPTIONS
Accept: application/sdp, application/pkcs7-mime,
        multipart/mixed, multipart/signed,
        message/sip, message/sipfrag
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
l: 0

''',
     "ok method=OPTIONS call_id=semiuri.0ha0isndaksdj from_tag=33242 "
     "ruri_user=user;par=u%40example.net ruri_host=example.com hdr.Accept=1",
     check_cl=0)

# 3.1.1.10 Varied and unknown transport types.
case("transports", '''OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID:  transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw
Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj
Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en
Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee
l: 0

''',
     "ok method=OPTIONS vias=5 call_id=transports.kijh4akdnaqjkwendsasfdj "
     "via_transport=UDP via_host=t1.example.com last_via_host=t5.example.com "
     "last_via_branch=z9hG4bK0a9idfnee", check_cl=0)

# 3.1.1.11 Multipart MIME message; the second part is binary with NULs
# (our own binary blob; the RFC's is a CMS signature).
MPART_BIN = bytes((i * 37 + 11) % 256 for i in range(300)) + b"\x00\x00"
MPART_BODY = (
    b"--7a9cbec02ceef655\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n"
    b"Hello\r\n"
    b"--7a9cbec02ceef655\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n" + MPART_BIN + b"\r\n"
    b"--7a9cbec02ceef655--\r\n")
assert b"\r\n--7a9cbec02ceef655" not in MPART_BIN
MPART_HEAD = wire('''MESSAGE sip:kumiko@example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport
Max-Forwards: 70
Route: <sip:127.0.0.1:5080>
Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=
Contact: <sip:fluffy@127.0.0.1:5070>
To: <sip:kumiko@example.org>
From: <sip:fluffy@example.com>;tag=2fb0dcc9
Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..
CSeq: 1 MESSAGE
Content-Transfer-Encoding: binary
Content-Type: multipart/mixed;boundary=7a9cbec02ceef655
Date: Sat, 15 Oct 2005 04:44:56 GMT
User-Agent: SIPimp.org/0.2.5 (curses)
Content-Length: ''' + str(len(MPART_BODY)) + "\n\n")
case("mpart01", MPART_HEAD + MPART_BODY,
     "ok method=MESSAGE vias=1 via_host=127.0.0.1 via_port=5070 via_rport= "
     "call_id=3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA.. from_tag=2fb0dcc9 "
     f"content_length={len(MPART_BODY)} body_len={len(MPART_BODY)} parts=2 "
     "hdr.Identity=1")

# 3.1.1.12 Unusual reason phrase (UTF-8).
case("unreason",
     "SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое\n"
     '''Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 154
Content-Type: application/sdp
Contact: <sip:user@host198.example.com>

''' + sdp("192.0.2.198"),
     "ok status=200 vias=1 call_id=unreason.1234ksdfak3j2erwedfsASdf "
     "from_tag=11141343 to_tag=2229 cseq=35 cseq_method=INVITE "
     "content_length=154 contacts=1", check_cl=154)

# 3.1.1.13 Empty reason phrase (the SP after the code is present).
case("noreason", '''SIP/2.0 100<SP>
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

''',
     "ok status=100 call_id=noreason.asndj203insdf99223ndf from_tag=39ansfi3 "
     "to_tag=902jndnke3 cseq=35", check_cl=0)

# ---------------------------------------------------------------------------
# RFC 4475 3.1.2: invalid messages
# ---------------------------------------------------------------------------

# 3.1.2.1 Extraneous header field separators in Via (and Contact).
case("badinv01", '''INVITE sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=134161461246
Max-Forwards: 7
Call-ID: badinv01.0ha0isndaksdjasdf3234nas
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;;,;,,
Contact: "Joe" <sip:joe@example.org>;;;;
Content-Length: 152
Content-Type: application/sdp

''' + sdp("192.0.2.15"), "400 reason~via_header")

# 3.1.2.2 Content-Length larger than the datagram.
case("clerr", '''INVITE sip:user@example.com SIP/2.0
Max-Forwards: 80
To: sip:j.user@example.com
From: sip:caller@example.net;tag=93942939o2
Contact: <sip:caller@hungry.example.net>
Call-ID: clerr.0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523
Content-Type: application/sdp
Content-Length: 9999

''' + sdp("192.0.2.155"), "400 reason~length")

# 3.1.2.3 Negative Content-Length.
case("ncl", '''INVITE sip:user@example.com SIP/2.0
Max-Forwards: 254
To: sip:j.user@example.com
From: sip:caller@example.net;tag=32394234
Call-ID: ncl.0ha0isndaksdj2193423r542w35
CSeq: 0 INVITE
Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw
Contact: <sip:caller@example53.example.net>
Content-Type: application/sdp
Content-Length: -999

''' + sdp("192.0.2.53"), "400 reason~length")

# 3.1.2.4 Request scalar fields with overlarge values (CSeq > 2**32 decides).
case("scalar02", '''REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3
To: <sip:user@example.com>
From: <sip:user@example.com>;tag=239232jh3
CSeq: 36893488147419103232 REGISTER
Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32
Max-Forwards: 300
Expires: 10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
Contact: <sip:user@host129.example.com>
  ;expires=280297596632815
Content-Length: 0

''', "400 reason~cseq")

# 3.1.2.5 Response scalar fields with overlarge values: discard.
case("scalarlg", '''SIP/2.0 503 Service Unavailable
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129
To: <sip:user@example.com>
From: <sip:other@example.net>;tag=2easdjfejw
CSeq: 9292394834772304023312 OPTIONS
Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r
Retry-After: 949302838503028349304023988
Warning: 1812 overture "In Progress"
Content-Length: 0

''', "drop")

# 3.1.2.6 Unterminated quoted string in display name.
case("quotbal", '''INVITE sip:user@example.com SIP/2.0
To: "Mr. J. User <sip:j.user@example.com>
From: sip:caller@example.net;tag=93334
Max-Forwards: 10
Call-ID: quotbal.aksdj
Contact: <sip:caller@host59.example.net>
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234
Content-Type: application/sdp
Content-Length: 152

''' + sdp("192.0.2.15"), "400 reason~to_header")

# 3.1.2.7 <> enclosing the Request-URI.
case("ltgtruri", '''INVITE <sip:user@example.com> SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=39291
Max-Forwards: 23
Call-ID: ltgtruri.1@192.0.2.5
CSeq: 1 INVITE
Via: SIP/2.0/UDP 192.0.2.5
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 159

''' + sdp("192.0.2.5", t="3149328700 0"), "400 reason~request",
     check_cl=159)

# 3.1.2.8 Malformed SIP Request-URI (embedded LWS).
case("lwsruri", '''INVITE sip:user@example.com; lr SIP/2.0
To: sip:user@example.com;tag=3xfe-9921883-z9f
From: sip:caller@example.net;tag=231413434
Max-Forwards: 5
Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423
CSeq: 2130706432 INVITE
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: 159

''' + sdp("192.0.2.1", t="3149328700 0"), "400 reason~request",
     check_cl=159)

# 3.1.2.9 Multiple SP separating Request-Line elements.
case("lwsstart", '''INVITE  sip:user@example.com  SIP/2.0
Max-Forwards: 8
To: sip:user@example.com
From: sip:caller@example.net;tag=8814
Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com
CSeq: 1893884 INVITE
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: 150

''' + sdp("192.0.2.1"), "400 reason~request", check_cl=150)

# 3.1.2.10 SP characters at the end of the Request-Line.
case("trws", '''OPTIONS sip:remote-target@example.com SIP/2.0<SP><SP>
Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093
To: <sip:remote-target@example.com>
From: <sip:local-resource@example.com>;tag=329429089
Call-ID: trws.oicu34958239neffasdhr2345r
Accept: application/sdp
CSeq: 238923 OPTIONS
Max-Forwards: 70
Content-Length: 0

''', "400",
     "# trws: RFC 4475 allows rejecting or ignoring the trailing SP, but a "
     "forwarded request must not carry it; we forward by patching, not "
     "re-serialising, so we reject, as for lwsstart")

# 3.1.2.11 Escaped headers in the SIP Request-URI.
case("escruri", '''INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=341518
Max-Forwards: 7
Contact: <sip:caller@host39923.example.net>
Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5
CSeq: 149209342 INVITE
Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw
Content-Type: application/sdp
Content-Length: 150

''' + sdp("192.0.2.1"), "400 reason~request-uri",
     check_cl=150)

# 3.1.2.12 Invalid time zone in Date (the message layer never parses Date).
case("baddate", '''INVITE sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=2234923
Max-Forwards: 70
Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234
CSeq: 1392934 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
Date: Fri, 01 Jan 2010 16:00:00 EST
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 150

''' + sdp("192.0.2.5"),
     "ok method=INVITE call_id=baddate.239423mnsadf3j23lj42--sedfnm234 "
     "hdr.Date=1",
     "# baddate: application decides 400 only if it uses Date; RFC 4475 "
     "says not to reject otherwise", check_cl=150)

# 3.1.2.13 Failure to enclose name-addr URI in <> (Contact with ?headers).
case("regbadct", '''REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=998332
Max-Forwards: 70
Call-ID: regbadct.k345asrl3fdbv@10.0.0.1
CSeq: 1 REGISTER
Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw
Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E
l: 0

''', "400@contacts reason~contact",
     "# regbadct: Contact is parsed lazily; the registrar answers 400 "
     "when sip_msg_contacts() fails")

# 3.1.2.14 Spaces within addr-spec.
case("badaspec", '''OPTIONS sip:user@example.org SIP/2.0
Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234
Max-Forwards: 70
From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423
To: "Watson, Thomas" < sip:t.watson@example.org >
Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3
Accept: application/sdp
CSeq: 3923239 OPTIONS
l: 0

''', "400 reason~to_header")

# 3.1.2.15 Non-token characters in an unquoted display name.
case("baddn", '''OPTIONS sip:t.watson@example.org SIP/2.0
Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards:      70
From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43
To:      Watson, Thomas <sip:t.watson@example.org>
Call-ID: baddn.31415@c.example.com
Accept: application/sdp
CSeq:    3923239 OPTIONS
l: 0

''', "400 reason~from_header")

# 3.1.2.16 Unknown protocol version.
case("badvers", '''OPTIONS sip:t.watson@example.org SIP/7.0
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw
Max-Forwards:     70
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe
To:      T. Watson <sip:t.watson@example.org>
Call-ID: badvers.31417@c.example.com
CSeq:    1 OPTIONS
l: 0

''', "505 reason~version")

# 3.1.2.17 Start-line and CSeq method mismatch.
case("mismatch01", '''OPTIONS sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch01.dj0234sxdfl3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
l: 0

''', "400 reason~cseq")

# 3.1.2.18 Unknown method with CSeq method mismatch: RFC 4475 prefers 501
# (better future-proof behaviour, particularly at proxies), 400 allowed.
case("mismatch02", '''NEWMETHOD sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch02.dj0234sxdfl3
CSeq: 8 INVITE
Contact: <sip:caller@host.example.net>
Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw
Content-Type: application/sdp
l: 138

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.1
c=IN IP4 192.0.2.1
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
''', "501",
     "# mismatch02: RFC 4475 prefers 501 (the method is unknown) to 400",
     check_cl=138)

# 3.1.2.19 Overlarge response code.
case("bigcode", '''SIP/2.0 4294967301 better not break the receiver
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i
CSeq: 353494 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

''', "drop")

# ---------------------------------------------------------------------------
# RFC 4475 3.2: transaction layer semantics
# ---------------------------------------------------------------------------

# 3.2.1 Missing transaction identifier after the magic cookie.
case("badbranch", '''OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK
Accept: application/sdp
Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n
CSeq: 8 OPTIONS
l: 0

''',
     "ok method=OPTIONS via_branch=z9hG4bK "
     "call_id=badbranch.sadonfo23i420jv0as0derf3j3n",
     "# badbranch: transaction layer decides 400 (or RFC 2543 matching)",
     check_cl=0)

# ---------------------------------------------------------------------------
# RFC 4475 3.3: application layer semantics
# ---------------------------------------------------------------------------

# 3.3.1 Missing required header fields (Call-ID, From, To, Max-Forwards).
# Max-Forwards alone is not required by the parser (see inv2543).
case("insuf", '''INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: 152

''' + sdp("192.0.2.95"), "400 reason~missing_call-id", check_cl=152)

# 3.3.2 Request-URI with an unknown scheme.
case("unkscm", '''OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

''', "416 reason~scheme")

# 3.3.3 Request-URI with a known but atypical scheme. RFC 4475: "If an
# element will never accept this scheme as meaningful in a Request-URI, it
# is appropriate to treat it as unknown and return a 416". We serve only
# sip, sips and tel, so this is answered like unkscm.
case("novelsc", '''OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: novelsc.asdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

''', "416 reason~scheme", check_cl=0)

# 3.3.4 Unknown URI schemes in header fields.
case("unksm2", '''REGISTER sip:example.com SIP/2.0
To: isbn:2983792873
From: <http://www.example.com>;tag=3234233
Call-ID: unksm2.daksdj@hyphenated-host.example.com
CSeq: 234902 REGISTER
Max-Forwards: 70
Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw
Contact: <name:John_Smith>
l: 0

''', "ok method=REGISTER from_tag=3234233 to_tag=- contacts=1 "
     "call_id=unksm2.daksdj@hyphenated-host.example.com",
     "# unksm2: registrar decides 400 (To is not a SIP or SIPS AOR)",
     check_cl=0)

# 3.3.5 Proxy-Require and Require with unknown extensions.
case("bext01", '''OPTIONS sip:user@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.net;tag=242etr
Max-Forwards: 6
Call-ID: bext01.0ha0isndaksdj
Require: nothingSupportsThis, nothingSupportsThisEither
Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis
CSeq: 8 OPTIONS
Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw
Content-Length: 0

''', "ok method=OPTIONS via_transport=TLS hdr.Require=1 hdr.Proxy-Require=1",
     "# bext01: UAS decides 420 Bad Extension (proxy: Proxy-Require)",
     check_cl=0)

# 3.3.6 Unknown Content-Type.
case("invut", '''INVITE sip:user@example.com SIP/2.0
Contact: <sip:caller@host5.example.net>
To: sip:j.user@example.com
From: sip:caller@example.net;tag=8392034
Max-Forwards: 70
Call-ID: invut.0ha0isndaksdjadsfij34n23d
CSeq: 235448 INVITE
Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw
Content-Type: application/unknownformat
Content-Length: 40

<audio>
 <pcmu port="443"/>
</audio>
''', "ok method=INVITE content_length=40 body_len=40",
     "# invut: UAS decides 415 Unsupported Media Type", check_cl=40)

# 3.3.7 Unknown authorization scheme.
case("regaut01", '''REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=87321hj23128
Max-Forwards: 8
Call-ID: regaut01.0ha0isndaksdj
CSeq: 9338 REGISTER
Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw
Authorization: NoOneKnowsThisScheme opaque-data=here
Content-Length:0

''', "ok method=REGISTER hdr.Authorization=1 content_length=0",
     "# regaut01: registrar decides 401 with a Digest challenge",
     check_cl=0)

# 3.3.8 Multiple values in single-value required fields.
case("multi01", '''INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: 154
Contact: <sip:caller@host36.example.net>
Max-Forwards: 5

''' + sdp("192.0.2.25") + "\n", "400 reason~multiple",
     check_cl=154)

# 3.3.9 Multiple Content-Length values.
case("mcl01", '''OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423
To: sip:user@example.com
From: sip:other@example.net;tag=3923942
Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf
CSeq: 15932 OPTIONS
Content-Length: 13
Max-Forwards: 60
Content-Length: 5
Content-Type: text/plain

There's no way to know how many octets are supposed to be here.
''', "400 reason~multiple_content-length")

# 3.3.10 200 OK with a broadcast Via sent-by.
case("bcast", '''SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23
Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 154
Content-Type: application/sdp
Contact: <sip:user@host28.example.com>

''' + sdp("192.0.2.198"),
     "ok status=200 vias=2 last_via_host=255.255.255.255 content_length=154",
     "# bcast: transaction/transport layer decides (drop; never send to "
     "the broadcast address)", check_cl=154)

# 3.3.11 Max-Forwards of zero.
case("zeromf", '''OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=3ghsd41
Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas
CSeq: 39234321 OPTIONS
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i
Max-Forwards: 0
Content-Length: 0

''', "ok method=OPTIONS hdr.Max-Forwards=1",
     "# zeromf: proxy decides 483 Too Many Hops (a UAS answers OPTIONS)",
     check_cl=0)

# 3.3.12 REGISTER with a Contact header parameter.
case("cparam01", '''REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe
To: sip:watson@example.com
Call-ID: cparam01.70710@saturn.example.com
CSeq: 2 REGISTER
Contact: sip:+19725552222@gw1.example.net;unknownparam
l: 0

''', "ok method=REGISTER contacts=1 contact_params=unknownparam "
     "contact_uri_params=", check_cl=0)

# 3.3.13 REGISTER with a url-parameter.
case("cparam02", '''REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=838293
To: sip:watson@example.com
Call-ID: cparam02.70710@saturn.example.com
CSeq: 3 REGISTER
Contact: <sip:+19725552222@gw1.example.net;unknownparam>
l: 0

''', "ok method=REGISTER contacts=1 contact_params= "
     "contact_uri_params=unknownparam", check_cl=0)

# 3.3.14 REGISTER with a URL escaped header.
case("regescrt", '''REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=8
Max-Forwards: 70
Call-ID: regescrt.k345asrl3fdbv@192.0.2.1
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>
L:0

''', "ok method=REGISTER contacts=1 "
     "contact_uri_headers=Route=%3Csip:sip.example.com%3E",
     "# regescrt: registrar decides (stores the contact with its header)",
     check_cl=0)

# 3.3.15 Unacceptable Accept offering.
case("sdp01", '''INVITE sip:user@example.com SIP/2.0
To: sip:j_user@example.com
Contact: <sip:caller@host15.example.net>
From: sip:caller@example.net;tag=234
Max-Forwards: 5
Call-ID: sdp01.ndaksdj9342dasdd
Accept: text/nobodyKnowsThis
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw
Content-Length: 150
Content-Type: application/sdp

''' + sdp("192.0.2.5"), "ok method=INVITE hdr.Accept=1 content_length=150",
     "# sdp01: UAS decides 406 Not Acceptable", check_cl=150)

# ---------------------------------------------------------------------------
# RFC 4475 3.4: backward compatibility
# ---------------------------------------------------------------------------

# 3.4.1 INVITE with RFC 2543 syntax: no branch, no From tag, no
# Max-Forwards, no Content-Length (UDP: the body runs to the end).
INV2543 = wire('''INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 INVITE
Content-Type: application/sdp

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.5
s=-
c=IN IP4 192.0.2.5
t=0 0
m=audio 49217 RTP/AVP 0
''')
case("inv2543", INV2543,
     "ok method=INVITE vias=1 via_branch=- from_tag=- to_tag=- "
     f"content_length=- body_len={len(body_of(INV2543))} "
     "call_id=inv2543.1717@ift.client.example.com hdr.Max-Forwards=0",
     "# inv2543: transaction layer decides (RFC 2543 matching without "
     "branch); parses ok")

# ---------------------------------------------------------------------------
# RFC 5118: IPv6
# ---------------------------------------------------------------------------

V6_HEAD = '''To: sip:user@example.com
From: sip:user@example.com;tag=81x2
Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111
Call-ID: SSG9559905523997077@hlau_4100
'''

# 4.1 Valid SIP message with an IPv6 reference.
case("ipv6-good", "REGISTER sip:[2001:db8::10] SIP/2.0\n" + V6_HEAD + '''Max-Forwards: 70
Contact: "Caller" <sip:caller@[2001:db8::1]>
CSeq: 98176 REGISTER
Content-Length: 0

''', "ok method=REGISTER ruri_host=[2001:db8::10] ruri_port=- "
     "via_host=[2001:db8::9:1] via_port=- contacts=1", check_cl=0)

# 4.2 Invalid: IPv6 address in the Request-URI without brackets.
case("ipv6-bad", "REGISTER sip:2001:db8::10 SIP/2.0\n" + V6_HEAD + '''Max-Forwards: 70
Contact: "Caller" <sip:caller@[2001:db8::1]>
CSeq: 98176 REGISTER
Content-Length: 0

''', "400 reason~request-uri")

# 4.3 Port ambiguous: well-formed, the "port" is part of the address.
case("port-ambiguous", "REGISTER sip:[2001:db8::10:5070] SIP/2.0\n" +
     V6_HEAD + '''Contact: "Caller" <sip:caller@[2001:db8::1]>
Max-Forwards: 70
CSeq: 98176 REGISTER
Content-Length: 0

''', "ok ruri_host=[2001:db8::10:5070] ruri_port=-", check_cl=0)

# 4.4 Port unambiguous.
case("port-unambiguous", "REGISTER sip:[2001:db8::10]:5070 SIP/2.0\n" +
     V6_HEAD + '''Contact: "Caller" <sip:caller@[2001:db8::1]>
Max-Forwards: 70
CSeq: 98176 REGISTER
Content-Length: 0

''', "ok ruri_host=[2001:db8::10] ruri_port=5070", check_cl=0)

# 4.5 IPv6 reference delimiters in the Via received parameter: both forms
# must be accepted.
case("via-received-param-with-delim", '''BYE sip:[2001:db8::10] SIP/2.0
To: sip:user@example.com;tag=bd76ya
From: sip:user@example.com;tag=81x2
Via: SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111
Call-ID: SSG9559905523997077@hlau_4100
Max-Forwards: 70
CSeq: 321 BYE
Content-Length: 0

''', "ok method=BYE via_received=[2001:db8::9:255] via_branch=z9hG4bKas3-111 "
     "to_tag=bd76ya", check_cl=0)

case("via-received-param-no-delim", '''OPTIONS sip:[2001:db8::10] SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=81x2
Via: SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3
Call-ID: SSG95523997077@hlau_4100
Max-Forwards: 70
Contact: "Caller" <sip:caller@[2001:db8::9:1]>
CSeq: 921 OPTIONS
Content-Length: 0

''', "ok method=OPTIONS via_received=2001:db8::9:255 via_branch=z9hG4bKas3",
     check_cl=0)

# 4.6 IPv6 addresses in SDP. The RFC's Content-Length values for the SDP
# cases do not match their bodies; ours are computed.
case("ipv6-in-sdp", '''INVITE sip:user@[2001:db8::10] SIP/2.0
To: sip:user@[2001:db8::10]
From: sip:user@example.com;tag=81x2
Via: SIP/2.0/UDP [2001:db8::20];branch=z9hG4bKas3-111
Call-ID: SSG9559905523997077@hlau_4100
Contact: "Caller" <sip:caller@[2001:db8::20]>
CSeq: 8612 INVITE
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: {CL}

v=0
o=assistant 971731711378798081 0 IN IP6 2001:db8::20
s=Live video feed for today's meeting
c=IN IP6 2001:db8::20
t=3338481189 3370017201
m=audio 6000 RTP/AVP 2
a=rtpmap:2 G726-32/8000
m=video 6024 RTP/AVP 107
a=rtpmap:107 H263-1998/90000
''', "ok method=INVITE ruri_host=[2001:db8::10] via_host=[2001:db8::20] "
     "contacts=1")

# 4.7 Multiple IP addresses in SIP headers.
case("mult-ip-in-header", '''BYE sip:user@host.example.net SIP/2.0
Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKjhja8781hjuaij65144
Via: SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK451jj;received=192.0.2.200
Call-ID: 997077@lau_4100
Max-Forwards: 70
CSeq: 89187 BYE
To: sip:user@example.net;tag=9817--94
From: sip:user@example.com;tag=81x2
Content-Length: 0

''', "ok method=BYE vias=3 via_host=[2001:db8::9:1] via_port=6050 "
     "last_via_host=[2001:db8::9:255] to_tag=9817--94", check_cl=0)

# 4.8 Multiple IP addresses in SDP.
case("mult-ip-in-sdp", '''INVITE sip:user@[2001:db8::10] SIP/2.0
To: sip:user@[2001:db8::10]
From: sip:user@example.com;tag=81x2
Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111
Call-ID: SSG9559905523997077@hlau_4100
Contact: "Caller" <sip:caller@[2001:db8::9:1]>
Max-Forwards: 70
CSeq: 8912 INVITE
Content-Type: application/sdp
Content-Length: {CL}

v=0
o=bob 280744730 28977631 IN IP4 host.example.com
s=
t=0 0
m=audio 22334 RTP/AVP 0
c=IN IP4 192.0.2.1
m=video 6024 RTP/AVP 107
c=IN IP6 2001:db8::1
a=rtpmap:107 H263-1998/90000
''', "ok method=INVITE contacts=1")

# 4.9 IPv4-mapped IPv6 addresses.
case("ipv4-mapped-ipv6", '''INVITE sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:user@east.example.com;tag=81x2
Via: SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbh19
Via: SIP/2.0/UDP [::ffff:192.0.2.2];branch=z9hG4bKas3-111
Call-ID: SSG9559905523997077@hlau_4100
Contact: "T. desk phone" <sip:ted@[::ffff:192.0.2.2]>
CSeq: 612 INVITE
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: {CL}

v=0
o=assistant 971731711378798081 0 IN IP6 ::ffff:192.0.2.2
s=Call me soon, please!
c=IN IP6 ::ffff:192.0.2.2
t=3338481189 3370017201
m=audio 6000 RTP/AVP 2
a=rtpmap:2 G726-32/8000
m=video 6024 RTP/AVP 107
a=rtpmap:107 H263-1998/90000
''', "ok method=INVITE vias=2 via_host=[::ffff:192.0.2.10] via_port=19823 "
     "last_via_host=[::ffff:192.0.2.2] contacts=1")

# 4.10 The RFC 3261 ABNF bug: three colons must be tolerated like two.
ABNF = '''OPTIONS sip:user@[2001:db8:{C}192.0.2.1] SIP/2.0
To: sip:user@[2001:db8:{C}192.0.2.1]
From: sip:user@example.com;tag=810x2
Via: SIP/2.0/UDP lab1.east.example.com;branch=z9hG4bKas3-111
Call-ID: G9559905523997077@hlau_4100
CSeq: 689 OPTIONS
Max-Forwards: 70
Content-Length: 0

'''
case("ipv6-bug-abnf-3-colons", ABNF.replace("{C}", "::"),
     "ok method=OPTIONS ruri_host=[2001:db8:::192.0.2.1]",
     "# ipv6-bug-abnf-3-colons: RFC 5118 4.10 says tolerate it", check_cl=0)
case("ipv6-correct-abnf-2-colons", ABNF.replace("{C}", ":"),
     "ok method=OPTIONS ruri_host=[2001:db8::192.0.2.1]", check_cl=0)

# ---------------------------------------------------------------------------
# Our own cases around the same rules
# ---------------------------------------------------------------------------

OWN_VIA = "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK{b}\n"
OWN_DIALOG = '''Max-Forwards: 70
To: Bob <sip:bob@example.com>
From: Alice <sip:alice@example.com>;tag=own-{b}
Call-ID: {b}@pc33.example.com
'''


def own_req(method, b, extra="", body="", ruri="sip:bob@example.com",
            cseq=None, cl=True):
    """A plain request with our usual headers; b names the case."""
    text = (f"{method} {ruri} SIP/2.0\n" + OWN_VIA.format(b=b) +
            OWN_DIALOG.format(b=b) +
            f"CSeq: {cseq or '1 ' + method}\n" + extra)
    if cl:
        text += "Content-Length: {CL}\n"
    return text + "\n" + body


# A folded header in the middle of the block, a Via folded between its
# two values and inside the second, From and CSeq folded.
case("own_fold_middle", '''INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKfold1,
 SIP/2.0/UDP proxy.example.com
	;branch=z9hG4bKfold2
Max-Forwards: 70
Subject: this subject
 is folded
	over three lines
To: Bob <sip:bob@example.com>
From: Alice
 <sip:alice@example.com>;tag=fold-from
Call-ID: fold-middle-1@pc33.example.com
CSeq: 1
 INVITE
Contact: <sip:alice@pc33.example.com>
Content-Length: 0

''', "ok method=INVITE vias=2 via_branch=z9hG4bKfold1 "
     "last_via_host=proxy.example.com last_via_branch=z9hG4bKfold2 "
     "from_tag=fold-from call_id=fold-middle-1@pc33.example.com cseq=1 "
     "cseq_method=INVITE contacts=1 hdr.Subject=1", check_cl=0)

# Every compact header form RFC 3261 and its extensions define.
case("own_compact_all", '''INVITE sip:bob@example.com SIP/2.0
v: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKcompact
f: <sip:alice@example.com>;tag=c1
t: <sip:bob@example.com>
i: compact-all-1@pc33.example.com
CSeq: 1 INVITE
Max-Forwards: 70
m: <sip:alice@pc33.example.com>
k: timer, replaces
s: compact forms
o: presence
u: presence, dialog
r: <sip:carol@example.com>
b: <sip:alice@example.com>
x: 1800;refresher=uac
y: ZyNBbHFoWDVpdHNmSmVqZkV5YXZKeGN
a: *;audio
j: *;video
d: proxy, recurse
e: identity
c: text/plain
l: {CL}

hello
''', "ok method=INVITE vias=1 from_tag=c1 to_tag=- "
     "call_id=compact-all-1@pc33.example.com contacts=1 content_length=7 "
     "body_len=7 hdr.Via=1 hdr.From=1 hdr.To=1 hdr.Call-ID=1 hdr.Contact=1 "
     "hdr.Supported=1 hdr.Subject=1 hdr.Event=1 hdr.Allow-Events=1 "
     "hdr.Refer-To=1 hdr.Referred-By=1 hdr.Session-Expires=1 "
     "hdr.Identity=1 hdr.Accept-Contact=1 hdr.Reject-Contact=1 "
     "hdr.Request-Disposition=1 hdr.Content-Encoding=1 hdr.Content-Type=1 "
     "hdr.Content-Length=1")

# Header and parameter names in odd case (both are case-insensitive).
case("own_case_names", '''OPTIONS sip:bob@example.com SIP/2.0
VIA: SIP/2.0/UDP pc33.example.com;BRANCH=z9hG4bKcase
mAx-FoRwArDs: 70
TO: <sip:bob@example.com>
fRoM: <sip:alice@example.com>;TAG=case-tag
CALL-id: case-names-1@pc33.example.com
cseq: 7 OPTIONS
CONTACT: <sip:alice@pc33.example.com>
CONTENT-LENGTH: 0

''', "ok method=OPTIONS vias=1 via_branch=z9hG4bKcase from_tag=case-tag "
     "call_id=case-names-1@pc33.example.com cseq=7 contacts=1 "
     "content_length=0 hdr.Max-Forwards=1", check_cl=0)

# Tabs as whitespace around the colon and inside CSeq.
case("own_tabs", '''OPTIONS sip:bob@example.com SIP/2.0
Via:	SIP/2.0/UDP pc33.example.com;branch=z9hG4bKtabs
Max-Forwards:	70
To:	<sip:bob@example.com>
From:	<sip:alice@example.com>;tag=tabs
Call-ID	:	tabs-1@pc33.example.com
CSeq:	3	OPTIONS
Content-Length:	0

''', "ok method=OPTIONS call_id=tabs-1@pc33.example.com cseq=3 "
     "cseq_method=OPTIONS from_tag=tabs", check_cl=0)

# No Content-Length over UDP: the body runs to the end of the datagram.
NOCL = wire(own_req("MESSAGE", "nocl", "Content-Type: text/plain\n",
                    "Hello Bob, there is no Content-Length here.\n",
                    cl=False))
case("own_nocl_udp", NOCL,
     f"ok method=MESSAGE content_length=- body_len={len(body_of(NOCL))}")

# Content-Length smaller than the body over UDP: the rest is cut.
CLSHORT = own_req("MESSAGE", "clshort", "Content-Type: text/plain\n",
                  "Hello Bob, only five bytes count.\n", cl=False)
CLSHORT = CLSHORT.replace("Content-Type", "Content-Length: 5\nContent-Type")
case("own_cl_shorter", CLSHORT,
     "ok method=MESSAGE content_length=5 body_len=5")

# More header lines than limits.max_headers (128 by default).
case("own_manyhdrs", own_req("OPTIONS", "many", "".join(
    f"X-Filler-{i:03d}: value {i}\n" for i in range(200))),
     "400 reason~headers")

# Larger than limits.max_msg_bytes: 413 (valid with the default limits).
case("own_toobig", own_req("OPTIONS", "toobig",
                           "X-Padding: " + "p" * 1500 + "\n"),
     "413 lim.max_msg_bytes=1024 reason~large")

# IPv6 received on an IPv4 sent-by, rport with a value; an IPv6 sent-by
# with a port in the second Via.
case("own_via_ipv6_received", '''INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;received=[2001:db8::1:7];rport=40001;branch=z9hG4bKv6rcv
Via: SIP/2.0/TCP [2001:db8::5]:5061;branch=z9hG4bKv6b
Max-Forwards: 70
To: <sip:bob@example.com>
From: <sip:alice@example.com>;tag=v6rcv
Call-ID: v6rcv-1@pc33.example.com
CSeq: 1 INVITE
Content-Length: 0

''', "ok vias=2 via_host=192.0.2.10 via_port=5060 "
     "via_received=[2001:db8::1:7] via_rport=40001 via_branch=z9hG4bKv6rcv "
     "last_via_host=[2001:db8::5] last_via_port=5061", check_cl=0)

# rport without a value (RFC 3581), before the branch.
case("own_rport_novalue", own_req("OPTIONS", "rport").replace(
    "pc33.example.com;", "192.0.2.7:5062;rport;"),
     "ok via_host=192.0.2.7 via_port=5062 via_rport= via_branch=z9hG4bKrport")

# tel: Request-URIs, global and local with phone-context.
case("own_tel_ruri", own_req("INVITE", "tel", ruri="tel:+1-201-555-0123"),
     "ok method=INVITE ruri_scheme=tel ruri_user=+1-201-555-0123")
case("own_tel_local", own_req(
    "INVITE", "tellocal", ruri="tel:7042;phone-context=example.com"),
     "ok method=INVITE ruri_scheme=tel ruri_user=7042")

# sips: Request-URI with a port, over TLS.
case("own_sips_ruri", own_req(
    "INVITE", "sips", ruri="sips:bob@example.com:5061").replace(
        "UDP", "TLS"),
     "ok method=INVITE ruri_scheme=sips ruri_host=example.com ruri_port=5061 "
     "via_transport=TLS")

# SIP-Version is case-insensitive (RFC 3261 7.1).
case("own_lower_version", own_req("OPTIONS", "lowerv").replace(
    " SIP/2.0\n", " sip/2.0\n", 1), "ok method=OPTIONS")

# Several Via values in one header, plus a compact Via header.
case("own_via_multi_comma", own_req("OPTIONS", "vmulti").replace(
    "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKvmulti\n",
    "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP "
    "b.example.com;branch=z9hG4bK2,SIP/2.0/TCP c.example.com:5070;"
    "branch=z9hG4bK3\nv: SIP/2.0/UDP d.example.com;branch=z9hG4bK4\n"),
     "ok vias=4 via_host=a.example.com last_via_host=d.example.com "
     "last_via_branch=z9hG4bK4 hdr.Via=2")

# Contact: * with Expires: 0 (unregister all).
case("own_contact_star", own_req("REGISTER", "star",
                                 "Contact: *\nExpires: 0\n",
                                 ruri="sip:example.com"),
     "ok method=REGISTER contacts=1 contact_star=1")

# Two Contacts, URI parameters and headers inside <>, header params.
case("own_contact_full", own_req(
    "REGISTER", "cfull",
    'Contact: "Alice" <sip:alice@pc33.example.com;transport=tcp'
    '?Subject=hi>;expires=60;q=0.5, <sips:alice@[2001:db8::7]:5061>;'
    '+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"\n',
    ruri="sip:example.com"),
     "ok method=REGISTER contacts=2 contact_uri_params=transport=tcp "
     "contact_uri_headers=Subject=hi contact_expires=60 contact_q=0.5")

# Quoted display name with escaped quotes and backslash.
case("own_quoted_display", own_req("OPTIONS", "qdisp").replace(
    "From: Alice <", 'From: "Alice \\"Al\\" \\\\ Smith" <'),
     "ok from_tag=own-qdisp")

# A lone CRLF (no start line): nothing to answer, drop.
case("own_empty_line", b"\r\n", "drop",
     "# own_empty_line: no start line, so no Via to answer: dropped")

# Only a request line: missing mandatory headers. Without a Via there is
# nowhere to send a response (RFC 3261 18.2.2), so requests that have no
# usable Via are dropped rather than answered.
case("own_reqline_only", "OPTIONS sip:bob@example.com SIP/2.0\n\n", "drop",
     "# own_reqline_only: no Via to answer: dropped")

# A request line without the empty line that ends the header block.
case("own_reqline_noterm", "OPTIONS sip:bob@example.com SIP/2.0\n", "drop",
     "# own_reqline_noterm: no Via to answer: dropped")

# Headers not terminated by the empty line.
case("own_no_empty_line", own_req("OPTIONS", "noeol").rstrip("\n")
     .replace("Content-Length: {CL}", "Content-Length: 0") + "\n",
     "400 reason~empty_line")

# NUL bytes outside a quoted-pair: in Subject and in the Call-ID.
case("own_nul_header", own_req("OPTIONS", "nulhdr",
                               "Subject: ab<hex>00</hex>cd\n"),
     "400 reason~character")
case("own_nul_callid", own_req("OPTIONS", "nulcid").replace(
    "nulcid@pc33", "nul<hex>00</hex>cid@pc33"),
     "400 reason~character")

# Content-Length that is not a number (RFC 4475 3.1.2.3 mentions it).
case("own_cl_nonnumeric", own_req("OPTIONS", "clnan").replace(
    "Content-Length: {CL}", "Content-Length: five"), "400 reason~length")

# CSeq numbers must be below 2**31 (RFC 3261 8.1.1.5); no sign allowed.
case("own_cseq_2p31", own_req("OPTIONS", "cseq31",
                              cseq="2147483648 OPTIONS"), "400 reason~cseq")
case("own_cseq_negative", own_req("OPTIONS", "cseqneg",
                                  cseq="-1 OPTIONS"), "400 reason~cseq")

# Missing mandatory headers, one at a time.
case("own_missing_via", own_req("OPTIONS", "novia").replace(
    "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnovia\n", ""),
     "drop", "# own_missing_via: no Via to answer: dropped")
case("own_missing_cseq", own_req("OPTIONS", "nocseq").replace(
    "CSeq: 1 OPTIONS\n", ""), "400 reason~cseq")
case("own_empty_callid", own_req("OPTIONS", "nocid").replace(
    "Call-ID: nocid@pc33.example.com", "Call-ID:<SP>"),
     "400 reason~call-id")

# Malformed Via and Request-URI ports, unclosed IPv6 reference.
case("own_via_bad_port", own_req("OPTIONS", "vport").replace(
    "pc33.example.com;", "pc33.example.com:99999;"), "400 reason~via")
case("own_via_ipv6_unclosed", own_req("OPTIONS", "v6open").replace(
    "pc33.example.com;", "[2001:db8::1;"), "400 reason~via")
case("own_ruri_bad_port", own_req("OPTIONS", "rport2",
                                  ruri="sip:bob@example.com:70000"),
     "400 reason~request-uri")

# A header line without a colon; a header block starting with whitespace.
case("own_header_nocolon", own_req("OPTIONS", "nocolon",
                                   "This line has no colon\n"),
     "400 reason~header")
case("own_leading_ws_header", own_req("OPTIONS", "lws").replace(
    "\nVia:", "\n Via:", 1), "drop",
     "# own_leading_ws_header: the Via line is not a header, so no Via to "
     "answer: dropped")

# An older SIP version in a request: 505.
case("own_sip10", own_req("OPTIONS", "sip10").replace(
    " SIP/2.0\n", " SIP/1.0\n", 1), "505 reason~version")

# Malformed responses are dropped, never answered.
OWN_RESP = '''{line}
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKresp
To: <sip:bob@example.com>;tag=r1
From: <sip:alice@example.com>;tag=r2
Call-ID: resp-1@pc33.example.com
CSeq: 1 OPTIONS
Content-Length: 0

'''
case("own_resp_no_via", OWN_RESP.format(line="SIP/2.0 200 OK").replace(
    "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKresp\n", ""), "drop")
case("own_resp_700", OWN_RESP.format(line="SIP/2.0 700 Way Too High"), "drop")
case("own_resp_099", OWN_RESP.format(line="SIP/2.0 099 Too Low"), "drop")
case("own_resp_badvers", OWN_RESP.format(line="SIP/3.0 200 OK"), "drop")
case("own_resp_nocode", OWN_RESP.format(line="SIP/2.0 OK"), "drop")
case("own_resp_ok", OWN_RESP.format(line="SIP/2.0 200 OK"),
     "ok status=200 to_tag=r1 from_tag=r2 cseq=1 cseq_method=OPTIONS",
     check_cl=0)

# ---------------------------------------------------------------------------
# Realistic traffic for the fuzz seed corpus (not part of the torture test)
# ---------------------------------------------------------------------------

SEED_SDP = '''v=0
o=alice 2890844526 2890844526 IN IP4 192.0.2.101
s=-
c=IN IP4 192.0.2.101
t=0 0
m=audio 49170 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
'''

SEEDS = {}

SEEDS["register_initial"] = '''REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.101:5060;rport;branch=z9hG4bK776asdhds
Max-Forwards: 70
To: "Alice" <sip:alice@example.com>
From: "Alice" <sip:alice@example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.example.com
CSeq: 1 REGISTER
Contact: <sip:alice@192.0.2.101:5060;transport=udp>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1
Expires: 3600
Supported: path, outbound, gruu
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK
User-Agent: Example Phone 1.0
Content-Length: 0

'''

SEEDS["response_401_register"] = '''SIP/2.0 401 Unauthorized
Via: SIP/2.0/UDP 192.0.2.101:5060;rport=5060;received=198.51.100.7;branch=z9hG4bK776asdhds
To: "Alice" <sip:alice@example.com>;tag=37GkEhwl6
From: "Alice" <sip:alice@example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.example.com
CSeq: 1 REGISTER
WWW-Authenticate: Digest realm="example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="", qop="auth", algorithm=MD5, stale=FALSE
Server: switchboard
Content-Length: 0

'''

SEEDS["register_auth"] = '''REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.101:5060;rport;branch=z9hG4bKnashds7
Max-Forwards: 70
To: "Alice" <sip:alice@example.com>
From: "Alice" <sip:alice@example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.example.com
CSeq: 2 REGISTER
Contact: <sip:alice@192.0.2.101:5060;transport=udp>;expires=3600
Authorization: Digest username="alice", realm="example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sip:example.com", response="dfe56131d1958046689d83306477ecc", algorithm=MD5, cnonce="0a4f113b", opaque="", qop=auth, nc=00000001
User-Agent: Example Phone 1.0
Content-Length: 0

'''

SEEDS["response_200_register"] = '''SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.101:5060;rport=5060;received=198.51.100.7;branch=z9hG4bKnashds7
To: "Alice" <sip:alice@example.com>;tag=37GkEhwl6
From: "Alice" <sip:alice@example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.example.com
CSeq: 2 REGISTER
Contact: <sip:alice@192.0.2.101:5060;transport=udp>;expires=3600, <sip:alice@198.51.100.9:5060>;expires=1200;q=0.5
Date: Sat, 13 Nov 2010 23:29:00 GMT
Content-Length: 0

'''

SEEDS["invite_sdp"] = '''INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9
Max-Forwards: 70
Route: <sip:proxy.atlanta.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:alice@client.atlanta.example.com;transport=udp>
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, PRACK, REFER, NOTIFY
Supported: replaces, timer, 100rel
Session-Expires: 1800
Content-Type: application/sdp
Content-Length: {CL}

''' + SEED_SDP

SEEDS["response_100"] = '''SIP/2.0 100 Trying
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9;received=192.0.2.101
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Content-Length: 0

'''

SEEDS["response_180_rr"] = '''SIP/2.0 180 Ringing
Via: SIP/2.0/UDP proxy.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1
Via: SIP/2.0/UDP proxy.atlanta.example.com;branch=z9hG4bK2d4790.1;received=192.0.2.111
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9;received=192.0.2.101
Record-Route: <sip:proxy.biloxi.example.com;lr>, <sip:proxy.atlanta.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=314159
Call-ID: 3848276298220188511@atlanta.example.com
Contact: <sip:bob@client.biloxi.example.com>
CSeq: 1 INVITE
Content-Length: 0

'''

SEEDS["response_200_invite"] = '''SIP/2.0 200 OK
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9;received=192.0.2.101
Record-Route: <sip:proxy.biloxi.example.com;lr>
Record-Route: <sip:proxy.atlanta.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=314159
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:bob@client.biloxi.example.com>
Supported: timer
Session-Expires: 1800;refresher=uac
Content-Type: application/sdp
Content-Length: {CL}

''' + SEED_SDP.replace("alice", "bob").replace("192.0.2.101", "192.0.2.201")

SEEDS["ack"] = '''ACK sip:bob@client.biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74b76
Max-Forwards: 70
Route: <sip:proxy.atlanta.example.com;lr>, <sip:proxy.biloxi.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=314159
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 ACK
Content-Length: 0

'''

SEEDS["bye"] = '''BYE sip:alice@client.atlanta.example.com SIP/2.0
Via: SIP/2.0/TCP client.biloxi.example.com:5060;branch=z9hG4bKnashds7
Max-Forwards: 70
Route: <sip:proxy.biloxi.example.com;lr>, <sip:proxy.atlanta.example.com;lr>
From: Bob <sip:bob@biloxi.example.com>;tag=314159
To: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 2 BYE
Reason: Q.850;cause=16;text="Normal call clearing"
Content-Length: 0

'''

SEEDS["cancel"] = '''CANCEL sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9
Max-Forwards: 70
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 CANCEL
Content-Length: 0

'''

SEEDS["options"] = '''OPTIONS sip:carol@chicago.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877
Max-Forwards: 70
To: <sip:carol@chicago.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 63104 OPTIONS
Contact: <sip:alice@pc33.atlanta.example.com>
Accept: application/sdp
Content-Length: 0

'''

SEEDS["subscribe"] = '''SUBSCRIBE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bKnashds9
Max-Forwards: 70
To: <sip:bob@biloxi.example.com>
From: <sip:alice@atlanta.example.com>;tag=xfg9
Call-ID: 2010@pc33.atlanta.example.com
CSeq: 17766 SUBSCRIBE
Event: presence
Accept: application/pidf+xml, application/rlmi+xml, multipart/related
Supported: eventlist
Contact: <sip:alice@pc33.atlanta.example.com;transport=tcp>
Expires: 600
Content-Length: 0

'''

SEEDS["notify"] = '''NOTIFY sip:alice@pc33.atlanta.example.com;transport=tcp SIP/2.0
Via: SIP/2.0/TCP server.biloxi.example.com;branch=z9hG4bK4cd42a
Max-Forwards: 70
To: <sip:alice@atlanta.example.com>;tag=xfg9
From: <sip:bob@biloxi.example.com>;tag=ffd2
Call-ID: 2010@pc33.atlanta.example.com
CSeq: 8775 NOTIFY
Event: presence
Subscription-State: active;expires=599
Contact: <sip:server.biloxi.example.com;transport=tcp>
Content-Type: application/pidf+xml
Content-Length: {CL}

<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@biloxi.example.com">
  <tuple id="sg89ae"><status><basic>open</basic></status></tuple>
</presence>
'''

SEEDS["message"] = '''MESSAGE sip:user2@domain.example.com SIP/2.0
Via: SIP/2.0/TCP user1pc.domain.example.com;branch=z9hG4bK776sgdkse
Max-Forwards: 70
From: sip:user1@domain.example.com;tag=49583
To: sip:user2@domain.example.com
Call-ID: asd88asd77a@1.2.3.4
CSeq: 1 MESSAGE
Content-Type: text/plain;charset=UTF-8
Content-Length: {CL}

Watson, come here. Привет!
'''

SEEDS["invite_proxy_auth"] = '''INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9
Max-Forwards: 70
From: Alice <sips:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sips:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 2 INVITE
Contact: <sips:alice@client.atlanta.example.com>
Proxy-Authorization: Digest username="alice", realm="atlanta.example.com", nonce="wf84f1ceczx41ae6cbe5aea9c8e88d359", opaque="", uri="sips:bob@biloxi.example.com", response="42ce3cef44b22f50c6a6071bc8"
Content-Type: application/sdp
Content-Length: {CL}

''' + SEED_SDP

SEEDS["response_407_invite"] = '''SIP/2.0 407 Proxy Authorization Required
Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9;received=192.0.2.101
From: Alice <sips:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sips:bob@biloxi.example.com>;tag=3flal12sf
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Proxy-Authenticate: Digest realm="atlanta.example.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=SHA-256
Content-Length: 0

'''

SEEDS["refer"] = '''REFER sip:bob@client.biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKref1
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>;tag=314159
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 3 REFER
Refer-To: <sip:carol@chicago.example.com?Replaces=12345%40192.0.2.3%3Bto-tag%3D54321%3Bfrom-tag%3D6789>
Referred-By: <sip:alice@atlanta.example.com>
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Length: 0

'''

SEEDS["info_dtmf"] = '''INFO sip:bob@client.biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKinfo1
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>;tag=314159
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 4 INFO
Content-Type: application/dtmf-relay
Content-Length: {CL}

Signal=5
Duration=160
'''

SEEDS["prack"] = '''PRACK sip:bob@client.biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKprack1
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>;tag=314159
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 2 PRACK
RAck: 776656 1 INVITE
Content-Length: 0

'''

MP_SDP = SEED_SDP.replace("\n", "\r\n").encode()
MP_XML = ('<?xml version="1.0"?>\r\n<resource-lists xmlns="urn:ietf:params:'
          'xml:ns:resource-lists"><list><entry uri="sip:bill@example.com"/>'
          '</list></resource-lists>\r\n').encode()
MP_BODY = (b"--boundary1\r\nContent-Type: application/sdp\r\n\r\n" + MP_SDP +
           b"\r\n--boundary1\r\nContent-Type: application/resource-lists+xml"
           b"\r\nContent-Disposition: recipient-list\r\n\r\n" + MP_XML +
           b"\r\n--boundary1--\r\n")
SEEDS["invite_multipart"] = wire('''INVITE sip:conf-fact@example.com SIP/2.0
Via: SIP/2.0/TCP atlanta.example.com;branch=z9hG4bKhjhs8ass83
Max-Forwards: 70
To: "Conf Factory" <sip:conf-fact@example.com>
From: Alice <sip:alice@example.com>;tag=32331
Call-ID: d432fa84b4c76e66710
CSeq: 2 INVITE
Contact: <sip:alice@atlanta.example.com>
Allow: INVITE, ACK, CANCEL, BYE, REFER
Allow-Events: dialog
Accept: application/sdp, message/sipfrag
Require: recipient-list-invite
Content-Type: multipart/mixed;boundary="boundary1"
Content-Length: ''' + str(len(MP_BODY)) + "\n\n") + MP_BODY


def write_all():
    names = sorted(f for f in os.listdir(HERE) if f.endswith(".sip"))
    for f in names:
        os.remove(os.path.join(HERE, f))
    lines = ["# RFC 4475 / RFC 5118 torture cases and our own: generated by",
             "# gen.py (edit there). Format: see gen.py.", ""]
    for name, raw, expect, comment in CASES:
        with open(os.path.join(HERE, name + ".sip"), "wb") as fh:
            fh.write(raw)
        if comment:
            lines.append(comment)
        lines.append(f"{name} {expect}")
    with open(os.path.join(HERE, "expect.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")

    os.makedirs(FUZZ_DIR, exist_ok=True)
    for f in os.listdir(FUZZ_DIR):
        os.remove(os.path.join(FUZZ_DIR, f))
    for name, raw, _, _ in CASES:
        with open(os.path.join(FUZZ_DIR, "torture_" + name), "wb") as fh:
            fh.write(raw)
    for name, text in SEEDS.items():
        raw = text if isinstance(text, bytes) else wire(text)
        with open(os.path.join(FUZZ_DIR, name), "wb") as fh:
            fh.write(raw)
    print(f"{len(CASES)} torture cases, {len(SEEDS)} realistic seeds",
          file=sys.stderr)


if __name__ == "__main__":
    write_all()
