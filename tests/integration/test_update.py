"""DNS UPDATE (RFC 2136, RFC 3007) with real clients: nsupdate (BIND) and knsupdate (Knot),
the shape certbot's rfc2136 plugin uses, prerequisites, refusals that change nothing, the
serial bumped once per update, the zone file written back (a burst in one rewrite), IXFR to
a secondary, and kill -9 during a stream of updates."""
import re
import signal
import subprocess
import time
from pathlib import Path

import dns.rcode
import pytest

from conftest import Zoned, free_port, query, wait_for_answer
from zonectl_helpers import zonectl

SECRET = "c2VjcmV0LXVwZGF0ZS1rZXktZm9yLXRlc3RzLTAxMjM0NTY3"
OTHER_SECRET = "b3RoZXIta2V5LWZvci10ZXN0cy0wMTIzNDU2Nzg5YWJjZGVm"
ZONE = """$ORIGIN example.com.
$TTL 300
@   IN SOA ns1 hostmaster (
        100   ; serial
        3600  ; refresh
        600   ; retry
        86400 ; expire
        60 )  ; minimum
    IN NS ns1
    IN NS ns2
ns1 IN A 192.0.2.1
ns2 IN A 192.0.2.2
www IN A 192.0.2.80
alias IN CNAME www
"""

KEYS = f"""keys:
  - name: update-key
    algorithm: hmac-sha256
    secret: "{SECRET}"
  - name: acme-key
    algorithm: hmac-sha256
    secret: "{OTHER_SECRET}"
  - name: idle-key
    algorithm: hmac-sha256
    secret: "{OTHER_SECRET}"
"""


def make(extra_zone="", remotes=""):
    z = Zoned({"example.com": ZONE},
              extra_server="  database: var/zoned.db\n  control: run/zoned.sock\n")
    text = z.config.read_text()
    text = text.replace("zones:\n", KEYS + remotes + "zones:\n")
    text = text.replace("    file: zones/example.com.zone\n",
                        "    file: zones/example.com.zone\n"
                        "    allow-update: [update-key, idle-key]\n"
                        "    update-policy:\n"
                        "      - \"update-key zonesub\"\n"
                        "      - \"acme-key wildcard _acme-challenge.* TXT\"\n"
                        "    zonefile-sync: 1\n" + extra_zone)
    z.config.write_text(text)
    return z


@pytest.fixture
def zoned():
    made = []

    def factory(**kw):
        z = make(**kw)
        made.append(z)
        return z.start()

    yield factory
    for z in made:
        z.cleanup()


def nsupdate(z, script, key=("update-key", SECRET), tool="nsupdate"):
    head = f"server {z.host} {z.port}\nzone example.com\n"
    cmd = [tool]
    if key:
        cmd += ["-y", f"hmac-sha256:{key[0]}:{key[1]}"]
    if tool == "knsupdate":
        cmd += ["-t", "3", "-r", "0"]
    else:
        cmd += ["-t", "3"]
    return subprocess.run(cmd, input=head + script + "send\n", capture_output=True, text=True,
                          timeout=30)


def serial(z):
    return query(z.host, z.port, "example.com", "SOA").answer[0][0].serial


def txt(z, name):
    r = query(z.host, z.port, name, "TXT")
    return [b"".join(rd.strings).decode() for rrset in r.answer for rd in rrset], r.rcode()


def wait_until(pred, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


@pytest.mark.parametrize("tool", ["nsupdate", "knsupdate"])
def test_acme_challenge_add_query_delete(zoned, tool):
    z = zoned()
    zone_file = z.dir / "zones" / "example.com.zone"
    before = serial(z)
    # certbot-dns-rfc2136: add the TXT, query it, delete that one record.
    r = nsupdate(z, "update add _acme-challenge.www.example.com. 60 TXT \"tok-123\"\n",
                 key=("acme-key", OTHER_SECRET), tool=tool)
    assert r.returncode == 0, r.stdout + r.stderr
    assert txt(z, "_acme-challenge.www.example.com") == (["tok-123"], dns.rcode.NOERROR)
    assert serial(z) == before + 1
    # Written back to the file within zonefile-sync, as a person would: the serial in place
    # inside the multi-line SOA, its comments kept, the record appended.
    assert wait_until(lambda: "tok-123" in zone_file.read_text(), 10), z.log()
    text = zone_file.read_text()
    assert f"        {before + 1}   ; serial" in text, text
    assert "86400 ; expire" in text
    r = nsupdate(z, "update delete _acme-challenge.www.example.com. TXT \"tok-123\"\n",
                 key=("acme-key", OTHER_SECRET), tool=tool)
    assert r.returncode == 0, r.stdout + r.stderr
    assert txt(z, "_acme-challenge.www.example.com")[1] == dns.rcode.NXDOMAIN
    assert serial(z) == before + 2
    assert wait_until(lambda: "tok-123" not in zone_file.read_text(), 10), z.log()
    # The file loads again as the served zone.
    assert zonectl("--config", z.config, "check-zone", "example.com").returncode == 0


def test_update_refusals_change_nothing(zoned):
    z = zoned()
    before = serial(z)
    # Unsigned: REFUSED (RFC 3007).
    r = nsupdate(z, "update add new.example.com. 60 A 192.0.2.9\n", key=None)
    assert "REFUSED" in r.stdout + r.stderr, r.stdout + r.stderr
    # A key the server does not know: NOTAUTH/BADKEY from the TSIG check.
    r = nsupdate(z, "update add new.example.com. 60 A 192.0.2.9\n", key=("stranger", SECRET))
    assert r.returncode != 0 and ("NOTAUTH" in r.stdout + r.stderr or "BADKEY" in r.stdout + r.stderr)
    # A known key outside its policy: REFUSED, with the reason in the log.
    r = nsupdate(z, "update add www2.example.com. 60 TXT \"x\"\n", key=("acme-key", OTHER_SECRET))
    assert "REFUSED" in r.stdout + r.stderr
    assert "may not change TXT at www2.example.com." in z.log(), z.log()
    # A key of allow-update without a rule: the policy grants it nothing.
    r = nsupdate(z, "update add new.example.com. 60 A 192.0.2.9\n", key=("idle-key", OTHER_SECRET))
    assert "REFUSED" in r.stdout + r.stderr
    # Prerequisites: the RFC's rcodes.
    r = nsupdate(z, "prereq nxdomain www.example.com.\nupdate add p.example.com. 60 A 192.0.2.7\n")
    assert "YXDOMAIN" in r.stdout + r.stderr, r.stdout + r.stderr
    r = nsupdate(z, "prereq yxrrset www.example.com. MX\nupdate add p.example.com. 60 A 192.0.2.7\n")
    assert "NXRRSET" in r.stdout + r.stderr, r.stdout + r.stderr
    # Out of the zone: NOTZONE.
    r = nsupdate(z, "update add www.example.org. 60 A 192.0.2.7\n")
    assert "NOTZONE" in r.stdout + r.stderr, r.stdout + r.stderr
    # An NS whose target is a CNAME here: REFUSED (RFC 2181 10.3).
    r = nsupdate(z, "update add sub.example.com. 60 NS alias.example.com.\n")
    assert "REFUSED" in r.stdout + r.stderr, r.stdout + r.stderr
    # Ignored per RFC 2136 3.4.2: data beside a CNAME, the apex SOA and last NS deleted.
    r = nsupdate(z, "update add alias.example.com. 60 A 192.0.2.5\n"
                    "update delete example.com. SOA\nupdate delete example.com. NS\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert query(z.host, z.port, "example.com", "NS").answer
    assert serial(z) == before
    assert query(z.host, z.port, "p.example.com", "A").rcode() == dns.rcode.NXDOMAIN


def test_update_to_a_secondary_zone_is_notauth(make_zoned):
    z = make_zoned({}, extra_server="  database: var/zoned.db\n",
                   extra=f"remotes:\n  - name: p\n    address: 127.0.0.1:{free_port()}\n"
                         "zones:\n  - name: example.com\n    primaries: [p]\n", probe=None)
    time.sleep(0.5)
    r = nsupdate(z, "update add x.example.com. 60 A 192.0.2.1\n", key=None)
    assert "NOTAUTH" in r.stdout + r.stderr, r.stdout + r.stderr


def test_a_burst_is_one_rewrite_and_reaches_a_secondary_by_ixfr(zoned, make_zoned):
    sec_port = free_port()
    z = zoned(extra_zone="    notify: [sec]\n    allow-transfer: [sec]\n",
              remotes=f"remotes:\n  - name: sec\n    address: 127.0.0.1:{sec_port}\n")
    s = make_zoned({}, port=sec_port, extra_server="  database: var/zoned.db\n",
                   extra=f"remotes:\n  - name: prim\n    address: 127.0.0.1:{z.port}\n"
                         "zones:\n  - name: example.com\n    primaries: [prim]\n", probe=None)
    assert wait_until(lambda: wait_for_answer(s.host, s.port, "example.com", 0.2), 10)
    zone_file = z.dir / "zones" / "example.com.zone"
    before = serial(z)
    for i in range(20):
        r = nsupdate(z, f"update add burst{i}.example.com. 60 A 192.0.2.{i + 10}\n")
        assert r.returncode == 0, r.stdout + r.stderr
    assert serial(z) == before + 20
    assert wait_until(lambda: all(f"burst{i}" in zone_file.read_text() for i in range(20)), 10)
    # The file is written on the loader pool; the log line that says so follows from the main
    # thread: wait for the line of the last serial.
    assert wait_until(lambda: f"updated to serial {before + 20} " in z.log(), 10), z.log()
    rewrites = len(re.findall(r"zone file .* updated to serial", z.log()))
    assert 1 <= rewrites <= 6, z.log()
    # The secondary follows by IXFR, not AXFR.
    assert wait_until(lambda: query(s.host, s.port, "example.com", "SOA").answer and
                      query(s.host, s.port, "example.com", "SOA").answer[0][0].serial == before + 20, 15), s.log()
    assert "IXFR in from prim" in s.log(), s.log()
    assert query(s.host, s.port, "burst19.example.com", "A").answer


def test_kill_9_during_updates_keeps_every_acknowledged_change(zoned):
    """UPDATEs stream in while zoned is killed with SIGKILL 20 times: after each restart,
    every change that was acknowledged (NOERROR) is served; nothing is half applied."""
    import threading
    import dns.query
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
    z = zoned()
    keyring = dns.tsigkeyring.from_text({"update-key.": SECRET})
    acknowledged, stop = [], threading.Event()

    def stream():
        i = 0
        while not stop.is_set():
            u = dns.update.UpdateMessage("example.com", keyring=keyring,
                                         keyalgorithm=dns.tsig.HMAC_SHA256)
            u.add(f"k{i}", 60, "A", "192.0.2.1")
            u.add(f"k{i}", 60, "TXT", f"pair-{i}")
            try:
                r = dns.query.tcp(u, z.host, port=z.port, timeout=1)
                if r.rcode() == dns.rcode.NOERROR:
                    acknowledged.append(i)
            except Exception:
                time.sleep(0.02)  # killed meanwhile: the change may or may not have been made
            i += 1

    t = threading.Thread(target=stream)
    t.start()
    try:
        for _ in range(20):
            time.sleep(0.3)
            z.proc.send_signal(signal.SIGKILL)
            z.proc.wait()
            z.start()
    finally:
        stop.set()
        t.join()
    assert len(acknowledged) >= 20, acknowledged
    for i in acknowledged:
        assert query(z.host, z.port, f"k{i}.example.com", "A").answer, i
    # Every name has both records or neither: one UPDATE is one commit.
    for i in range(max(acknowledged) + 1):
        a = bool(query(z.host, z.port, f"k{i}.example.com", "A").answer)
        t_ = bool(query(z.host, z.port, f"k{i}.example.com", "TXT").answer)
        assert a == t_, i


def test_reload_merges_a_hand_edit_with_updates_not_yet_written(zoned):
    """An operator edits the file by hand (serial untouched) while an UPDATE waits to be
    written to it: `zonectl reload` merged nothing ("serial 100 is not greater than the served
    101"), status kept saying "reload first, then repeat the change" and the UPDATE never
    reached the file. Now the reload merges both, serves them under a new serial and writes
    the UPDATE into the edited file."""
    z = make()
    z.config.write_text(z.config.read_text().replace("zonefile-sync: 1", "zonefile-sync: 3600"))
    z.start()
    try:
        zone_file = z.dir / "zones" / "example.com.zone"
        r = nsupdate(z, "update add upd.example.com. 60 TXT \"from-update\"\n")
        assert r.returncode == 0, r.stdout + r.stderr
        assert serial(z) == 101
        assert "from-update" not in zone_file.read_text()  # written within zonefile-sync only
        zone_file.write_text(zone_file.read_text() + "hand IN A 192.0.2.99\n")
        r = zonectl("--config", z.config, "reload", "example.com")
        assert r.returncode == 0 and "merged with changes made here" in r.stdout, r.stdout + r.stderr
        assert serial(z) == 102
        assert txt(z, "upd.example.com")[0] == ["from-update"]
        assert query(z.host, z.port, "hand.example.com", "A").answer
        # The UPDATE reaches the edited file at once, the hand-written line kept.
        assert wait_until(lambda: "from-update" in zone_file.read_text(), 10), z.log()
        text = zone_file.read_text()
        assert "hand IN A 192.0.2.99" in text and "        102   ; serial" in text, text
        r = zonectl("--json", "--config", z.config, "status")
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        z.cleanup()
