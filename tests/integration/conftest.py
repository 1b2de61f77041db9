"""Shared fixtures for integration tests: real zoned processes on loopback, real clients."""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


def zoned_bin():
    return os.environ.get("ZONED_BIN", str(ROOT / "build" / "zoned"))


_handed_out = set()
_draw = random.Random()


def _ephemeral_range():
    try:
        lo, hi = open("/proc/sys/net/ipv4/ip_local_port_range").read().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


# Ports handed out by any test process on this machine within the hour (ctest runs two suites
# side by side): a server stopped and started again on its port (a primary that goes down and
# comes back) must not find it taken meanwhile by another suite's server.
_CLAIMS = Path(tempfile.gettempdir()) / "zoned-test-ports"


def _claim(port):
    """True if this process may use port: no other test process claimed it within the hour."""
    _CLAIMS.mkdir(exist_ok=True)
    path = _CLAIMS / str(port)
    for _ in range(2):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return True
        except FileExistsError:
            try:
                if time.time() - path.stat().st_mtime < 3600:
                    return False
                path.unlink()  # a stale claim: once more
            except OSError:
                return False
    return False


def free_port(host="127.0.0.1"):
    """A port free for both UDP and TCP on host, chosen below the kernel's ephemeral range.

    A port the kernel hands out (bind to 0) can be taken again a moment later as the source
    port of another test's outgoing connection (a transfer, a dig) before the server that was
    given it binds it; ports below that range are never chosen by the kernel. Ports are drawn
    at random, never twice in one process, and never one that another test process claimed
    within the hour (_claim)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    lo = 10000
    hi = max(lo + 1000, _ephemeral_range()[0] - 1)
    for _ in range(200):
        port = _draw.randint(lo, hi)
        if port in _handed_out:
            continue
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as u, \
                    socket.socket(family, socket.SOCK_STREAM) as t:
                u.bind((host, port))
                t.bind((host, port))
        except OSError:
            continue
        if not _claim(port):
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port")


def wait_for_answer(host, port, name, timeout=10.0):
    deadline = time.time() + timeout
    q = dns.message.make_query(name, "SOA")
    while time.time() < deadline:
        try:
            dns.query.udp(q, host, port=port, timeout=0.2)
            return True
        except Exception:
            time.sleep(0.05)
    return False


class Zoned:
    """A zoned process with its own directory, config and zone files."""

    def __init__(self, zones, extra_server="", extra="", host="127.0.0.1", port=None,
                 listen=None, probe=None, prefix=()):
        self.prefix = list(prefix)  # e.g. ["prlimit", "--nofile=200:200"] (which execs zoned)
        self.dir = Path(tempfile.mkdtemp(prefix="zoned-test-"))
        self.host = host
        self.port = port or free_port(host)
        (self.dir / "zones").mkdir()
        zone_entries = []
        for name, text in zones.items():
            fname = f"zones/{name}.zone"
            (self.dir / fname).write_text(text)
            zone_entries.append(f"  - name: {name}\n    file: {fname}\n")
        listen = listen or [f"{host}:{self.port}" if ":" not in host else f"[{host}]:{self.port}"]
        self.config = self.dir / "zoned.yaml"
        self.config.write_text(
            "server:\n"
            f"  listen: [{', '.join(repr(l) for l in listen)}]\n"
            "  workers: 2\n"
            "  log-level: debug\n"
            f"{extra_server}"
            + (("zones:\n" + "".join(zone_entries)) if zone_entries else "")
            + extra
        )
        self.log_path = self.dir / "zoned.log"
        self.proc = None
        self.probe = probe or (next(iter(zones)) if zones else None)

    def start(self, wait=True):
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.prefix + [zoned_bin(), "--config", str(self.config)],
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        if wait and self.probe:
            if not wait_for_answer(self.host, self.port, self.probe):
                self.stop()
                raise RuntimeError("zoned did not start:\n" + self.log())
        return self

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def write_zone(self, name, text):
        (self.dir / f"zones/{name}.zone").write_text(text)

    def sighup(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log_file", None):
            self.log_file.close()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def make_zoned():
    """Factory: make_zoned({"example.com": text}) -> started Zoned; all stopped at teardown."""
    started = []

    def factory(zones, **kw):
        z = Zoned(zones, **kw)
        started.append(z)
        return z.start()

    yield factory
    for z in started:
        z.cleanup()


def dig(server, port, *args, tcp=False):
    cmd = ["dig", f"@{server}", "-p", str(port), "+norec", "+time=2", "+tries=1"]
    if tcp:
        cmd.append("+tcp")
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=20).stdout


def kdig(server, port, *args, tcp=False):
    cmd = ["kdig", f"@{server}", "-p", str(port), "+norec", "+time=2", "+retry=0"]
    if tcp:
        cmd.append("+tcp")
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=20).stdout


def query(host, port, name, rdtype, tcp=False, **kw):
    """A dnspython query; returns the parsed response."""
    q = dns.message.make_query(name, rdtype, **kw)
    q.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(q, host, port=port, timeout=3)
    return dns.query.udp(q, host, port=port, timeout=3)


EXAMPLE_ZONE = (DATA / "zones" / "example.com.zone").read_text() if (DATA / "zones" / "example.com.zone").exists() else ""
