#!/usr/bin/python3
"""Writes the seed corpora for the fuzzers (generated at build time, never committed).

usage: make_corpus.py QUERY_DIR ZONE_DIR TEST_ZONES_DIR

QUERY_DIR gets ~60 DNS messages aimed at the test zones: every answer kind (answer, CNAME
chains, DNAME, wildcard, delegation, NXDOMAIN, NODATA, REFUSED), many types, EDNS with
small/large payloads, DO, other versions, odd flags and opcodes, and a few malformed ones.
ZONE_DIR gets the test zone files and short snippets with every record type they use.
"""
import hashlib
import shutil
import sys
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rdataclass
import dns.rdatatype


def write(out: Path, data: bytes):
    # Content-addressed, like libFuzzer's own corpus files: reruns are idempotent.
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


def query(name, rdtype="A", *, edns=-1, payload=1232, do=False, flags=0, opcode=None,
          rdclass="IN", qid=0x1234, options=None):
    q = dns.message.make_query(name, rdtype, rdclass=rdclass, use_edns=edns, payload=payload,
                               want_dnssec=do, options=options)
    q.id = qid
    q.flags = flags
    if opcode is not None:
        q.set_opcode(opcode)
    return q.to_wire()


def queries():
    rd = dns.flags.RD
    # Every answer kind in example.com/child.example.com/other.net, plain UDP.
    for name, t in [
        ("example.com.", "SOA"), ("example.com.", "NS"), ("example.com.", "MX"),
        ("example.com.", "ANY"), ("example.com.", "TXT"), ("www.example.com.", "A"),
        ("www.example.com.", "AAAA"), ("alias2.example.com.", "A"),
        ("toother.example.com.", "A"), ("outside.example.com.", "A"),
        ("loop1.example.com.", "A"), ("dangling.example.com.", "A"),
        ("x.wild.example.com.", "A"), ("x.wild.example.com.", "TXT"),
        ("sub.wild.example.com.", "A"), ("a.b.ent.example.com.", "A"),
        ("c.ent.example.com.", "A"), ("b.ent.example.com.", "A"),
        ("q.wcname.example.com.", "AAAA"), ("_sip._tcp.example.com.", "SRV"),
        ("host.deleg.example.com.", "A"), ("deleg.example.com.", "DS"),
        ("deleg.example.com.", "NS"), ("x.sibling.example.com.", "A"),
        ("www.child.example.com.", "A"), ("child.example.com.", "DS"),
        ("child.example.com.", "SOA"), ("www.dn.example.com.", "A"),
        ("a.b.c.dn.example.com.", "MX"), ("caa.example.com.", "CAA"),
        ("ptr.example.com.", "PTR"), ("tlsa.example.com.", "TLSA"),
        ("svc.example.com.", "HTTPS"), ("unk.example.com.", "TYPE65400"),
        ("nothere.example.com.", "A"), ("www.example.com.", "MX"),
        ("host.other.net.", "A"), ("other.net.", "NS"), ("www.example.org.", "A"),
        (".", "NS"),
    ]:
        yield query(name, t, flags=rd)
    # big.test (tests/fuzz/big.test.zone): answers over 512 and 1232 bytes, big glue.
    for name, t, edns, payload in [
        ("a40.big.test.", "A", -1, 0), ("a40.big.test.", "A", 0, 1232),
        ("aaaa60.big.test.", "AAAA", -1, 0), ("aaaa60.big.test.", "AAAA", 0, 1232),
        ("aaaa60.big.test.", "AAAA", 0, 4096), ("txt.big.test.", "TXT", -1, 0),
        ("mx.big.test.", "MX", -1, 0), ("mx.big.test.", "MX", 0, 1232),
        ("x.sub.big.test.", "A", -1, 0), ("x.sub.big.test.", "A", 0, 1232),
        ("c1.big.test.", "A", -1, 0), ("c3.big.test.", "AAAA", 0, 1400),
        ("q.w.big.test.", "TXT", -1, 0), ("big.test.", "NS", -1, 0),
    ]:
        yield query(name, t, edns=edns, payload=payload)
    # Case preserved in the question, compression targets with mixed case.
    yield query("WwW.ExAmPlE.CoM.", "A", flags=rd)
    yield query("DN.example.COM.", "DNAME")
    # EDNS: payload below 512, the default, large, 0; DO; version 1; an option.
    yield query("example.com.", "ANY", edns=0, payload=100)
    yield query("example.com.", "NS", edns=0, payload=512, do=True)
    yield query("deleg.example.com.", "A", edns=0, payload=4096, do=True)
    yield query("www.example.com.", "A", edns=0, payload=65535)
    yield query("www.example.com.", "A", edns=0, payload=0)
    yield query("www.example.com.", "A", edns=1)
    yield query("www.example.com.", "A", edns=0,
                options=[dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"\x01" * 8)])
    # Flags, opcodes, classes and types the processor refuses or does not implement.
    yield query("www.example.com.", "A", flags=dns.flags.CD | dns.flags.AD | rd)
    yield query("example.com.", "SOA", opcode=dns.opcode.NOTIFY, flags=dns.flags.AA)
    yield query("example.com.", "SOA", opcode=dns.opcode.UPDATE)
    yield query("example.com.", "AXFR")
    yield query("example.com.", "IXFR")
    yield query("example.com.", "MAILB")
    yield query("example.com.", "OPT")
    yield query("version.bind.", "TXT", rdclass="CH")
    yield query("example.com.", "SOA", rdclass="ANY")
    # Options the processor acts on: NSID (empty and with data), EXPIRE on SOA and AXFR,
    # cookies (client only, with a server cookie, malformed), CHAOS identity names.
    opt = lambda code, data=b"": dns.edns.GenericOption(code, data)
    yield query("www.example.com.", "A", edns=0, options=[opt(3)])
    yield query("www.example.com.", "A", edns=0, options=[opt(3, b"ab")])
    yield query("example.com.", "SOA", edns=0, options=[opt(9)])
    yield query("example.com.", "AXFR", edns=0, options=[opt(9), opt(3)])
    yield query("example.com.", "IXFR", edns=0, options=[opt(9)])
    yield query("www.example.com.", "A", edns=0,
                options=[opt(10, bytes(range(8)) + b"\x01\0\0\0" + bytes(12)), opt(3), opt(9)])
    yield query("www.example.com.", "A", edns=0, options=[opt(10, b"\x01" * 12)])
    for name in ("id.server.", "hostname.bind.", "version.server.", "authors.bind."):
        yield query(name, "TXT", rdclass="CH", edns=0, options=[opt(3)])
    # RFC 7873 5.4: no question, a cookie; and header-only messages of other opcodes.
    cookie_probe = dns.message.Message(id=0x1234)
    cookie_probe.use_edns(0, options=[opt(10, bytes(range(8)))])
    yield cookie_probe.to_wire()
    for op in (1, 2, 3, 6, 15):
        yield bytes([0x12, 0x34, op << 3, 0]) + bytes(8)
    # Malformed: a response (QR=1), no question, two questions, cut short, compressed qname.
    yield query("www.example.com.", "A", flags=dns.flags.QR)
    base = query("www.example.com.", "A")
    yield base[:4] + b"\x00\x00" + base[6:12]
    yield base[:4] + b"\x00\x02" + base[6:] + base[12:]
    yield base[:20]
    yield base[:12] + b"\x03www\xc0\x0c" + base[-4:]


def main():
    query_dir, zone_dir, test_zones = (Path(a) for a in sys.argv[1:4])
    for d in (query_dir, zone_dir):
        d.mkdir(parents=True, exist_ok=True)
    n = 0
    for wire in queries():
        write(query_dir, wire)
        n += 1
    for z in sorted(test_zones.glob("*.zone")) + sorted(test_zones.glob("signed/*.zone")):
        shutil.copyfile(z, zone_dir / z.name)
    snippets = [
        "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n",
        "@ 3600 IN SOA ns.example.com. hm.example.com. ( 1 2 3\n 4 5 )\n NS ns\n"
        "ns AAAA ::1\n*.w CNAME @\nd DNAME example.net.\n",
        "@ SOA ns hm 1 2 3 4 5\n NS ns\nns A 192.0.2.1\nsub NS ns.sub\nns.sub A 192.0.2.2\n"
        "sub DS 1 13 2 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\n",
        "@ SOA ns hm 1 2 3 4 5\n NS ns\nns A 192.0.2.1\nt TXT \"a\\\"b\" c \\065\n"
        "m MX 10 @\ns SRV 1 2 3 t\nc CAA 128 tag \"v\"\nu TYPE999 \\# 3 010203\n"
        "h HTTPS 1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1\nsv SVCB 0 target\n"
        "k DNSKEY 257 3 13 AQID\nn NAPTR 1 1 \"u\" \"E2U+sip\" \"\" .\nhi HINFO cpu os\n",
        "$ORIGIN sub.example.com.\n@ SOA ns hm 1 2 3 4 5\n NS ns\n",
        # DNSSEC and other fields the zone-file parser converts itself: base64 with blanks,
        # hex, type lists, times, algorithm names.
        "@ SOA ns hm 1 2 3 4 5\n NS ns\nns A 192.0.2.1\n"
        "@ DNSKEY 256 3 ECDSAP256SHA256 M+ffnIXPipXLztsngUgZFJ/4pkgZbTgNaDNSKkg6 odXHpv3v89xuYuDMgsAKB8G6jIBsnMoUICnN4rYzyqSzfQ==\n"
        "@ RRSIG SOA 13 2 3600 20380101000000 20170101000000 57899 example.com. lNnYFyStIZbVtdsHg5Rwp4KIdySjOSQq+JDHw9u57BOMf2IRk2T5LQ9ike0M7svzRTXh49gLRAcETfaI994mEA==\n"
        "@ NSEC ns A NS SOA RRSIG NSEC DNSKEY TYPE65534\n"
        "@ NSEC3PARAM 1 0 10 AABBCCDD\n"
        "jbas736chung3bb701jkjdhqkqlhvug7 NSEC3 1 1 10 AABBCCDD nni4ch3secasmes9rpiu29bev8e7bl5l A RRSIG\n"
        "t TLSA 3 1 1 ( 0123456789ABCDEF 0123456789abcdef )\nf SSHFP 1 2 0123456789ABCDEF\n"
        "l LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m\n",
        "@ SOA ns hm 1 2 3 4 5\n NS ns\nns CNAME www\nwww A 1.2.3.4\n",
        # A CERT whose algorithm does not parse: ldns leaks there (tests/lsan.supp), so the
        # suppression is exercised on every run.
        "@ SOA ns hm 1 2 3 4 5\n NS ns\nsv CERT 0 target\n",
    ]
    for i, s in enumerate(snippets):
        (zone_dir / f"snippet{i}.zone").write_text(s)
    print(f"make_corpus: {n} queries in {query_dir}, "
          f"{len(list(zone_dir.iterdir()))} zone texts in {zone_dir}")


if __name__ == "__main__":
    main()
