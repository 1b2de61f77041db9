#!/usr/bin/python3
"""Writes the seed corpus of update_fuzz (generated at build time, never committed).

usage: make_update_seeds.py OUT_DIR

UPDATE messages for example.com. (the fuzz zone): every prerequisite form, every update form,
the apex, CNAME/DNAME names, SOA, a delegation, certbot's TXT, bad classes and TTLs; each
written in both input forms of update_fuzz.cpp (first byte even: the whole message; odd:
counts, then the sections after the fixed header and zone section), once per signing key.
"""
import hashlib
import sys
from pathlib import Path

import dns.rdataclass
import dns.rdatatype
import dns.update


def messages():
    def u():
        return dns.update.UpdateMessage("example.com.")

    m = u()
    m.add("_acme-challenge", 300, "TXT", '"tok-123"')
    yield m
    m = u()
    m.delete("_acme-challenge", "TXT", '"token"')
    yield m
    m = u()
    m.absent("host")
    m.add("host", 300, "A", "192.0.2.1")
    yield m
    m = u()
    m.present("www")
    m.present("www", "A")
    m.present("www", "A", "192.0.2.80")
    m.present("www", "A", "192.0.2.81")
    m.absent("www", "AAAA")
    m.delete("www", "A")
    m.add("www", 60, "MX", "10 mail.example.com.")
    yield m
    m = u()
    m.delete("www")
    m.delete("@")
    m.delete("@", "NS", "ns1.example.com.")
    m.delete("@", "NS", "ns2.example.com.")
    m.delete("@", "SOA")
    yield m
    m = u()
    m.add("alias", 300, "A", "192.0.2.7")
    m.add("alias", 300, "CNAME", "mail.example.com.")
    m.add("www", 300, "CNAME", "mail.example.com.")
    m.add("sub", 300, "NS", "alias.example.com.")
    m.add("x.dn", 300, "A", "192.0.2.7")
    m.add("dn", 300, "DNAME", "other.example.org.")
    yield m
    m = u()
    m.add("@", 3600, "SOA", "ns1.example.com. hostmaster.example.com. 150 7200 3600 1209600 300")
    m.add("b.c", 300, "TXT", '"ent"')
    m.delete("ns.sub", "A", "192.0.2.53")
    m.add("pc1.dyn", 300, "AAAA", "2001:db8::1")
    yield m
    m = u()
    m.add("new", 300, "TYPE65280", r"\# 3 78797a")
    m.add("new", 300, "SRV", "0 5 443 www.example.com.")
    m.add("new", 300, "CAA", '0 issue "letsencrypt.org"')
    yield m
    m = u()
    m.present("www", "A", "192.0.2.80")
    m.add(dns.name.from_text("www.example.com."), 300, "A", "192.0.2.82")
    yield m


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)

    def write(data: bytes):
        (out / hashlib.sha1(data).hexdigest()).write_bytes(data)

    for m in messages():
        m.id = 0x1234
        wire = m.to_wire()
        pr, up, ad = wire[7], wire[9], wire[11]
        body = wire[12 + len(b"\x07example\x03com\x00") + 4:]
        for key_bit in (0, 2):
            write(bytes([key_bit]) + wire)
            write(bytes([1 | key_bit, pr, up, ad]) + body)


if __name__ == "__main__":
    main()
