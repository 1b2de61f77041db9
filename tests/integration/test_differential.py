"""Differential tests: zoned, Knot DNS and NSD serve the same zones; their answers must agree.

Each case is sent to zoned and to each peer over UDP and TCP. We compare rcode, AA, TC and
the answer and authority sections as sets of (owner lowercased, type, TTL, rdata). The
additional section is compared for referrals (glue is required data, RFC 9471) with both
peers and, everywhere, with Knot (same additional policy as zoned); NSD runs with
minimal-responses and adds nothing beyond glue.

Where a peer legitimately differs from zoned, the difference is normalised explicitly below,
with the reason; every such difference is listed in DIFFERENCES.md next to this file.
"""
import socket
import struct
import time
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import peers
from conftest import DATA, Zoned, free_port

ZONES = ("example.com", "child.example.com", "other.net")
HOST = "127.0.0.1"


# --------------------------------------------------------------------------- servers

def wait_authoritative(port, timeout=15.0):
    return peers.wait_authoritative(HOST, port, ZONES, timeout)


def shared_zones():
    return {z: (DATA / "zones" / f"{z}.zone").read_text() for z in ZONES}


def start_knot():
    return peers.Peer("knot", shared_zones(), HOST, free_port(HOST)).start()


def start_nsd():
    return peers.Peer("nsd", shared_zones(), HOST, free_port(HOST),
                      nsd_server="    minimal-responses: yes\n").start()


@pytest.fixture(scope="module")
def zoned():
    z = Zoned({n: (DATA / "zones" / f"{n}.zone").read_text() for n in ZONES})
    z.start()
    if not wait_authoritative(z.port):
        z.cleanup()
        raise RuntimeError("zoned did not load the zones:\n" + z.log())
    yield z
    z.cleanup()


@pytest.fixture(scope="module")
def knot():
    p = start_knot()
    yield p
    p.cleanup()


@pytest.fixture(scope="module")
def nsd():
    p = start_nsd()
    yield p
    p.cleanup()


@pytest.fixture(params=["knot", "nsd"])
def peer(request):
    return request.getfixturevalue(request.param)


# --------------------------------------------------------------------------- queries

def ask(port, qname, qtype, transport):
    q = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
    q.flags &= ~dns.flags.RD
    if transport == "tcp":
        return dns.query.tcp(q, HOST, port=port, timeout=3)
    return dns.query.udp(q, HOST, port=port, timeout=3)


def rrs(section):
    return {(rr.name.to_text().lower(), dns.rdatatype.to_text(rr.rdtype), rr.ttl, rdata_text(rr, rd))
            for rr in section for rd in rr}


def rdata_text(rr, rd):
    # A CNAME synthesized from a DNAME: zoned keeps the query's case in the target
    # ("X.DN.example.com" -> "X.other.net."), Knot and NSD lowercase it. Names compare
    # case-insensitively (RFC 4343 3), so compare CNAME targets lowercased.
    if rr.rdtype == dns.rdatatype.CNAME:
        return rd.to_text().lower()
    return rd.to_text()


class View:
    """The parts of a response we compare."""

    def __init__(self, r):
        self.rcode = dns.rcode.to_text(r.rcode())
        self.aa = bool(r.flags & dns.flags.AA)
        self.tc = bool(r.flags & dns.flags.TC)
        self.answer = rrs(r.answer)
        self.authority = rrs(r.authority)
        self.additional = rrs(r.additional)

    def key(self, additional):
        k = {"rcode": self.rcode, "aa": self.aa, "tc": self.tc,
             "answer": sorted(self.answer), "authority": sorted(self.authority)}
        if additional:
            k["additional"] = sorted(self.additional)
        return k


def zone_of(owner):
    """The most specific of the test zones that holds owner (None if none does)."""
    best = None
    for z in ZONES:
        if dns.name.from_text(owner).is_subdomain(dns.name.from_text(z)):
            if best is None or len(z) > len(best):
                best = z
    return best


def stop_at_zone_boundary(v, qname):
    """Knot answers from one zone per query: a CNAME/DNAME chain that leaves the zone of
    QNAME is not followed into another zone Knot also serves. RFC 1034 4.3.2 step 3b only
    says to restart with the new name; following into other authoritative data is allowed,
    and NSD and zoned do it. So drop from zoned's answer what came from the other zone:
    answer records owned there, and a negative answer's SOA (with its NXDOMAIN)."""
    home = zone_of(qname.lower() + ".")
    v.answer = {r for r in v.answer if zone_of(r[0]) == home}
    foreign = {r for r in v.authority if zone_of(r[0]) != home}
    if foreign:
        v.authority -= foreign
        if v.rcode == "NXDOMAIN":
            v.rcode = "NOERROR"
    return v


# Every case in example.com.zone (and the child and other.net zones).
#  flags: "x" = the chain crosses into another served zone (Knot stops at the boundary),
#         "any" = qtype ANY (RFC 8482), "ref" = a referral.
CASES = [
    # plain answers, every type in the zone
    ("www.example.com", "A", ""),
    ("www.example.com", "AAAA", ""),
    ("WwW.ExAmPlE.CoM", "AAAA", ""),
    ("example.com", "SOA", ""),
    ("example.com", "NS", ""),
    ("example.com", "MX", ""),
    ("example.com", "TXT", ""),
    ("example.com", "AAAA", ""),
    ("ns2.example.com", "AAAA", ""),
    ("txt.example.com", "TXT", ""),
    ("caa.example.com", "CAA", ""),
    ("tlsa.example.com", "TLSA", ""),
    ("svc.example.com", "HTTPS", ""),
    ("unk.example.com", "TYPE65400", ""),
    ("ptr.example.com", "PTR", ""),
    ("_sip._tcp.example.com", "SRV", ""),
    # CNAME chains
    ("alias.example.com", "A", ""),
    ("alias.example.com", "AAAA", ""),
    ("alias2.example.com", "A", ""),
    ("alias.example.com", "CNAME", ""),
    ("toother.example.com", "A", "x"),
    ("toother.example.com", "AAAA", "x"),
    ("outside.example.com", "A", ""),
    ("loop1.example.com", "A", ""),
    ("loop2.example.com", "AAAA", ""),
    ("loop1.example.com", "CNAME", ""),
    ("dangling.example.com", "A", ""),
    # wildcards
    ("x.wild.example.com", "A", ""),
    ("a.x.wild.example.com", "A", ""),
    ("x.wild.example.com", "TXT", ""),
    ("x.wild.example.com", "AAAA", ""),
    ("*.wild.example.com", "A", ""),
    ("sub.wild.example.com", "A", ""),
    ("sub.wild.example.com", "TXT", ""),
    ("x.sub.wild.example.com", "A", ""),
    ("x.wcname.example.com", "A", ""),
    ("x.wcname.example.com", "CNAME", ""),
    # empty non-terminals
    ("ent.example.com", "A", ""),
    ("b.ent.example.com", "A", ""),
    ("a.b.ent.example.com", "A", ""),
    ("x.ent.example.com", "A", ""),
    ("x.b.ent.example.com", "A", ""),
    # delegations, glue, DS at the cut
    ("deleg.example.com", "A", "ref"),
    ("x.deleg.example.com", "A", "ref"),
    ("ns1.deleg.example.com", "A", "ref"),
    ("deleg.example.com", "NS", "ref"),
    ("deleg.example.com", "DS", ""),
    ("x.deleg.example.com", "DS", "ref"),
    ("sibling.example.com", "A", "ref"),
    ("sibling.example.com", "NS", "ref"),
    # the child zone, served here too
    ("child.example.com", "NS", ""),
    ("child.example.com", "SOA", ""),
    ("child.example.com", "A", ""),
    ("child.example.com", "DS", ""),
    ("www.child.example.com", "A", ""),
    ("ns1.child.example.com", "A", ""),
    ("x.child.example.com", "A", ""),
    # DNAME
    ("dn.example.com", "DNAME", ""),
    ("dn.example.com", "A", ""),
    ("www.dn.example.com", "A", "x"),
    ("www.dn.example.com", "CNAME", ""),
    ("www.dn.example.com", "DNAME", "x"),
    ("nx.dn.example.com", "A", "x"),
    ("a.b.dn.example.com", "AAAA", "x"),
    # NXDOMAIN / NODATA
    ("nx.example.com", "A", ""),
    ("www.example.com", "TXT", ""),
    ("mail.example.com", "MX", ""),
    ("example.com", "DS", ""),
    ("nx.other.net", "A", ""),
    ("host.other.net", "A", ""),
    # ANY
    ("example.com", "ANY", "any"),
    ("ns2.example.com", "ANY", "any"),
    ("x.wild.example.com", "ANY", "any"),
    ("alias.example.com", "ANY", "any"),
    ("x.wcname.example.com", "ANY", "any"),
    ("www.dn.example.com", "ANY", "any"),
    ("deleg.example.com", "ANY", "ref"),
    ("child.example.com", "ANY", "any"),
    # more corners: below a CNAME, ENT of an SRV name, DS below a cut, case, RRSIG unsigned
    ("x.alias.example.com", "A", ""),
    ("_tcp.example.com", "A", ""),
    ("x._tcp.example.com", "SRV", ""),
    ("ns1.deleg.example.com", "DS", "ref"),
    ("deleg.example.com", "DNAME", "ref"),
    ("x.ent.example.com", "TXT", ""),
    ("a.b.wcname.example.com", "AAAA", ""),
    ("wild.example.com", "A", ""),
    ("X.WILD.EXAMPLE.COM", "A", ""),
    ("X.DN.example.com", "A", "x"),
    ("sub.child.example.com", "A", ""),
    ("www.example.com", "RRSIG", ""),
    ("example.com", "DNSKEY", ""),
    # not ours
    ("example.org", "A", ""),
    ("com", "SOA", ""),
]


def case_id(c):
    return f"{c[0]}/{c[1]}"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_same_answer_as_peer(zoned, peer, case, transport):
    qname, qtype, flags = case
    z = View(ask(zoned.port, qname, qtype, transport))
    p = View(ask(peer.port, qname, qtype, transport))

    if "any" in flags and len({(r[0], r[1]) for r in z.answer}) == 1 and z.rcode == "NOERROR":
        # RFC 8482 4.1: an ANY answer may be one RRset of the server's choosing (zoned: the
        # first, SOA at the apex; Knot picks A; NSD and Knot over TCP may send all). Check
        # that zoned's RRset is what the peer serves for that type, and the rest as usual.
        picked = next(iter(z.answer))[1]
        exact = View(ask(peer.port, qname, picked, transport))
        # (A CNAME answers ANY by itself: there the peer must answer the same, below.)
        if picked != "CNAME":
            assert z.answer == exact.answer, f"ANY picked {picked}; peer has {exact.answer}"
            p.answer = set(z.answer)
            p.additional = exact.additional

    if peer.name == "knot" and "x" in flags:
        z = stop_at_zone_boundary(z, qname)
    if peer.name == "nsd" and "any" in flags and qname.startswith("www.dn."):
        # NSD follows the CNAME synthesized from a DNAME for ANY; zoned (like Knot) treats
        # the synthesized CNAME like a stored one, which answers ANY by itself (RFC 1034
        # 4.3.2 step 3b; RFC 6672 3.2 points back to it).
        p.answer = {r for r in p.answer if zone_of(r[0]) == "example.com"}

    # Additional: glue in referrals with both peers; everything with Knot. NSD runs with
    # minimal-responses: yes (RFC 1034 4.3.2 step 6 makes additional data optional).
    additional = "ref" in flags or peer.name == "knot"
    if peer.name == "knot" and "x" in flags:
        additional = False  # Knot adds nothing from zones it did not answer from
    assert z.key(additional) == p.key(additional), (
        f"{qname} {qtype} over {transport}: zoned differs from {peer.name}")


# --------------------------------------------------------------------------- protocol
# Header and EDNS handling that does not depend on zone data, where all three agree. Where
# they do not (DIFFERENCES.md, "Protocol"), zoned's own behaviour is tested in
# test_serving.py.

def flagged(flags=0, **kw):
    def build():
        q = dns.message.make_query("www.example.com", "A", **kw)
        q.flags = (q.flags & ~dns.flags.RD) | flags
        return q
    return build


PROTOCOL = {
    "rd-cd-echoed": flagged(dns.flags.RD | dns.flags.CD),
    "ad-in-query": flagged(dns.flags.AD),
    "edns-unknown-option": flagged(use_edns=0, options=[dns.edns.GenericOption(65001, b"abc")]),
    "edns-small-payload": flagged(use_edns=0, payload=100),
    "edns-do": flagged(use_edns=0, want_dnssec=True),
    "class-ch": lambda: dns.message.make_query("www.example.com", "A", rdclass="CH"),
    "edns-version-1": lambda: (lambda q: (q.use_edns(edns=1), q)[1])(flagged()()),
}


@pytest.mark.parametrize("name", PROTOCOL)
def test_same_header_handling_as_peer(zoned, peer, name):
    def view(port):
        r = dns.query.udp(PROTOCOL[name](), HOST, port=port, timeout=3)
        return {"rcode": dns.rcode.to_text(r.rcode()), "flags": dns.flags.to_text(r.flags),
                "edns": r.edns, "payload": r.payload if r.edns >= 0 else None,
                "do": bool(r.ednsflags & dns.flags.DO), "answer": sorted(rrs(r.answer))}
    z, p = view(zoned.port), view(peer.port)
    if name == "rd-cd-echoed":
        # RFC 4035 3.1.6: a security-aware name server MUST copy CD into the response;
        # zoned does, Knot 3.2 and NSD 4.6 do not (with unsigned zones).
        assert "CD" in z["flags"].split()
        z["flags"] = " ".join(f for f in z["flags"].split() if f != "CD")
    assert z == p


# --------------------------------------------------------------------------- regressions
# Bugs found by the comparison above, checked on the wire (dnspython merges duplicate
# records, so counts are read from the header).

def raw_answer(port, qname, qtype):
    q = dns.message.make_query(qname, qtype)
    q.flags &= ~dns.flags.RD
    wire = q.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(wire, (HOST, port))
        data, _ = s.recvfrom(65535)
    return data, dns.message.from_wire(data)


def test_regression_cname_loop_has_each_record_once(zoned):
    data, r = raw_answer(zoned.port, "loop1.example.com", "A")
    ancount = struct.unpack("!H", data[6:8])[0]
    assert ancount == 2, f"CNAME loop put {ancount} records in the answer"
    assert rrs(r.answer) == {
        ("loop1.example.com.", "CNAME", 3600, "loop2.example.com."),
        ("loop2.example.com.", "CNAME", 3600, "loop1.example.com."),
    }


def test_regression_any_at_cname_answers_the_cname_only(zoned):
    _, r = raw_answer(zoned.port, "alias.example.com", "ANY")
    assert rrs(r.answer) == {("alias.example.com.", "CNAME", 3600, "www.example.com.")}


def test_regression_cname_query_below_dname_has_no_negative_soa(zoned):
    _, r = raw_answer(zoned.port, "www.dn.example.com", "CNAME")
    assert r.rcode() == dns.rcode.NOERROR
    assert ("www.dn.example.com.", "CNAME", 3600, "www.other.net.") in rrs(r.answer)
    assert not r.authority, f"unexpected authority {r.authority}"
