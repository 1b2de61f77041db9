"""DNSSEC key rollovers with accelerated timings (dnskey-ttl 2 s, ds-ttl 2 s, propagation-delay
1 s, zone TTLs 3 s): a ZSK rollover (pre-publication), a KSK rollover (double-DS) whose DS
zoned keeps in the parent zone it also serves and signs, and an algorithm rollover (ECDSA P-256
-> Ed25519, by a policy change and a reload). delv, with the parent's KSK as the only trust
anchor, polls the test battery through every step and must never find an answer that does not
validate; ldns-verify-zone passes on an AXFR after each rollover, on zoned and on the Knot
and BIND secondaries that follow by IXFR, and DNSViz (probe and grok, the parent's DNSKEY as
trust anchor) finds every status SECURE after the KSK and the algorithm rollovers. A zoned killed in the middle of a rollover finishes it after
the restart. A parent that is not served here: the KSK rollover waits for
`zonectl dnssec ds-seen`."""
import base64
import concurrent.futures
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import dns.dnssec
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import pytest

from replication_helpers import (HOST, KEY_ALG, KEY_NAME, KEY_SECRET, BindServer, KnotServer, ZonedServer,
                                  serial_of, tool, wait_serial, wait_until)
from test_signing import DELV_CASES, SOURCE, verify_zone, zonectl_bin

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("ldns-verify-zone", "delv", "kdig")) or not tool("knotd"),
    reason="needs ldnsutils, bind9-dnsutils (delv), knot and knot-dnsutils")

CHILD = "example.test"
PARENT = "test"
# The battery's zone with TTLs of 3 s, so that a rollover's waits take seconds.
CHILD_TEXT = SOURCE.replace("$TTL 3600", "$TTL 3").replace("1209600 300", "1209600 3")
PARENT_TEXT = """$ORIGIN test.
$TTL 3
@        IN SOA ns hostmaster 1 7200 3600 1209600 3
@        IN NS  ns
ns       IN A   192.0.2.250
example  IN NS  ns1.example
example  IN NS  ns2.example
ns1.example IN A 192.0.2.1
ns2.example IN A 192.0.2.2
"""
FAST = """    dnskey-ttl: 2s
    ds-ttl: 2s
    propagation-delay: 1s
"""


def write_config(z, child_algorithm="ecdsap256sha256", knot_port=None, with_parent=True,
                 bind_port=None, zones=True):
    if zones:
        z.write_zone(CHILD, CHILD_TEXT)
        if with_parent:
            z.write_zone(PARENT, PARENT_TEXT)
    secondaries = {n: p for n, p in (("knot", knot_port), ("bind", bind_port)) if p}
    remotes = "remotes:\n" + "".join(f"""  - name: {n}
    address: "{HOST}:{p}"
    key: {KEY_NAME}
""" for n, p in secondaries.items()) if secondaries else ""
    notify = f"    notify: [{', '.join(secondaries)}]\n" if secondaries else ""
    parent = f"""  - name: {PARENT}
    file: zones/{PARENT}.zone
    dnssec-policy: parent
""" if with_parent else ""
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
{remotes}policies:
  - name: parent
  - name: fast
    algorithm: {child_algorithm}
{FAST}zones:
{parent}  - name: {CHILD}
    file: zones/{CHILD}.zone
    dnssec-policy: fast
{notify}    allow-transfer: [127.0.0.0/8]
""")


def zonectl(z, *args, check=True):
    r = subprocess.run([zonectl_bin(), "--config", str(z.config), *args], capture_output=True,
                       text=True, timeout=30)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def rrset(port, name, rdtype):
    r = dns.query.tcp(dns.message.make_query(name, rdtype, want_dnssec=True), HOST, port=port, timeout=3)
    return [rd for s in r.answer if s.rdtype == dns.rdatatype.from_text(rdtype) for rd in s]


def child_keys(port):
    """(tag, algorithm, flags) of the child's DNSKEY RRset."""
    return sorted((dns.dnssec.key_id(k), k.algorithm, k.flags) for k in rrset(port, CHILD, "DNSKEY"))


def parent_ds_tags(port):
    return sorted(d.key_tag for d in rrset(port, CHILD, "DS"))


def serving_with_ds(z):
    """After z.start(): the child served, and its KSK's DS in the parent served here (which
    zoned puts there by itself). Returns the child's keys (tag, algorithm, flags)."""
    wait_until(lambda: serial_of(HOST, z.port, zone=CHILD), 10, what="zoned serves the child")
    keys = child_keys(z.port)
    ksk = [t for t, a, f in keys if f == 257]
    wait_until(lambda: parent_ds_tags(z.port) == ksk, 10, what="the child's DS in the parent")
    return keys


def anchor_for(port, zone, path):
    ksks = [k for k in rrset(port, zone, "DNSKEY") if k.flags == 257]
    assert len(ksks) == 1, ksks
    k = ksks[0]
    path.write_text('trust-anchors {\n  %s. static-key %d %d %d "%s";\n};\n'
                    % (zone, k.flags, k.protocol, k.algorithm, base64.b64encode(k.key).decode()))


def delv(port, anchor, root, name, rdtype):
    r = subprocess.run(["delv", f"@{HOST}", "-p", str(port), "-a", str(anchor), f"+root={root}",
                        "+nomtrace", "+norrcomments", name, rdtype], capture_output=True,
                       text=True, timeout=30)
    return r.stdout + r.stderr


def battery_ok(port, anchor, root, cases=DELV_CASES):
    """The battery's answers that do not validate as they should (empty: all do)."""
    bad = []
    for name, rdtype, status in cases:
        out = delv(port, anchor, root, name, rdtype)
        failures = [l for l in out.splitlines() if "resolution failed" in l and "ncache nx" not in l]
        if status not in out or failures or "bogus" in out.lower():
            bad.append(f"{name} {rdtype}: {out.strip()}")
    return bad


def dnsviz_secure(port, work, label, names=("test", "example.test", "www.example.test",
                                             "nope.example.test", "x.wild.example.test"),
                  child_port=None, during=False):
    """DNSViz (probe, then grok with the parent's DNSKEY as the trust anchor) on both zones:
    the statuses it finds that are not SECURE/VALID (or NXDOMAIN/NOERROR), and its errors.
    child_port: the child zone asked there (a secondary) instead of at port. during: a
    rollover is under way, so a DS or DNSKEY that is only published (no match yet, or no
    longer signing) is expected; still no BOGUS anywhere, no error, and every answer SECURE."""
    if not shutil.which("dnsviz"):
        pytest.skip("needs dnsviz")
    import json
    work = Path(work)
    anchor = work / f"{label}.tk"
    anchor.write_text("".join(r.to_text() + "\n" for r in dns.query.tcp(
        dns.message.make_query(PARENT, "DNSKEY"), HOST, port=port, timeout=3).answer))
    srv = f"{HOST}:{port}"
    probe = work / f"{label}.probe.json"
    child_srv = f"{HOST}:{child_port or port}"
    # -a: the analysis starts at the parent (the trust anchor); asked from the root, DNSViz
    # waits some 20 s for root servers that a test machine does not reach.
    r = subprocess.run(["/usr/bin/python3", "/usr/bin/dnsviz", "probe", "-A", "-a", PARENT, "-4", "-t", "10",
                        "-x", f"{PARENT}+:{srv}",
                        "-x", f"{CHILD}:{child_srv}", "-o", str(probe), *names],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    g = subprocess.run(["/usr/bin/python3", str(Path(__file__).with_name("dnsviz_grok.py")), "-t",
                        str(anchor), "-r", str(probe)], capture_output=True, text=True, timeout=180)
    assert g.returncode == 0, g.stderr
    found, secure = [], []

    def walk(o, path):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "status" and v == "SECURE":
                    secure.append(path)
                # During a rollover: a signature by a key not published (yet: an algorithm
                # rollover signs before it publishes, RFC 6781 4.1.4) is INDETERMINATE beside
                # one that validates; the answer itself must still be SECURE.
                expected = during and isinstance(v, str) and (v.startswith("INDETERMINATE") and re.search(r"/rrsig\[\d+\]$", path)
                                       or "/queries/" not in path and v != "BOGUS")
                if k == "status" and v not in ("SECURE", "VALID", "NOERROR", "NXDOMAIN") and not expected:
                    found.append(f"{path}: {v}")
                if k == "errors" and v:
                    found.append(f"{path}: {json.dumps(v)[:300]}")
                walk(v, f"{path}/{k}")
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, f"{path}[{i}]")
    walk(json.loads(g.stdout), "")
    # Both zones judged, with the answers, denials and keys of each.
    for zone in (f"{PARENT}.", f"{CHILD}."):
        if not any(p.startswith(f"/{zone}/zone") for p in secure):
            found.append(f"{zone} zone not judged SECURE")
    if len(secure) < 20:
        found.append(f"only {len(secure)} SECURE statuses")
    return found


class Poller:
    """A check in a loop while the rollovers run (check() returns what is wrong, empty when
    all is well): what it found, with the time, and how many rounds it made."""

    def __init__(self, check):
        self.check = check
        self.bad, self.rounds = [], 0
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_flag.is_set():
            try:
                bad = self.check(self.rounds)
            except Exception as e:  # a failed assertion, or a tool that broke: both reported
                bad = [f"{type(e).__name__}: {str(e)[:2000]}"]
            self.rounds += 1
            if bad:
                self.bad.append((time.strftime("%H:%M:%S"), bad))

    def stop(self):
        self.stop_flag.set()
        self.thread.join(timeout=60)
        return self.bad


def test_zsk_ksk_and_algorithm_rollovers_stay_secure_and_knot_and_bind_follow():
    work = Path(tempfile.mkdtemp(prefix="rollover-test-"))
    z = ZonedServer()
    k = KnotServer()
    b = BindServer()
    poller = viz = verifier = None
    try:
        k.configure([{"name": CHILD, "master": "zoned"}], remotes={"zoned": z.port})
        b.configure([{"name": CHILD, "primary_port": z.port}])
        write_config(z, knot_port=k.port, bind_port=b.port)
        z.start()
        # The parent, served and signed here, gets the child's DS by itself.
        keys0 = serving_with_ds(z)
        ksk0 = [t for t, a, f in keys0 if f == 257]
        z.wait_log(r"zone example.test: DS set in parent test updated \(1 DS\)")
        anchor = work / "anchor.conf"
        anchor_for(z.port, PARENT, anchor)
        assert battery_ok(z.port, anchor, PARENT) == []
        k.start()
        b.start()
        for port in (k.port, b.port):
            wait_serial(HOST, port, serial_of(HOST, z.port, zone=CHILD), zone=CHILD, timeout=20)
        kmark, zmark = k.mark(), z.mark()

        # Every step, as it comes, in three loops: delv over part of the battery; ldns-verify-zone
        # on an AXFR of each new version, from zoned and from the Knot secondary; DNSViz on
        # zoned, and with the child asked at Knot, as often as it can (a round takes seconds).
        cases = [c for c in DELV_CASES if c[1] in ("A", "DNSKEY", "SOA") or "nope" in c[0]][:5]
        versions = set()  # the child's serials that delv saw
        verified = {"zoned": set(), "knot": set()}
        judged = set()  # the serials that DNSViz judged
        zoned_axfrs = [0]

        def delv_round(_):
            versions.add(serial_of(HOST, z.port, zone=CHILD))
            return battery_ok(z.port, anchor, PARENT, cases)
        poller = Poller(delv_round)

        def verify_each_version(_):
            for who, port in (("zoned", z.port), ("knot", k.port)):
                if serial_of(HOST, port, zone=CHILD) in verified[who]:
                    continue
                zoned_axfrs[0] += port == z.port
                text = verify_zone(port, work, f"{who}-version")
                verified[who].add(int(re.search(r"\sSOA\s+\S+\s+\S+\s+(\d+)", text).group(1)))
            time.sleep(0.2)
            return []
        verifier = Poller(verify_each_version)

        def dnsviz_round(n):
            judged.add(serial_of(HOST, z.port, zone=CHILD))
            with concurrent.futures.ThreadPoolExecutor(2) as ex:
                zv = ex.submit(dnsviz_secure, z.port, work, f"step{n}", during=True)
                kv = ex.submit(dnsviz_secure, z.port, work, f"knot-step{n}", child_port=k.port,
                               during=True)
                return [f"zoned: {b}" for b in zv.result()] + [f"knot: {b}" for b in kv.result()]
        viz = Poller(dnsviz_round)

        # ZSK rollover: the new ZSK is published, signs after dnskey-ttl + propagation-delay,
        # the old one leaves after the zone's largest TTL + propagation-delay.
        zsk0 = [t for t, a, f in keys0 if f == 256]
        mark = z.mark()
        r = zonectl(z, "dnssec", "rollover", CHILD, "zsk")
        assert "ZSK rollover of example.test starts now" in r.stdout
        z.wait_log(r"zone example.test: ZSK rollover started: ZSK (\d+) published", since=mark)
        wait_until(lambda: len(child_keys(z.port)) == 3, 5, what="the new ZSK published")
        st = zonectl(z, "dnssec", "status", CHILD).stdout
        assert "published, not signing" in st and "stops signing at" in st, st
        z.wait_log(r"zone example.test: ZSK %d removed \(its rollover is complete\)" % zsk0[0],
                   since=mark, timeout=30)
        wait_until(lambda: len(child_keys(z.port)) == 2, 5, what="the old ZSK gone")
        keys1 = child_keys(z.port)
        assert [t for t, a, f in keys1 if f == 256] != zsk0 and [t for t, a, f in keys1 if f == 257] == ksk0
        verify_zone(z.port, work, "after-zsk")

        # KSK rollover, double-DS: the new KSK and its DS (in the parent, by the parent's
        # commit) go out together; the new KSK signs once the parent serves its DS and ds-ttl
        # has passed; the old DS and DNSKEY go after dnskey-ttl + propagation-delay.
        mark = z.mark()
        zonectl(z, "dnssec", "rollover", CHILD, "ksk")
        z.wait_log(r"zone example.test: KSK rollover started", since=mark)
        wait_until(lambda: len(parent_ds_tags(z.port)) == 2, 5, what="both DS in the parent")
        z.wait_log(r"zone example.test: KSK %d removed \(its rollover is complete\)" % ksk0[0],
                   since=mark, timeout=30)
        wait_until(lambda: len(parent_ds_tags(z.port)) == 1, 5, what="the old DS withdrawn")
        wait_until(lambda: len(child_keys(z.port)) == 2, 5, what="the old KSK gone")
        keys2 = child_keys(z.port)
        ksk2 = [t for t, a, f in keys2 if f == 257]
        assert ksk2 != ksk0 and parent_ds_tags(z.port) == ksk2, (keys2, parent_ds_tags(z.port))
        verify_zone(z.port, work, "after-ksk")
        assert dnsviz_secure(z.port, work, "after-ksk") == []

        # Algorithm rollover: the policy says Ed25519 now; a reload starts it.
        mark = z.mark()
        write_config(z, child_algorithm="ed25519", knot_port=k.port, bind_port=b.port, zones=False)
        z.reload()
        z.wait_log(r"zone example.test: algorithm rollover started", since=mark)
        z.wait_log(r"zone example.test: algorithm rollover: the old DS is withdrawn now", since=mark, timeout=40)
        wait_until(lambda: {a for _, a, _ in child_keys(z.port)} == {15}, 30, what="only Ed25519 keys")
        z.wait_log(r"zone example.test: (ZSK|KSK) \d+ removed[^\n]*\n(.*\n)*.*zone example.test: (ZSK|KSK) \d+ removed",
                   since=mark, timeout=30)
        assert all(d.algorithm == 15 for d in rrset(z.port, CHILD, "DS"))
        time.sleep(1)
        bad = poller.stop()
        rounds, poller = poller.rounds, None
        assert bad == [], bad
        assert rounds >= 10, f"delv polled only {rounds} times"
        bad = viz.stop() + verifier.stop()
        viz_rounds, viz, verifier = viz.rounds, None, None
        print(f"step by step: of the {len(versions)} versions delv saw ({rounds} rounds), "
              f"ldns-verify-zone passed on {len(verified['zoned'])} from zoned and "
              f"{len(verified['knot'])} from Knot; DNSViz judged {len(judged)} ({viz_rounds} rounds)")
        assert bad == [], bad
        assert versions <= verified["zoned"], (sorted(versions), sorted(verified["zoned"]))
        assert len(versions) >= 8 and len(verified["knot"]) >= 6, (versions, verified)
        assert viz_rounds >= 3 and len(judged) >= 3, (viz_rounds, judged)  # 6 here; slower machines fewer
        assert battery_ok(z.port, anchor, PARENT) == []
        text = verify_zone(z.port, work, "after-algorithm")
        # No signature of the old algorithm is left behind.
        assert not re.search(r"\sRRSIG\s+\S+\s+13\s", text), [l for l in text.splitlines() if " 13 " in l][:5]
        assert dnsviz_secure(z.port, work, "after-algorithm") == []

        # The Knot and BIND secondaries followed every step by IXFR; their copies verify.
        served = serial_of(HOST, z.port, zone=CHILD)
        for port in (k.port, b.port):
            wait_serial(HOST, port, served, zone=CHILD, timeout=20)
        # (AXFRs out of Knot are the step-by-step checks' own.)
        assert "AXFR, incoming" not in k.log_since(kmark), k.log_since(kmark)
        assert re.search(r"IXFR", k.log_since(kmark))
        out = z.log_since(zmark)
        assert len(re.findall(r"zone example\.test: IXFR out to", out)) >= 10, out[-3000:]
        # The only AXFRs are this test's own verify_zone calls: three, and those of the
        # step-by-step checks.
        assert not re.search(r"zone example\.test: AXFR-style IXFR out", out), out[-3000:]
        axfrs = len(re.findall(r"zone example\.test: AXFR out", out))
        assert axfrs == 3 + zoned_axfrs[0], (axfrs, zoned_axfrs, out[-3000:])
        verify_zone(k.port, work, "knot-after-rollovers")
        verify_zone(b.port, work, "bind-after-rollovers")
        # The parent was signed all along and kept its own keys.
        assert "parent test" in zonectl(z, "dnssec", "status", CHILD).stdout
    finally:
        for p in (poller, viz, verifier):
            if p:
                p.stop()
        k.cleanup()
        b.cleanup()
        z.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def test_a_rollover_interrupted_by_a_crash_finishes_after_restart():
    work = Path(tempfile.mkdtemp(prefix="rollover-crash-"))
    z = ZonedServer()
    try:
        write_config(z)
        z.start()
        keys0 = serving_with_ds(z)
        ksk0 = [t for t, a, f in keys0 if f == 257]
        anchor = work / "anchor.conf"
        anchor_for(z.port, PARENT, anchor)
        mark = z.mark()
        zonectl(z, "dnssec", "rollover", CHILD, "ksk")
        z.wait_log(r"zone example.test: KSK rollover started", since=mark)
        z.kill()  # SIGKILL in the middle: the new KSK is published, nothing else done
        mark = z.mark()
        z.start()
        wait_until(lambda: serial_of(HOST, z.port, zone=CHILD), 10, what="zoned serves again")
        assert battery_ok(z.port, anchor, PARENT) == []
        z.wait_log(r"zone example.test: KSK %d removed \(its rollover is complete\)" % ksk0[0],
                   since=mark, timeout=30)
        # The step is logged, then committed: the zone follows a moment later.
        wait_until(lambda: len([t for t, a, f in child_keys(z.port) if f == 257]) == 1, 5,
                   what="one KSK served")
        ksk1 = [t for t, a, f in child_keys(z.port) if f == 257]
        assert ksk1 != ksk0
        wait_until(lambda: parent_ds_tags(z.port) == ksk1, 5, what="the parent's DS follows")
        assert battery_ok(z.port, anchor, PARENT) == []
        verify_zone(z.port, work, "after-restart")
    finally:
        z.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def test_ksk_rollover_with_a_parent_elsewhere_waits_for_ds_seen():
    work = Path(tempfile.mkdtemp(prefix="rollover-external-"))
    z = ZonedServer()
    try:
        write_config(z, with_parent=False)
        z.start()
        wait_until(lambda: serial_of(HOST, z.port, zone=CHILD), 10, what="zoned serves the child")
        ksk0 = [t for t, a, f in child_keys(z.port) if f == 257]
        # The first KSK's DS: the operator put it at the parent and says so, once.
        r = zonectl(z, "dnssec", "ds-seen", CHILD)
        assert f"DS of key tag {ksk0[0]} noted as served by the parent" in r.stdout, r.stdout
        r = zonectl(z, "dnssec", "ds-seen", CHILD, check=False)
        assert r.returncode == 1 and "no KSK of example.test waits for its DS" in r.stderr, r.stderr
        zonectl(z, "dnssec", "rollover", CHILD, "ksk")
        z.wait_log(r"zone example.test: KSK rollover started")
        r = zonectl(z, "dnssec", "rollover", CHILD, "ksk", check=False)
        assert r.returncode == 1 and "a KSK rollover is in progress" in r.stderr, r.stderr
        # zonectl dnssec ds prints both DS; the rollover waits for the parent.
        ds = zonectl(z, "dnssec", "ds", CHILD).stdout.strip().splitlines()
        assert len(ds) == 2, ds
        time.sleep(6)
        st = zonectl(z, "dnssec", "status", CHILD).stdout
        assert "waiting for the parent to serve the DS of KSK" in st, st
        assert [t for t, a, f in child_keys(z.port) if f == 257 and t in ksk0] == ksk0
        # The operator saw the DS at the parent.
        mark = z.mark()
        r = zonectl(z, "dnssec", "ds-seen", CHILD)
        assert "noted as served by the parent" in r.stdout
        z.wait_log(r"zone example.test: KSK %d removed \(its rollover is complete\)" % ksk0[0],
                   since=mark, timeout=30)
        wait_until(lambda: len([t for t, a, f in child_keys(z.port) if f == 257]) == 1, 5,
                   what="one KSK served")
        ksk1 = [t for t, a, f in child_keys(z.port) if f == 257]
        assert ksk1 != ksk0
        verify_zone(z.port, work, "after-ds-seen")
    finally:
        z.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def test_check_delegation_reports_cds_mismatch_and_expired_signatures(tmp_path):
    """check-delegation's DNSSEC findings at the child: a CDS that differs from the parent's
    DS (a KSK rollover waiting for the parent) and apex signatures that expired."""
    from test_operations import sign_expired
    child = ZonedServer()
    parent = ZonedServer()
    try:
        write_config(child, with_parent=False)
        cfg = child.config.read_text()
        # Two addresses for the two NS names; CDS/CDNSKEY published; a second child zone
        # signed elsewhere whose signatures expired in 2020.
        cfg = cfg.replace(f"listen: ['{HOST}:{child.port}']",
                          f"listen: ['127.0.0.1:{child.port}', '127.0.0.2:{child.port}']")
        cfg = cfg.replace("    propagation-delay: 1s\n", "    propagation-delay: 1s\n    cds-cdnskey: true\n")
        old = sign_expired("old.test", "$ORIGIN old.test.\n$TTL 300\n@ IN SOA ns1 h 1 3600 600 86400 300\n"
                           "@ IN NS ns1.example.test.\n@ IN NS ns2.example.test.\nwww IN A 192.0.2.9\n",
                           tmp_path)
        child.write_zone("old.test", old)
        cfg += "  - name: old.test\n    file: zones/old.test.zone\n"
        child.config.write_text(cfg)
        child.start()
        wait_until(lambda: serial_of(HOST, child.port, zone=CHILD), 10, what="the child served")
        ds = zonectl(child, "dnssec", "ds", CHILD).stdout.strip()
        parent.write_zone(PARENT, PARENT_TEXT.replace("192.0.2.1", "127.0.0.1").replace("192.0.2.2", "127.0.0.2")
                          + ds.replace(f"{CHILD}. 86400", "example 300") + "\n"
                          + "old IN NS ns1.example\nold IN NS ns2.example\n")
        parent.configure([{"name": PARENT}], database=None)
        parent.config.write_text(parent.config.read_text() + f"    file: zones/{PARENT}.zone\n")
        parent.start()
        wait_until(lambda: serial_of(HOST, parent.port, zone=PARENT), 10, what="the parent served")

        def check(domain):
            return subprocess.run([zonectl_bin(), "check-delegation", domain, "--parent",
                                   f"{HOST}:{parent.port}", "--ns-port", str(child.port)],
                                  capture_output=True, text=True, timeout=60)

        r = check(CHILD)
        assert "CDS" not in r.stdout and "RRSIG" not in r.stdout, r.stdout
        zonectl(child, "dnssec", "rollover", CHILD, "ksk")
        child.wait_log(r"zone example.test: KSK rollover started")
        wait_until(lambda: len(rrset(child.port, CHILD, "CDS")) == 2, 5, what="two CDS")
        r = check(CHILD)
        assert re.search(r"the child's CDS \(key tags \{\d+ \d+\}\) differs from the parent's DS "
                         r"\(\{\d+\}\): a KSK rollover waiting for the parent\?", r.stdout), r.stdout
        r = check("old.test")
        assert r.returncode == 1, r.stdout
        assert re.search(r"RRSIG SOA by key \d+ at \S+ \(127\.0\.0\.[12]:\d+\) expired at 2020-01-01T00:00:00Z",
                         r.stdout), r.stdout
        assert re.search(r"RRSIG DNSKEY by key \d+ at .* expired", r.stdout), r.stdout
    finally:
        parent.cleanup()
        child.cleanup()


def test_host_of_a_signed_child_delegates_with_its_ds_in_one_commit(tmp_path):
    """zonectl host --dnssec-policy: the child is made and signed here; the delegation from
    the signed parent carries NS, glue and the child's DS in one commit (one parent serial),
    and the child validates from the parent's trust anchor."""
    from test_catalog import port_free_on
    A1, A2 = "127.0.0.31", "127.0.0.32"
    port = port_free_on([A1, A2])
    z = ZonedServer()
    z.host, z.port = A1, port
    try:
        write_config(z)
        cfg = z.config.read_text().replace(f"listen: ['{HOST}:{port}']", f"listen: ['{A1}:{port}', '{A2}:{port}']")
        z.config.write_text(cfg)
        z.start()
        wait_until(lambda: serial_of(A1, port, zone=PARENT), 10, what="the parent served")
        # The parent first takes example.test's DS (a commit of its own): wait for it, so that
        # the serial read here is the one the delegation starts from.
        wait_until(lambda: dns.query.tcp(dns.message.make_query(CHILD, "DS"), A1, port=port,
                                         timeout=3).answer, 10, what="example.test's DS in the parent")
        before = serial_of(A1, port, zone=PARENT)
        child = "shop.test"
        r = subprocess.run([zonectl_bin(), "--config", str(z.config), "host", child,
                            "--ns", f"ns1.{child}={A1}", "--ns", f"ns2.{child}={A2}",
                            "--ns-port", str(port), "--dnssec-policy", "fast", "--timeout", "20"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert re.search(r"\+ shop\.test\. \d+ IN DS \d+ 13 2 [0-9a-f]{64}", r.stdout), r.stdout
        # One commit: NS, glue and DS arrived together, one serial after the one before (zoned
        # may then move the DS TTL to the policy's ds-ttl in a commit of its own).
        assert f"done: {child} delegated from zone {PARENT} (serial {before + 1})" in r.stdout, r.stdout
        assert re.search(r"\+ shop\.test\. \d+ IN NS ns1\.shop\.test\.", r.stdout), r.stdout
        assert re.search(r"\+ ns1\.shop\.test\. \d+ IN A 127\.0\.0\.31", r.stdout), r.stdout
        q = dns.query.tcp(dns.message.make_query(child, "DNSKEY", want_dnssec=True), A1, port=port, timeout=3)
        ksks = [k for s in q.answer if s.rdtype == dns.rdatatype.DNSKEY for k in s if k.flags == 257]
        q = dns.query.tcp(dns.message.make_query(child, "DS", want_dnssec=True), A1, port=port, timeout=3)
        ds = [d for s in q.answer if s.rdtype == dns.rdatatype.DS for d in s]
        assert len(ksks) == 1 and [d.to_text() for d in ds] == [
            dns.dnssec.make_ds(dns.name.from_text(child), ksks[0], "SHA256").to_text()]
        q = dns.query.tcp(dns.message.make_query(PARENT, "DNSKEY"), A1, port=port, timeout=3)
        k = [k for s in q.answer for k in s if k.flags == 257][0]
        anchor = tmp_path / "anchor.conf"
        anchor.write_text('trust-anchors {\n  test. static-key %d %d %d "%s";\n};\n'
                          % (k.flags, k.protocol, k.algorithm, base64.b64encode(k.key).decode()))
        for name, rdtype, status in [(child, "SOA", "; fully validated"),
                                     (f"ns1.{child}", "A", "; fully validated"),
                                     (f"nope.{child}", "A", "; negative response, fully validated")]:
            out = subprocess.run(["delv", f"@{A1}", "-p", str(port), "-a", str(anchor), "+root=test",
                                  "+nomtrace", "+norrcomments", name, rdtype],
                                 capture_output=True, text=True, timeout=30)
            assert status in out.stdout + out.stderr, out.stdout + out.stderr
    finally:
        z.cleanup()


@pytest.mark.parametrize("algorithm", ["ECDSAP256SHA256", "ED25519"])
def test_keys_of_a_zone_signed_by_bind_are_taken_over_without_going_insecure(tmp_path, algorithm):
    """Migration: a zone signed by BIND's tools (dnssec-keygen, dnssec-signzone) is served
    pre-signed; zonectl dnssec import-bind takes its keys, the zone gets a dnssec-policy, and
    zoned signs it with the same keys: same DNSKEY set, the old trust anchor (and so the
    parent's DS) still validates."""
    if not (shutil.which("dnssec-keygen") and shutil.which("dnssec-signzone")):
        pytest.skip("needs bind9-utils")
    keydir = tmp_path / "bind-keys"
    keydir.mkdir()

    def run(*a):
        return subprocess.run(a, cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60).stdout.strip()

    ksk = run("dnssec-keygen", "-q", "-a", algorithm, "-f", "KSK", "-K", str(keydir), CHILD)
    zsk = run("dnssec-keygen", "-q", "-a", algorithm, "-K", str(keydir), CHILD)
    (tmp_path / "in.zone").write_text(CHILD_TEXT)
    run("dnssec-signzone", "-S", "-K", str(keydir), "-o", CHILD, "-f", str(tmp_path / "signed.zone"),
        str(tmp_path / "in.zone"))
    z = ZonedServer()
    try:
        write_config(z, child_algorithm=algorithm.lower(), with_parent=False)
        policy_line = "    dnssec-policy: fast\n"
        with_policy = z.config.read_text()
        assert policy_line in with_policy
        z.config.write_text(with_policy.replace(policy_line, ""))
        z.write_zone(CHILD, (tmp_path / "signed.zone").read_text())
        z.start()
        wait_until(lambda: serial_of(HOST, z.port, zone=CHILD), 10, what="the BIND-signed zone served")
        bind_keys = child_keys(z.port)
        anchor = tmp_path / "anchor.conf"
        anchor_for(z.port, CHILD, anchor)
        assert battery_ok(z.port, anchor, CHILD, DELV_CASES[:3]) == []

        r = zonectl(z, "dnssec", "import-bind", CHILD, str(keydir / f"{ksk}.private"), str(keydir / f"{zsk}.key"))
        assert r.stdout.count("imported") == 2, r.stdout
        pems = list((z.dir / "var" / "keys" / CHILD).glob("*.pem"))
        assert len(pems) == 2 and all((p.stat().st_mode & 0o777) == 0o600 for p in pems)
        # A second import is refused: zoned has keys for the zone now.
        r = zonectl(z, "dnssec", "import-bind", CHILD, str(keydir / f"{ksk}.private"), check=False)
        assert r.returncode == 1 and "already has keys" in r.stderr, r.stderr

        mark = z.mark()
        z.write_zone(CHILD, CHILD_TEXT.replace("2024010101", "2024010102"))
        z.config.write_text(with_policy)
        z.reload()
        z.wait_log(r"zone example.test: signed serial \d+", since=mark)
        assert "generated" not in z.log_since(mark), z.log_since(mark)
        wait_until(lambda: serial_of(HOST, z.port, zone=CHILD) != 2024010101, 5, what="the zoned-signed version served")
        assert child_keys(z.port) == bind_keys
        assert battery_ok(z.port, anchor, CHILD) == []
        verify_zone(z.port, tmp_path, "taken-over")
    finally:
        z.cleanup()


def test_import_bind_refuses_a_key_that_is_not_the_zones(tmp_path):
    keydir = tmp_path / "k"
    keydir.mkdir()
    if not shutil.which("dnssec-keygen"):
        pytest.skip("needs bind9-utils")
    other = subprocess.run(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-f", "KSK", "-K", str(keydir),
                            "other.test"], capture_output=True, text=True, check=True).stdout.strip()
    z = ZonedServer()
    write_config(z, with_parent=False)
    r = zonectl(z, "dnssec", "import-bind", CHILD, str(keydir / f"{other}.private"), check=False)
    assert r.returncode == 2 and "not a key of example.test" in r.stderr, r.stderr
    # A private key that does not belong to its .key file.
    ksk = subprocess.run(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-f", "KSK", "-K", str(keydir),
                          CHILD], capture_output=True, text=True, check=True).stdout.strip()
    zsk = subprocess.run(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-K", str(keydir),
                          CHILD], capture_output=True, text=True, check=True).stdout.strip()
    priv = (keydir / f"{zsk}.private").read_text()
    (keydir / f"{ksk}.private").write_text(priv)
    r = zonectl(z, "dnssec", "import-bind", CHILD, str(keydir / f"{ksk}.private"), check=False)
    assert r.returncode == 1 and "does not belong to the public key" in r.stderr, r.stderr
    assert not (z.dir / "var" / "keys" / CHILD / "state.json").exists()


def test_going_insecure_withdraws_the_ds_before_the_signatures():
    """dnssec-policy with insecure: true: CDS/CDNSKEY delete form, the DS removed from the
    parent served here, and only ds-ttl after that the child is served unsigned. delv from the
    parent's trust anchor finds every answer either fully validated or unsigned, never bogus."""
    work = Path(tempfile.mkdtemp(prefix="rollover-insecure-"))
    z = ZonedServer()
    try:
        write_config(z)
        z.start()
        ksk0 = [t for t, a, f in serving_with_ds(z) if f == 257]
        anchor = work / "anchor.conf"
        anchor_for(z.port, PARENT, anchor)
        cases = [("www.example.test", "A"), ("nope.example.test", "A"), ("example.test", "SOA")]
        seen, bad, stop = set(), [], threading.Event()

        def poll():
            while not stop.is_set():
                for name, rdtype in cases:
                    out = delv(z.port, anchor, PARENT, name, rdtype)
                    state = ("validated" if "fully validated" in out else
                             "unsigned" if "unsigned answer" in out else "other")
                    seen.add(state)
                    if state == "other" or "bogus" in out.lower():
                        bad.append(out)
        t = threading.Thread(target=poll, daemon=True)
        t.start()
        wait_until(lambda: "validated" in seen, 30, what="delv validating before the change")
        mark = z.mark()
        cfg = z.config.read_text().replace("  - name: fast\n", "  - name: unsign\n    insecure: true\n"
                                           + FAST + "  - name: fast\n")
        z.config.write_text(cfg.replace("    dnssec-policy: fast\n    allow-transfer", "    dnssec-policy: unsign\n    allow-transfer"))
        z.reload()
        z.wait_log(r"zone example.test: going insecure: the DS is withdrawn", since=mark)
        # The step is logged when it is taken; the version with the delete form is committed
        # right after it.
        delete_form = lambda: ([r.to_text() for r in rrset(z.port, CHILD, "CDS")],
                               [r.to_text() for r in rrset(z.port, CHILD, "CDNSKEY")])
        wait_until(lambda: delete_form() == (["0 0 0 00"], ["0 3 0 AA=="]), 5,
                   what="CDS/CDNSKEY in the delete form")
        wait_until(lambda: parent_ds_tags(z.port) == [], 5, what="the DS gone from the parent")
        assert child_keys(z.port), "still signed while caches may hold the DS"
        z.wait_log(r"zone example.test: insecure: the zone is served unsigned from now on", since=mark, timeout=30)
        wait_until(lambda: child_keys(z.port) == [], 5, what="no DNSKEY any more")
        time.sleep(1)
        stop.set()
        t.join(timeout=60)
        assert bad == [], bad[:3]
        assert seen == {"validated", "unsigned"}, seen
        r = dns.query.tcp(dns.message.make_query("www.example.test", "A", want_dnssec=True), HOST,
                          port=z.port, timeout=3)
        assert r.answer and all(s.rdtype != dns.rdatatype.RRSIG for s in r.answer)
        assert not list((z.dir / "var" / "keys" / CHILD).glob("*.pem")), "key files deleted"
    finally:
        z.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def test_parental_agents_are_asked_for_the_ds_during_a_ksk_rollover():
    """A parent elsewhere (another zoned here) named in parental-agents: zoned asks it for the
    child's DS and takes the KSK rollover's next step only once it serves the new DS."""
    parent = ZonedServer()
    z = ZonedServer()
    try:
        write_config(z, with_parent=False)
        cfg = z.config.read_text().replace("policies:\n", f"""remotes:
  - name: parent-srv
    address: "{HOST}:{parent.port}"
policies:
""").replace("    dnssec-policy: fast\n", "    dnssec-policy: fast\n    parental-agents: [parent-srv]\n")
        z.config.write_text(cfg)
        z.start()
        wait_until(lambda: serial_of(HOST, z.port, zone=CHILD), 10, what="the child served")
        ksk0 = [t for t, a, f in child_keys(z.port) if f == 257]

        def parent_with_ds(serial):
            ds = zonectl(z, "dnssec", "ds", CHILD).stdout.strip().splitlines()
            text = PARENT_TEXT.replace("hostmaster 1 ", f"hostmaster {serial} ")
            return text + "".join(l.replace(f"{CHILD}. 86400", "example 3") + "\n" for l in ds)

        parent.write_zone(PARENT, parent_with_ds(1))
        parent.configure([{"name": PARENT}], database=None)
        parent.config.write_text(parent.config.read_text() + f"    file: zones/{PARENT}.zone\n")
        parent.start()
        z.wait_log(r"zone example.test: the parental agents serve the DS of key tag %d" % ksk0[0], timeout=15)

        mark = z.mark()
        zonectl(z, "dnssec", "rollover", CHILD, "ksk")
        z.wait_log(r"zone example.test: KSK rollover started", since=mark)
        time.sleep(5)  # several asks: the parent does not serve the new DS
        st = zonectl(z, "dnssec", "status", CHILD).stdout
        assert "waiting for the parent to serve the DS of KSK" in st, st
        assert re.search(r"parental agents: parent-srv \(1 DS\) at \S+Z", st), st
        assert "removed (its rollover is complete)" not in z.log_since(mark)
        # The parent gets the new DS (the operator, or a registrar, put it there).
        parent.write_zone(PARENT, parent_with_ds(2))
        parent.reload()
        wait_until(lambda: len(parent_ds_tags(parent.port)) == 2, 10, what="the parent serves both DS")
        z.wait_log(r"zone example.test: the parental agents serve the DS of key tag", since=mark, timeout=15)
        z.wait_log(r"zone example.test: KSK %d removed \(its rollover is complete\)" % ksk0[0],
                   since=mark, timeout=30)
    finally:
        parent.cleanup()
        z.cleanup()


def test_a_parent_edited_without_the_ds_gets_it_back():
    """The parent's zone file rewritten without the child's DS and reloaded: zoned puts the DS
    the child's keys call for back within seconds (it checks the parent now and then)."""
    z = ZonedServer()
    try:
        write_config(z)
        z.start()
        ksk0 = [t for t, a, f in serving_with_ds(z) if f == 257]
        # Once the DS is written back to the parent's file, the operator's old copy of that
        # file (without the DS) comes back.
        z.wait_log(r"zone test: zone file \S+ updated to serial")
        mark = z.mark()
        z.write_zone(PARENT, PARENT_TEXT.replace("hostmaster 1 ", "hostmaster 100 "))
        z.reload()
        wait_until(lambda: serial_of(HOST, z.port, zone=PARENT) >= 100, 10, what="the edited parent served")
        wait_until(lambda: parent_ds_tags(z.port) == ksk0, 15, what="the DS put back")
        z.wait_log(r"zone example\.test: DS set in parent test updated \(1 DS\)", since=mark)
    finally:
        z.cleanup()
