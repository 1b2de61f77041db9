"""zoned as an operator runs it in production: the shipped systemd unit (its system-call
filter applied with seccomp, as systemd applies it), the install step, log timestamps,
warnings and errors at load (signatures, zone-file syntax)."""
import datetime
import os
import re
import subprocess
import time
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import ROOT, free_port, zoned_bin
from zonectl_helpers import (ZonedServer, ask, soa_serial, wait_until, zonectl, zonectl_bin)

UNIT = ROOT / "etc" / "zoned.service"


def filter_bin():
    return os.environ.get("SYSCALL_FILTER_BIN", str(ROOT / "build" / "tests" / "integration" /
                                                    "syscall_filter"))


# --------------------------------------------------------------------------- the unit's filter

@lru_cache(maxsize=None)
def expand(group):
    """The system calls of a systemd @group, subgroups expanded (systemd-analyze)."""
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", group],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    names = set()
    for line in out.splitlines()[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        names |= expand(item) if item.startswith("@") else {item}
    return frozenset(names)


def unit_filter(unit_text):
    """(mode, names): the SystemCallFilter= lines of a unit combined as systemd does. The
    first line decides: an allow-list (then @default is always allowed, later ~ lines take
    calls away and later plain lines add) or a deny-list (the reverse)."""
    lines = [l.split("=", 1)[1].strip() for l in unit_text.splitlines()
             if l.strip().startswith("SystemCallFilter=")]
    assert lines, "the unit has no SystemCallFilter="
    allow_list = not lines[0].startswith("~")
    names = set(expand("@default")) if allow_list else set()
    for value in lines:
        invert = value.startswith("~")
        items = value.lstrip("~").split()
        calls = set()
        for item in items:
            calls |= expand(item) if item.startswith("@") else {item}
        if invert == (not allow_list):
            names |= calls  # allow-list: allowed; deny-list: denied
        else:
            names -= calls
    return ("allow" if allow_list else "deny"), names


def unit_setting(name):
    m = re.search(rf"^{name}=(.*)$", UNIT.read_text(), re.M)
    return m.group(1).strip() if m else None


# The unit's User= (zoned) does not exist here: an unprivileged stand-in.
RUN_AS = "nobody"


@pytest.fixture(scope="module")
def unit_prefix(tmp_path_factory):
    """The command prefix that runs a program as the unit does: its LimitNOFILE=, an
    unprivileged User=, and its SystemCallFilter= (kill on any other call)."""
    if not Path(filter_bin()).exists():
        pytest.fail(f"{filter_bin()} is not built (target syscall_filter)")
    mode, names = unit_filter(UNIT.read_text())
    d = tmp_path_factory.mktemp("seccomp")
    os.chmod(d, 0o755)
    f = d / f"{mode}.list"
    f.write_text("\n".join(sorted(names)) + "\n")
    os.chmod(f, 0o644)
    prefix = []
    nofile = unit_setting("LimitNOFILE")
    if nofile:
        import resource
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        n = int(nofile) if hard == resource.RLIM_INFINITY else min(int(nofile), hard)
        prefix += ["prlimit", f"--nofile={n}:{n}"]  # no higher than this sandbox allows
    prefix.append(filter_bin())
    if unit_setting("User") and os.geteuid() == 0:
        prefix += ["--user", RUN_AS]
    return prefix + [f"--{mode}", str(f), "--"]


def give_to_service_user(server):
    """The server's directory (config, zones, database, socket) belongs to the service user,
    as /etc/zoned's zone directory and /var/lib/zoned would."""
    if os.geteuid() != 0:
        return
    import pwd
    pw = pwd.getpwnam(RUN_AS)
    for root, dirs, files in os.walk(server.dir):
        for n in dirs + files:
            os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
    os.chown(server.dir, pw.pw_uid, pw.pw_gid)


def test_the_filter_helper_kills_a_call_outside_the_list(unit_prefix, tmp_path):
    """The helper really enforces: a call the unit forbids kills the process (SIGSYS)."""
    mode, names = unit_filter(UNIT.read_text())
    assert mode == "allow" and "read" in names and "reboot" not in names
    # python3 calling reboot(2) (in @privileged / @reboot): killed before it gets EPERM.
    r = subprocess.run(unit_prefix + ["python3", "-c",
                                      "import ctypes; ctypes.CDLL(None).syscall(169, 0, 0, 0, 0)"],
                       capture_output=True, timeout=30)
    assert r.returncode == -31, (r.returncode, r.stderr)  # SIGSYS: "Bad system call"


PRIMARY_CONFIG = """\
server:
  listen: ["{host}:{port}"]
  workers: 2
  log-level: info
  tcp-max-clients: 70000   # more than LimitNOFILE: zoned raises its soft limit (setrlimit)
  control: ctl.sock
  database: var/zoned.db
  metrics: "127.0.0.1:%d"
remotes:
  - name: secondary
    address: "127.0.0.1:%d"
zones:
  - name: unit.test
    file: zones/unit.test.zone
    notify: [secondary]
    allow-transfer: [secondary]
"""

SECONDARY_CONFIG = """\
server:
  listen: ["{host}:{port}"]
  workers: 2
  log-level: info
  control: ctl.sock
  database: var/zoned.db
remotes:
  - name: primary
    address: "127.0.0.1:%d"
zones:
  - name: unit.test
    primaries: [primary]
"""

UNIT_ZONE = """\
$ORIGIN unit.test.
$TTL 300
@       IN SOA  ns1 hostmaster (
                1 ; serial
                3600 600 86400 60 )
        IN NS   ns1
        IN NS   ns2
ns1     IN A    192.0.2.1
ns2     IN A    198.51.100.1
www     IN A    192.0.2.80
"""


@pytest.fixture
def zoned_for_service_user(monkeypatch, tmp_path_factory):
    """ZONED_BIN pointing at a copy of zoned that the stand-in user may run (the build tree
    may sit below a directory only root can enter, such as /root)."""
    if os.geteuid() != 0:
        yield zoned_bin()
        return
    import shutil
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="zoned-bin-"))
    os.chmod(d, 0o755)
    copy = d / "zoned"
    shutil.copy2(zoned_bin(), copy)
    os.chmod(copy, 0o755)
    monkeypatch.setenv("ZONED_BIN", str(copy))
    yield str(copy)
    shutil.rmtree(d, ignore_errors=True)


def test_zoned_runs_under_the_units_system_call_filter(unit_prefix, zoned_for_service_user,
                                                       monkeypatch):
    """Regression (an operator's first days, 1): SystemCallFilter=~@resources killed zoned
    ("Bad system call") as soon as a background thread lowered its priority. Under the unit's
    own filter zoned must check its config, serve, reload, answer zonectl, rewrite a zone
    file, feed a secondary, answer a metrics scrape, ping the systemd watchdog (the unit
    sets WatchdogSec=) and stop cleanly."""
    import socket
    import tempfile
    import urllib.request
    pport, sport, mport = free_port(), free_port(), free_port()
    # The unit's WatchdogSec=: systemd hands WATCHDOG_USEC and a NOTIFY_SOCKET to zoned.
    assert unit_setting("WatchdogSec"), "the unit sets no WatchdogSec="
    sock_dir = Path(tempfile.mkdtemp(prefix="zoned-notify-"))
    os.chmod(sock_dir, 0o755)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(sock_dir / "notify.sock"))
    os.chmod(sock_dir / "notify.sock", 0o666)
    notify.settimeout(0.2)
    # Read all along: a full datagram queue would block the servers' sd_notify calls.
    import threading
    pings, stop_reading = [], threading.Event()

    def read_notify():
        while not stop_reading.is_set():
            try:
                if "WATCHDOG=1" in notify.recv(4096).decode():
                    pings.append(time.monotonic())
            except OSError:
                pass
    reader = threading.Thread(target=read_notify)
    reader.start()
    monkeypatch.setenv("NOTIFY_SOCKET", str(sock_dir / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    primary = ZonedServer({"unit.test": UNIT_ZONE}, PRIMARY_CONFIG % (mport, sport), port=pport)
    secondary = ZonedServer({}, SECONDARY_CONFIG % pport, port=sport, probe="unit.test")
    primary.prefix = secondary.prefix = unit_prefix
    for z in (primary, secondary):
        (z.dir / "var").mkdir()
        give_to_service_user(z)
    try:
        # ExecStartPre=zoned --check-config ... --config-only, then the whole check
        r = subprocess.run(unit_prefix + [zoned_bin(), "--check-config", str(primary.config),
                                          "--config-only"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        r = subprocess.run(unit_prefix + [zoned_bin(), "--check-config", str(primary.config)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        primary.start()
        secondary.start()
        assert ask(primary.host, pport, "www.unit.test", "A").answer
        dig = subprocess.run(["dig", "@127.0.0.1", "-p", str(pport), "+norec", "+short",
                              "www.unit.test", "A"], capture_output=True, text=True, timeout=20)
        assert dig.stdout.strip() == "192.0.2.80", dig.stdout + dig.stderr
        assert wait_until(lambda: soa_serial("127.0.0.1", sport, "unit.test") == 1, 15), \
            secondary.log()
        # SIGHUP: a changed zone is served and reaches the secondary (NOTIFY, IXFR).
        primary.zone_path("unit.test").write_text(
            UNIT_ZONE.replace("1 ; serial", "2 ; serial") + "new     IN A    192.0.2.99\n")
        primary.sighup()
        assert wait_until(lambda: soa_serial("127.0.0.1", sport, "unit.test") == 2, 15), \
            primary.log() + secondary.log()
        assert ask("127.0.0.1", sport, "new.unit.test", "A").answer
        # zonectl over the control socket: status, reload, and an edit that rewrites the file.
        c = zonectl("--config", primary.config, "status")
        assert c.returncode == 0, c.stdout + c.stderr
        c = zonectl("--config", primary.config, "reload")
        assert c.returncode == 0 and "loaded 0, unchanged 1, failed 0" in c.stdout, c.stdout + c.stderr
        c = zonectl("--config", primary.config, "delegate", "sub.unit.test", "--ns",
                    "ns1.sub.unit.test=192.0.2.53", "--ns", "ns2.sub.unit.test=198.51.100.53",
                    "--force")
        assert c.returncode == 0, c.stdout + c.stderr
        assert "\nsub     3600 IN NS ns1.sub.unit.test.\n" in primary.zone_path("unit.test").read_text()
        assert wait_until(lambda: soa_serial("127.0.0.1", sport, "unit.test") == 3, 15), \
            secondary.log()
        c = zonectl("--config", secondary.config, "status")
        assert c.returncode == 0, c.stdout + c.stderr
        # A scrape (Beast on its own thread), and the watchdog pings (both servers).
        with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5) as r:
            body = r.read().decode()
        assert 'zoned_zone_serial{zone="unit.test"} 3' in body, body
        seen = len(pings)
        time.sleep(2)
        assert len(pings) - seen >= 4, pings  # every 500 ms from each server
        for z in (primary, secondary):
            assert z.proc.poll() is None, z.log()
    finally:
        stop_reading.set()
        reader.join()
        notify.close()
        import shutil
        shutil.rmtree(sock_dir, ignore_errors=True)
        codes = [z.stop() for z in (secondary, primary)]
        logs = primary.log() + secondary.log()
        primary.cleanup()
        secondary.cleanup()
    assert codes == [0, 0], (codes, logs)
    assert "Bad system call" not in logs


def test_the_unit_checks_the_config_first_and_runs_what_install_puts(tmp_path):
    unit = UNIT.read_text()
    exec_start = re.search(r"^ExecStart=(\S+) --config (\S+)$", unit, re.M)
    pre = re.search(r"^ExecStartPre=(\S+) --check-config (\S+) --config-only$", unit, re.M)
    assert exec_start and pre, unit
    assert pre.groups() == exec_start.groups()
    assert exec_start.group(1) == "/usr/local/sbin/zoned"
    # cmake --install puts zoned and zonectl where the unit (and its comments) say.
    build = Path(zoned_bin()).parent
    r = subprocess.run(["cmake", "--install", str(build), "--prefix", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    for tool in ("zoned", "zonectl"):
        installed = tmp_path / "sbin" / tool
        assert installed.exists(), r.stdout
        h = subprocess.run([str(installed), "--help"], capture_output=True, text=True, timeout=20)
        assert h.returncode == 0 and tool in h.stdout, h.stdout + h.stderr


# --------------------------------------------------------------------------- logs

def test_log_lines_are_stamped_in_utc(tmp_path):
    """Regression (an operator's first days, 6): log times were the machine's local time
    without a zone. Under TZ=UTC-5 (five hours ahead) the first line must still say UTC, Z."""
    z = ZonedServer({"unit.test": UNIT_ZONE},
                    'server:\n  listen: ["{host}:{port}"]\n  workers: 1\n  log-level: info\n'
                    "zones:\n  - name: unit.test\n    file: zones/unit.test.zone\n")
    z.prefix = ["env", "TZ=XYZ-5"]
    try:
        z.start()
        first = z.log().splitlines()[0]
    finally:
        z.cleanup()
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (info|warning|error|debug) \[\w+\] ",
                 first)
    assert m, first
    stamp = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - stamp).total_seconds()) < 120, (first, now)


# --------------------------------------------------------------------------- shipped examples

def test_the_example_delegation_has_two_nameservers_with_glue():
    """Regression (an operator's first days, 5): etc/zones delegated sub.example.com to a
    single nameserver, the mistake zonectl refuses."""
    import dns.zone
    parent = dns.zone.from_file(str(ROOT / "etc/zones/example.com.zone"), "example.com.",
                                relativize=False)
    child = dns.zone.from_file(str(ROOT / "etc/zones/sub.example.com.zone"), "sub.example.com.",
                               relativize=False)
    ns = {r.target.to_text() for r in parent.find_rdataset("sub.example.com.", "NS")}
    assert len(ns) >= 2, ns
    assert ns == {r.target.to_text() for r in child.find_rdataset("sub.example.com.", "NS")}
    for n in ns:
        if n.endswith(".sub.example.com."):  # in the child: the parent needs glue
            glue = {r.address for r in parent.find_rdataset(n, "A")}
            assert glue == {r.address for r in child.find_rdataset(n, "A")}, n
    r = subprocess.run([zoned_bin(), "--check-config", str(ROOT / "etc/zoned.yaml")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stdout + r.stderr


# --------------------------------------------------------------------------- DNSSEC at load

def sign_expired(origin, text, workdir):
    """text signed by ldns-signzone with signatures valid in 2019 only."""
    run = lambda *a: subprocess.run(a, cwd=workdir, capture_output=True, text=True, check=True,
                                    timeout=60).stdout.strip()
    ksk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", origin)
    zsk = run("ldns-keygen", "-a", "ECDSAP256SHA256", origin)
    (workdir / "in.zone").write_text(text)
    run("ldns-signzone", "-i", "20190101000000", "-e", "20200101000000", "-f",
        str(workdir / "out.zone"), "in.zone", ksk, zsk)
    return (workdir / "out.zone").read_text()


def test_expired_signatures_are_a_warning_at_check_config_and_at_load(tmp_path):
    """Regression (an operator's first days, 3): a zone whose every signature expired in 2020
    loaded and was served without a warning, and --check-config said ok."""
    signed = sign_expired("unit.test", UNIT_ZONE, tmp_path)
    z = ZonedServer({"unit.test": signed},
                    'server:\n  listen: ["{host}:{port}"]\n  workers: 1\n  log-level: info\n'
                    "zones:\n  - name: unit.test\n    file: zones/unit.test.zone\n")
    try:
        r = subprocess.run([zoned_bin(), "--check-config", str(z.config)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr  # served anyway: a warning
        warning = re.search(r"^warning: zone unit\.test: .*unit\.test\.zone:\d+: (\d+) of \1 "
                            r"signatures expired \(the last on 2020-01-01 00:00:00 UTC\): "
                            r"unit\.test\. \w+, .* and \d+ more; .*re-sign", r.stderr, re.M)
        assert warning, r.stderr
        assert len(r.stderr.splitlines()) == 1, r.stderr  # one line, not one per signature
        z.start()
        assert re.search(r"warning \[zone\] zone unit\.test: .*signatures expired", z.log()), z.log()
        assert ask(z.host, z.port, "www.unit.test", "A").answer
    finally:
        z.cleanup()


# --------------------------------------------------------------------------- zone-file errors

@pytest.mark.parametrize("line, message", [
    ("www     IN A    192.0.2.300", "192.0.2.300 is not an IPv4 address"),
    ("www     IN 300 A 192.0.2.1", "'IN 300': the TTL goes before the class "
                                   "(write 'www 300 IN A 192.0.2.1 ...')"),
    ("mail    IN MX   70000 mx", "MX preference '70000' is out of range (0..65535)"),
], ids=["bad-address", "ttl-after-class", "out-of-range"])
def test_check_config_names_the_field_and_the_value(tmp_path, line, message):
    """Regression (an operator's first days, 4): "Syntax error, could not parse the RR's
    rdata" said neither which field nor which value."""
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "unit.test.zone").write_text(UNIT_ZONE + line + "\n")
    cfg = tmp_path / "zoned.yaml"
    cfg.write_text('server:\n  listen: ["127.0.0.1:53535"]\n'
                   "zones:\n  - name: unit.test\n    file: zones/unit.test.zone\n")
    r = subprocess.run([zoned_bin(), "--check-config", str(cfg)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1, r.stdout + r.stderr
    n = len(UNIT_ZONE.splitlines()) + 1
    assert f"error: zone unit.test: {zones / 'unit.test.zone'}:{n}: {message}\n" in r.stderr, r.stderr


def test_a_missing_soa_points_at_the_file_not_line_0(tmp_path):
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "unit.test.zone").write_text("; no SOA\n$ORIGIN unit.test.\n@ 300 IN NS ns1\n"
                                          "ns1 300 IN A 192.0.2.1\n")
    cfg = tmp_path / "zoned.yaml"
    cfg.write_text('server:\n  listen: ["127.0.0.1:53535"]\n'
                   "zones:\n  - name: unit.test\n    file: zones/unit.test.zone\n")
    r = subprocess.run([zoned_bin(), "--check-config", str(cfg)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1
    assert f"{zones / 'unit.test.zone'}:3: no SOA record at the zone apex unit.test." in r.stderr, \
        r.stderr
    assert ":0:" not in r.stderr
