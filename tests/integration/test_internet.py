"""What a server on the Internet is asked besides zone data (issue "Running on the Internet"):
opcodes it does not implement, DNS cookies, NSID, EXPIRE, CHAOS identity, the EDNS cases ISC's
compliance tester (genreport) checks, and the response rate limit under a spoofed flood. Real
clients (dig, kdig, dnspython, raw sockets) against real zoned processes; Knot and NSD for the
opcode cases."""
import re
import socket
import struct
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.update
import pytest

from conftest import DATA, Zoned, dig, free_port, kdig, query
from peers import Peer
from replication_helpers import ZonedServer, wait_serial, zone_text

EXAMPLE = (DATA / "zones" / "example.com.zone").read_text()


def zones():
    return {"example.com": EXAMPLE}


@pytest.fixture(scope="module")
def server():
    z = Zoned(zones(), extra_server=(
        '  nsid: "ns1.zoned.test"\n'
        '  identity: "ns1.example.net"\n'
        '  cookie-secret: "000102030405060708090a0b0c0d0e0f"\n'))
    z.start()
    yield z
    z.cleanup()


def header(id=0x1234, flags=0, qd=0, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", id, flags, qd, an, ns, ar)


QUESTION = b"\x03www\x07example\x03com\x00" + struct.pack("!HH", 1, 1)


def opt(options=b"", payload=1232, version=0, flags=0):
    return b"\x00" + struct.pack("!HHBBHH", 41, payload, 0, version, flags, len(options)) + options


def option(code, data=b""):
    return struct.pack("!HH", code, len(data)) + data


def udp_raw(port, packet, host="127.0.0.1", timeout=3):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (host, port))
        return s.recv(65535)


def options_of(reply):
    """EDNS options by code, as bytes."""
    return {int(o.otype): o.to_wire() for o in reply.options}


# --------------------------------------------------------------------------- opcodes

@pytest.fixture(scope="module")
def peers():
    started = []
    for kind in ("knot", "nsd"):
        p = Peer(kind, zones(), "127.0.0.1", free_port())
        p.start()
        started.append(p)
    yield started
    for p in started:
        p.cleanup()


OPCODE_CASES = [(op, edns) for op in (1, 2, 3, 6, 15) for edns in (False, True)]


@pytest.mark.parametrize("op,edns", OPCODE_CASES,
                         ids=[f"opcode{op}{'-opt' if e else ''}" for op, e in OPCODE_CASES])
def test_regression_header_only_unknown_opcode_is_notimp_like_knot_and_nsd(server, peers, op, edns):
    """Regression: a header-only message with an opcode zoned does not implement got FORMERR
    (the question count was checked first). Knot, NSD and BIND answer NOTIMP."""
    packet = header(flags=(op << 11) | 0x0100, ar=1 if edns else 0) + (opt() if edns else b"")
    answers = {"zoned": udp_raw(server.port, packet)}
    for p in peers:
        answers[p.kind] = udp_raw(p.port, packet)
    for who, reply in answers.items():
        id_, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", reply[:12])
        assert id_ == 0x1234, who
        assert flags & 0x8000, who
        assert (flags >> 11) & 0xF == op, f"{who}: opcode not echoed"
        assert flags & 0xF == dns.rcode.NOTIMP, f"{who}: rcode {flags & 0xF}"
        assert qd == an == ns == 0, who
    # zoned keeps the OPT, as Knot does (NSD drops it).
    assert (struct.unpack("!H", answers["zoned"][10:12])[0] == 1) == edns


def test_unknown_opcode_with_a_question_echoes_it(server):
    reply = udp_raw(server.port, header(flags=2 << 11, qd=1) + QUESTION)
    assert reply[2] >> 3 & 0xF == 2 and reply[3] & 0xF == dns.rcode.NOTIMP
    assert struct.unpack("!H", reply[4:6])[0] == 1 and reply[12:] == QUESTION


def test_update_without_allow_update_is_refused_signed_when_signed(server):
    # A zone without allow-update: REFUSED (RFC 3007), signed like every answer to a signed
    # request (the UPDATE path is deferred and answered later, then signed).
    key = dns.tsig.Key("ddns-key.", "c2VjcmV0c2VjcmV0c2VjcmV0", "hmac-sha256")
    z = Zoned(zones(), extra="keys:\n  - name: ddns-key\n    secret: \"c2VjcmV0c2VjcmV0c2VjcmV0\"\n")
    z.start()
    try:
        u = dns.update.UpdateMessage("example.com", keyring={key.name: key}, keyname=key.name,
                                     keyalgorithm=key.algorithm)
        u.add("new", 300, "A", "192.0.2.99")
        r = dns.query.udp(u, "127.0.0.1", port=z.port, timeout=3)  # verifies the TSIG
        assert r.rcode() == dns.rcode.REFUSED and r.opcode() == dns.opcode.UPDATE
        assert r.had_tsig
        assert query("127.0.0.1", z.port, "new.example.com", "A").rcode() == dns.rcode.NXDOMAIN
    finally:
        z.cleanup()


# --------------------------------------------------------------------------- DNS cookies

def cookie_of(dig_out):
    m = re.search(r"; COOKIE: ([0-9a-f]+)( \((good|bad)\))?", dig_out)
    return (m.group(1), m.group(3)) if m else (None, None)


def test_dig_cookie_twice_then_a_wrong_one(server):
    out = dig("127.0.0.1", server.port, "+cookie", "www.example.com", "A")
    assert "status: NOERROR" in out
    cookie, verdict = cookie_of(out)
    assert cookie and len(cookie) == 48, out  # 8 client + 16 server bytes (RFC 9018)
    assert verdict == "good"
    assert cookie[16:18] == "01", "RFC 9018 version 1"
    # The second query carries the server cookie and gets it back.
    out = dig("127.0.0.1", server.port, f"+cookie={cookie}", "www.example.com", "A")
    again, verdict = cookie_of(out)
    assert again == cookie and verdict == "good", out
    assert "192.0.2.10" in out
    # A wrong server cookie: a normal answer (cookies are not required) and a fresh one.
    wrong = cookie[:32] + "00000000" + cookie[40:]
    out = dig("127.0.0.1", server.port, f"+cookie={wrong}", "www.example.com", "A")
    assert "status: NOERROR" in out and "192.0.2.10" in out, out
    fresh, _ = cookie_of(out)
    assert fresh and fresh != wrong and fresh[:16] == cookie[:16], out


def test_cookie_probe_without_question_gets_the_cookie(server):
    """RFC 7873 5.4 (the xfail this issue removes): QDCOUNT 0 with a COOKIE is answered
    NOERROR with the client cookie and a server cookie, as BIND does."""
    client = bytes.fromhex("0102030405060708")
    reply = dns.message.from_wire(udp_raw(server.port, header(ar=1) + opt(option(10, client))))
    assert reply.rcode() == dns.rcode.NOERROR
    assert not reply.question and not reply.answer
    cookie = options_of(reply)[10]
    assert cookie[:8] == client and len(cookie) == 24
    # Confirming it: NOERROR with it; a bad one: BADCOOKIE with a fresh one.
    reply = dns.message.from_wire(udp_raw(server.port, header(ar=1) + opt(option(10, cookie))))
    assert reply.rcode() == dns.rcode.NOERROR
    assert options_of(reply)[10] == cookie
    bad = option(10, cookie[:16] + bytes(8))
    reply = dns.message.from_wire(udp_raw(server.port, header(ar=1) + opt(bad)))
    assert reply.rcode() == dns.rcode.BADCOOKIE
    fresh = options_of(reply)[10]
    assert fresh[:8] == client and fresh[16:] != bytes(8) and len(fresh) == 24


@pytest.mark.parametrize("length", [5, 12, 41])
def test_malformed_cookie_is_formerr_with_opt(server, length):
    reply = dns.message.from_wire(
        udp_raw(server.port, header(qd=1, ar=1) + QUESTION + opt(option(10, bytes(length)))))
    assert reply.rcode() == dns.rcode.FORMERR and reply.edns == 0
    assert 10 not in options_of(reply)


def test_kdig_cookie(server):
    out = kdig("127.0.0.1", server.port, "+cookie", "www.example.com")
    assert re.search(r"COOKIE: [0-9A-Fa-f]{48}", out), out


# --------------------------------------------------------------------------- NSID

def test_dig_and_kdig_nsid(server):
    out = dig("127.0.0.1", server.port, "+nsid", "www.example.com", "A")
    assert '("ns1.zoned.test")' in out, out
    out = kdig("127.0.0.1", server.port, "+nsid", "www.example.com")
    assert '"ns1.zoned.test"' in out, out
    out = dig("127.0.0.1", server.port, "www.example.com", "A")
    assert "NSID" not in out


def test_nsid_in_hex(make_zoned):
    z = make_zoned(zones(), extra_server="  nsid: 0x6e73312d6865780a\n")
    out = dig("127.0.0.1", z.port, "+nsid", "www.example.com", "A")
    assert "NSID: 6e 73 31 2d 68 65 78 0a" in out, out


# --------------------------------------------------------------------------- EXPIRE

def expire_of(out):
    m = re.search(r"; EXPIRE: (\d+)", out)
    return int(m.group(1)) if m else None


def test_dig_expire_on_a_primary_and_a_secondary():
    text = zone_text(1, expire=86400)
    p = ZonedServer().configure([{"name": "example.com", "text": text,
                                  "allow-transfer": ["127.0.0.1"]}], keys=False)
    s = ZonedServer().configure([{"name": "example.com", "primaries": ["primary"]}],
                                remotes={"primary": (p.port, False)}, keys=False)
    try:
        p.start()
        s.start()
        wait_serial(s.host, s.port, 1)
        # The primary: its SOA expire. The secondary: what is left of its expire timer.
        assert expire_of(dig(p.host, p.port, "+expire", "example.com", "SOA")) == 86400
        left = expire_of(dig(s.host, s.port, "+expire", "example.com", "SOA"))
        assert left is not None and 86400 - 30 <= left <= 86400, left
        # Only for SOA queries (and transfers), only when asked.
        assert expire_of(dig(s.host, s.port, "+expire", "www.example.com", "A")) is None
        assert expire_of(dig(s.host, s.port, "example.com", "SOA")) is None
        # Over TCP in a transfer from the secondary (multi-tier): kdig shows it on AXFR too.
        q = dns.message.make_query("example.com", "SOA", use_edns=0,
                                   options=[dns.edns.GenericOption(dns.edns.EXPIRE, b"")])
        r = dns.query.tcp(q, s.host, port=s.port, timeout=3)
        value = options_of(r)[9]
        assert 86400 - 30 <= struct.unpack("!I", value)[0] <= 86400
    finally:
        s.cleanup()
        p.cleanup()


# --------------------------------------------------------------------------- CHAOS

def test_dig_ch_txt_identity_and_version(server):
    out = dig("127.0.0.1", server.port, "CH", "TXT", "version.bind")
    assert re.search(r'version\.bind\.\s+0\s+CH\s+TXT\s+"zoned \d+\.\d+\.\d+"', out), out
    out = dig("127.0.0.1", server.port, "CH", "TXT", "version.server", "+short")
    assert out.startswith('"zoned '), out
    for name in ("id.server", "hostname.bind"):
        out = dig("127.0.0.1", server.port, "CH", "TXT", name, "+short")
        assert out.strip() == '"ns1.example.net"', out
    for args in (("CH", "TXT", "authors.bind"), ("CH", "A", "version.bind"),
                 ("CH", "TXT", "www.example.com")):
        assert "status: REFUSED" in dig("127.0.0.1", server.port, *args), args


def test_version_can_be_refused_and_identity_defaults_to_the_host_name(make_zoned):
    z = make_zoned(zones(), extra_server='  version: ""\n')
    assert "status: REFUSED" in dig("127.0.0.1", z.port, "CH", "TXT", "version.bind")
    out = dig("127.0.0.1", z.port, "CH", "TXT", "id.server", "+short")
    assert out.strip() == f'"{socket.gethostname()}"', out


# --------------------------------------------------------------------------- EDNS (genreport)

def edns_query(**kw):
    q = dns.message.make_query("www.example.com", "A", use_edns=0)
    q.flags &= ~dns.flags.RD
    for k, v in kw.items():
        setattr(q, k, v)
    return q


def test_edns_cases_of_the_compliance_tester(server):
    """The cases ISC's genreport probes (it is not packaged): plain DNS, EDNS, unknown EDNS
    version, unknown option, unknown EDNS flag, unknown header flag, DO, and combinations."""
    def ask(packet):
        return dns.message.from_wire(udp_raw(server.port, packet))
    plain = ask(header(qd=1) + QUESTION)
    assert plain.rcode() == dns.rcode.NOERROR and plain.edns == -1 and len(plain.answer) == 1
    e = ask(header(qd=1, ar=1) + QUESTION + opt())
    assert e.rcode() == dns.rcode.NOERROR and e.edns == 0 and e.answer
    # EDNS version 1: BADVERS, in a version 0 OPT, no answer.
    v1 = ask(header(qd=1, ar=1) + QUESTION + opt(version=1))
    assert v1.rcode() == dns.rcode.BADVERS and v1.edns == 0 and not v1.answer
    # An unknown option is ignored and not echoed.
    u = ask(header(qd=1, ar=1) + QUESTION + opt(option(100, b"junk")))
    assert u.rcode() == dns.rcode.NOERROR and u.answer and not u.options
    # An unknown EDNS flag is ignored and not echoed (RFC 6891 6.1.4: zero in responses).
    f = ask(header(qd=1, ar=1) + QUESTION + opt(flags=0x4000))
    assert f.rcode() == dns.rcode.NOERROR and f.answer and f.ednsflags == 0
    # The header Z bit is ignored and not echoed.
    z = udp_raw(server.port, header(flags=0x0040, qd=1, ar=1) + QUESTION + opt())
    assert z[3] & 0x40 == 0 and dns.message.from_wire(z).answer
    # DO is echoed.
    do = ask(header(qd=1, ar=1) + QUESTION + opt(flags=0x8000))
    assert do.ednsflags & dns.flags.DO and do.answer
    # Version 1 with an unknown option and flag: still BADVERS.
    c = ask(header(qd=1, ar=1) + QUESTION + opt(option(100, b"x"), version=1, flags=0x4000))
    assert c.rcode() == dns.rcode.BADVERS and c.edns == 0
    # TCP: the same.
    r = dns.query.tcp(edns_query(), "127.0.0.1", port=server.port, timeout=3)
    assert r.rcode() == dns.rcode.NOERROR and r.edns == 0


# --------------------------------------------------------------------------- query log

def test_query_log_line_names_client_type_and_rcode(server):
    dig("127.0.0.1", server.port, "+bufsize=1400", "+dnssec", "www.example.com", "AAAA")
    dig("127.0.0.1", server.port, "+noedns", "nothere.example.com", "MX", tcp=True)
    deadline = time.time() + 5
    while time.time() < deadline:
        log = server.log()
        if "nothere.example.com MX" in log:
            break
        time.sleep(0.05)
    assert re.search(r"\[query\] udp 127\.0\.0\.1:\d+ www\.example\.com AAAA -> NOERROR \d+ bytes "
                     r"edns 1400 do", log), log[-2000:]
    assert re.search(r"\[query\] tcp 127\.0\.0\.1:\d+ nothere\.example\.com MX -> NXDOMAIN \d+ bytes$",
                     log, re.M), log[-2000:]


# --------------------------------------------------------------------------- rate limiting

RRL = ("  rate-limit:\n"
       "    responses-per-second: 10\n"
       "    slip: 2\n"
       "    exempt: [\"127.0.2.0/24\"]\n")


def test_rrl_flood_from_one_prefix(make_zoned):
    """A flood 'from' many addresses of one /24 (as a spoofed reflection attack looks): zoned
    sends at most as many bytes back as it received, a client of another /24 loses nothing,
    TCP and exempt prefixes are never limited, and the log says so once, not per packet."""
    z = make_zoned(zones(), extra_server=RRL)
    query = dns.message.make_query("www.example.com", "A", use_edns=0)
    query.flags &= ~dns.flags.RD
    wire = query.to_wire()
    socks = []
    for i in range(2, 34):  # 127.0.0.2 .. 127.0.0.33: one /24
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"127.0.0.{i}", 0))
        s.setblocking(False)
        socks.append(s)
    bytes_in = bytes_out = replies = 0
    stop = threading.Event()
    bystander = {"sent": 0, "answered": 0}

    def other_prefix():
        # 127.0.1.1: 5 queries a second, under the limit, during the flood.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.1.1", 0))
            s.settimeout(1)
            while not stop.is_set():
                s.sendto(wire, ("127.0.0.1", z.port))
                bystander["sent"] += 1
                try:
                    if dns.message.from_wire(s.recv(4096)).answer:
                        bystander["answered"] += 1
                except socket.timeout:
                    pass
                time.sleep(0.2)

    t = threading.Thread(target=other_prefix)
    t.start()
    try:
        # 2000 queries in about 2 seconds (bounded), 32 source addresses.
        for n in range(2000):
            s = socks[n % len(socks)]
            s.sendto(wire, ("127.0.0.1", z.port))
            bytes_in += len(wire)
            if n % 100 == 99:
                time.sleep(0.1)
            for r in socks:
                while True:
                    try:
                        data = r.recv(4096)
                    except BlockingIOError:
                        break
                    bytes_out += len(data)
                    replies += 1
        time.sleep(0.5)
        for r in socks:
            while True:
                try:
                    data = r.recv(4096)
                except BlockingIOError:
                    break
                bytes_out += len(data)
                replies += 1
        # TCP from the flooded prefix: never limited.
        for i in range(20):
            r = dns.query.tcp(query, "127.0.0.1", port=z.port, timeout=3, source="127.0.0.2")
            assert r.answer and not r.flags & dns.flags.TC, i
        # An exempt prefix is never limited either.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.2.1", 0))
            s.settimeout(2)
            for i in range(50):
                s.sendto(wire, ("127.0.0.1", z.port))
                assert dns.message.from_wire(s.recv(4096)).answer, i
    finally:
        stop.set()
        t.join()
        for s in socks:
            s.close()
    print(f"RRL flood: {bytes_in} bytes in, {bytes_out} bytes out, {replies} replies, bystander {bystander}")
    assert bytes_out <= bytes_in, f"{bytes_out} bytes out for {bytes_in} in ({replies} replies)"
    assert replies > 0, "limited responses are slipped (TC=1), not all dropped"
    assert bystander["sent"] >= 5 and bystander["answered"] == bystander["sent"], bystander
    log = z.log()
    lines = [l for l in log.splitlines() if "rate limit: 127.0.0.0/24" in l]
    # One line when limiting starts (per worker: 2), at most one more per 10 s each.
    assert 1 <= len(lines) <= 4, "\n".join(lines)
    assert "127.0.1.0/24" not in log and "127.0.2.0/24" not in log.replace("exempt", "")


def test_rrl_slip_is_truncated_and_real_clients_get_through_over_tcp(make_zoned):
    z = make_zoned(zones(), extra_server=RRL)
    query = dns.message.make_query("www.example.com", "A")
    wire = query.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.40", 0))
        for _ in range(40):
            s.sendto(wire, ("127.0.0.1", z.port))
        s.settimeout(0.5)
        full, truncated = 0, 0
        try:
            while True:
                data = s.recv(4096)
                r = dns.message.from_wire(data)
                if r.flags & dns.flags.TC:
                    truncated += 1
                    assert not r.answer and len(data) <= len(wire), r
                else:
                    full += 1
        except socket.timeout:
            pass
    # One socket: one worker, one bucket. 10 answers, then every other one truncated.
    assert full == 10, (full, truncated)
    assert truncated == 15, (full, truncated)
    # A real client of that prefix still gets its answer: dig retries a truncated answer over
    # TCP (a dropped one it retries once over UDP, which may then be truncated).
    outs = [dig("127.0.0.1", z.port, "-b", "127.0.0.41", "www.example.com", "A") for _ in range(2)]
    assert any("192.0.2.10" in o for o in outs), outs
