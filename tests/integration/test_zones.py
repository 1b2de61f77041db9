"""The zone set as an operator lives with it: one zoned per database, control socket and
address; the last good version of a zone served across a restart with a broken file; zones
added and removed at runtime that survive restarts; reloads that read only changed files;
systemd readiness; store faults that never take the server down."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import dns.rcode
import pytest

from conftest import Zoned, dig, free_port, query, wait_for_answer, zoned_bin
from zonectl_helpers import zonectl, zonectl_json

SOA = "$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ NS ns1\n@ NS ns2\n" \
      "ns1 A 192.0.2.1\nns2 A 192.0.2.2\n"


def zone_text(serial=1, extra=""):
    return SOA.format(serial=serial) + "www A 192.0.2.80\n" + extra


def serial_of(z, name):
    r = query(z.host, z.port, name, "SOA")
    if r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return r.answer[0][0].serial


def wait_until(pred, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def stateful(zones, **kw):
    """A zoned with a database and a control socket."""
    return Zoned(zones, extra_server="  database: var/zoned.db\n  control: run/zoned.sock\n", **kw)


@pytest.fixture
def zoneds():
    made = []

    def make(zones, start=True, **kw):
        z = stateful(zones, **kw)
        made.append(z)
        return z.start() if start else z

    yield make
    for z in made:
        z.cleanup()


def ctl(z, *args):
    return zonectl("--config", str(z.config), *args)


def ctl_json(z, *args):
    return zonectl_json("--config", str(z.config), *args)


# --------------------------------------------------------------------------- one instance

def test_second_zoned_with_the_same_config_exits_naming_the_first(zoneds):
    z = zoneds({"one.test": zone_text()})
    second = subprocess.run([zoned_bin(), "--config", str(z.config)], capture_output=True,
                            text=True, timeout=20)
    assert second.returncode == 1
    assert f"pid {z.proc.pid}" in second.stderr, second.stderr
    assert "zoned.db" in second.stderr, second.stderr
    # The first one is untouched: it answers, and zonectl still reaches it.
    assert serial_of(z, "one.test") == 1
    assert ctl(z, "status").returncode == 0


def test_second_zoned_on_the_same_address_exits(zoneds, tmp_path):
    z = zoneds({"one.test": zone_text()})
    other = Zoned({"one.test": zone_text(serial=9)}, port=z.port)
    try:
        other.start(wait=False)
        assert other.proc.wait(timeout=20) == 1
        assert f"127.0.0.1:{z.port} is already in use by pid {z.proc.pid}" in other.log(), other.log()
        # Every answer still comes from the first one (SO_REUSEPORT would have split them).
        assert all(serial_of(z, "one.test") == 1 for _ in range(20))
    finally:
        other.cleanup()


def test_address_in_use_names_the_zoned_on_that_address(zoneds):
    """With one zoned on 127.0.0.1:P and another on 127.0.0.20:P, a third on 127.0.0.20:P
    named the first one's pid (matched on the port only)."""
    a = zoneds({"one.test": zone_text()})
    b = Zoned({"one.test": zone_text(serial=2)}, host="127.0.0.20", port=a.port)
    c = Zoned({"one.test": zone_text(serial=3)}, host="127.0.0.20", port=a.port)
    try:
        b.start()
        c.start(wait=False)
        assert c.proc.wait(timeout=20) == 1
        assert f"127.0.0.20:{a.port} is already in use by pid {b.proc.pid}" in c.log(), c.log()
    finally:
        c.cleanup()
        b.cleanup()


# --------------------------------------------------------------------------- last good version

def test_restart_with_a_broken_file_serves_the_last_good_version(zoneds):
    z = zoneds({"good.test": zone_text(serial=5, extra="api A 192.0.2.55\n")})
    assert serial_of(z, "good.test") == 5
    z.stop()
    z.write_zone("good.test", zone_text(serial=6) + "www IN A 192.0.2.300\n")
    # The systemd unit's ExecStartPre (the configuration only) lets this start happen; the
    # whole check still names the broken file.
    unit = (ETC / "zoned.service").read_text()
    pre = re.search(r"^ExecStartPre=\S+ --check-config \S+( .*)?$", unit, re.M)
    assert pre, unit
    extra = (pre.group(1) or "").split()
    r = subprocess.run([zoned_bin(), "--check-config", str(z.config)] + extra,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([zoned_bin(), "--check-config", str(z.config)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "192.0.2.300 is not an IPv4 address" in r.stderr, r.stderr
    z.start()
    # Served from the database, and said so: log, status (exit 1), reload.
    assert serial_of(z, "good.test") == 5
    assert query(z.host, z.port, "api.good.test", "A").answer
    assert "serving the last good version (serial 5) from the database" in z.log(), z.log()
    r, j = ctl_json(z, "status")
    assert r.returncode == 1
    (e,) = j["zones"]
    assert e["serving_from"] == "database" and e["state"] == "PROBLEM"
    assert any("192.0.2.300" in p for p in e["problems"]), e
    r = ctl(z, "reload")
    assert r.returncode == 1 and "FAILED, serving serial 5 from the database" in r.stdout, r.stdout
    # Fixed: the file is served again.
    z.write_zone("good.test", zone_text(serial=6))
    r = ctl(z, "reload")
    assert r.returncode == 0 and "good.test: loaded serial 6" in r.stdout, r.stdout
    assert serial_of(z, "good.test") == 6
    assert ctl(z, "status").returncode == 0


def test_zone_with_nothing_to_serve_answers_servfail_and_status_says_so(zoneds):
    z = zoneds({"fine.test": zone_text(), "never.test": "www IN A 192.0.2.1\n"}, probe="fine.test")
    assert query(z.host, z.port, "www.never.test", "A").rcode() == dns.rcode.SERVFAIL
    assert query(z.host, z.port, "www.unknown.test", "A").rcode() == dns.rcode.REFUSED
    r, j = ctl_json(z, "status")
    assert r.returncode == 1
    never = [e for e in j["zones"] if e["name"] == "never.test"][0]
    assert not never["loaded"] and never["state"] == "PROBLEM"
    r = ctl(z, "reload")
    assert "never.test: FAILED, nothing served (SERVFAIL)" in r.stdout, r.stdout


def test_a_config_that_does_not_reload_is_a_problem_in_status(zoneds):
    """SIGHUP with a broken configuration: zoned kept the old one and logged it, but status
    said everything was ok (exit 0), and `zonectl -c` could not even reach zoned."""
    z = zoneds({"one.test": zone_text()})
    good = z.config.read_text()
    z.config.write_text(good.replace("  log-level: debug\n", "  log-level: loud\n"))
    z.sighup()
    assert wait_until(lambda: "configuration not reloaded" in z.log()), z.log()
    assert re.search(r"error \[server\] configuration not reloaded, the previous one stays: "
                     r".*zoned\.yaml:\d+", z.log()), z.log()
    r, j = ctl_json(z, "status")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "log-level" in j["config_error"] and j["problems"] == 1, j
    r = ctl(z, "status")
    assert r.returncode == 1 and "PROBLEM: configuration not reloaded" in r.stdout, r.stdout
    assert "zoned keeps its previous configuration" in r.stderr, r.stderr
    assert serial_of(z, "one.test") == 1
    # Fixed and reloaded: the problem is gone.
    z.config.write_text(good)
    r = ctl(z, "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    assert ctl(z, "status").returncode == 0


# --------------------------------------------------------------------------- runtime zones

def test_zone_add_without_a_database_is_refused(tmp_path):
    """A zone added at runtime lives in the database; without one zonectl said "kept in the
    database: it survives restarts" and the zone was gone after the restart."""
    z = Zoned({"base.test": zone_text()}, extra_server="  control: run/zoned.sock\n").start()
    try:
        added = tmp_path / "added.test.zone"
        added.write_text(zone_text(serial=42))
        r = ctl(z, "zone-add", "added.test", "--file", str(added))
        assert r.returncode == 1 and "zone-add needs server.database" in r.stderr, r.stdout + r.stderr
        assert query(z.host, z.port, "added.test", "SOA").rcode() == dns.rcode.REFUSED
    finally:
        z.cleanup()


def test_zone_add_and_remove_survive_restarts(zoneds, tmp_path):
    z = zoneds({"base.test": zone_text()})
    added = tmp_path / "added.test.zone"
    added.write_text(zone_text(serial=42))
    r = ctl(z, "zone-add", "added.test", "--file", str(added))
    assert r.returncode == 0 and "zone added.test added, serial 42" in r.stdout, r.stdout + r.stderr
    assert serial_of(z, "added.test") == 42
    # Twice: refused, nothing changes.
    r = ctl(z, "zone-add", "added.test", "--file", str(added))
    assert r.returncode == 1 and "already served here (added at runtime)" in r.stderr, r.stderr
    # A file that does not load: refused with the reason.
    bad = tmp_path / "bad.test.zone"
    bad.write_text("www IN A 192.0.2.1\n")
    r = ctl(z, "zone-add", "bad.test", "--file", str(bad))
    assert r.returncode == 1 and "SOA" in r.stderr, r.stderr
    assert query(z.host, z.port, "bad.test", "SOA").rcode() == dns.rcode.REFUSED
    # Unknown remote: refused.
    r = ctl(z, "zone-add", "other.test", "--file", str(added), "--notify", "nobody")
    assert r.returncode == 1 and "unknown remote 'nobody'" in r.stderr, r.stderr

    z.stop()
    z.start()
    assert serial_of(z, "added.test") == 42
    r, j = ctl_json(z, "status")
    assert any(e["name"] == "added.test" and e.get("added_at_runtime") for e in j["zones"]), j
    # A zone of the configuration file cannot be removed at runtime.
    r = ctl(z, "zone-remove", "base.test")
    assert r.returncode == 1 and "configuration file" in r.stderr, r.stderr
    r = ctl(z, "zone-remove", "added.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert query(z.host, z.port, "added.test", "SOA").rcode() == dns.rcode.REFUSED
    z.stop()
    z.start()
    assert query(z.host, z.port, "added.test", "SOA").rcode() == dns.rcode.REFUSED
    assert serial_of(z, "base.test") == 1


# --------------------------------------------------------------------------- many zones

def test_many_zones_are_served_before_they_are_stored_and_reload_in_slices(zoneds):
    """1,300 zones at a first start: one commit, which serves them before their rows are
    written (their files hold them already) and stores them right after. A broken file is
    reported alone and holds up no other zone. A stop as soon as they answer still leaves
    them stored (the next start, every file broken, serves them all from the database); a
    kill -9 before they are stored leaves the files to be read again. A reload of all of them
    goes in slices, the store taking one while the pool parses the next."""
    zones = {f"s{i:04d}.test": zone_text(serial=i + 1) for i in range(1300)}
    zones["s0700.test"] = "broken\n"
    good = [(i, n) for i, n in enumerate(zones) if n != "s0700.test"]

    def wrong_serials(add=0):
        return [n for i, n in good if serial_of(z, n) != i + 1 + add]

    z = zoneds(zones, probe="s1299.test")
    assert wait_until(lambda: "zones: loaded 1299, unchanged 0, failed 1" in z.log(), 20), z.log()[-3000:]
    assert re.search(r"load: 1300 file\(s\) parsed and committed in \d+ ms \(1 commit\(s\)\)", z.log())
    assert "s0700.test" in z.log()
    assert wrong_serials() == []
    assert query(z.host, z.port, "s0700.test", "SOA").rcode() == dns.rcode.SERVFAIL

    def forget_database():
        db = z.dir / "var" / "zoned.db"
        for f in (db, db.with_name("zoned.db-wal"), db.with_name("zoned.db-shm")):
            f.unlink(missing_ok=True)

    # A first start again, stopped the moment the last zone answers: the stop waits for the
    # rows.
    z.stop()
    forget_database()
    z.start(wait=False)
    assert wait_for_answer(z.host, z.port, "s1299.test")
    z.stop()
    for _, n in good:
        z.write_zone(n, "broken\n")
    z.start()
    assert "serving the last good version (serial 1300) from the database" in z.log(), z.log()[-3000:]
    assert wrong_serials() == []

    # A kill -9 before the rows are written: the next start reads the files again.
    z.stop()
    forget_database()
    for i, n in good:
        z.write_zone(n, zone_text(serial=i + 1))
    z.start()
    z.stop(sig=signal.SIGKILL)
    z.start()
    assert wait_until(lambda: "zones: loaded 1299" in z.log(), 20), z.log()[-3000:]
    assert wrong_serials() == []

    # A reload of every file: in slices.
    for i, n in good:
        z.write_zone(n, zone_text(serial=i + 101))
    z.sighup()
    assert wait_until(lambda: "reload: loaded 1299, unchanged 0, failed 1" in z.log(), 30), z.log()[-3000:]
    assert re.search(r"load: 1300 file\(s\) parsed and committed in \d+ ms \(3 commit\(s\)\)", z.log()), z.log()[-3000:]
    assert wrong_serials(100) == []


def test_reload_reads_only_the_files_that_changed(zoneds):
    zones = {f"z{i:03d}.test": zone_text(serial=1) for i in range(60)}
    z = zoneds(zones, probe="z000.test")
    assert "zones: loaded 60, unchanged 0, failed 0" in z.log(), z.log()
    assert wait_until(lambda: serial_of(z, "z059.test") == 1)
    z.write_zone("z017.test", zone_text(serial=2, extra="new A 192.0.2.17\n"))
    r = ctl(z, "reload")
    assert r.returncode == 0, r.stdout
    assert "z017.test: loaded serial 2" in r.stdout and "loaded 1, unchanged 59, failed 0" in r.stdout
    assert serial_of(z, "z017.test") == 2
    # The configuration file had not changed: it was not read again.
    assert re.search(r"configuration \S*zoned\.yaml unchanged: not read again", z.log()), z.log()
    # One byte changed in place (the same size) is a changed file: read, and refused here.
    good = z.config.read_text()
    z.config.write_text(good.replace("log-level: debug", "log-level: DEBUG"))
    ctl(z, "reload")
    assert "configuration not reloaded, the previous one stays" in z.log(), z.log()
    z.config.write_text(good)
    # One summary line in the log, not one per unchanged zone.
    assert "reload: loaded 1, unchanged 59, failed 0" in z.log()
    assert z.log().count("unchanged") < 5, z.log()
    # A broken file does not hold up the others.
    z.write_zone("z018.test", "broken\n")
    z.write_zone("z019.test", zone_text(serial=3))
    r = ctl(z, "reload")
    assert "loaded 1, unchanged 58, failed 1" in r.stdout, r.stdout
    assert serial_of(z, "z019.test") == 3 and serial_of(z, "z018.test") == 1


def test_zones_take_their_settings_from_templates(zoneds):
    """Thousands of zones written as one line each: the default template gives each its file
    (%s: the zone's name) and who may transfer it; a zone's own key wins; a named template
    replaces the default one. A changed template applies to its zones at the next reload."""
    z = zoneds({}, probe="a.test", start=False, extra=(
        "templates:\n"
        "  - id: default\n"
        "    file: \"zones/%s.zone\"\n"
        "    allow-transfer: [127.0.0.0/8]\n"
        "  - id: closed\n"
        "    file: \"zones/%s.zone\"\n"
        "zones:\n"
        "  - name: a.test\n"
        "  - name: b.test\n"
        "  - name: c.test\n"
        "    template: closed\n"
        "  - name: d.test\n"
        "    file: zones/other.zone\n"))
    for n in ("a.test", "b.test", "c.test"):
        z.write_zone(n, zone_text(serial=7, extra=f"www2 TXT \"{n}\"\n"))
    (z.dir / "zones" / "other.zone").write_text(zone_text(serial=9))
    z.start()

    def axfr(name):
        return dig(z.host, z.port, name, "AXFR")

    for n in ("a.test", "b.test", "c.test"):
        assert dig(z.host, z.port, f"www2.{n}", "TXT", "+short").strip() == f'"{n}"'
    assert dig(z.host, z.port, "d.test", "SOA", "+short").split()[2] == "9"
    # The default template's allow-transfer: a.test, b.test and d.test (own file, the
    # template's ACL); not c.test, whose template has none.
    for n in ("a.test", "b.test", "d.test"):
        assert "XFR size" in axfr(n), (n, axfr(n))
    assert "Transfer failed" in axfr("c.test"), axfr("c.test")
    # The default template closes transfers: a reload applies it to every zone that uses it.
    z.config.write_text(z.config.read_text().replace("    allow-transfer: [127.0.0.0/8]\n", ""))
    r = ctl(z, "reload")
    assert r.returncode == 0, r
    assert wait_until(lambda: "Transfer failed" in axfr("a.test")), axfr("a.test")
    assert "Transfer failed" in axfr("b.test")
    # A template naming something wrong is refused with where it is, and changes nothing.
    z.config.write_text(z.config.read_text().replace("  - id: closed\n", "  - id: closed\n    notify: [nowhere]\n"))
    r = ctl(z, "reload")
    assert "'notify' of zone 'c.test' names unknown remote 'nowhere'" in z.log(), z.log()
    assert re.search(r"zoned\.yaml:\d+: 'notify' of zone 'c.test'", z.log()), z.log()
    assert dig(z.host, z.port, "www2.c.test", "TXT", "+short").strip() == '"c.test"'


def test_reload_reads_a_zone_again_when_only_its_include_changed(zoneds):
    z = zoneds({"a.test": zone_text(), "b.test": zone_text()}, probe="a.test", start=False)
    inc = z.dir / "zones" / "a.test.inc"
    inc.write_text(zone_text(serial=5, extra="inc A 192.0.2.5\n"))
    z.write_zone("a.test", f"$INCLUDE {inc}\n")
    z.start()
    assert wait_until(lambda: serial_of(z, "a.test") == 5)
    r = ctl(z, "reload")
    assert "loaded 0, unchanged 2, failed 0" in r.stdout, r.stdout
    # The zone file itself is as it was: only the file it includes changed.
    inc.write_text(zone_text(serial=6, extra="inc A 192.0.2.6\n"))
    r = ctl(z, "reload")
    assert "loaded 1, unchanged 1, failed 0" in r.stdout, r.stdout
    assert serial_of(z, "a.test") == 6
    ans = query(z.host, z.port, "inc.a.test", "A")
    assert [rr.address for rrset in ans.answer for rr in rrset] == ["192.0.2.6"]


# --------------------------------------------------------------------------- systemd

def test_systemd_readiness_and_reload_notifications(tmp_path):
    sock_path = tmp_path / "notify.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(sock_path))
    s.settimeout(10)
    z = stateful({"sd.test": zone_text()})
    try:
        env = dict(os.environ, NOTIFY_SOCKET=str(sock_path))
        z.log_file = open(z.log_path, "w")
        z.proc = subprocess.Popen([zoned_bin(), "--config", str(z.config)], env=env,
                                  stdout=z.log_file, stderr=subprocess.STDOUT)
        msg = s.recv(4096).decode()
        assert "READY=1" in msg and "STATUS=serving 1 zone(s)" in msg, msg
        # READY comes once the zone answers.
        assert serial_of(z, "sd.test") == 1
        z.sighup()
        msg = s.recv(4096).decode()
        assert "RELOADING=1" in msg and "MONOTONIC_USEC=" in msg, msg
        msg = s.recv(4096).decode()
        assert "READY=1" in msg, msg
        z.proc.send_signal(signal.SIGTERM)
        msg = s.recv(4096).decode()
        assert "STOPPING=1" in msg, msg
        assert z.proc.wait(timeout=10) == 0
    finally:
        z.cleanup()
        s.close()


# --------------------------------------------------------------------------- store faults

def can_mount_tmpfs(path):
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(path)],
                       capture_output=True)
    return r.returncode == 0


def fill(path):
    """Fills the file system of path; returns the filler file."""
    filler = path / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
    return filler


def test_full_disk_keeps_serving_and_recovers(zoneds):
    z = zoneds({"disk.test": zone_text()}, start=False)
    var = z.dir / "var"
    if not can_mount_tmpfs(var):
        pytest.skip("cannot mount a tmpfs here")
    try:
        z.start()
        assert serial_of(z, "disk.test") == 1
        filler = fill(var)
        big = "".join(f"h{i} TXT \"{'x' * 200}\"\n" for i in range(3000))
        z.write_zone("disk.test", zone_text(serial=2, extra=big))
        r = ctl(z, "reload")
        assert r.returncode == 1 and "store:" in r.stdout, r.stdout + r.stderr
        # The served zone stays, the server answers, the log says why.
        assert serial_of(z, "disk.test") == 1
        assert "full" in z.log(), z.log()
        assert z.proc.poll() is None
        # Space again: it is stored and served (on the next reload or the retry timer).
        filler.unlink()
        assert wait_until(lambda: serial_of(z, "disk.test") == 2, 20), z.log()
        z.stop()
        z.write_zone("disk.test", "broken\n")
        z.start()
        assert serial_of(z, "disk.test") == 2  # it really was stored
    finally:
        z.stop()
        subprocess.run(["umount", "-l", str(var)], capture_output=True)


def test_corrupt_database_serves_the_files_and_recovers(zoneds):
    z = zoneds({"corrupt.test": zone_text()}, start=False)
    (z.dir / "var").mkdir()
    db = z.dir / "var" / "zoned.db"
    db.write_bytes(b"this is not an SQLite database" * 100)
    z.start()
    assert serial_of(z, "corrupt.test") == 1
    assert "unusable" in z.log(), z.log()
    assert z.proc.poll() is None
    # The operator moves the broken file away: zoned opens a fresh one and stores again.
    db.rename(z.dir / "var" / "zoned.db.broken")
    z.write_zone("corrupt.test", zone_text(serial=2))
    assert wait_until(lambda: ctl(z, "reload").returncode == 0, 15), ctl(z, "reload").stdout
    assert serial_of(z, "corrupt.test") == 2
    z.stop()
    z.write_zone("corrupt.test", "broken\n")
    z.start()
    assert serial_of(z, "corrupt.test") == 2


def test_sighup_during_start_up_does_not_kill_zoned(zoneds):
    # Regression: the signal handlers were installed after READY=1, so a reload asked for
    # right after start (systemd, a deploy script) killed zoned with the default action.
    z = zoneds({f"s{i}.test": zone_text() for i in range(2000)}, start=False, probe="s1999.test")
    z.start(wait=False)
    time.sleep(0.1)
    z.sighup()
    assert wait_for_answer(z.host, z.port, "s1999.test"), z.log()
    assert z.proc.poll() is None
    assert wait_until(lambda: "reload: " in z.log()), z.log()


# --------------------------------------------------------------------------- source addresses

ETC = Path(__file__).resolve().parents[2] / "etc"


def shipped_pair(tmp_path, primary_via=True):
    """etc/primary.yaml and etc/secondary.yaml as shipped (each on its own loopback address,
    ACLs naming exactly those), in a directory of their own."""
    shutil.copytree(ETC, tmp_path / "etc")
    if not primary_via:
        p = tmp_path / "etc" / "primary.yaml"
        p.write_text(p.read_text().replace("  via: 127.0.0.10\n", ""))
    return tmp_path / "etc"


def run(cfg):
    return subprocess.Popen([zoned_bin(), "--config", str(cfg)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def soa_serial_at(host, port, name="example.com"):
    try:
        r = query(host, port, name, "SOA")
        return r.answer[0][0].serial if r.answer else None
    except Exception:
        return None


def test_shipped_primary_and_secondary_on_their_own_addresses(tmp_path):
    etc = shipped_pair(tmp_path)
    zone = etc / "zones" / "example.com.zone"
    p = run(etc / "primary.yaml")
    s = run(etc / "secondary.yaml")
    try:
        serial = soa_serial_at("127.0.0.10", 5301) if wait_until(
            lambda: soa_serial_at("127.0.0.10", 5301) is not None) else None
        assert serial is not None
        assert wait_until(lambda: soa_serial_at("127.0.0.11", 5302) == serial, 15)
        # A change: NOTIFY from 127.0.0.10 is accepted (allow-notify names the primary's
        # address), the IXFR from 127.0.0.11 too (allow-transfer names the secondary's).
        zone.write_text(zone.read_text().replace(str(serial), str(serial + 1), 1) +
                        "via-test A 192.0.2.123\n")
        p.send_signal(signal.SIGHUP)
        assert wait_until(lambda: soa_serial_at("127.0.0.11", 5302) == serial + 1, 15)
        assert query("127.0.0.11", 5302, "via-test.example.com", "A").answer
    finally:
        for proc in (p, s):
            proc.terminate()
        outs = [proc.communicate(timeout=10)[0] for proc in (p, s)]
    assert "IXFR in from primary (127.0.0.10:5301)" in outs[1], outs[1]


def test_without_via_the_secondary_refuses_what_the_primary_sends(tmp_path):
    etc = shipped_pair(tmp_path, primary_via=False)
    p = run(etc / "primary.yaml")
    s = run(etc / "secondary.yaml")
    try:
        assert wait_until(lambda: soa_serial_at("127.0.0.11", 5302) is not None, 15)
        # The primary's NOTIFY leaves from 127.0.0.1: not the address the secondary trusts.
        time.sleep(2)
    finally:
        for proc in (p, s):
            proc.terminate()
        outs = [proc.communicate(timeout=10)[0] for proc in (p, s)]
    assert re.search(r"NOTIFY from 127\.0\.0\.1:\d+ refused: not in allow-notify", outs[1]), outs[1]


def test_secondary_status_exits_1_when_its_refresh_failed(tmp_path):
    etc = shipped_pair(tmp_path)
    p = run(etc / "primary.yaml")
    s = run(etc / "secondary.yaml")
    sec = ["--config", str(etc / "secondary.yaml")]
    try:
        assert wait_until(lambda: soa_serial_at("127.0.0.11", 5302) is not None, 15)
        assert wait_until(lambda: zonectl(*sec, "status").returncode == 0, 15), \
            zonectl(*sec, "status").stdout
        p.terminate()
        p.communicate(timeout=10)
        assert zonectl(*sec, "refresh", "example.com").returncode == 0
        assert wait_until(lambda: zonectl(*sec, "status").returncode == 1, 15)
        r = zonectl(*sec, "status")
        assert "PROBLEM: example.com: last refresh failed" in r.stdout, r.stdout
        # Still served meanwhile.
        assert soa_serial_at("127.0.0.11", 5302) is not None
    finally:
        for proc in (p, s):
            if proc.poll() is None:
                proc.terminate()
                proc.communicate(timeout=10)
