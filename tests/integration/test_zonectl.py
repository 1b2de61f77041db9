"""zonectl as an operator uses it, against real processes on loopback.

- A primary zoned for e2e.test (control socket, database, NOTIFY + TSIG transfers to a
  secondary zoned), a child zoned serving shop.e2e.test and lab.e2e.test on 127.0.0.151-153
  port 53 (nameservers are reached on port 53, as in real life): delegate / undelegate /
  delegations / status / reload / notify / refresh / retransfer, the preflight refusals and
  bad input.
- A parent zoned for ctl.test with purpose-built delegations, each broken in one way, whose
  children are served by zoned, NSD and Knot on 127.0.0.171-175 port 53: check-delegation.
"""
import re
import shutil
import tempfile
from pathlib import Path

import dns.rcode
import dns.rdatatype
import pytest

from conftest import free_port
from zonectl_helpers import (TSIG_SECRET, Peer, ZonedServer, ask, child_zoned, port53_free,
                             referral, sign_zone, soa_serial, wait_until, wrong_ds, zonectl,
                             zonectl_json)

# Addresses of the child nameservers (port 53).
E2E_NS1, E2E_NS2, E2E_NS3 = "127.0.0.151", "127.0.0.152", "127.0.0.153"
E2E_DEAD1, E2E_DEAD2 = "127.0.0.158", "127.0.0.159"  # nothing listens there
CD1, CD2, CD_LAG1, CD_LAG2, CD_KNOT = ("127.0.0.171", "127.0.0.172", "127.0.0.173",
                                       "127.0.0.174", "127.0.0.175")
CD_DEAD = "127.0.0.179"  # nothing listens there

PARENT_SERIAL = 2024010101

PARENT_ZONE = f"""\
; e2e.test: the parent zone. Comments and other records must survive zonectl's edits.
$ORIGIN e2e.test.
$TTL 300
@       IN SOA  ns1.e2e.test. hostmaster.e2e.test. (
                {PARENT_SERIAL} ; serial
                3600 600 86400 60 )
        IN NS   ns1
        IN NS   ns2
ns1     IN A    127.0.0.1
ns2     IN A    127.0.0.1
www     IN A    192.0.2.80   ; the web server
        IN TXT  "keep me"
; a name that is an alias: no NS may point at it
nsalias IN CNAME ns1
; legacy: delegated by hand, over several lines
legacy  IN NS   ns1.legacy
        IN NS   ns2.legacy
        IN DS   12345 13 2 (
                0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF )
ns1.legacy IN A 192.0.2.51
ns2.legacy IN A 192.0.2.52
        IN TXT  "below the cut"
after   IN A    192.0.2.90   ; after the legacy delegation
"""

SHOP_ZONE = f"""\
$ORIGIN shop.e2e.test.
$TTL 300
@       IN SOA  ns1 hostmaster 7 3600 600 86400 60
        IN NS   ns1
        IN NS   ns2
ns1     IN A    {E2E_NS1}
ns2     IN A    {E2E_NS2}
ns3     IN A    {E2E_NS3}
www     IN A    192.0.2.81
"""

LAB_ZONE = f"""\
$ORIGIN lab.e2e.test.
$TTL 300
@       IN SOA  ns1 hostmaster 3 3600 600 86400 60
        IN NS   ns1
        IN NS   ns2
ns1     IN A    {E2E_NS1}
ns2     IN A    {E2E_NS2}
"""


def primary_config(secondary_port):
    return (
        "server:\n"
        '  listen: ["{host}:{port}"]\n'
        "  workers: 2\n"
        "  log-level: debug\n"
        "  control: ctl.sock\n"
        "  database: var/primary.db\n"
        f"keys:\n  - name: xfr-key\n    secret: \"{TSIG_SECRET}\"\n"
        f"remotes:\n  - name: secondary-1\n    address: \"127.0.0.1:{secondary_port}\"\n"
        "    key: xfr-key\n"
        "zones:\n"
        "  - name: e2e.test\n    file: zones/e2e.test.zone\n"
        "    notify: [secondary-1]\n    allow-transfer: [secondary-1]\n")


def secondary_config(primary_port):
    return (
        "server:\n"
        '  listen: ["{host}:{port}"]\n'
        "  workers: 2\n"
        "  log-level: debug\n"
        "  control: ctl.sock\n"
        "  database: var/secondary.db\n"
        f"keys:\n  - name: xfr-key\n    secret: \"{TSIG_SECRET}\"\n"
        f"remotes:\n  - name: primary\n    address: \"127.0.0.1:{primary_port}\"\n"
        "    key: xfr-key\n"
        "zones:\n"
        "  - name: e2e.test\n    primaries: [primary]\n")


class World:
    pass


@pytest.fixture(scope="module")
def e2e():
    for a in (E2E_NS1, E2E_NS2, E2E_NS3, E2E_DEAD1, E2E_DEAD2):
        if not port53_free(a):
            pytest.skip(f"{a}:53 is in use")
    w = World()
    w.tmp = Path(tempfile.mkdtemp(prefix="zonectl-e2e-"))
    shop_signed, w.shop_ds = sign_zone("shop.e2e.test", SHOP_ZONE, w.tmp / "shop")
    lab_signed, w.lab_ds = sign_zone("lab.e2e.test", LAB_ZONE, w.tmp / "lab")
    pport, sport = free_port(), free_port()
    w.primary = ZonedServer({"e2e.test": PARENT_ZONE}, primary_config(sport), port=pport)
    w.secondary = ZonedServer({}, secondary_config(pport), port=sport, probe="e2e.test")
    w.child = child_zoned({"shop.e2e.test": shop_signed, "lab.e2e.test": lab_signed},
                          [E2E_NS1, E2E_NS2, E2E_NS3])
    started = []
    try:
        for s in (w.child, w.primary, w.secondary):
            s.start()
            started.append(s)
        w.cfg = str(w.primary.config)
        w.sec_cfg = str(w.secondary.config)
        w.file = w.primary.zone_path("e2e.test")
        assert wait_until(lambda: soa_serial("127.0.0.1", sport, "e2e.test") == PARENT_SERIAL,
                          15), w.secondary.log()
        yield w
    finally:
        for s in started:
            s.cleanup()
        shutil.rmtree(w.tmp, ignore_errors=True)


def served_serial(w, server=None):
    s = server or w.primary
    return soa_serial(s.host, s.port, "e2e.test")


def unchanged(w):
    """A snapshot of what must not change: (file bytes, served serial)."""
    return w.file.read_bytes(), served_serial(w)


# --------------------------------------------------------------------------- 1. end to end

def test_delegate_dry_run_changes_nothing(e2e):
    before = unchanged(e2e)
    r = zonectl("--config", e2e.cfg, "delegate", "shop.e2e.test", "--ns",
                f"ns1.shop.e2e.test={E2E_NS1}", "--ns", f"ns2.shop.e2e.test={E2E_NS2}",
                "--ds", e2e.shop_ds, "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "dry run: nothing changed" in r.stdout
    assert re.search(r"^\+ shop\.e2e\.test\. 3600 IN NS ns1\.shop\.e2e\.test\.$", r.stdout, re.M), r.stdout
    assert f"+ ns2.shop.e2e.test. 3600 IN A {E2E_NS2}" in r.stdout
    assert unchanged(e2e) == before
    assert referral(e2e.primary.host, e2e.primary.port, "www.shop.e2e.test")[0] == set()


def test_undelegate_a_hand_written_delegation(e2e):
    serial = served_serial(e2e)
    r = zonectl("--config", e2e.cfg, "undelegate", "legacy.e2e.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"now at serial {serial + 1}" in r.stdout
    for line in ("- legacy.e2e.test. 300 IN NS ns1.legacy.e2e.test.",
                 "- legacy.e2e.test. 300 IN DS 12345 13 2 0123456789abcdef",
                 "- ns2.legacy.e2e.test. 300 IN A 192.0.2.52"):
        assert line in r.stdout, r.stdout
    assert "TXT" not in r.stdout  # only NS, DS and glue go
    text = e2e.file.read_text()
    assert not re.search(r"^legacy\s+IN", text, re.M), text
    assert "ns1.legacy" not in text and "192.0.2.5" not in text, text
    assert "DS" not in text and "0123456789ABCDEF )" not in text, text
    assert "; legacy: delegated by hand" in text
    assert "after   IN A    192.0.2.90   ; after the legacy delegation" in text
    # The TXT that borrowed its owner from a removed line keeps its owner.
    assert re.search(r'^ns2\.legacy\s+IN TXT\s+"below the cut"$', text, re.M), text
    # The multi-line SOA keeps its lines and comments; only the serial digits changed.
    assert f"                {serial + 1} ; serial\n                3600 600 86400 60 )\n" \
        "        IN NS   ns1\n        IN NS   ns2\n" in text, text
    t = ask(e2e.primary.host, e2e.primary.port, "ns2.legacy.e2e.test", "TXT")
    assert t.rcode() == dns.rcode.NOERROR and t.answer and "below the cut" in t.answer[0].to_text()
    sec = e2e.secondary
    assert wait_until(lambda: soa_serial(sec.host, sec.port, "e2e.test") == serial + 1, 10), sec.log()
    assert referral(sec.host, sec.port, "www.legacy.e2e.test")[0] == set()


def test_delegate_reaches_secondary_and_file(e2e):
    r = zonectl("--config", e2e.cfg, "delegate", "shop.e2e.test", "--ns",
                f"ns1.shop.e2e.test={E2E_NS1}", "--ns", f"ns2.shop.e2e.test={E2E_NS2}",
                "--ds", e2e.shop_ds)
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"done: zone e2e.test now at serial {PARENT_SERIAL + 2}" in r.stdout
    # All in one /24: a warning, not a refusal.
    assert "warning:" in r.stderr and "127.0.0.0/24" in r.stderr
    want_ns = {"ns1.shop.e2e.test.", "ns2.shop.e2e.test."}
    want_glue = {"ns1.shop.e2e.test.": {E2E_NS1}, "ns2.shop.e2e.test.": {E2E_NS2}}
    # The secondary gets it by NOTIFY + IXFR.
    sec = e2e.secondary
    assert wait_until(lambda: referral(sec.host, sec.port, "www.shop.e2e.test")[0] == want_ns,
                      10), sec.log()
    assert referral(sec.host, sec.port, "www.shop.e2e.test") == (want_ns, want_glue)
    assert soa_serial(sec.host, sec.port, "e2e.test") == PARENT_SERIAL + 2
    assert "IXFR in from primary" in sec.log()
    ds = ask(sec.host, sec.port, "shop.e2e.test", "DS")
    assert ds.answer and ds.answer[0][0].to_text().upper() == e2e.shop_ds.upper(), ds
    # The file: the new records, and everything else kept (comments too).
    text = e2e.file.read_text()
    # Appended in the file's style: relative owners in its column, one owner per group.
    assert re.search(r"^; added by zoned \S+Z \(serial %d\)\n"
                     r"shop    3600 IN NS ns1\.shop\.e2e\.test\.\n"
                     r"        3600 IN NS ns2\.shop\.e2e\.test\.\n"
                     r"        3600 IN DS \d+ 13 2 \w+\n"
                     r"ns1\.shop 3600 IN A %s\n"
                     r"ns2\.shop 3600 IN A %s\n" % (PARENT_SERIAL + 2, re.escape(E2E_NS1),
                                                     re.escape(E2E_NS2)), text, re.M), text
    assert f"                {PARENT_SERIAL + 2} ; serial\n" in text, text
    for kept in ("; e2e.test: the parent zone.", "www     IN A    192.0.2.80   ; the web server",
                 '        IN TXT  "keep me"', "; a name that is an alias", "nsalias IN CNAME ns1"):
        assert kept in text, text
    # zonectl check-zone agrees that the rewritten file is a good zone.
    c = zonectl("check-zone", e2e.file)
    assert c.returncode == 0, c.stdout
    # And the healthy delegation passes check-delegation (parent = this zoned, via --config).
    c = zonectl("--config", e2e.cfg, "check-delegation", "shop.e2e.test")
    print(c.stdout)
    assert c.returncode == 0, c.stdout + c.stderr
    assert "no problems found for shop.e2e.test." in c.stdout


def test_the_same_delegation_again_changes_nothing(e2e):
    before = unchanged(e2e)
    r = zonectl("--config", e2e.cfg, "delegate", "shop.e2e.test", "--ns",
                f"ns1.shop.e2e.test={E2E_NS1}", "--ns", f"ns2.shop.e2e.test={E2E_NS2}",
                "--ds", e2e.shop_ds)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"nothing to change: zone e2e.test stays at serial {before[1]}" in r.stdout, r.stdout
    assert "done:" not in r.stdout and "SOA" not in r.stdout
    assert unchanged(e2e) == before


def test_a_file_edited_since_the_last_load_is_not_overwritten(e2e):
    """Regression (an operator's first days, 2): the refusal said only "the edited zone file
    would not hold the expected zone"; it must say that the file changed and how."""
    before = unchanged(e2e)
    text = e2e.file.read_text()
    lines = text.splitlines()
    e2e.file.write_text(text + "handmade IN A 192.0.2.97\n")
    try:
        r = zonectl("--config", e2e.cfg, "delegate", "lab.e2e.test", "--ns",
                    f"ns1.lab.e2e.test={E2E_NS1}", "--ns", f"ns2.lab.e2e.test={E2E_NS2}")
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"zone file {e2e.file} changed since it was loaded: reload first" in r.stderr, r.stderr
        assert f"+ handmade.e2e.test. 300 IN A 192.0.2.97 (line {len(lines) + 1})" in r.stderr, r.stderr
        assert e2e.file.read_text() == text + "handmade IN A 192.0.2.97\n"
        assert served_serial(e2e) == before[1]
    finally:
        e2e.file.write_bytes(before[0])
    assert unchanged(e2e) == before


def test_redelegate_replaces_ns_and_drops_unused_glue(e2e):
    r = zonectl("--config", e2e.cfg, "delegate", "shop.e2e.test", "--ns",
                f"ns1.shop.e2e.test={E2E_NS1}", "--ns", f"ns3.shop.e2e.test={E2E_NS3}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"- ns2.shop.e2e.test. 3600 IN A {E2E_NS2}" in r.stdout
    assert "- shop.e2e.test. 3600 IN DS" in r.stdout  # no --ds: the DS goes too
    want_ns = {"ns1.shop.e2e.test.", "ns3.shop.e2e.test."}
    sec = e2e.secondary
    assert wait_until(lambda: referral(sec.host, sec.port, "www.shop.e2e.test")[0] == want_ns,
                      10), sec.log()
    assert referral(sec.host, sec.port, "www.shop.e2e.test")[1] == {
        "ns1.shop.e2e.test.": {E2E_NS1}, "ns3.shop.e2e.test.": {E2E_NS3}}
    text = e2e.file.read_text()
    assert "ns2.shop.e2e.test" not in text and E2E_NS2 not in text, text
    assert f"ns3.shop 3600 IN A {E2E_NS3}" in text
    assert "DS" not in text
    # The old glue name is gone from the secondary's answers too.
    r2 = ask(sec.host, sec.port, "ns2.shop.e2e.test", "A")
    assert not any(rr.name.to_text() == "ns2.shop.e2e.test." for rr in r2.answer + r2.additional), r2


def test_delegations_lists_cuts(e2e):
    r = zonectl("--config", e2e.cfg, "delegations", "e2e.test")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["CHILD", "TTL", "NS", "GLUE", "DS"]
    row = [l for l in lines if l.startswith("shop.e2e.test.")]
    assert row and f"ns1.shop.e2e.test.={E2E_NS1}" in row[0] and f"ns3.shop.e2e.test.={E2E_NS3}" in row[0]
    r, j = zonectl_json("--config", e2e.cfg, "delegations", "e2e.test")
    assert r.returncode == 0 and j["ok"] and j["zone"] == "e2e.test"
    (d,) = [d for d in j["delegations"] if d["child"] == "shop.e2e.test."]
    assert sorted(d["ns"]) == ["ns1.shop.e2e.test.", "ns3.shop.e2e.test."]
    assert d["ttl"] == 3600 and d["ds"] == []
    assert sorted(d["glue"]) == [f"ns1.shop.e2e.test. 3600 IN A {E2E_NS1}",
                                 f"ns3.shop.e2e.test. 3600 IN A {E2E_NS3}"]


def test_undelegate_removes_ns_ds_and_glue(e2e):
    # Put the DS back first, so that undelegate has NS, DS and glue to remove.
    r = zonectl("--config", e2e.cfg, "delegate", "shop.e2e.test", "--ns",
                f"ns1.shop.e2e.test={E2E_NS1}", "--ns", f"ns2.shop.e2e.test={E2E_NS2}",
                "--ds", e2e.shop_ds)
    assert r.returncode == 0, r.stdout + r.stderr
    serial = served_serial(e2e)
    sec = e2e.secondary
    assert wait_until(lambda: soa_serial(sec.host, sec.port, "e2e.test") == serial, 10)
    before = e2e.file.read_text()
    assert "DS" in before
    r = zonectl("--config", e2e.cfg, "undelegate", "shop.e2e.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"now at serial {serial + 1}" in r.stdout
    assert wait_until(lambda: soa_serial(sec.host, sec.port, "e2e.test") == serial + 1, 10), sec.log()
    for s in (e2e.primary, sec):
        a = ask(s.host, s.port, "www.shop.e2e.test", "A")
        assert a.rcode() == dns.rcode.NXDOMAIN and not any(
            rr.rdtype == dns.rdatatype.NS for rr in a.authority), a
        for name, t in (("shop.e2e.test", "DS"), ("ns1.shop.e2e.test", "A"), ("ns2.shop.e2e.test", "A")):
            assert ask(s.host, s.port, name, t).rcode() == dns.rcode.NXDOMAIN
    text = e2e.file.read_text()
    assert "shop" not in text, text
    assert "; added by zoned" not in text  # the marker of the removed records went with them
    assert "www     IN A    192.0.2.80   ; the web server" in text
    j = zonectl_json("--config", e2e.cfg, "delegations", "e2e.test")[1]
    assert [d["child"] for d in j["delegations"]] == []
    # Undelegating what is not delegated: refused, nothing changed.
    before = unchanged(e2e)
    r = zonectl("--config", e2e.cfg, "undelegate", "shop.e2e.test")
    assert r.returncode == 1 and "not delegated" in r.stderr, r.stderr
    assert unchanged(e2e) == before


def test_status_shows_the_secondary_current(e2e):
    serial = served_serial(e2e)
    sec = e2e.secondary
    assert wait_until(lambda: soa_serial(sec.host, sec.port, "e2e.test") == serial, 10)
    # zoned checks its secondaries itself (a second after each NOTIFY is acknowledged);
    # status reports what it saw, without asking anyone.
    assert wait_until(lambda: zonectl("--config", e2e.cfg, "status").stdout.rstrip()
                      .endswith("current"), 10)
    r = zonectl("--config", e2e.cfg, "status")
    assert r.returncode == 0, r.stdout + r.stderr
    row = [l for l in r.stdout.splitlines() if "secondary-1" in l]
    assert row and f"127.0.0.1:{sec.port}" in row[0] and str(serial) in row[0] \
        and row[0].endswith("current"), r.stdout
    r, j = zonectl_json("--config", e2e.cfg, "status")
    (z,) = j["zones"]
    assert z["name"] == "e2e.test" and z["role"] == "primary" and z["serial"] == serial
    # The last change was the undelegation: status says so, with the serial it made.
    assert z["last_result"] == f"zonectl undelegate shop.e2e.test., serial {serial}", z
    (n,) = z["notify"]
    assert n["answered"] and n["serial"] == serial and n["behind"] == 0
    # The secondary's own view: its primary and its serial.
    r, j = zonectl_json("--config", e2e.sec_cfg, "status")
    assert r.returncode == 0
    (z,) = j["zones"]
    assert z["role"] == "secondary" and z["serial"] == serial and z["next_refresh"]
    assert z["primaries"][0]["serial"] == serial


def test_reload_notify_refresh_retransfer(e2e):
    sec = e2e.secondary
    serial = served_serial(e2e)
    # reload: a hand edit of the file with a new serial is served and reaches the secondary.
    text = e2e.file.read_text()
    e2e.file.write_text(text.replace(str(serial), str(serial + 1), 1) + "hand IN A 192.0.2.99\n")
    r = zonectl("--config", e2e.cfg, "reload", "e2e.test")
    assert r.returncode == 0 and f"e2e.test: loaded serial {serial + 1}" in r.stdout, r.stdout + r.stderr
    assert wait_until(lambda: soa_serial(sec.host, sec.port, "e2e.test") == serial + 1, 10), sec.log()
    assert ask(sec.host, sec.port, "hand.e2e.test", "A").answer
    # A reload says what it did in one line; unchanged zones are only counted.
    r = zonectl("--config", e2e.cfg, "reload")
    assert r.returncode == 0 and "loaded 0, unchanged 1, failed 0" in r.stdout, r.stdout
    assert "e2e.test:" not in r.stdout, r.stdout
    # notify
    n_before = sec.log().count("NOTIFY from")
    r = zonectl("--config", e2e.cfg, "notify", "e2e.test")
    assert r.returncode == 0 and f"NOTIFY for serial {serial + 1} sent to 1 remote(s)" in r.stdout, r.stdout
    assert wait_until(lambda: sec.log().count("NOTIFY from") > n_before, 5), sec.log()
    # refresh / retransfer on the secondary: retransfer is a full AXFR.
    r = zonectl("--config", e2e.sec_cfg, "refresh", "e2e.test")
    assert r.returncode == 0 and "refresh scheduled" in r.stdout, r.stdout
    axfr_before = sec.log().count("AXFR in from primary")
    r = zonectl("--config", e2e.sec_cfg, "retransfer", "e2e.test")
    assert r.returncode == 0 and "full transfer (AXFR) scheduled" in r.stdout, r.stdout
    axfr = f"AXFR in from primary (127.0.0.1:{e2e.primary.port}): serial {serial + 1} -> {serial + 1}"
    assert wait_until(lambda: sec.log().count("AXFR in from primary") > axfr_before, 10), sec.log()
    assert axfr in sec.log()
    # Verbs that do not fit the zone's role: a clear refusal.
    r = zonectl("--config", e2e.cfg, "retransfer", "e2e.test")
    assert r.returncode == 1 and "is a primary zone" in r.stderr, r.stderr
    r = zonectl("--config", e2e.sec_cfg, "reload", "e2e.test")
    assert r.returncode == 1 and "is a secondary" in r.stderr, r.stderr


def test_status_exit_1_while_the_secondary_is_unreachable(e2e):
    sec = e2e.secondary
    sec.stop()
    try:
        # A NOTIFY that is not acknowledged makes zoned look at the secondary at once.
        assert zonectl("--config", e2e.cfg, "notify", "e2e.test").returncode == 0
        assert wait_until(lambda: zonectl("--config", e2e.cfg, "status").returncode == 1, 10)
        r = zonectl("--config", e2e.cfg, "status")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "PROBLEM: e2e.test: secondary secondary-1" in r.stdout, r.stdout
        row = [l for l in r.stdout.splitlines() if "secondary-1" in l]
        assert row and "no answer" in row[0], r.stdout
        j = zonectl_json("--config", e2e.cfg, "status")[1]
        assert j["zones"][0]["notify"][0]["answered"] is False
        # A change made while it is down: once back, it catches up, and status shows it.
        r = zonectl("--config", e2e.cfg, "delegate", "lab.e2e.test", "--ns",
                    f"ns1.lab.e2e.test={E2E_NS1}", "--ns", f"ns2.lab.e2e.test={E2E_NS2}")
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        sec.start()
    serial = served_serial(e2e)
    assert wait_until(lambda: soa_serial(sec.host, sec.port, "e2e.test") == serial, 15), sec.log()
    assert wait_until(lambda: zonectl("--config", e2e.cfg, "status").returncode == 0, 15), \
        zonectl("--config", e2e.cfg, "status").stdout


# --------------------------------------------------------------------------- 2. preflight

def delegate_refused(w, *args, message):
    before = unchanged(w)
    r = zonectl("--config", w.cfg, "delegate", *args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert message in r.stderr, r.stderr
    assert unchanged(w) == before
    return r


def test_preflight_refuses_ns_that_does_not_answer(e2e):
    args = ["void.e2e.test", "--ns", f"ns1.void.e2e.test={E2E_DEAD1}",
            "--ns", f"ns2.void.e2e.test={E2E_DEAD2}"]
    r = delegate_refused(e2e, *args, message="configure DNS at the new servers first")
    assert f"NS ns1.void.e2e.test. ({E2E_DEAD1}:53) does not answer" in r.stderr
    assert "refused" in r.stderr and "--force" in r.stderr
    r = zonectl("--config", e2e.cfg, "delegate", *args, "--force")
    assert r.returncode == 0, r.stdout + r.stderr
    assert referral(e2e.primary.host, e2e.primary.port, "x.void.e2e.test")[0] == {
        "ns1.void.e2e.test.", "ns2.void.e2e.test."}


def test_preflight_refuses_ns_not_authoritative_for_the_child(e2e):
    # The child servers answer, but do not serve this zone (REFUSED).
    r = delegate_refused(e2e, "other.e2e.test", "--ns", f"ns1.other.e2e.test={E2E_NS1}",
                         "--ns", f"ns2.other.e2e.test={E2E_NS2}",
                         message="configure DNS at the new servers first")
    assert f"({E2E_NS1}:53) is not authoritative for other.e2e.test." in r.stderr


def test_preflight_refuses_a_single_ns_unless_allowed(e2e):
    args = ["lab.e2e.test", "--ns", f"ns1.lab.e2e.test={E2E_NS1}"]
    delegate_refused(e2e, *args, message="only 1 nameserver")
    # --force skips the live checks only, not this one.
    delegate_refused(e2e, *args, "--force", message="only 1 nameserver")
    r = zonectl("--config", e2e.cfg, "delegate", *args, "--allow-single")
    assert r.returncode == 0, r.stdout + r.stderr
    assert referral(e2e.primary.host, e2e.primary.port, "x.lab.e2e.test")[0] == {"ns1.lab.e2e.test."}


def test_preflight_refuses_ns_that_is_a_cname_here(e2e):
    r = delegate_refused(e2e, "lab.e2e.test", "--ns", "nsalias.e2e.test",
                         "--ns", f"ns2.lab.e2e.test={E2E_NS2}", message="CNAME")
    assert "nsalias.e2e.test." in r.stderr
    # Not even --force accepts it: it is a check on the input, not a live one.
    delegate_refused(e2e, "lab.e2e.test", "--ns", "nsalias.e2e.test",
                     "--ns", f"ns2.lab.e2e.test={E2E_NS2}", "--force", message="CNAME")


def test_preflight_checks_ds_against_the_child_dnskey(e2e):
    ns = ["--ns", f"ns1.lab.e2e.test={E2E_NS1}", "--ns", f"ns2.lab.e2e.test={E2E_NS2}"]
    bad = wrong_ds(e2e.lab_ds)
    r = delegate_refused(e2e, "lab.e2e.test", *ns, "--ds", bad, message="matches no DNSKEY")
    assert bad.split()[0] in r.stderr
    # The DS of another zone's key does not match either.
    delegate_refused(e2e, "lab.e2e.test", *ns, "--ds", e2e.shop_ds, message="matches no DNSKEY")
    r = zonectl("--config", e2e.cfg, "delegate", "lab.e2e.test", *ns, "--ds", e2e.lab_ds)
    assert r.returncode == 0, r.stdout + r.stderr
    ds = ask(e2e.primary.host, e2e.primary.port, "lab.e2e.test", "DS")
    assert ds.answer and ds.answer[0][0].to_text().upper() == e2e.lab_ds.upper()


# --------------------------------------------------------------------------- 4. bad input

@pytest.mark.parametrize("args, message", [
    (["frobnicate", "e2e.test"], "unknown verb 'frobnicate' (verbs: status, reload,"),
    (["delegate", "bad..name.e2e.test", "--ns", "ns1.x.test", "--ns", "ns2.x.test"],
     "'bad..name.e2e.test' is not a valid domain name for CHILD"),
    (["delegate", "n.e2e.test", "--ns", "ns1..n.e2e.test=127.0.0.151", "--ns", "ns2.x.test"],
     "'ns1..n.e2e.test' is not a valid NS name"),
    (["delegate", "n.e2e.test", "--ns", "ns1.n.e2e.test=300.1.2.3", "--ns", "ns2.x.test"],
     "'300.1.2.3' (for NS ns1.n.e2e.test) is not an IPv4 or IPv6 address"),
    (["delegate", "n.e2e.test", "--ns", "ns1.n.e2e.test=127.0.0.151,", "--ns", "ns2.x.test"],
     "is not an IPv4 or IPv6 address"),
    (["delegate", "n.e2e.test", "--ns", "ns1.x.test", "--ns", "ns2.x.test", "--ds", "12345 13 2 zz"],
     "DS '12345 13 2 zz' is not 'KEYTAG ALGORITHM DIGESTTYPE DIGEST'"),
    (["delegate", "n.e2e.test", "--ns", "ns1.x.test", "--ns", "ns2.x.test", "--ds", "12345 13"],
     "is not 'KEYTAG ALGORITHM DIGESTTYPE DIGEST'"),
    (["delegate", "shop.example.org", "--ns", "ns1.x.test", "--ns", "ns2.x.test"],
     "shop.example.org. is not inside any zone this server is primary for"),
    (["delegate", "e2e.test", "--ns", "ns1.x.test", "--ns", "ns2.x.test"],
     "e2e.test. is not inside any zone this server is primary for"),
    (["undelegate", "shop.example.org"], "is not inside any zone"),
    (["check-delegation", "shop.e2e.test", "--parent", "127.0.0.1:99999"],
     "--parent '127.0.0.1:99999' is not ADDR[:PORT]"),
    (["check-delegation", "shop.e2e.test", "--parent", "localhost"],
     "--parent 'localhost' is not ADDR[:PORT]"),
    (["check-delegation", "sh op..e2e.test", "--parent", "127.0.0.1"], "is not a valid domain name"),
], ids=["unknown-verb", "bad-child", "bad-ns-name", "bad-address", "empty-address", "bad-ds",
        "short-ds", "outside-every-zone", "the-apex-itself", "undelegate-outside",
        "bad-parent-port", "parent-not-an-address", "bad-domain"])
def test_bad_input_is_exit_2_and_changes_nothing(e2e, args, message):
    before = unchanged(e2e)
    r = zonectl("--config", e2e.cfg, *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr, r.stderr
    assert unchanged(e2e) == before


def test_a_socket_that_is_not_there_is_exit_2(tmp_path):
    sock = tmp_path / "nothere.sock"
    for verb in (["status"], ["delegations", "e2e.test"],
                 ["delegate", "a.e2e.test", "--ns", "ns1.x.test", "--ns", "ns2.x.test"]):
        r = zonectl("--socket", sock, *verb)
        assert r.returncode == 2, r.stderr
        assert f"cannot connect to zoned at {sock}" in r.stderr and "No such file" in r.stderr, r.stderr
    r = zonectl("status")
    assert r.returncode == 2 and "--config FILE" in r.stderr and "--socket PATH" in r.stderr, r.stderr
    r = zonectl("--config", tmp_path / "missing.yaml", "status")
    assert r.returncode == 2 and "missing.yaml" in r.stderr, r.stderr


def test_check_zone(tmp_path):
    good = tmp_path / "e2e.test.zone"
    good.write_text(PARENT_ZONE)
    r = zonectl("check-zone", good)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"e2e.test.: ok, serial {PARENT_SERIAL}" in r.stdout
    r, j = zonectl_json("check-zone", good)
    assert r.returncode == 0 and j["ok"] and j["serial"] == PARENT_SERIAL and j["errors"] == []
    bad = tmp_path / "bad.zone"
    lines = PARENT_ZONE.splitlines()
    lines.insert(10, "broken  IN A    300.1.2.3")
    bad.write_text("\n".join(lines) + "\n")
    r = zonectl("check-zone", "--origin", "e2e.test", bad)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{bad}:11" in r.stdout, r.stdout
    r, j = zonectl_json("check-zone", "--origin", "e2e.test", bad)
    assert r.returncode == 1 and not j["ok"] and any(f"{bad}:11" in e for e in j["errors"])
    # A single NS at the apex: loads, with a warning.
    single = tmp_path / "single.test.zone"
    single.write_text("$ORIGIN single.test.\n@ 300 IN SOA ns hm 1 2 3 4 5\n@ 300 IN NS ns\nns 300 IN A 192.0.2.1\n")
    r = zonectl("check-zone", single)
    assert r.returncode == 0 and "only one NS" in r.stdout, r.stdout
    r = zonectl("check-zone", tmp_path / "none.zone")
    assert r.returncode == 2 and "none.zone" in r.stderr, r.stderr
    # Without --origin: the file's $ORIGIN wins over its name, and zonectl says where the
    # name came from (it guessed "sub." from sub.zone and found no SOA there).
    sub = tmp_path / "sub.zone"
    sub.write_text(single.read_text().replace("single.test.", "sub.single.test."))
    r = zonectl("check-zone", sub)
    assert r.returncode == 0 and "sub.single.test.: ok" in r.stdout, r.stdout + r.stderr
    assert "taken from the file's $ORIGIN" in r.stderr, r.stderr
    signed = tmp_path / "e2e.test.zone.signed"
    signed.write_text(PARENT_ZONE.replace("$ORIGIN e2e.test.\n", ""))
    r = zonectl("check-zone", signed)
    assert r.returncode == 0 and "e2e.test.: ok" in r.stdout, r.stdout + r.stderr
    assert "taken from the file name" in r.stderr, r.stderr


# --------------------------------------------------------------------------- 3. check-delegation

CTL_SERIAL = 2024020201


def child_text(name, ns, addrs, serial=1, extra=""):
    """A child zone: apex NS (absolute names) and A records for (name, address) pairs."""
    return (f"$ORIGIN {name}.\n$TTL 300\n@ IN SOA {ns[0]} hostmaster.{name}. {serial} 3600 600 86400 60\n"
            + "".join(f"@ IN NS {n}\n" for n in ns)
            + "".join(f"{n} IN A {a}\n" for n, a in addrs)
            + "www IN A 192.0.2.1\n" + extra)


def cut(name, ns_glue, ds=None):
    """Parent-side records of a delegation: NS (absolute) and glue."""
    out = f"; {name}\n"
    for n, a in ns_glue:
        out += f"{name}. IN NS {n}\n"
    for n, a in ns_glue:
        if a:
            out += f"{n} IN A {a}\n"
    if ds:
        out += f"{name}. IN DS {ds}\n"
    return out


@pytest.fixture(scope="module")
def cd():
    for a in (CD1, CD2, CD_LAG1, CD_LAG2, CD_KNOT, CD_DEAD):
        if not port53_free(a):
            pytest.skip(f"{a}:53 is in use")
    w = World()
    w.tmp = Path(tempfile.mkdtemp(prefix="zonectl-cd-"))
    t = "ctl.test"

    def ns(label, i):
        return f"ns{i}.{label}.{t}."

    children, cuts = {}, ""
    # healthy: two servers, glue right, DS of the child's KSK.
    z = f"healthy.{t}"
    text = child_text(z, [ns("healthy", 1), ns("healthy", 2)], [("ns1", CD1), ("ns2", CD2)])
    children[z], w.healthy_ds = sign_zone(z, text, w.tmp / "healthy")
    cuts += cut(z, [(ns("healthy", 1), CD1), (ns("healthy", 2), CD2)], w.healthy_ds)
    # nsdiff: the child's apex adds a third NS the parent does not have.
    z = f"nsdiff.{t}"
    children[z] = child_text(z, [ns("nsdiff", 1), ns("nsdiff", 2), "ns.hosts.test."],
                             [("ns1", CD1), ("ns2", CD2)])
    cuts += cut(z, [(ns("nsdiff", 1), CD1), (ns("nsdiff", 2), CD2)])
    # cname: one NS target is an alias (in hosts.test, served by the parent server).
    z = f"cname.{t}"
    children[z] = child_text(z, [ns("cname", 1), "nsalias.hosts.test."], [("ns1", CD1)])
    cuts += cut(z, [(ns("cname", 1), CD1), ("nsalias.hosts.test.", None)])
    # single: one nameserver, on both sides.
    z = f"single.{t}"
    children[z] = child_text(z, [ns("single", 1)], [("ns1", CD1)])
    cuts += cut(z, [(ns("single", 1), CD1)])
    # glue: the parent's glue for ns2 is not the child's own address for it.
    z = f"glue.{t}"
    children[z] = child_text(z, [ns("glue", 1), ns("glue", 2)], [("ns1", CD1), ("ns2", "127.0.0.177")])
    cuts += cut(z, [(ns("glue", 1), CD1), (ns("glue", 2), CD2)])
    # badds: a signed child, the parent's DS does not match its key.
    z = f"badds.{t}"
    text = child_text(z, [ns("badds", 1), ns("badds", 2)], [("ns1", CD1), ("ns2", CD2)])
    children[z], good = sign_zone(z, text, w.tmp / "badds")
    w.bad_ds = wrong_ds(good)
    cuts += cut(z, [(ns("badds", 1), CD1), (ns("badds", 2), CD2)], w.bad_ds)
    # lag: zoned (serial 10) and NSD (serial 7) serve the same zone.
    z = f"lag.{t}"
    lag_ns = [ns("lag", 1), ns("lag", 2)]
    lag = [("ns1", CD_LAG1), ("ns2", CD_LAG2)]
    cuts += cut(z, [(ns("lag", 1), CD_LAG1), (ns("lag", 2), CD_LAG2)])
    # lame: Knot serves it at ns1; ns2 is a server (CD1) that does not have the zone.
    z = f"lame.{t}"
    lame_text = child_text(z, [ns("lame", 1), ns("lame", 2)], [("ns1", CD_KNOT), ("ns2", CD1)])
    cuts += cut(z, [(ns("lame", 1), CD_KNOT), (ns("lame", 2), CD1)])
    # shared: two NS names, one address (one server under two names).
    z = f"shared.{t}"
    children[z] = child_text(z, [ns("shared", 1), ns("shared", 2)], [("ns1", CD1), ("ns2", CD1)])
    cuts += cut(z, [(ns("shared", 1), CD1), (ns("shared", 2), CD1)])
    # dead: ns2's address has no server at all.
    z = f"dead.{t}"
    children[z] = child_text(z, [ns("dead", 1), ns("dead", 2)], [("ns1", CD1), ("ns2", CD_DEAD)])
    cuts += cut(z, [(ns("dead", 1), CD1), (ns("dead", 2), CD_DEAD)])

    parent = (f"$ORIGIN {t}.\n$TTL 300\n@ IN SOA ns.hosts.test. hostmaster.{t}. {CTL_SERIAL} 3600 600 86400 60\n"
              "@ IN NS ns.hosts.test.\n@ IN NS ns2.hosts.test.\n" + cuts)
    hosts = ("$ORIGIN hosts.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
             "@ IN NS ns\n@ IN NS ns2\n"
             f"ns IN A {CD2}\nns2 IN A 127.0.0.1\nnsalias IN CNAME ns\n")
    w.parent = ZonedServer({t: parent, "hosts.test": hosts},
                           "server:\n  listen: [\"{host}:{port}\"]\n  workers: 1\n  log-level: info\n"
                           "zones:\n  - name: ctl.test\n    file: zones/ctl.test.zone\n"
                           "  - name: hosts.test\n    file: zones/hosts.test.zone\n")
    w.c1 = child_zoned(children, [CD1, CD2])
    w.lag1 = child_zoned({f"lag.{t}": child_text(f"lag.{t}", lag_ns, lag, serial=10)}, [CD_LAG1])
    w.lag2 = Peer("nsd", {f"lag.{t}": child_text(f"lag.{t}", lag_ns, lag, serial=7)}, CD_LAG2)
    w.knot = Peer("knot", {f"lame.{t}": lame_text}, CD_KNOT)
    started = []
    try:
        for s in (w.parent, w.c1, w.lag1, w.lag2, w.knot):
            s.start()
            started.append(s)
        w.at = f"127.0.0.1:{w.parent.port}"
        yield w
    finally:
        for s in started:
            s.cleanup()
        shutil.rmtree(w.tmp, ignore_errors=True)


def check(w, label, *extra):
    r = zonectl("check-delegation", f"{label}.ctl.test", "--parent", w.at, *extra)
    rj, j = zonectl_json("check-delegation", f"{label}.ctl.test", "--parent", w.at, *extra)
    print(r.stdout, r.stderr)
    assert rj.returncode == r.returncode
    return r, j


def table_rows(out):
    """The per-server table: {(ROLE, ADDRESS): row fields as a dict}."""
    lines = out.split("\n\n")[0].splitlines()
    header = lines[0]
    cols = ["ROLE", "SERVER", "ADDRESS", "ANSWER", "AUTH", "SERIAL", "NS"]
    starts = [re.search(rf"\b{c}\b", header).start() for c in cols]
    rows = {}
    for l in lines[1:]:
        f = {c: l[s:(starts[i + 1] if i + 1 < len(cols) else None)].strip()
             for i, (c, s) in enumerate(zip(cols, starts))}
        rows[(f["ROLE"], f["ADDRESS"])] = f
    return rows


def test_check_delegation_healthy(cd):
    r, j = check(cd, "healthy")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no problems found for healthy.ctl.test." in r.stdout
    rows = table_rows(r.stdout)
    assert rows[("parent", cd.at)]["AUTH"] == "referral"
    for a in (CD1, CD2):
        row = rows[("child", f"{a}:53")]
        assert (row["ANSWER"], row["AUTH"], row["SERIAL"]) == ("yes", "yes", "1")
        assert row["NS"] == "ns1.healthy.ctl.test. ns2.healthy.ctl.test."
    assert j["ok"] and j["problems"] == [] and j["domain"] == "healthy.ctl.test."
    # Regression (an operator's first days, 5): the parent's referral is not authoritative.
    (p,) = [s for s in j["servers"] if s["role"] == "parent"]
    assert p["authoritative"] is False and p["referral"] is True, p
    # Every address in 127.0.0.0/24: a warning, as zonectl delegate gives; still exit 0.
    assert "warning: all nameservers are in 127.0.0.0/24" in r.stdout, r.stdout
    assert any("127.0.0.0/24" in w for w in j["warnings"]), j
    assert {s["address"] for s in j["servers"] if s["role"] == "child"} == {f"{CD1}:53", f"{CD2}:53"}
    assert all(s["answered"] and s["authoritative"] and s["serial"] == 1
               for s in j["servers"] if s["role"] == "child")


@pytest.mark.parametrize("label, problem", [
    ("nsdiff", "the parent's NS set {ns1.nsdiff.ctl.test. ns2.nsdiff.ctl.test.} differs from the "
               "child's apex NS set {ns.hosts.test. ns1.nsdiff.ctl.test. ns2.nsdiff.ctl.test.}"),
    ("cname", "NS nsalias.hosts.test. is a CNAME (RFC 2181 10.3)"),
    ("single", "only one nameserver (ns1.single.ctl.test.): a single failure takes single.ctl.test. down"),
    ("glue", "glue for ns2.glue.ctl.test. at the parent {127.0.0.172} differs from the child's own "
             "{127.0.0.177}"),
    ("lag", f"ns2.lag.ctl.test. ({CD_LAG2}:53) serves serial 7, 3 behind the newest 10"),
    ("badds", "at the parent matches no DNSKEY of badds.ctl.test."),
    ("lame", f"ns2.lame.ctl.test. ({CD1}:53) is lame: it does not answer authoritatively for "
             "lame.ctl.test."),
    ("dead", f"ns2.dead.ctl.test. ({CD_DEAD}:53) does not answer"),
    # Regression (an operator's first days, 5): two names on one address said "no problems".
    ("shared", f"ns1.shared.ctl.test. and ns2.shared.ctl.test. share one address ({CD1})"),
])
def test_check_delegation_finds_the_problem(cd, label, problem):
    r, j = check(cd, label)
    assert r.returncode == 1, r.stdout + r.stderr
    assert any(l.startswith("PROBLEM: ") and problem in l for l in r.stdout.splitlines()), r.stdout
    assert not j["ok"] and any(problem in p for p in j["problems"]), j["problems"]
    rows = table_rows(r.stdout)
    if label == "cname":
        # The alias still leads to a server: it is asked, and not reported as unreachable.
        assert "no address found" not in r.stdout
        assert rows[("child", f"{CD2}:53")]["SERVER"] == "nsalias.hosts.test."
    if label == "lame":
        assert rows[("child", f"{CD1}:53")]["AUTH"] == "LAME"
        assert rows[("child", f"{CD_KNOT}:53")]["AUTH"] == "yes"
    if label == "dead":
        assert rows[("child", f"{CD_DEAD}:53")]["ANSWER"] == "no"
        (s,) = [s for s in j["servers"] if s["address"] == f"{CD_DEAD}:53"]
        assert s["answered"] is False and s["error"]
    if label == "lag":
        assert rows[("child", f"{CD_LAG1}:53")]["SERIAL"] == "10"
        assert rows[("child", f"{CD_LAG2}:53")]["SERIAL"] == "7"
    if label == "badds":
        assert cd.bad_ds.split()[-1].upper() in r.stdout.upper()


def test_check_delegation_parent_without_the_delegation(cd):
    r, j = check(cd, "nothere")
    assert r.returncode == 1
    assert f"PROBLEM: parent {cd.at} has no delegation for nothere.ctl.test." in r.stdout, r.stdout


def test_check_delegation_parent_that_does_not_answer(cd):
    port = free_port()
    r = zonectl("check-delegation", "healthy.ctl.test", "--parent", f"127.0.0.1:{port}")
    assert r.returncode == 1 and f"PROBLEM: parent 127.0.0.1:{port} does not answer" in r.stdout, r.stdout
