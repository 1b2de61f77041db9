"""Helpers for the replication tests: zoned, Knot DNS, BIND 9 and NSD processes with fully
generated configurations (TSIG everywhere), zone text, transfers and log polling."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import tempfile
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.opcode
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


def big_zone_text(serial, count, version=1, changed=None, origin=ZONE, refresh=3600, retry=1):
    """A generated zone of `count` A records h0..h{count-1}: the first `changed` of them (all
    by default) point into 10.<version>.0.0/16, the others into 10.1.0.0/16."""
    changed = count if changed is None else changed
    head = zone_text(serial, origin=origin, refresh=refresh, retry=retry)
    body = [f"h{i} A 10.{version if i < changed else 1}.{(i >> 8) & 255}.{i & 255}"
            for i in range(count)]
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


def send_notify(host, port, key=None, source=None, zone=ZONE):
    """Sends a NOTIFY for `zone` (signed with `key` when given) and returns the answer."""
    q = dns.message.make_query(zone, "SOA")
    q.flags = dns.flags.AA
    q.set_opcode(dns.opcode.NOTIFY)
    if key is not None:
        q.use_tsig(key)
    r = dns.query.udp(q, host, port=port, timeout=2, source=source)
    assert r.opcode() == dns.opcode.NOTIFY, r
    return r


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
            for k in ("catalog", "catalog-member", "catalog-group"):
                if z.get(k):
                    lines.append(f"    {k}: {z[k]}")
            for line in z.get("extra", ()):
                lines.append(f"    {line}")
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
            "    zonefile-load: difference", "    journal-content: all",
            "    semantic-checks: off",
            "zone:",
        ]
        for z in zones:
            conf += [f"  - domain: {z['name']}", f"    file: {z['name']}.zone", "    acl: peers"]
            if "text" in z:
                self.write_zone(z["name"], z["text"])
            if z.get("master"):
                # A secondary keeps its copy in the journal only (no zone file written).
                conf += [f"    master: {z['master']}", "    zonefile-load: none"]
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


# ---------------------------------------------------------------- fault injection

def _read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class FakePrimary:
    """A scripted primary in Python: answers SOA over UDP and AXFR/IXFR over TCP from `text`
    (always the whole zone, in one message), TSIG-signed with the shared key. `mode`:
      "full"    - a complete transfer;
      "cut"     - the first message, then half of a second one, then the connection closes;
      "notimp"  - IXFR answered NOTIMP (AXFR works);
      "forged"  - the transfer is signed with a key of the right name and the wrong secret."""

    def __init__(self, text, mode="full"):
        import dns.zone
        self._dns_zone = dns.zone
        self.host = HOST
        self.port = free_port(HOST)
        self.key = tsig_key()
        self.set(text, mode)
        self.transfers = []  # (qtype, mode) of every transfer request
        self._stop = threading.Event()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((HOST, self.port))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((HOST, self.port))
        self.tcp.listen(8)
        self.tcp.settimeout(0.2)
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._udp, self._tcp)]
        for t in self.threads:
            t.start()

    def set(self, text, mode="full"):
        z = self._dns_zone.from_text(text, origin=ZONE + ".", relativize=False)
        soa = z.find_rrset(ZONE + ".", "SOA")
        self.soa = soa
        self.serial = soa[0].serial
        self.rrsets = [soa] + [dns.rrset.from_rdata_list(name, rds.ttl, rds)
                               for name, rds in z.iterate_rdatasets()
                               if rds.rdtype != dns.rdatatype.SOA]
        self.mode = mode

    def stop(self):
        self._stop.set()
        for t in self.threads:
            t.join(timeout=2)
        self.udp.close()
        self.tcp.close()

    def _parse(self, wire):
        try:
            return dns.message.from_wire(wire, keyring=self.key)
        except Exception:
            return None

    def _udp(self):
        while not self._stop.is_set():
            try:
                wire, peer = self.udp.recvfrom(65535)
            except OSError:
                continue
            q = self._parse(wire)
            if q is None or q.opcode() != dns.opcode.QUERY:
                continue
            r = dns.message.make_response(q)
            r.flags |= dns.flags.AA
            r.answer.append(self.soa)
            self.udp.sendto(r.to_wire(), peer)

    def _tcp(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self._serve(conn)
                except OSError:
                    pass

    def _serve(self, conn):
        head = _read_exact(conn, 2)
        if not head:
            return
        q = self._parse(_read_exact(conn, struct.unpack("!H", head)[0]))
        if q is None:
            return
        qtype = q.question[0].rdtype
        mode = self.mode
        self.transfers.append((dns.rdatatype.to_text(qtype), mode))
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if mode == "forged":
            r.use_tsig(tsig_key(OTHER_SECRET), original_id=q.id)
            r.request_mac = q.mac
        if mode == "notimp" and qtype == dns.rdatatype.IXFR:
            r.set_rcode(dns.rcode.NOTIMP)
            wire = r.to_wire()
            conn.sendall(struct.pack("!H", len(wire)) + wire)
            return
        records = self.rrsets + [self.soa]
        if mode == "cut":
            half = len(records) // 2
            r.answer = records[:half]
            wire = r.to_wire()
            rest = dns.message.Message(id=q.id)
            rest.flags = r.flags
            rest.answer = records[half:]
            more = rest.to_wire()
            # The first message whole, then a second one broken off half-way.
            conn.sendall(struct.pack("!H", len(wire)) + wire +
                         struct.pack("!H", len(more)) + more[:len(more) // 2])
            return
        r.answer = records
        wire = r.to_wire()
        conn.sendall(struct.pack("!H", len(wire)) + wire)
        # Let the client close first.
        conn.settimeout(2)
        try:
            conn.recv(1)
        except OSError:
            pass

    def notify(self, port, host=HOST):
        """Sends a signed NOTIFY for the zone to host:port and returns the answer."""
        return send_notify(host, port, key=self.key)


class HoldingProxy:
    """A DNS proxy (UDP and TCP) in front of a primary. While `hold(n)` is in force, each TCP
    connection gets at most n bytes from the primary, then waits for `release()`: a transfer
    caught in the middle, for as long as the test wants."""

    def __init__(self, target_port, host=HOST):
        self.host = host
        self.port = free_port(host)
        self.target = (host, target_port)
        self.limit = None
        self.released = threading.Event()
        self.held = 0          # connections that reached the limit (and were held there)
        self.sent = 0          # bytes forwarded from the primary, all connections
        self.per_connection = []  # bytes forwarded from the primary, per connection
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((host, self.port))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((host, self.port))
        self.tcp.listen(8)
        self.tcp.settimeout(0.2)
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._udp, self._tcp)]
        for t in self.threads:
            t.start()

    def hold(self, nbytes):
        with self._lock:
            self.limit = nbytes
            self.held = 0
            self.released.clear()

    def release(self):
        with self._lock:
            self.limit = None
        self.released.set()

    def stop(self):
        self._stop.set()
        self.released.set()
        for t in self.threads:
            t.join(timeout=2)
        self.udp.close()
        self.tcp.close()

    def _udp(self):
        while not self._stop.is_set():
            try:
                wire, peer = self.udp.recvfrom(65535)
            except OSError:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                up.settimeout(2)
                try:
                    up.sendto(wire, self.target)
                    answer = up.recv(65535)
                except OSError:
                    continue
            self.udp.sendto(answer, peer)

    def _tcp(self):
        while not self._stop.is_set():
            try:
                client, _ = self.tcp.accept()
            except OSError:
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            closed = threading.Event()
            threading.Thread(target=self._up, args=(client, server, closed), daemon=True).start()
            threading.Thread(target=self._down, args=(client, server, closed),
                             daemon=True).start()

    @staticmethod
    def _close(client, server, closed):
        closed.set()
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _up(self, client, server, closed):
        client.settimeout(None)
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                server.sendall(data)
        except OSError:
            pass
        self._close(client, server, closed)

    def _down(self, client, server, closed):
        server.settimeout(None)
        forwarded = 0
        with self._lock:
            index = len(self.per_connection)
            self.per_connection.append(0)
        try:
            while not closed.is_set():
                data = server.recv(65536)
                if not data:
                    break
                with self._lock:
                    limit = self.limit
                if limit is not None and forwarded + len(data) > limit:
                    cut = max(0, limit - forwarded)
                    client.sendall(data[:cut])
                    forwarded += cut
                    data = data[cut:]
                    with self._lock:
                        self.sent += cut
                        self.per_connection[index] = forwarded
                        self.held += 1
                    while not self.released.wait(0.1):
                        if closed.is_set() or self._stop.is_set():
                            return
                client.sendall(data)
                forwarded += len(data)
                with self._lock:
                    self.sent += len(data)
                    self.per_connection[index] = forwarded
        except OSError:
            pass
        self._close(client, server, closed)
