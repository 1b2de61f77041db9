"""Primary/secondary replication with real processes on loopback, TSIG (hmac-sha256) everywhere:
zoned <-> zoned, Knot DNS, BIND 9 and NSD in both roles where they take them, and faults
(primary down, transfer cut mid-stream, secondary killed during a large transfer)."""
import shutil
import signal
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest

from conftest import dig
from replication_helpers import (HOST, OTHER_SECRET, STRANGER, ZONE, BindServer, FakePrimary,
                                 HoldingProxy, KnotServer, NsdServer, ZonedServer, addresses,
                                 axfr_records, big_zone_text, query, serial_of, tool, tsig_key,
                                 send_notify, wait_serial, wait_until, xfr_first_message,
                                 zone_text)

needs_knot = pytest.mark.skipif(not (tool("knotd") and tool("knotc")), reason="knotd not installed")
needs_bind = pytest.mark.skipif(not tool("named"), reason="named not installed")
needs_nsd = pytest.mark.skipif(not tool("nsd"), reason="nsd not installed")

# Version 1, 2 and 3 of the test zone: each adds, changes and removes something.
V1 = zone_text(1, ["old IN A 192.0.2.20", "mail IN MX 10 mx.example.net."])
V2 = zone_text(2, ["new IN A 192.0.2.30", "mail IN MX 10 mx.example.net.",
                   "txt IN TXT \"version two\""]).replace("www IN A 192.0.2.10",
                                                         "www IN A 192.0.2.11")
V3 = zone_text(3, ["third IN AAAA 2001:db8::3", "txt IN TXT \"version three\""]).replace(
    "www IN A 192.0.2.10", "www IN A 192.0.2.12")

# The same with 10,000 more records, unchanged between versions: transfers from and to the
# other servers span several TCP messages, each TSIG-signed (and IXFRs stay small).
BULK = [f"b{i} IN A 10.9.{i >> 8}.{i & 255}" for i in range(10_000)]
B1, B2, B3 = (v + "\n".join(BULK) + "\n" for v in (V1, V2, V3))


def check_bulk(host, port):
    for i in (0, 5_000, 9_999):
        assert addresses(host, port, f"b{i}.example.com") == [f"10.9.{i >> 8}.{i & 255}"]


def check_v1(host, port):
    assert addresses(host, port, "www.example.com") == ["192.0.2.10"]
    assert addresses(host, port, "old.example.com") == ["192.0.2.20"]


def check_v2(host, port):
    assert addresses(host, port, "www.example.com") == ["192.0.2.11"]
    assert addresses(host, port, "new.example.com") == ["192.0.2.30"]
    assert addresses(host, port, "old.example.com") == "NXDOMAIN"
    assert addresses(host, port, "txt.example.com", "TXT") == ['"version two"']


def check_v3(host, port):
    assert addresses(host, port, "www.example.com") == ["192.0.2.12"]
    assert addresses(host, port, "third.example.com", "AAAA") == ["2001:db8::3"]
    assert addresses(host, port, "txt.example.com", "TXT") == ['"version three"']
    # Removed since version 2: a full-zone transfer must replace, not merge.
    assert addresses(host, port, "new.example.com") == "NXDOMAIN"
    assert addresses(host, port, "mail.example.com", "MX") == "NXDOMAIN"


def refused(msg):
    """A transfer answer that gives nothing away."""
    return msg.rcode() in (dns.rcode.REFUSED, dns.rcode.NOTAUTH) and not msg.answer


def assert_transfer_refused(host, port, source=HOST, key=None, rdtype="AXFR"):
    try:
        msg = xfr_first_message(host, port, key=key, source=source, rdtype=rdtype, serial=1)
    except (dns.tsig.PeerError, dns.message.UnknownTSIGKey, dns.tsig.BadSignature):
        return  # a TSIG error answer (BADKEY/BADSIG): refused, and said so in TSIG
    assert refused(msg), f"{rdtype} from {source} (key={key and key.name}) answered:\n{msg}"


def assert_transfer_allowed(host, port):
    msg = xfr_first_message(host, port, key=tsig_key())
    assert msg.rcode() == dns.rcode.NOERROR and msg.answer, str(msg)


@pytest.fixture
def servers():
    """Factory for server objects; every one is stopped and removed at teardown."""
    made = []

    def make(cls, *args, **kw):
        s = cls(*args, **kw)
        made.append(s)
        return s

    yield make
    for s in reversed(made):
        try:
            s.stop()
            # Shown by pytest only when the test failed.
            print(f"--- {s.name} on port {s.port}: {s.log_path} ---\n{s.log()[-6000:]}")
        finally:
            s.cleanup()


def zoned_pair(servers, text=V1, start=True):
    """A zoned primary and a zoned secondary, TSIG between them, both started."""
    p, s = servers(ZonedServer), servers(ZonedServer)
    p.configure([{"name": ZONE, "text": text, "notify": ["secondary"],
                  "allow-transfer": ["secondary"]}],
                remotes={"secondary": (s.port, True)})
    s.configure([{"name": ZONE, "primaries": ["primary"]}], remotes={"primary": (p.port, True)})
    if start:
        p.start()
        s.start()
    return p, s


def stop_and_forget_history(p):
    """Stops a zoned primary and removes its database: started again, it has no IXFR
    history."""
    p.stop()
    shutil.rmtree(p.dir / "var", ignore_errors=True)


# ------------------------------------------------------------------ zoned -> zoned

def test_zoned_initial_axfr_then_ixfr_after_notify(servers):
    p, s = zoned_pair(servers)
    wait_serial(s.host, s.port, 1)
    s.wait_log(r"AXFR in from primary \(127\.0\.0\.1:\d+\): serial 0 -> 1")
    check_v1(s.host, s.port)
    assert_secondary_serves_everything(p, s)

    mark_p, mark_s = p.mark(), s.mark()
    p.write_zone(ZONE, V2)
    p.reload()
    # The SOA refresh is an hour: only the NOTIFY can bring the change this fast.
    wait_serial(s.host, s.port, 2, timeout=5)
    check_v2(s.host, s.port)
    assert_secondary_serves_everything(p, s)
    s.wait_log(r"NOTIFY from 127\.0\.0\.1", since=mark_s)
    s.wait_log(r"IXFR in from primary \(127\.0\.0\.1:\d+\): serial 1 -> 2", since=mark_s)
    p.wait_log(r"NOTIFY serial 2 to secondary \(127\.0\.0\.1:\d+\) acknowledged", since=mark_p)
    p.wait_log(r"zone example\.com: IXFR out to 127\.0\.0\.1:\d+: serial 1 -> 2, .*TSIG xfr-key",
               since=mark_p)
    assert "AXFR in" not in s.log_since(mark_s)


def assert_secondary_serves_everything(p, s):
    """Every record of the primary's AXFR is answered by the secondary (which itself allows
    no transfers)."""
    records = axfr_records(p.host, p.port, key=tsig_key())
    assert len(records) > 5
    for name, rtype, data in records:
        got = addresses(s.host, s.port, name, rtype)
        assert isinstance(got, list) and data in got, (name, rtype, data, got)


def test_zoned_ixfr_history_survives_primary_restart(servers):
    """A secondary that missed two changes gets them as one condensed IXFR from a restarted
    primary's stored history."""
    p, s = zoned_pair(servers)
    wait_serial(s.host, s.port, 1)
    s.stop()
    for serial, text in ((2, V2), (3, V3)):
        mark = p.mark()
        p.write_zone(ZONE, text)
        p.reload()
        p.wait_log(rf"serial (\d+ -> )?{serial} committed \(zone file", since=mark)
    p.stop()
    p.start()
    mark_s, mark_p = s.mark(), p.mark()
    s.start()
    wait_serial(s.host, s.port, 3, timeout=5)
    check_v3(s.host, s.port)
    s.wait_log(r"IXFR in from primary .*: serial 1 -> 3", since=mark_s)
    p.wait_log(r"zone example\.com: IXFR out to [^\n]*: serial 1 -> 3", since=mark_p)


def test_zoned_falls_back_to_full_zone_when_primary_lost_history(servers):
    p, s = zoned_pair(servers)
    wait_serial(s.host, s.port, 1)
    p.write_zone(ZONE, V2)
    p.reload()
    wait_serial(s.host, s.port, 2, timeout=5)

    stop_and_forget_history(p)
    p.write_zone(ZONE, V3)
    mark_s, mark_p = s.mark(), p.mark()
    p.start()  # NOTIFYs on start-up
    wait_serial(s.host, s.port, 3, timeout=5)
    check_v3(s.host, s.port)
    # No history for serial 2 on the primary: the whole zone comes back (RFC 1995 4).
    s.wait_log(r"AXFR[^\n]* in from primary \(127\.0\.0\.1:\d+\): serial 2 -> 3", since=mark_s)
    p.wait_log(r"zone example\.com: AXFR[^\n]* out to [^\n]*serial 2 -> 3", since=mark_p)


# RFC 1995 2: over UDP zoned answers an allowed IXFR with the current SOA, which tells a
# client that is behind to ask again over TCP.
def test_zoned_answers_ixfr_over_udp(servers):
    p, s = zoned_pair(servers)
    wait_serial(s.host, s.port, 1)
    p.write_zone(ZONE, V2)
    p.reload()
    wait_serial(s.host, s.port, 2, timeout=5)
    q = dns.message.make_query(ZONE, "IXFR")
    q.authority.append(dns.rrset.from_text(ZONE + ".", 0, "IN", "SOA", ". . 1 0 0 0 0"))
    q.use_tsig(tsig_key())
    r = dns.query.udp(q, p.host, port=p.port, timeout=2)
    assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())
    assert r.answer and r.answer[0].rdtype == dns.rdatatype.SOA and r.answer[0][0].serial == 2
    # Unsigned (not allowed for this zone): REFUSED, as over TCP.
    q2 = dns.message.make_query(ZONE, "IXFR")
    q2.authority.append(dns.rrset.from_text(ZONE + ".", 0, "IN", "SOA", ". . 1 0 0 0 0"))
    r2 = dns.query.udp(q2, p.host, port=p.port, timeout=2)
    assert r2.rcode() == dns.rcode.REFUSED, dns.rcode.to_text(r2.rcode())


def test_zoned_refuses_unauthorised_transfers(servers):
    p, s = zoned_pair(servers)
    wait_serial(s.host, s.port, 1)
    mark = p.mark()
    assert_transfer_allowed(p.host, p.port)
    # Unsigned from the secondary's own address.
    assert_transfer_refused(p.host, p.port)
    assert_transfer_refused(p.host, p.port, rdtype="IXFR")
    # Signed with the right key, but from an address no allow-transfer entry names.
    assert_transfer_refused(p.host, p.port, source=STRANGER, key=tsig_key())
    # A key with the right name and the wrong secret, and an unknown key.
    assert_transfer_refused(p.host, p.port, key=tsig_key(OTHER_SECRET))
    assert_transfer_refused(p.host, p.port, key=tsig_key(name="stranger-key"))
    # dig, as an operator would try it.
    out = dig(p.host, p.port, "AXFR", ZONE, tcp=True)
    assert "Transfer failed" in out and "192.0.2.10" not in out, out
    p.wait_log(r"zone example\.com: AXFR out to 127\.0\.0\.2:\d+ refused", since=mark)
    # A secondary with a wrong or unknown key: the primary's log says so.
    p.wait_log(r"zone example\.com: AXFR from 127\.0\.0\.1:\d+: TSIG signature does not verify "
               r"\(BADSIG\)", since=mark)
    p.wait_log(r"zone example\.com: AXFR from 127\.0\.0\.1:\d+: TSIG key stranger-key\.? "
               r"unknown \(BADKEY\)", since=mark)
    # The secondary has no allow-transfer at all.
    assert_transfer_refused(s.host, s.port, key=tsig_key())


def test_zoned_secondary_restart_serves_stored_copy_with_primary_down(servers):
    p, s = zoned_pair(servers)
    wait_serial(s.host, s.port, 1)
    p.write_zone(ZONE, V2)
    p.reload()
    wait_serial(s.host, s.port, 2, timeout=5)
    p.stop()
    s.stop()
    mark = s.mark()
    started = time.monotonic()
    s.start()
    # With the primary down, only the stored copy can answer; it does so as soon as zoned
    # listens (generous bound for a loaded machine).
    wait_serial(s.host, s.port, 2, timeout=5)
    assert time.monotonic() - started < 5
    check_v2(s.host, s.port)
    s.wait_log(r"serving serial 2 from the database", since=mark)
    s.wait_log(r"SOA query to primary \(127\.0\.0\.1:\d+\) failed", since=mark)


def test_zoned_secondary_keeps_serving_and_retries_while_primary_down(servers):
    # Short refresh/retry so that the secondary polls every second.
    p, s = zoned_pair(servers, text=zone_text(1, ["old IN A 192.0.2.20"], refresh=1, retry=1))
    wait_serial(s.host, s.port, 1)
    p.stop()
    mark = s.mark()
    s.wait_log(r"zone example\.com: refresh failed \(primary: [^)]*\), next try in 1 s",
               since=mark, count=2, timeout=15)
    assert serial_of(s.host, s.port) == 1
    assert addresses(s.host, s.port, "www.example.com") == ["192.0.2.10"]
    # The primary comes back with a change: the secondary catches up by itself.
    p.write_zone(ZONE, zone_text(2, ["old IN A 192.0.2.21"], refresh=1, retry=1))
    p.start()
    wait_serial(s.host, s.port, 2, timeout=5)
    assert addresses(s.host, s.port, "old.example.com") == ["192.0.2.21"]


def test_zoned_primary_refuses_changed_zone_with_same_serial(servers):
    p, s = zoned_pair(servers)
    wait_serial(s.host, s.port, 1)
    mark = p.mark()
    p.write_zone(ZONE, V1.replace("192.0.2.10", "192.0.2.99"))
    p.reload()
    p.wait_log(r"zone changed but its serial 1 is not greater than the served 1", since=mark)
    p.wait_log(r"not reloaded, still serving serial 1", since=mark)
    assert addresses(p.host, p.port, "www.example.com") == ["192.0.2.10"]
    assert "NOTIFY serial" not in p.log_since(mark)
    assert serial_of(s.host, s.port) == 1
    assert addresses(s.host, s.port, "www.example.com") == ["192.0.2.10"]
    # Fixing the serial publishes it.
    p.write_zone(ZONE, V1.replace("192.0.2.10", "192.0.2.99").replace(" 1 3600 ", " 2 3600 "))
    p.reload()
    wait_serial(s.host, s.port, 2, timeout=5)
    assert addresses(s.host, s.port, "www.example.com") == ["192.0.2.99"]


def test_zoned_secondary_accepts_notify_only_from_its_primary_with_tsig(servers):
    p, s = zoned_pair(servers)
    wait_serial(s.host, s.port, 1)
    mark = s.mark()
    assert send_notify(s.host, s.port).rcode() == dns.rcode.REFUSED  # unsigned
    assert send_notify(s.host, s.port, key=tsig_key(), source=STRANGER).rcode() == \
        dns.rcode.REFUSED
    with pytest.raises(dns.tsig.PeerBadSignature):  # NOTAUTH, TSIG error BADSIG
        send_notify(s.host, s.port, key=tsig_key(OTHER_SECRET))
    with pytest.raises(dns.tsig.PeerBadKey):  # NOTAUTH, TSIG error BADKEY (key echoed)
        send_notify(s.host, s.port, key=tsig_key(name="stranger-key"))
    s.wait_log(r"zone example\.com: NOTIFY from 127\.0\.0\.1:\d+ refused: not in allow-notify "
               r"\(or unsigned\)", since=mark)
    s.wait_log(r"zone example\.com: NOTIFY from 127\.0\.0\.2:\d+ refused: not in allow-notify",
               since=mark)
    # An operator with a mismatched key must be able to see why NOTIFYs are ignored.
    s.wait_log(r"zone example\.com: NOTIFY from 127\.0\.0\.1:\d+: TSIG check failed", since=mark)
    assert send_notify(s.host, s.port, key=tsig_key()).rcode() == dns.rcode.NOERROR
    s.wait_log(r"NOTIFY from 127\.0\.0\.1: checking the primary now", since=mark)


def test_zoned_secondary_expires_without_primary_and_recovers(servers):
    # expire 3 s: once the primary has been unreachable that long, SERVFAIL, not stale data.
    text = zone_text(1, ["old IN A 192.0.2.20"], refresh=1, retry=1, expire=3)
    p, s = zoned_pair(servers, text=text)
    wait_serial(s.host, s.port, 1)
    p.stop()
    wait_until(lambda: query(s.host, s.port, "www.example.com", "A").rcode() ==
               dns.rcode.SERVFAIL, 10, what="SERVFAIL from the expired zone")
    s.wait_log(r"zone example\.com: expired")
    # The expiry is stored: a restart does not bring the stale data back.
    s.stop()
    s.start()
    assert query(s.host, s.port, "www.example.com", "A").rcode() == dns.rcode.SERVFAIL
    s.wait_log(r"serving serial 1 from the database \(expired: SERVFAIL until refreshed\)")
    # The primary returns: answers come back.
    p.start()
    wait_until(lambda: addresses(s.host, s.port, "www.example.com") == ["192.0.2.10"], 10,
               what="answers after the primary came back")


def test_zoned_newer_notify_supersedes_unanswered_older_one(servers):
    """A NOTIFY that is still being retransmitted stops when a newer serial is announced
    (as BIND and Knot do): the secondary is not sent stale serials after the new one."""
    p, s = zoned_pair(servers, start=False)
    p.start()  # NOTIFY serial 1 to a secondary that is not there yet: retransmitted
    p.wait_log(r"serial 1 committed \(zone file")
    mark = p.mark()
    p.write_zone(ZONE, V2)
    p.reload()
    p.wait_log(r"reload: ", since=mark)
    s.start()
    wait_serial(s.host, s.port, 2, timeout=5)
    p.wait_log(r"NOTIFY serial 2 to secondary \(127\.0\.0\.1:\d+\) acknowledged", since=mark)
    time.sleep(2.5)  # past the old NOTIFY's next retransmission (1 s, then 2 s later)
    assert "NOTIFY serial 1 to secondary" not in p.log(), p.log()


def test_zoned_multi_tier_secondary_feeds_its_own_secondary(servers):
    """primary -> s1 -> s2: s1 NOTIFYs s2 and serves it IXFR from its own history."""
    p, s1, s2 = servers(ZonedServer), servers(ZonedServer), servers(ZonedServer)
    p.configure([{"name": ZONE, "text": V1, "notify": ["s1"], "allow-transfer": ["s1"]}],
                remotes={"s1": (s1.port, True)})
    s1.configure([{"name": ZONE, "primaries": ["primary"], "notify": ["s2"],
                   "allow-transfer": ["s2"]}],
                 remotes={"primary": (p.port, True), "s2": (s2.port, True)})
    s2.configure([{"name": ZONE, "primaries": ["s1"]}], remotes={"s1": (s1.port, True)})
    for x in (p, s1, s2):
        x.start()
    wait_serial(s2.host, s2.port, 1, timeout=5)
    mark1, mark2 = s1.mark(), s2.mark()
    p.write_zone(ZONE, V2)
    p.reload()
    wait_serial(s2.host, s2.port, 2, timeout=5)
    check_v2(s2.host, s2.port)
    s1.wait_log(r"NOTIFY serial 2 to s2 \(127\.0\.0\.1:\d+\) acknowledged", since=mark1)
    s1.wait_log(r"zone example\.com: IXFR out to 127\.0\.0\.1:\d+: serial 1 -> 2", since=mark1)
    s2.wait_log(r"IXFR in from s1 \(127\.0\.0\.1:\d+\): serial 1 -> 2", since=mark2)


# ------------------------------------------------------------------ Knot DNS

@needs_knot
def test_knot_primary_to_zoned_secondary(servers):
    k, s = servers(KnotServer), servers(ZonedServer)
    k.configure([{"name": ZONE, "text": B1, "notify": ["zoned"]}], remotes={"zoned": s.port})
    s.configure([{"name": ZONE, "primaries": ["knot"]}], remotes={"knot": (k.port, True)})
    k.start()
    wait_serial(k.host, k.port, 1)
    s.start()
    wait_serial(s.host, s.port, 1)
    s.wait_log(r"AXFR in from knot \(127\.0\.0\.1:\d+\): serial 0 -> 1, \d+ records in "
               r"(?:[2-9]|\d{2,}) messages")
    check_v1(s.host, s.port)
    check_bulk(s.host, s.port)

    mark = s.mark()
    k.write_zone(ZONE, B2)
    r = k.knotc("zone-reload", ZONE)
    assert r.returncode == 0, r.stdout + r.stderr
    wait_serial(s.host, s.port, 2, timeout=5)
    check_v2(s.host, s.port)
    s.wait_log(r"NOTIFY from 127\.0\.0\.1", since=mark)
    s.wait_log(r"IXFR in from knot \(127\.0\.0\.1:\d+\): serial 1 -> 2", since=mark)
    k.wait_log(r"IXFR, outgoing, remote 127\.0\.0\.1@\d+, started, serial 1 -> 2")

    # Knot restarted without its journal has no history: the zone comes back whole.
    k.stop()
    shutil.rmtree(k.dir / "journal", ignore_errors=True)
    shutil.rmtree(k.dir / "timers", ignore_errors=True)
    k.write_zone(ZONE, B3)
    mark = s.mark()
    k.start()
    wait_serial(s.host, s.port, 3, timeout=10)
    check_v3(s.host, s.port)
    check_bulk(s.host, s.port)
    s.wait_log(r"AXFR[^\n]* in from knot \(127\.0\.0\.1:\d+\): serial 2 -> 3", since=mark)

    # Unauthorised transfers: unsigned from Knot, anything from the zoned secondary.
    assert_transfer_refused(k.host, k.port)
    assert_transfer_refused(k.host, k.port, source=STRANGER, key=tsig_key())
    assert_transfer_refused(s.host, s.port, key=tsig_key())


@needs_knot
def test_knot_primary_multi_changeset_ixfr_to_zoned(servers):
    """A zoned secondary that missed two changes applies Knot's two-changeset IXFR."""
    k, s = servers(KnotServer), servers(ZonedServer)
    k.configure([{"name": ZONE, "text": B1, "notify": ["zoned"]}], remotes={"zoned": s.port})
    s.configure([{"name": ZONE, "primaries": ["knot"]}], remotes={"knot": (k.port, True)})
    k.start()
    s.start()
    wait_serial(s.host, s.port, 1)
    s.stop()
    for serial, text in ((2, B2), (3, B3)):
        k.write_zone(ZONE, text)
        r = k.knotc("zone-reload", ZONE)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_serial(k.host, k.port, serial)
    mark = s.mark()
    s.start()
    wait_serial(s.host, s.port, 3, timeout=5)
    check_v3(s.host, s.port)
    check_bulk(s.host, s.port)
    s.wait_log(r"IXFR in from knot \(127\.0\.0\.1:\d+\): serial 1 -> 3", since=mark)
    k.wait_log(r"IXFR, outgoing, remote 127\.0\.0\.1@\d+, started, serial 1 -> 3")


@needs_knot
def test_zoned_primary_condensed_ixfr_to_knot(servers):
    """Knot, having missed two changes, applies zoned's condensed IXFR 1 -> 3."""
    p, k = servers(ZonedServer), servers(KnotServer)
    p.configure([{"name": ZONE, "text": B1, "notify": ["knot"], "allow-transfer": ["knot"]}],
                remotes={"knot": (k.port, True)})
    k.configure([{"name": ZONE, "master": "zoned"}], remotes={"zoned": p.port})
    p.start()
    k.start()
    wait_serial(k.host, k.port, 1, timeout=10)
    k.stop()
    for serial, text in ((2, B2), (3, B3)):
        mark = p.mark()
        p.write_zone(ZONE, text)
        p.reload()
        p.wait_log(rf"serial (\d+ -> )?{serial} committed \(zone file", since=mark)
    mark_k, mark_p = k.mark(), p.mark()
    k.start()
    wait_serial(k.host, k.port, 3, timeout=10)
    check_v3(k.host, k.port)
    check_bulk(k.host, k.port)
    k.wait_log(r"IXFR, incoming, remote 127\.0\.0\.1@\d+, finished", since=mark_k)
    p.wait_log(r"zone example\.com: IXFR out to 127\.0\.0\.1:\d+: serial 1 -> 3", since=mark_p)


def zoned_primary_to_peer_secondary(servers, peer_cls, peer_config, first_log, ixfr_logs,
                                     fallback_log=None, stranger_refused=False):
    """zoned primary -> a peer secondary, with TSIG: initial AXFR; a change reaching the
    peer by IXFR after NOTIFY (its log says so); zoned restarted without its history, so the
    next request gets the whole zone; unauthorised transfers refused."""
    p, peer = servers(ZonedServer), servers(peer_cls)
    name = peer_cls.__name__.replace("Server", "").lower()
    p.configure([{"name": ZONE, "text": B1, "notify": [name], "allow-transfer": [name]}],
                remotes={name: (peer.port, True)})
    peer_config(peer, p)
    p.start()
    peer.start()
    wait_serial(peer.host, peer.port, 1, timeout=10)
    check_v1(peer.host, peer.port)
    check_bulk(peer.host, peer.port)
    if first_log:
        peer.wait_log(first_log)

    mark_p, mark_peer = p.mark(), peer.mark()
    p.write_zone(ZONE, B2)
    p.reload()
    wait_serial(peer.host, peer.port, 2, timeout=5)
    check_v2(peer.host, peer.port)
    for pattern in ixfr_logs:
        peer.wait_log(pattern, since=mark_peer)
    p.wait_log(rf"NOTIFY serial 2 to {name} \(127\.0\.0\.1:\d+\) acknowledged", since=mark_p)
    p.wait_log(r"zone example\.com: IXFR out to 127\.0\.0\.1:\d+: serial 1 -> 2", since=mark_p)

    # zoned restarted without its database: the peer's IXFR gets the whole zone.
    stop_and_forget_history(p)
    p.write_zone(ZONE, B3)
    mark_p, mark_peer = p.mark(), peer.mark()
    p.start()
    wait_serial(peer.host, peer.port, 3, timeout=10)
    check_v3(peer.host, peer.port)
    check_bulk(peer.host, peer.port)
    p.wait_log(r"zone example\.com: AXFR-style IXFR out to 127\.0\.0\.1:\d+: serial 2 -> 3",
               since=mark_p)
    if fallback_log:
        peer.wait_log(fallback_log, since=mark_peer)

    assert_transfer_refused(p.host, p.port)
    assert_transfer_refused(p.host, p.port, source=STRANGER, key=tsig_key())
    assert_transfer_refused(peer.host, peer.port)
    if stranger_refused:
        assert_transfer_refused(peer.host, peer.port, source=STRANGER, key=tsig_key())


@needs_knot
def test_zoned_primary_to_knot_secondary(servers):
    zoned_primary_to_peer_secondary(
        servers, KnotServer,
        lambda k, p: k.configure([{"name": ZONE, "master": "zoned"}], remotes={"zoned": p.port}),
        first_log=r"AXFR, incoming, remote 127\.0\.0\.1@\d+, finished",
        ixfr_logs=[r"IXFR, incoming, remote 127\.0\.0\.1@\d+, finished"],
        fallback_log=r"AXFR-style IXFR")


# ------------------------------------------------------------------ BIND 9 and NSD

@needs_bind
def test_zoned_primary_to_bind_secondary(servers):
    done = r"transfer of 'example\.com/IN' from 127\.0\.0\.1#\d+: Transfer status: success"
    zoned_primary_to_peer_secondary(
        servers, BindServer,
        lambda b, p: b.configure([{"name": ZONE, "primary_port": p.port}]),
        first_log=done, ixfr_logs=[r"received notify for zone 'example\.com'", done])


@needs_bind
def test_bind_primary_to_zoned_secondary(servers):
    b, s = servers(BindServer), servers(ZonedServer)
    s_port = s.port
    b.configure([{"name": ZONE, "text": B1, "notify_ports": [s_port]}])
    s.configure([{"name": ZONE, "primaries": ["bind"]}], remotes={"bind": (b.port, True)})
    b.start()
    wait_serial(b.host, b.port, 1)
    s.start()
    wait_serial(s.host, s.port, 1)
    s.wait_log(r"AXFR in from bind \(127\.0\.0\.1:\d+\): serial 0 -> 1, \d+ records in "
               r"(?:[2-9]|\d{2,}) messages")
    check_v1(s.host, s.port)
    check_bulk(s.host, s.port)

    mark, b_mark = s.mark(), b.mark()
    (b.dir / f"{ZONE}.zone").write_text(B2)
    b.send_signal(signal.SIGHUP)  # named reloads changed zone files
    wait_serial(s.host, s.port, 2, timeout=5)
    check_v2(s.host, s.port)
    s.wait_log(r"NOTIFY from 127\.0\.0\.1", since=mark)
    s.wait_log(r"IXFR in from bind \(127\.0\.0\.1:\d+\): serial 1 -> 2", since=mark)
    b.wait_log(r"transfer of 'example\.com/IN': IXFR ended", since=b_mark)

    # named restarted without its journal: the IXFR gets the whole zone.
    b.stop()
    for jnl in b.dir.glob("*.jnl"):
        jnl.unlink()
    (b.dir / f"{ZONE}.zone").write_text(B3)
    mark = s.mark()
    b.start()
    wait_serial(s.host, s.port, 3, timeout=10)
    check_v3(s.host, s.port)
    check_bulk(s.host, s.port)
    s.wait_log(r"AXFR[^\n]* in from bind \(127\.0\.0\.1:\d+\): serial 2 -> 3", since=mark)

    assert_transfer_refused(b.host, b.port)
    assert_transfer_refused(s.host, s.port, key=tsig_key())


@needs_nsd
def test_zoned_primary_to_nsd_secondary(servers):
    zoned_primary_to_peer_secondary(
        servers, NsdServer,
        lambda n, p: n.configure([{"name": ZONE, "primary_port": p.port}]),
        first_log=None,
        ixfr_logs=[r"received update to serial 2 .* from 127\.0\.0\.1@\d+ TSIG verified "
                   r"with key xfr-key"],
        stranger_refused=True)


# ------------------------------------------------------------------ faults

def fake_secondary(servers, fake):
    s = servers(ZonedServer)
    s.configure([{"name": ZONE, "primaries": ["fake"]}], remotes={"fake": (fake.port, True)})
    return s


@pytest.fixture
def fake_primary():
    made = []

    def make(text, mode="full"):
        f = FakePrimary(text, mode)
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


def test_transfer_cut_mid_stream_keeps_old_serial(servers, fake_primary):
    # retry 1: the secondary tries again every second while the primary misbehaves.
    v1 = zone_text(1, ["old IN A 192.0.2.20"] + [f"n{i} IN A 198.51.100.{i}" for i in range(200)],
                   retry=1)
    fake = fake_primary(v1)
    s = fake_secondary(servers, fake).start()
    wait_serial(s.host, s.port, 1)

    v2 = zone_text(2, ["old IN A 192.0.2.21"] + [f"n{i} IN A 198.51.100.{i}" for i in range(200)],
                   retry=1)
    fake.set(v2, mode="cut")
    mark = s.mark()
    assert fake.notify(s.port).rcode() == dns.rcode.NOERROR
    s.wait_log(r"IXFR from fake \(127\.0\.0\.1:\d+\) serial 1 -> 2 failed: connection closed "
               r"mid-transfer; trying AXFR", since=mark)
    s.wait_log(r"AXFR from fake \(127\.0\.0\.1:\d+\) failed: connection closed mid-transfer",
               since=mark)
    s.wait_log(r"refresh failed", since=mark)
    assert serial_of(s.host, s.port) == 1
    assert addresses(s.host, s.port, "old.example.com") == ["192.0.2.20"]
    assert addresses(s.host, s.port, "n199.example.com") == ["198.51.100.199"]

    # A transfer signed with the wrong secret is rejected just the same.
    fake.set(v2, mode="forged")
    mark = s.mark()
    s.wait_log(r"failed: TSIG check failed", since=mark)
    assert serial_of(s.host, s.port) == 1

    # Nothing of the broken transfers was stored: a restart serves serial 1.
    s.stop(signal.SIGKILL)
    s.start()
    assert serial_of(s.host, s.port) == 1
    assert addresses(s.host, s.port, "old.example.com") == ["192.0.2.20"]

    # The primary heals: the secondary catches up by itself (retry timer).
    fake.set(v2, mode="full")
    wait_serial(s.host, s.port, 2, timeout=10)
    assert addresses(s.host, s.port, "old.example.com") == ["192.0.2.21"]


def test_ixfr_refused_by_primary_falls_back_to_axfr(servers, fake_primary):
    fake = fake_primary(V1)
    s = fake_secondary(servers, fake).start()
    wait_serial(s.host, s.port, 1)
    fake.set(V2, mode="notimp")
    mark = s.mark()
    assert fake.notify(s.port).rcode() == dns.rcode.NOERROR
    wait_serial(s.host, s.port, 2, timeout=5)
    check_v2(s.host, s.port)
    s.wait_log(r"IXFR from fake \(127\.0\.0\.1:\d+\) serial 1 -> 2 failed: remote answered "
               r"NOTIMP; trying AXFR", since=mark)
    s.wait_log(r"zone example\.com: AXFR in from fake \(127\.0\.0\.1:\d+\): serial 1 -> 2",
               since=mark)
    assert fake.transfers[-2:] == [("IXFR", "notimp"), ("AXFR", "notimp")]


BIG = 300_000       # records in the zone
CHANGED = 100_000   # records serial 2 changes: a 200,000-record IXFR


def version_seen(host, port):
    """The version (1 or 2) of the big zone that answers for names spread over the records
    serial 2 changes; a mix means a torn zone; None when the zone is not served."""
    versions = set()
    for i in (0, CHANGED // 2, CHANGED - 1):
        a = addresses(host, port, f"h{i}.example.com")
        if not isinstance(a, list):
            versions.add(None)
            continue
        assert a == [f"10.{a[0].split('.')[1]}.{(i >> 8) & 255}.{i & 255}"], (i, a)
        versions.add(int(a[0].split(".")[1]))
    assert len(versions) == 1, f"a torn zone: {versions}"
    # The records no version changes are there in every version.
    if versions != {None}:
        assert addresses(host, port, f"h{BIG - 1}.example.com") == [
            f"10.1.{((BIG - 1) >> 8) & 255}.{(BIG - 1) & 255}"]
    return versions.pop()


def test_secondary_killed_during_large_transfer(servers):
    p = servers(ZonedServer)
    s = servers(ZonedServer)
    proxy = HoldingProxy(p.port)
    try:
        # The secondary reaches the primary through the proxy; NOTIFY goes direct.
        p.configure([{"name": ZONE, "text": big_zone_text(1, BIG), "notify": ["secondary"],
                      "allow-transfer": ["secondary"]}], remotes={"secondary": (s.port, True)})
        s.configure([{"name": ZONE, "primaries": ["primary"]}],
                    remotes={"primary": (proxy.port, True)})
        p.start(timeout=60)

        # 1. No copy yet: killed mid-AXFR, it comes back with nothing, then gets serial 1.
        proxy.hold(2_000_000)
        s.start()
        wait_until(lambda: proxy.held, 30, what="the AXFR to reach the proxy's limit")
        s.kill()
        s.start()
        assert serial_of(s.host, s.port) is None
        assert version_seen(s.host, s.port) is None
        proxy.release()
        wait_serial(s.host, s.port, 1, timeout=60)
        assert version_seen(s.host, s.port) == 1

        # 2. Serial 2 changes a third of the records (a 200k-record IXFR). Killed while
        # receiving it, the secondary serves serial 1 at once after the restart.
        proxy.hold(2_000_000)
        mark_p = p.mark()
        p.write_zone(ZONE, big_zone_text(2, BIG, version=2, changed=CHANGED))
        p.reload()
        wait_until(lambda: proxy.held, 60, what="the IXFR to reach the proxy's limit")
        s.kill()
        held = proxy.held
        s.start(timeout=30)
        assert serial_of(s.host, s.port) == 1
        assert version_seen(s.host, s.port) == 1

        # 3. Killed again once all of the IXFR has reached its socket, while it parses and
        # applies it: after the restart it serves one complete version, never a mix.
        wait_until(lambda: proxy.held > held, 30,
                   what="the restarted secondary's IXFR to be held")
        proxy.release()
        # The primary logs the size of the IXFR once it has written one (maybe into socket
        # buffers only): the TCP stream is that plus two length bytes per message.
        line = p.wait_log(r"zone example\.com: IXFR out to [^\n]*serial 1 -> 2, \d+ records in "
                          r"(\d+) messages \((\d+) bytes", since=mark_p, timeout=60)[0]
        stream = int(line[1]) + 2 * int(line[0])
        wait_until(lambda: proxy.per_connection[-1] >= stream, 60,
                   what="the whole IXFR to reach the secondary")
        s.kill()
        s.start(timeout=30)
        served = serial_of(s.host, s.port)
        assert served in (1, 2)
        assert version_seen(s.host, s.port) == served

        # 4. And it catches up.
        wait_serial(s.host, s.port, 2, timeout=60)
        assert version_seen(s.host, s.port) == 2
        assert "IXFR in from primary" in s.log()
    finally:
        proxy.stop()
