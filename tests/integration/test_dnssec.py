"""DNSSEC: zoned serving zones signed with ldns-signzone at test time (fresh keys, NSEC, NSEC3,
NSEC3 with opt-out), checked by a real validator (delv, with the zone's KSK as the only trust
anchor) and compared with Knot DNS serving the same signed files (dnssec-signing off: Knot
serves the pre-signed zone as it is).

Each zoned serves example.test in one signing variant and its securely delegated child
secure.example.test (the parent's DS is the child's KSK), so delv can follow the chain of
trust from example.test down into the child through zoned alone.
"""
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import DATA, Zoned, free_port
import peers

HOST = "127.0.0.1"
SOURCE = (DATA / "zones" / "signed" / "example.test.zone").read_text()
VARIANTS = {
    "nsec": [],
    "nsec3": ["-n", "-t", "0"],
    "optout": ["-n", "-t", "1", "-s", "beef", "-p"],
}
CHILD = """$ORIGIN secure.example.test.
$TTL 3600
@     IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@     IN NS  ns1
ns1   IN A   192.0.2.40
www   IN A   192.0.2.41
"""

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("ldns-keygen", "ldns-signzone", "delv", "knotd")),
    reason="needs ldnsutils, bind9-dnsutils (delv) and knot")


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def keygen(d, zone, ksk):
    base = run(["ldns-keygen", "-a", "ECDSAP256SHA256"] + (["-k"] if ksk else []) + [zone], d)
    return base


@pytest.fixture(scope="module")
def signed():
    """Signs the child and the three parent variants; returns texts and trust anchors."""
    d = Path(tempfile.mkdtemp(prefix="dnssec-test-"))
    try:
        (d / "child.zone").write_text(CHILD)
        cksk = keygen(d, "secure.example.test", True)
        czsk = keygen(d, "secure.example.test", False)
        run(["ldns-signzone", "-f", "child.signed", "child.zone", cksk, czsk], d)
        ds = (d / f"{cksk}.ds").read_text().split()
        # "secure.example.test. IN DS tag alg digesttype digest"
        ds_line = "secure   IN DS  " + " ".join(ds[3:7]) + "\n"
        parent = re.sub(r"^secure\s+IN DS .*\n", ds_line, SOURCE, flags=re.M)
        assert ds_line in parent
        (d / "parent.zone").write_text(parent)
        ksk = keygen(d, "example.test", True)
        zsk = keygen(d, "example.test", False)
        zones = {}
        for v, opts in VARIANTS.items():
            run(["ldns-signzone"] + opts + ["-f", f"{v}.signed", "parent.zone", ksk, zsk], d)
            zones[v] = (d / f"{v}.signed").read_text()
        # Signed outside their validity window, for zonectl check-zone.
        run(["ldns-signzone", "-i", "20190101000000", "-e", "20200101000000", "-f",
             "expired.signed", "parent.zone", ksk, zsk], d)
        run(["ldns-signzone", "-i", "20370101000000", "-e", "20371231000000", "-f",
             "future.signed", "parent.zone", ksk, zsk], d)
        key = (d / f"{ksk}.key").read_text().split(";")[0].split()
        # "example.test. IN DNSKEY 257 3 13 base64"
        anchor = d / "anchor.conf"
        anchor.write_text('trust-anchors {\n  example.test. static-key %s %s %s "%s";\n};\n'
                          % (key[3], key[4], key[5], "".join(key[6:])))
        yield {"zones": zones, "child": (d / "child.signed").read_text(), "anchor": anchor,
               "dir": d}
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request):
    return request.param


@pytest.fixture(scope="module")
def served(signed, variant):
    z = Zoned({"example.test": signed["zones"][variant],
               "secure.example.test": signed["child"]})
    z.start()
    yield z
    z.cleanup()


def start_knot(zones):
    # Knot serves the pre-signed zone as it is: no signing of its own.
    return peers.Peer("knot", zones, HOST, free_port(HOST),
                      knot_template="    dnssec-signing: off\n").start()


@pytest.fixture(scope="module")
def knot(signed, variant):
    p = start_knot({"example.test": signed["zones"][variant],
                    "secure.example.test": signed["child"]})
    yield p
    p.cleanup()


# --------------------------------------------------------------------------- delv

def delv(port, anchor, name, rdtype):
    cmd = ["delv", f"@{HOST}", "-p", str(port), "-a", str(anchor), "+root=example.test",
           "+nomtrace", "+norrcomments", name, rdtype]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


DELV_CASES = [
    # (name, type, expected status line)
    ("www.example.test", "A", "; fully validated"),
    ("example.test", "DNSKEY", "; fully validated"),
    ("alias.example.test", "A", "; fully validated"),
    ("x.wild.example.test", "A", "; fully validated"),
    ("a.b.wild.example.test", "TXT", "; fully validated"),
    ("nope.example.test", "A", "; negative response, fully validated"),
    ("x.y.c.example.test", "A", "; negative response, fully validated"),
    ("www.example.test", "TXT", "; negative response, fully validated"),
    ("c.example.test", "TXT", "; negative response, fully validated"),
    ("x.wild.example.test", "MX", "; negative response, fully validated"),
    # Delegations: the DS (or the proof of its absence) comes from the parent side.
    ("secure.example.test", "DS", "; fully validated"),
    ("sub.example.test", "DS", "; negative response, fully validated"),
    ("www.secure.example.test", "A", "; fully validated"),
]


# An answer from a wildcard is proven by the NSEC3 covering the next closer name; when that
# NSEC3 has the opt-out flag (ldns-signzone -p sets it on all), the name could be an unsigned
# delegation, so validators treat the answer as insecure (RFC 5155 9.2): Knot serves the
# same records (see test_same_as_knot).
OPT_OUT_INSECURE = {("x.wild.example.test", "A"), ("a.b.wild.example.test", "TXT")}


@pytest.mark.parametrize("name,rdtype,status", DELV_CASES, ids=[f"{n}/{t}" for n, t, _ in DELV_CASES])
def test_delv_validates(served, signed, variant, name, rdtype, status):
    if variant == "optout" and (name, rdtype) in OPT_OUT_INSECURE:
        status = "; unsigned answer"
    out = delv(served.port, signed["anchor"], name, rdtype)
    assert status in out, out
    # delv reports negative answers as "resolution failed: ncache nx..."; anything else is not
    # a validated answer.
    failures = [l for l in out.splitlines()
                if "resolution failed" in l and "ncache nx" not in l]
    assert not failures and "bogus" not in out.lower(), out


def test_delv_catches_a_broken_signature(signed, make_zoned):
    """The check above can fail: a zone with one tampered RRSIG is not validated."""
    text = signed["zones"]["nsec"]
    lines = text.splitlines()
    for i, l in enumerate(lines):
        f = l.split()
        if f[0] == "www.example.test." and f[3] == "RRSIG" and f[4] == "A":
            sig = f[-1]
            f[-1] = ("A" if sig[0] != "A" else "B") + sig[1:]
            lines[i] = " ".join(f)
    z = make_zoned({"example.test": "\n".join(lines) + "\n"})
    out = delv(z.port, signed["anchor"], "www.example.test", "A")
    assert "fully validated" not in out, out


def test_insecure_delegation_referral(served, signed):
    """A referral to an unsigned child: NS plus the signed proof that there is no DS."""
    r = ask(served.port, "host.sub.example.test", "A")
    assert not r.flags & dns.flags.AA
    types = {(rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype)) for rr in r.authority}
    assert ("sub.example.test.", "NS") in types
    assert ("sub.example.test.", "DS") not in types
    denial = {t for _, t in types} & {"NSEC", "NSEC3"}
    assert denial and ("RRSIG" in {t for _, t in types}), types


# --------------------------------------------------------------------------- Knot

def ask(port, name, rdtype, tcp=False):
    q = dns.message.make_query(name, rdtype, want_dnssec=True, payload=4096)
    q.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(q, HOST, port=port, timeout=3)
    return dns.query.udp(q, HOST, port=port, timeout=3)


def rrs(section):
    return {(rr.name.to_text().lower(), dns.rdatatype.to_text(rr.rdtype), rr.ttl, rd.to_text())
            for rr in section for rd in rr}


KNOT_CASES = [(n, t) for n, t, _ in DELV_CASES] + [
    ("gone.example.test", "A"),
    ("walias.example.test", "A"),
    ("y.dn.example.test", "A"),
    ("b.c.example.test", "A"),
    ("host.sub.example.test", "A"),
    ("www.secure.example.test", "A"),
    ("zzz.example.test", "AAAA"),
    ("www.example.test", "NSEC"),
    ("www.example.test", "RRSIG"),
    ("example.test", "NSEC3PARAM"),
    ("example.test", "MX"),
]


@pytest.mark.parametrize("name,rdtype", KNOT_CASES, ids=[f"{n}/{t}" for n, t in KNOT_CASES])
def test_same_as_knot(served, knot, name, rdtype):
    a = ask(served.port, name, rdtype, tcp=True)
    b = ask(knot.port, name, rdtype, tcp=True)
    assert dns.rcode.to_text(a.rcode()) == dns.rcode.to_text(b.rcode())
    assert bool(a.flags & dns.flags.AA) == bool(b.flags & dns.flags.AA)
    assert not a.flags & dns.flags.AD
    if rdtype == "RRSIG":
        # Knot answers an RRSIG query with the signatures of one type; zoned with all of
        # them (DIFFERENCES.md). What Knot gives must be among them, TTLs included.
        assert rrs(b.answer) and rrs(b.answer) <= rrs(a.answer)
    else:
        assert rrs(a.answer) == rrs(b.answer)
    assert rrs(a.authority) == rrs(b.authority)
    if not a.flags & dns.flags.AA:  # referral glue
        assert rrs(a.additional) == rrs(b.additional)


# --------------------------------------------------------------------------- zonectl

def zonectl_bin():
    return str(Path(os.environ.get("ZONED_BIN", "build/zoned")).with_name("zonectl"))


def check_zone(path):
    r = subprocess.run([zonectl_bin(), "check-zone", "--origin", "example.test", str(path)],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def test_check_zone_verifies_signatures(signed):
    d = signed["dir"]
    for v in VARIANTS:
        rc, out = check_zone(d / f"{v}.signed")
        assert rc == 0 and "signatures checked" in out, out
    rc, out = check_zone(d / "expired.signed")
    assert rc == 1 and "expired on 2020-01-01" in out, out
    rc, out = check_zone(d / "future.signed")
    assert rc == 1 and "is not valid before 2037-01-01" in out, out
    # A tampered signature and a missing one, each reported at its line.
    lines = (d / "nsec.signed").read_text().splitlines()
    out_lines, tampered, dropped = [], None, False
    for l in lines:
        f = l.split()
        if f[3] == "RRSIG" and f[4] == "AAAA" and tampered is None:
            f[-1] = ("A" if f[-1][0] != "A" else "B") + f[-1][1:]
            l = " ".join(f)
            tampered = len(out_lines) + 1
        elif f[3] == "RRSIG" and f[4] == "MX" and not dropped:
            dropped = True
            continue
        out_lines.append(l)
    bad = d / "bad.signed"
    bad.write_text("\n".join(out_lines) + "\n")
    rc, out = check_zone(bad)
    assert rc == 1, out
    assert f"bad.signed:{tampered}: RRSIG www.example.test. AAAA" in out and "does not verify" in out, out
    assert "example.test. MX has no RRSIG" in out, out


def axfr_with_ttls(host, port, zone):
    out = set()
    for msg in dns.query.xfr(host, zone, port=port, lifetime=30, relativize=False):
        for rrset in msg.answer:
            for rd in rrset:
                out.add((rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
                         rrset.ttl, rd.to_text()))
    return out


def test_signed_zone_replicates_unchanged(signed, variant):
    """A signed zone goes primary -> secondary record for record, TTLs included (RRSIG,
    NSEC, NSEC3), and the secondary's answers validate."""
    import dns.zone
    from replication_helpers import ZonedServer, serial_of, wait_serial
    text = signed["zones"][variant]
    p = ZonedServer().configure([{"name": "example.test", "text": text,
                                  "allow-transfer": ["127.0.0.0/8"]}], keys=False)
    s = ZonedServer().configure([{"name": "example.test", "primaries": ["p"],
                                  "allow-transfer": ["127.0.0.0/8"]}],
                                remotes={"p": (p.port, False)}, keys=False)
    try:
        p.start()
        s.start()
        serial = serial_of(p.host, p.port, zone="example.test")
        wait_serial(s.host, s.port, serial, zone="example.test", timeout=15)
        source = set()
        for name, ttl, rd in dns.zone.from_text(text, "example.test.", relativize=False).iterate_rdatas():
            source.add((name.to_text().lower(), dns.rdatatype.to_text(rd.rdtype), ttl, rd.to_text()))
        from_primary = axfr_with_ttls(p.host, p.port, "example.test")
        assert from_primary == source, sorted(from_primary ^ source)[:5]
        assert axfr_with_ttls(s.host, s.port, "example.test") == source
        for name, rdtype, status in (("www.example.test", "A", "; fully validated"),
                                     ("nothere.example.test", "A", "ncache nxdomain")):
            out = delv(s.port, signed["anchor"], name, rdtype)
            assert status in out and "bogus" not in out.lower(), out
    finally:
        s.cleanup()
        p.cleanup()
