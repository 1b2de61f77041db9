"""Helpers for the replication tests: zoned, Knot DNS, BIND 9 and NSD processes with fully
generated configurations (TSIG everywhere), zone text, transfers and log polling."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig

from conftest import free_port, zoned_bin

ZONE = "example.com"
KEY_NAME = "xfr-key"
KEY_ALG = "hmac-sha256"
KEY_SECRET = "Xq3T0F7s1aq2zH4qR0vV+0mB1f2v0mJ8mCzE7g1Yk2s="
OTHER_SECRET = "c2VjcmV0LXRoYXQtbm9ib2R5LWNvbmZpZ3VyZWQtaGVyZQ=="
HOST = "127.0.0.1"
# A second loopback address: a source that no allow-transfer list names.
STRANGER = "127.0.0.2"


def tool(name):
    """The path of a peer server binary, wherever it is installed (sbin is often off PATH)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin:/usr/local/sbin"
    return shutil.which(name, path=path)


def tsig_key(secret=KEY_SECRET, name=KEY_NAME):
    return dns.tsig.Key(name + ".", secret, KEY_ALG)


# ---------------------------------------------------------------- zone text

def zone_text(serial, records=(), origin=ZONE, refresh=3600, retry=600, expire=1209600,
              minimum=300):
    """A small zone: SOA, NS, the name server's address, www, plus `records` (lines)."""
    lines = [
        f"$ORIGIN {origin}.",
        "$TTL 300",
        f"@ IN SOA ns1.{origin}. hostmaster.{origin}. {serial} {refresh} {retry} {expire} "
        f"{minimum}",
        f"@ IN NS ns1.{origin}.",
        "ns1 IN A 192.0.2.1",
        "www IN A 192.0.2.10",
    ]
    return "\n".join(lines + list(records)) + "\n"


def big_zone_text(serial, count, origin=ZONE, tag="a", refresh=3600, retry=1):
    """A generated zone of about `count` records; `tag` varies their data between versions."""
    octet = {"a": 1, "b": 2, "c": 3}.get(tag, 9)
    head = zone_text(serial, origin=origin, refresh=refresh, retry=retry)
    body = [f"h{i} A 10.{octet}.{(i >> 8) & 255}.{i & 255}" for i in range(count)]
    return head + "\n".join(body) + "\n"


# ---------------------------------------------------------------- queries

def query(host, port, name, rdtype, timeout=2.0):
    q = dns.message.make_query(name, rdtype)
    q.flags &= ~dns.flags.RD
    return dns.query.udp(q, host, port=port, timeout=timeout)


def serial_of(host, port, zone=ZONE):
    """The SOA serial `host:port` answers for `zone` authoritatively, or None."""
    try:
        r = query(host, port, zone, "SOA", timeout=0.5)
    except Exception:
        return None
    if r.rcode() != dns.rcode.NOERROR or not (r.flags & dns.flags.AA):
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def addresses(host, port, name, rdtype="A"):
    """The sorted answer data for name/type, or the rcode text when there is none."""
    r = query(host, port, name, rdtype)
    if r.rcode() != dns.rcode.NOERROR:
        return dns.rcode.to_text(r.rcode())
    return sorted(rd.to_text() for rrset in r.answer if rrset.rdtype ==
                  dns.rdatatype.from_text(rdtype) for rd in rrset)


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_serial(host, port, serial, timeout=10.0, zone=ZONE):
    wait_until(lambda: serial_of(host, port, zone) == serial, timeout,
               what=f"{zone} serial {serial} on {host}:{port} "
                    f"(last seen {serial_of(host, port, zone)})")


def wait_listening(host, port, timeout=10.0, proc=None):
    """Until something answers DNS on host:port (any rcode)."""
    q = dns.message.make_query(ZONE, "SOA")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            dns.query.udp(q, host, port=port, timeout=0.2)
            return True
        except Exception:
            time.sleep(0.05)
    return False


def xfr_first_message(host, port, zone=ZONE, rdtype="AXFR", key=None, source=None,
                      serial=None):
    """Sends an AXFR/IXFR over TCP and returns the first response message (rcode, records).
    `key`: a dns.tsig.Key to sign with; `source`: the local address to send from."""
    q = dns.message.make_query(zone, rdtype)
    if rdtype == "IXFR":
        q.authority.append(dns.rrset.from_text(zone + ".", 0, "IN", "SOA",
                                               f". . {serial or 0} 0 0 0 0"))
    if key is not None:
        q.use_tsig(key)
    return dns.query.tcp(q, host, port=port, timeout=5, source=source)


def axfr_records(host, port, zone=ZONE, key=None):
    """A complete AXFR (signed with `key`): the set of (name, type, data) texts."""
    kw = {}
    if key is not None:
        kw = dict(keyring={key.name: key}, keyname=key.name)
    out = set()
    for msg in dns.query.xfr(host, zone, port=port, lifetime=30, relativize=False, **kw):
        for rrset in msg.answer:
            for rd in rrset:
                out.add((rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype),
                         rd.to_text()))
    return out


# ---------------------------------------------------------------- processes

class Server:
    """A server process with its own directory and a log file (stdout+stderr)."""

    name = "server"

    def __init__(self, port=None):
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-repl-"))
        self.host = HOST
        self.port = port or free_port(HOST)
        self.log_path = self.dir / f"{self.name}.log"
        self.proc = None
        self._log_file = None

    def command(self):
        raise NotImplementedError

    def start(self, wait=True, timeout=15.0):
        self._log_file = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.command(), stdout=self._log_file,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        if wait and not wait_listening(self.host, self.port, timeout, self.proc):
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{self.log()[-4000:]}")
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def kill(self):
        self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def mark(self):
        """A position in the log: pass it to wait_log/log_since to look only at what follows."""
        return len(self.log())

    def log_since(self, mark):
        return self.log()[mark:]

    def wait_log(self, pattern, timeout=10.0, since=0, count=1):
        rx = re.compile(pattern)
        def found():
            hits = rx.findall(self.log_since(since))
            return hits if len(hits) >= count else None
        try:
            return wait_until(found, timeout, what=f"{self.name} log /{pattern}/ x{count}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- {self.name} log ---\n{self.log_since(since)[-5000:]}")


class ZonedServer(Server):
    """zoned with a complete generated YAML configuration."""

    name = "zoned"

    def configure(self, zones, remotes=None, database="var/zoned.db", log_level="info",
                  keys=True):
        """zones: list of dicts {name, file text?, notify, allow-transfer, primaries,
        allow-notify}; remotes: {name: (port, keyed)}."""
        lines = ["server:", f"  listen: ['{self.host}:{self.port}']", "  workers: 1",
                 f"  log-level: {log_level}"]
        if database:
            lines.append(f"  database: {database}")
        if keys:
            lines += ["keys:", f"  - name: {KEY_NAME}", f"    algorithm: {KEY_ALG}",
                      f"    secret: \"{KEY_SECRET}\""]
        if remotes:
            lines.append("remotes:")
            for rname, (port, keyed) in remotes.items():
                lines += [f"  - name: {rname}", f"    address: \"{HOST}:{port}\""]
                if keyed:
                    lines.append(f"    key: {KEY_NAME}")
        lines.append("zones:")
        (self.dir / "zones").mkdir(exist_ok=True)
        for z in zones:
            lines.append(f"  - name: {z['name']}")
            if "text" in z:
                self.write_zone(z["name"], z["text"])
                lines.append(f"    file: zones/{z['name']}.zone")
            for k in ("notify", "allow-transfer", "primaries", "allow-notify"):
                if z.get(k):
                    lines.append(f"    {k}: [{', '.join(z[k])}]")
        self.config = self.dir / "zoned.yaml"
        self.config.write_text("\n".join(lines) + "\n")
        return self

    def write_zone(self, name, text):
        (self.dir / "zones").mkdir(exist_ok=True)
        path = self.dir / "zones" / f"{name}.zone"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    def database(self):
        return self.dir / "var" / "zoned.db"

    def reload(self):
        self.send_signal(signal.SIGHUP)

    def command(self):
        return [zoned_bin(), "--config", str(self.config)]


class KnotServer(Server):
    """knotd in the foreground with a generated knot.conf and a control socket."""

    name = "knotd"

    def configure(self, zones, remotes=None):
        """zones: list of dicts {name, text? (primary), master? (remote id), notify: [ids]};
        remotes: {id: port}. Every remote is trusted with the key for transfer and notify."""
        d = self.dir
        self.socket = d / "knot.sock"
        conf = [
            "server:", f"    rundir: {d}", f"    listen: {HOST}@{self.port}",
            "    udp-workers: 1", "    tcp-workers: 1", "    background-workers: 1",
            "control:", f"    listen: {self.socket}",
            "log:", "  - target: stderr", "    any: info",
            "database:", f"    storage: {d}",
            "key:", f"  - id: {KEY_NAME}", f"    algorithm: {KEY_ALG}",
            f"    secret: {KEY_SECRET}",
        ]
        if remotes:
            conf.append("remote:")
            for rid, port in remotes.items():
                conf += [f"  - id: {rid}", f"    address: {HOST}@{port}", f"    key: {KEY_NAME}"]
        conf += [
            "acl:", "  - id: peers", f"    address: {HOST}", f"    key: {KEY_NAME}",
            "    action: [transfer, notify]",
            "template:", "  - id: default", f"    storage: {d}", "    zonefile-sync: -1",
            "    zonefile-load: difference", "    journal-content: changes",
            "    semantic-checks: off",
            "zone:",
        ]
        for z in zones:
            conf += [f"  - domain: {z['name']}", f"    file: {z['name']}.zone", "    acl: peers"]
            if "text" in z:
                self.write_zone(z["name"], z["text"])
            if z.get("master"):
                conf.append(f"    master: {z['master']}")
            if z.get("notify"):
                conf.append(f"    notify: [{', '.join(z['notify'])}]")
        self.config = d / "knot.conf"
        self.config.write_text("\n".join(conf) + "\n")
        return self

    def write_zone(self, name, text):
        path = self.dir / f"{name}.zone"
        tmp = self.dir / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, path)

    def knotc(self, *args):
        return subprocess.run([tool("knotc"), "-s", str(self.socket), *args],
                              capture_output=True, text=True, timeout=30)

    def command(self):
        return [tool("knotd"), "-c", str(self.config)]


class BindServer(Server):
    """named -g with a generated named.conf (no rndc)."""

    name = "named"

    def configure(self, zones):
        """zones: list of dicts {name, text? (primary), primary_port? (secondary),
        notify_ports: [ports] (primary)}."""
        d = self.dir
        conf = [
            "options {",
            f'  directory "{d}";',
            f"  listen-on port {self.port} {{ {HOST}; }};",
            "  listen-on-v6 { none; };",
            f'  pid-file "{d}/named.pid";',
            f'  session-keyfile "{d}/session.key";',
            f'  managed-keys-directory "{d}";',
            "  recursion no;",
            "  dnssec-validation no;",
            "  notify explicit;",
            "  notify-delay 0;",
            "  max-ixfr-ratio unlimited;",
            "  allow-transfer { key " + KEY_NAME + "; };",
            "  allow-notify { key " + KEY_NAME + "; };",
            "  transfers-in 1;",
            "};",
            "controls { };",
            f'key "{KEY_NAME}" {{ algorithm {KEY_ALG}; secret "{KEY_SECRET}"; }};',
            f"server {HOST} {{ keys {{ {KEY_NAME}; }}; }};",
        ]
        for z in zones:
            conf.append(f'zone "{z["name"]}" {{')
            if "text" in z:
                (d / f"{z['name']}.zone").write_text(z["text"])
                conf += ["  type primary;", f'  file "{z["name"]}.zone";',
                         "  ixfr-from-differences yes;"]
                ports = z.get("notify_ports", [])
                if ports:
                    conf.append("  also-notify { " + " ".join(
                        f"{HOST} port {p} key {KEY_NAME};" for p in ports) + " };")
            else:
                conf += ["  type secondary;", f'  file "{z["name"]}.db";',
                         f"  primaries port {z['primary_port']} {{ {HOST} key {KEY_NAME}; }};"]
            conf.append("};")
        self.config = d / "named.conf"
        self.config.write_text("\n".join(conf) + "\n")
        return self

    def command(self):
        return [tool("named"), "-g", "-c", str(self.config)]


class NsdServer(Server):
    """nsd -d with a generated nsd.conf (no remote control, no privilege drop)."""

    name = "nsd"

    def configure(self, zones):
        """zones: list of dicts {name, primary_port} (secondary zones only)."""
        d = self.dir
        conf = [
            "server:", f"  ip-address: {HOST}@{self.port}", f"  port: {self.port}",
            '  username: ""', '  chroot: ""', f'  zonesdir: "{d}"', '  database: ""',
            f'  pidfile: "{d}/nsd.pid"', f'  xfrdfile: "{d}/xfrd.state"',
            f'  zonelistfile: "{d}/zone.list"', f'  xfrdir: "{d}"', "  verbosity: 2",
            "  server-count: 1", "  do-ip6: no",
            "remote-control:", "  control-enable: no",
            "key:", f"  name: {KEY_NAME}", f"  algorithm: {KEY_ALG}", f'  secret: "{KEY_SECRET}"',
        ]
        for z in zones:
            conf += ["zone:", f"  name: {z['name']}", f"  zonefile: {z['name']}.zone",
                     f"  allow-notify: {HOST} {KEY_NAME}",
                     f"  request-xfr: {HOST}@{z['primary_port']} {KEY_NAME}",
                     f"  provide-xfr: {HOST} {KEY_NAME}"]
        self.config = d / "nsd.conf"
        self.config.write_text("\n".join(conf) + "\n")
        return self

    def command(self):
        return [tool("nsd"), "-d", "-c", str(self.config)]
