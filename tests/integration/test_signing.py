"""DNSSEC signing by zoned (dnssec-policy): a primary zone signed when loaded, and after a DNS
UPDATE (nsupdate) and a zone-file reload, checked each time by ldns-verify-zone on an AXFR and
by delv with the zone's KSK as the only trust anchor; a Knot secondary follows by IXFR and
its copy verifies too; a restart keeps the keys."""
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import pytest

from conftest import DATA
from replication_helpers import (HOST, KEY_ALG, KEY_NAME, KEY_SECRET, KnotServer, ZonedServer,
                                  serial_of, tool, wait_serial, wait_until)

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("ldns-verify-zone", "delv", "nsupdate", "kdig"))
    or not tool("knotd"),
    reason="needs ldnsutils, bind9-dnsutils (delv, nsupdate), knot and knot-dnsutils")

ZONE = "example.test"
# The DNSSEC test battery's source zone, with the DS of a child that is not served here
# dropped (the DS answer itself is checked; the child is test_dnssec.py's business).
SOURCE = (DATA / "zones" / "signed" / "example.test.zone").read_text()

DELV_CASES = [
    ("www.example.test", "A", "; fully validated"),
    ("example.test", "DNSKEY", "; fully validated"),
    ("example.test", "SOA", "; fully validated"),
    ("alias.example.test", "A", "; fully validated"),
    ("x.wild.example.test", "A", "; fully validated"),           # wildcard answer
    ("a.b.wild.example.test", "TXT", "; fully validated"),
    ("nope.example.test", "A", "; negative response, fully validated"),   # NXDOMAIN
    ("x.y.c.example.test", "A", "; negative response, fully validated"),
    ("www.example.test", "TXT", "; negative response, fully validated"),  # NODATA
    ("c.example.test", "TXT", "; negative response, fully validated"),    # empty non-terminal
    ("x.wild.example.test", "MX", "; negative response, fully validated"),  # wildcard NODATA
    ("secure.example.test", "DS", "; fully validated"),          # signed DS at a delegation
    ("sub.example.test", "DS", "; negative response, fully validated"),  # insecure delegation
]


def delv(port, anchor, name, rdtype):
    cmd = ["delv", f"@{HOST}", "-p", str(port), "-a", str(anchor), "+root=example.test",
           "+nomtrace", "+norrcomments", name, rdtype]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


def assert_delv(port, anchor, name, rdtype, status):
    out = delv(port, anchor, name, rdtype)
    assert status in out, f"{name} {rdtype}: {out}"
    failures = [l for l in out.splitlines() if "resolution failed" in l and "ncache nx" not in l]
    assert not failures and "bogus" not in out.lower(), out


def axfr_text(port):
    # Knot's ACL (replication_helpers.KnotServer) wants the TSIG key; zoned takes it too.
    r = subprocess.run(["kdig", f"@{HOST}", "-p", str(port), "-y",
                        f"{KEY_ALG}:{KEY_NAME}:{KEY_SECRET}", "+tcp", "+nocomments",
                        "+nostat", "+noheader", "AXFR", ZONE], capture_output=True, text=True,
                       timeout=30)
    return "\n".join(l for l in r.stdout.splitlines()
                     if l and not l.startswith(";") and l.split()[2:4] != ["ANY", "TSIG"]
                     and "\tTSIG\t" not in l) + "\n"


def verify_zone(port, workdir, label):
    """ldns-verify-zone on an AXFR of the zone from the server at port: exit 0 or fail."""
    text = axfr_text(port)
    assert re.search(r"\sRRSIG\s", text) and re.search(r"\sNSEC3?\s", text), text[:2000]
    f = Path(workdir) / f"{label}.axfr"
    f.write_text(text)
    r = subprocess.run(["ldns-verify-zone", "-V", "2", str(f)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, f"{label}: ldns-verify-zone:\n{r.stdout}\n{r.stderr}"
    return text


def ksk_anchor(port, path):
    r = dns.query.tcp(dns.message.make_query(ZONE, "DNSKEY", want_dnssec=True), HOST, port=port,
                      timeout=3)
    keys = [rd for rrset in r.answer if rrset.rdtype == dns.rdatatype.DNSKEY for rd in rrset]
    ksks = [k for k in keys if k.flags == 257]
    assert len(ksks) == 1, keys
    k = ksks[0]
    import base64
    path.write_text('trust-anchors {\n  example.test. static-key %d %d %d "%s";\n};\n'
                    % (k.flags, k.protocol, k.algorithm, base64.b64encode(k.key).decode()))
    return sorted(rd.to_text() for rd in keys)


def zonectl_bin():
    import os
    return os.environ.get("ZONECTL_BIN") or str(Path(os.environ.get("ZONED_BIN", "build/zoned")).with_name("zonectl"))


def zoned_config(z, policy, knot_port):
    z.write_zone(ZONE, SOURCE)
    z.config = z.dir / "zoned.yaml"
    z.config.write_text(f"""server:
  listen: ['{HOST}:{z.port}']
  workers: 1
  log-level: info
  database: var/zoned.db
  control: run/zoned.sock
keys:
  - name: {KEY_NAME}
    algorithm: {KEY_ALG}
    secret: "{KEY_SECRET}"
remotes:
  - name: knot
    address: "{HOST}:{knot_port}"
    key: {KEY_NAME}
policies:
  - name: p
{policy}
zones:
  - name: {ZONE}
    file: zones/{ZONE}.zone
    dnssec-policy: p
    notify: [knot]
    allow-transfer: [knot, 127.0.0.0/8]
    allow-update: [{KEY_NAME}]
""")


def nsupdate(port, commands):
    script = f"server {HOST} {port}\nzone {ZONE}\n{commands}\nsend\n"
    r = subprocess.run(["nsupdate", "-y", f"{KEY_ALG}:{KEY_NAME}:{KEY_SECRET}"], input=script,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr


POLICIES = {
    "nsec": "    algorithm: ecdsap256sha256\n",
    "nsec3": "    algorithm: ed25519\n    nsec3: true\n    keys: csk\n    cds-cdnskey: true\n",
}


@pytest.mark.parametrize("variant", list(POLICIES))
def test_signed_zone_verifies_after_changes_and_knot_follows_by_ixfr(variant):
    work = Path(tempfile.mkdtemp(prefix="signing-test-"))
    z = ZonedServer()
    k = KnotServer()
    try:
        k.configure([{"name": ZONE, "master": "zoned"}], remotes={"zoned": z.port})
        zoned_config(z, POLICIES[variant], k.port)
        z.start()
        wait_until(lambda: serial_of(HOST, z.port, zone=ZONE), 10, what="zoned serves the zone")
        z.wait_log(r"zone example.test: signed serial \d+ \((NSEC|NSEC3)\)")
        # The private keys: in the key directory beside the database, mode 0600.
        pems = list((z.dir / "var" / "keys" / ZONE).glob("*.pem"))
        assert len(pems) == (1 if variant == "nsec3" else 2), pems
        assert all((p.stat().st_mode & 0o777) == 0o600 for p in pems)
        assert "PRIVATE" not in z.log()
        anchor = work / "anchor.conf"
        keys = ksk_anchor(z.port, anchor)
        # zonectl dnssec ds: the DS of the KSK zoned serves, as the parent needs it.
        r = subprocess.run([zonectl_bin(), "--config", str(z.config), "dnssec", "ds", ZONE],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        import dns.dnssec
        import dns.name
        import dns.rdata
        import dns.rdataclass
        ksk = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY,
                                  [k for k in keys if k.startswith("257 ")][0])
        want = dns.dnssec.make_ds(dns.name.from_text(ZONE), ksk, "SHA256").to_text()
        assert r.stdout.strip() == f"{ZONE}. 86400 IN DS {want}", (r.stdout, want)
        # CDS/CDNSKEY (cds-cdnskey: true): the KSK's DS and DNSKEY for the parent, signed.
        cds = dns.query.tcp(dns.message.make_query(ZONE, "CDS"), HOST, port=z.port, timeout=3)
        cds_rdatas = [rd.to_text() for rrset in cds.answer for rd in rrset]
        if variant == "nsec3":
            assert cds_rdatas == [want], cds_rdatas
            assert_delv(z.port, anchor, ZONE, "CDS", "; fully validated")
            assert_delv(z.port, anchor, ZONE, "CDNSKEY", "; fully validated")
        else:
            assert not cds_rdatas
            assert_delv(z.port, anchor, ZONE, "CDS", "; negative response, fully validated")
        text = verify_zone(z.port, work, "loaded")
        assert bool(re.search(r"\sNSEC3PARAM\s", text)) == (variant == "nsec3")
        for name, rdtype, status in DELV_CASES:
            assert_delv(z.port, anchor, name, rdtype, status)

        k.start()
        s0 = serial_of(HOST, z.port, zone=ZONE)
        wait_serial(HOST, k.port, s0, zone=ZONE, timeout=20)
        verify_zone(k.port, work, "knot-axfr")

        def signed_alone_and_followed(mark, kmark, serial, label, delv_cases):
            """The change was signed by itself (O(change), NSEC and NSEC3 alike), verifies,
            validates, and Knot follows by IXFR."""
            z.wait_log(r"zone example.test: signed serial \d+ \(NSEC3?\): the change only, \d+ signature", since=mark)
            verify_zone(z.port, work, label)
            for name, rdtype, status in delv_cases:
                assert_delv(z.port, anchor, name, rdtype, status)
            wait_serial(HOST, k.port, serial, zone=ZONE, timeout=20)
            k.wait_log(r"IXFR", since=kmark)
            assert "AXFR" not in k.log_since(kmark), k.log_since(kmark)
            verify_zone(k.port, work, "knot-" + label)

        # DNS UPDATE: one new name; the sign step signs it and mends the chain around it.
        mark = z.mark()
        kmark = k.mark()
        nsupdate(z.port, "update add new.example.test. 300 A 192.0.2.77\n"
                         "update delete www.example.test. AAAA")
        wait_until(lambda: serial_of(HOST, z.port, zone=ZONE) == s0 + 1, 10, what="UPDATE served")
        line = z.wait_log(r"zone example.test: serial \d+ -> \d+ committed \(UPDATE[^\n]*: \+(\d+) -(\d+) records", since=mark)
        signed_alone_and_followed(mark, kmark, s0 + 1, "after-update",
                                  [("new.example.test", "A", "; fully validated"),
                                   ("www.example.test", "AAAA", "; negative response, fully validated")])
        assert_delv(k.port, anchor, "new.example.test", "A", "; fully validated")

        # A reload of the changed zone file (after zoned wrote the UPDATE back to it).
        z.wait_log(r"zone example.test: zone file \S+ updated to serial", since=mark)
        path = z.dir / "zones" / f"{ZONE}.zone"
        served = serial_of(HOST, z.port, zone=ZONE)
        file_text = path.read_text()
        assert "RRSIG" not in file_text and "new" in file_text, file_text
        file_text = re.sub(r"(@\s+IN SOA \S+ \S+ )(\d+)", lambda m: m.group(1) + str(served + 1), file_text)
        file_text += "reloaded IN TXT \"from the file\"\n"
        mark = z.mark()
        kmark = k.mark()
        z.write_zone(ZONE, file_text)
        z.reload()
        wait_until(lambda: serial_of(HOST, z.port, zone=ZONE) == served + 1, 10, what="reload served")
        verify_zone(z.port, work, "after-reload")
        assert_delv(z.port, anchor, "reloaded.example.test", "TXT", "; fully validated")
        assert_delv(z.port, anchor, "nope.example.test", "A", "; negative response, fully validated")
        wait_serial(HOST, k.port, served + 1, zone=ZONE, timeout=20)
        k.wait_log(r"IXFR", since=kmark)
        assert "AXFR" not in k.log_since(kmark), k.log_since(kmark)
        verify_zone(k.port, work, "knot-after-reload")

        # zonectl delegate into the signed zone: NS, glue and DS, signed in the same commit.
        served = serial_of(HOST, z.port, zone=ZONE)
        kmark = k.mark()
        mark = z.mark()
        r = subprocess.run([zonectl_bin(), "--config", str(z.config), "delegate", "shop.example.test",
                            "--ns", "ns1.shop.example.test=127.0.0.151",
                            "--ns", "ns2.shop.example.test=127.0.0.152",
                            "--ds", "47022 13 2 3803e64dcc3a8d2916b3acdd382b4c902a22d30ff47d983b112e99a9b6e885e4",
                            "--force"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_until(lambda: serial_of(HOST, z.port, zone=ZONE) == served + 1, 10, what="delegation served")
        # The DS and the chain around the new cut signed by themselves, glue left unsigned.
        signed_alone_and_followed(mark, kmark, served + 1, "after-delegate",
                                  [("shop.example.test", "DS", "; fully validated")])

        # zonectl undelegate: NS, DS and glue go, the chain closes over the name, in O(change).
        mark = z.mark()
        kmark = k.mark()
        r = subprocess.run([zonectl_bin(), "--config", str(z.config), "undelegate", "shop.example.test"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_until(lambda: serial_of(HOST, z.port, zone=ZONE) == served + 2, 10, what="undelegation served")
        signed_alone_and_followed(mark, kmark, served + 2, "after-undelegate",
                                  [("shop.example.test", "DS", "; negative response, fully validated"),
                                   ("ns1.shop.example.test", "A", "; negative response, fully validated")])

        # A restart keeps the keys (and so the trust anchor) and the signed zone.
        serial = serial_of(HOST, z.port, zone=ZONE)
        z.stop()
        mark = z.mark()
        z.start()
        wait_until(lambda: serial_of(HOST, z.port, zone=ZONE), 10, what="zoned serves again")
        assert ksk_anchor(z.port, work / "anchor2.conf") == keys
        assert serial_of(HOST, z.port, zone=ZONE) == serial
        assert "generated" not in z.log_since(mark)
        # Nothing changed and nothing is due: the stored signed version is served as it is.
        assert re.search(r"zone example.test: stored signed serial \d+ still good", z.log_since(mark)), z.log_since(mark)
        verify_zone(z.port, work, "after-restart")
        assert_delv(z.port, anchor, "www.example.test", "A", "; fully validated")
    finally:
        k.cleanup()
        z.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def test_zone_file_signed_elsewhere_is_re_signed(tmp_path):
    """A zone file that carries RRSIG/NSEC for a zone with a policy: dropped and re-signed,
    and the log says so."""
    z = ZonedServer()
    try:
        zoned_config(z, "    algorithm: ecdsap256sha256\n", 9)
        signed = SOURCE + "www IN RRSIG A 13 3 3600 20300101000000 20200101000000 1 example.test. AAAA\n"
        z.write_zone(ZONE, signed)
        z.start()
        z.wait_log(r"zone example.test: 1 DNSSEC record\(s\) of the input .* dropped: zoned signs this zone itself")
        verify_zone(z.port, tmp_path, "resigned")
    finally:
        z.cleanup()


def test_signatures_are_refreshed_as_commits_and_knot_follows():
    """Short-lived signatures (validity 40 s, refreshed 30 s before they expire): zoned
    re-signs what falls due in commits of its own (serial + 1, source "signature refresh"),
    each found without a whole pass, the zone keeps verifying, and the Knot secondary follows
    by IXFR."""
    work = Path(tempfile.mkdtemp(prefix="signing-refresh-"))
    z = ZonedServer()
    k = KnotServer()
    try:
        k.configure([{"name": ZONE, "master": "zoned"}], remotes={"zoned": z.port})
        zoned_config(z, "    signature-validity: 40s\n    signature-refresh: 30s\n"
                        "    propagation-delay: 0\n", k.port)
        z.start()
        wait_until(lambda: serial_of(HOST, z.port, zone=ZONE), 10, what="zoned serves the zone")
        k.start()
        s0 = serial_of(HOST, z.port, zone=ZONE)
        wait_serial(HOST, k.port, s0, zone=ZONE, timeout=20)
        kmark = k.mark()
        z.wait_log(r"committed \(signature refresh\)", timeout=30)
        # Found and made without a whole pass over the zone.
        z.wait_log(r"signed serial \d+ \(NSEC\): the change and the signatures falling due, "
                   r"[1-9]\d* signature")
        s1 = serial_of(HOST, z.port, zone=ZONE)
        assert s1 > s0
        verify_zone(z.port, work, "refreshed")
        wait_serial(HOST, k.port, s1, zone=ZONE, timeout=20)
        k.wait_log(r"IXFR", since=kmark)
        verify_zone(k.port, work, "knot-refreshed")
        # Past the validity of the first signatures: all were made again in time.
        time.sleep(max(0, 42 - 12))
        verify_zone(z.port, work, "past-first-validity")
        assert len(re.findall(r"committed \(signature refresh\)", z.log())) >= 2
    finally:
        k.cleanup()
        z.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def test_zone_added_at_runtime_with_a_policy_is_signed(tmp_path):
    """zonectl zone-add --dnssec-policy: the new zone is signed in its first commit, and an
    unknown policy is refused."""
    z = ZonedServer()
    try:
        zoned_config(z, "    nsec3: true\n", 9)
        z.start()
        wait_until(lambda: serial_of(HOST, z.port, zone=ZONE), 10, what="zoned serves the zone")
        added = z.dir / "zones" / "added.test.zone"
        added.write_text("$ORIGIN added.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 7 3600 600 86400 60\n"
                         "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.2\n")
        bad = subprocess.run([zonectl_bin(), "--config", str(z.config), "zone-add", "other.test",
                              "--file", str(added), "--dnssec-policy", "nope"],
                             capture_output=True, text=True, timeout=30)
        assert bad.returncode != 0 and "unknown dnssec-policy 'nope'" in bad.stdout + bad.stderr, bad
        r = subprocess.run([zonectl_bin(), "--config", str(z.config), "zone-add", "added.test",
                            "--file", str(added), "--allow-transfer", "127.0.0.0/8",
                            "--dnssec-policy", "p"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        z.wait_log(r"zone added.test: signed serial 7 \(NSEC3\)")
        out = subprocess.run(["kdig", f"@{HOST}", "-p", str(z.port), "+tcp", "+nocomments",
                              "+nostat", "+noheader", "AXFR", "added.test"],
                             capture_output=True, text=True, timeout=30).stdout
        f = tmp_path / "added.axfr"
        f.write_text(out)
        assert re.search(r"\sNSEC3PARAM\s", out), out
        v = subprocess.run(["ldns-verify-zone", str(f)], capture_output=True, text=True, timeout=60)
        assert v.returncode == 0, v.stdout + v.stderr
    finally:
        z.cleanup()


def test_unreadable_key_file_keeps_the_stored_signed_zone_served(tmp_path):
    """A restart with a private key file gone: the zone is served as it was stored (still
    validating), and the log names the file."""
    z = ZonedServer()
    try:
        zoned_config(z, "    algorithm: ecdsap256sha256\n", 9)
        z.start()
        wait_until(lambda: serial_of(HOST, z.port, zone=ZONE), 10, what="zoned serves the zone")
        anchor = tmp_path / "anchor.conf"
        ksk_anchor(z.port, anchor)
        serial = serial_of(HOST, z.port, zone=ZONE)
        z.stop()
        zsk = [p for p in (z.dir / "var" / "keys" / ZONE).glob("zsk-*.pem")][0]
        zsk.rename(tmp_path / "away.pem")
        # The file changed too: the zone would have to be signed again, and cannot be.
        z.write_zone(ZONE, SOURCE + "more IN TXT \"needs signing\"\n")
        mark = z.mark()
        z.start()
        z.wait_log(r"zone example.test: sign: keys of zone example.test: \S+zsk-\S+\.pem: cannot be read: "
                   r".*serving the stored signed serial", since=mark)
        assert serial_of(HOST, z.port, zone=ZONE) == serial
        assert_delv(z.port, anchor, "www.example.test", "A", "; fully validated")
    finally:
        z.cleanup()
