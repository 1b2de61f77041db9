#!/usr/bin/env python3
"""zoned vs Knot DNS vs NSD on this machine: CPU per query, QPS, latency, start-to-serving,
memory, AXFR time, what 10k idle TCP connections cost active clients (--idle-tcp), and
optionally zoned's primary->secondary figures (--replication) and 1 vs 2 workers (--scaling).

One command from a fresh clone:  tools/bench/run.sh   (builds Release, then runs this)
Servers are pinned to CPU 1 and dnsperf to CPU 0; runs are interleaved; server CPU is read
from /proc (utime+stime of every thread of the process tree), not inferred from QPS.
"""
import argparse
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype

ROOT = Path(__file__).resolve().parents[2]
ZONED = ROOT / "build" / "zoned"  # --zoned PATH compares another build
CLK = os.sysconf("SC_CLK_TCK")
SERVER_CPU, CLIENT_CPU = "1", "0"
ALL_CPUS = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))


# ---------------------------------------------------------------- zones and queries
def gen_zone(origin, n_hosts, path, seed=42):
    """A deterministic zone with a realistic mix: hosts (A/AAAA), aliases, mail, text,
    a wildcard, delegations with glue. About 1.9 records per host."""
    rnd = random.Random(seed)
    with open(path, "w") as f:
        f.write(f"$ORIGIN {origin}.\n$TTL 3600\n")
        f.write("@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2\n")
        f.write("ns1 A 192.0.2.1\nns2 A 192.0.2.2\n@ MX 10 mail\nmail A 192.0.2.25\n")
        f.write("*.wild A 192.0.2.99\n")
        for i in range(n_hosts):
            a = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            f.write(f"host{i} A {a}\n")
            r = rnd.random()
            if r < 0.5:
                f.write(f"host{i} AAAA 2001:db8::{i & 0xffff:x}:{(i >> 16) & 0xffff:x}\n")
            elif r < 0.7:
                f.write(f"www{i} CNAME host{i}\n")
            elif r < 0.8:
                f.write(f'host{i} TXT "v=spf1 ip4:{a} -all"\n')
            elif r < 0.85:
                f.write(f"sub{i} NS ns.sub{i}\nns.sub{i} A 192.0.2.{i % 250 + 1}\n")
    return path


def gen_queries(origin, n_hosts, path, count=200000, seed=7):
    rnd = random.Random(seed)
    lines = []
    for _ in range(count):
        i = rnd.randrange(n_hosts)
        r = rnd.random()
        if r < 0.55:
            lines.append(f"host{i}.{origin} A")
        elif r < 0.70:
            lines.append(f"host{i}.{origin} AAAA")
        elif r < 0.80:
            lines.append(f"www{i}.{origin} A")           # CNAME when it exists, else NXDOMAIN
        elif r < 0.90:
            lines.append(f"nx{i}.{origin} A")            # NXDOMAIN
        elif r < 0.95:
            lines.append(f"x{i}.wild.{origin} A")        # wildcard
        else:
            lines.append(f"a.sub{i}.{origin} A")         # referral or NXDOMAIN
    Path(path).write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- processes
def free_port():
    """A loopback port free for UDP and for TCP (servers bind both; others test here too)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def tree(pid):
    """pid and all its descendants."""
    kids = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(p.name))
            except Exception:
                pass
    out, todo = [], [pid]
    while todo:
        x = todo.pop()
        out.append(x)
        todo.extend(kids.get(x, []))
    return out


def cpu_seconds(pid):
    total = 0
    for p in tree(pid):
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])  # utime + stime (all threads)
        except Exception:
            pass
    return total / CLK


def wait_idle(pid, timeout, window=0.5, busy=0.05):
    """Until the process tree uses less than `busy` of a CPU over `window` seconds: its
    start-up work is done (zoned storing the zones it served from their files, a server
    compiling or indexing behind the answers). The seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        c0 = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - c0 < busy * window:
            break
    return time.monotonic() - t0


def rss_mib(pid):
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except Exception:
            pass
    return total / 1024


def load_text():
    """The machine's load (others build here too), for the record of each run."""
    return "average {:.2f} {:.2f} {:.2f} on {} CPUs".format(*os.getloadavg(), os.cpu_count())


def answers(port, name, qtype="SOA", timeout=0.3):
    """The server's answer, or None. The socket is connected, so that a port nobody listens
    on yet (a server still loading before it opens its sockets) says so at once (ICMP port
    unreachable: ECONNREFUSED) instead of costing the whole timeout: a start is then timed
    to within one poll (20 ms) whether the server opens its sockets first or last."""
    q = dns.message.make_query(name, qtype)
    q.flags &= ~dns.flags.RD
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("127.0.0.1", port))
            sock.send(q.to_wire())
            deadline = time.monotonic() + timeout
            while True:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                r = dns.message.from_wire(sock.recv(65535))
                if r.id == q.id:
                    return r
    except Exception:
        return None


class Server:
    def __init__(self, kind, origin, zonefile, workdir, workers=1, pin=True, tcp_clients=None,
                 tcp_timeout=None, name=None, zones=None, control=False, loaders=1,
                 metrics=False):
        """tcp_clients / tcp_timeout (seconds): the TCP client cap and idle timeout, set in
        each server's own terms (see tcp_settings); None leaves the server's defaults.
        zones: [(origin, file)] served instead of the one zone (start() waits for `origin`,
        which should be the last of them); zoned then keeps them in a database. control: a
        control socket for zonectl / knotc / nsd-control. loaders: Knot's background-workers
        (None: Knot's default, one per CPU)."""
        self.kind, self.origin, self.zonefile = kind, origin, Path(zonefile)
        self.dir = Path(workdir) / (name or kind)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.workers, self.pin = workers, pin
        self.tcp_clients, self.tcp_timeout = tcp_clients, tcp_timeout
        self.zones = zones or [(origin, self.zonefile)]
        self.many = zones is not None
        self.control, self.loaders = control, loaders
        self.metrics_port = free_port() if metrics else None  # zoned: server.metrics
        self.sock = self.dir / f"{kind}.sock"
        self.proc = None

    def zone_dir(self):
        """Many zones whose files are all DIR/NAME.zone: DIR, and each server's configuration
        lists only the names, their file coming from its template (zoned `templates`, Knot
        `template`, NSD `pattern`, each with %s). None otherwise."""
        if not self.many:
            return None
        d = Path(self.zones[0][1]).parent
        return d if all(Path(z) == d / f"{o}.zone" for o, z in self.zones) else None

    def tcp_settings(self):
        """What the configuration says about TCP clients, in the server's own words."""
        c, t = self.tcp_clients, self.tcp_timeout
        if self.kind.startswith("zoned"):
            return ([f"tcp-max-clients: {c}"] if c else []) + ([f"tcp-idle-timeout: {t}"] if t else [])
        if self.kind == "knot":
            return ([f"tcp-max-clients: {c}"] if c else []) + ([f"tcp-idle-timeout: {t}s"] if t else [])
        if self.kind == "nsd":
            return ([f"tcp-count: {c}"] if c else []) + ([f"tcp-timeout: {t}"] if t else [])
        return []

    def worker_settings(self):
        if self.kind.startswith("zoned"):
            return [f"workers: {self.workers}"]
        if self.kind == "knot":
            return [f"udp-workers: {self.workers}", f"tcp-workers: {self.workers}"]
        return [f"server-count: {self.workers}", f"reuseport: {'yes' if self.workers > 1 else 'no'}"]

    def command(self):
        d, p = self.dir, self.port
        if self.kind.startswith("zoned"):
            tcp = "".join(f"  {x}\n" for x in self.tcp_settings())
            # "zoned-rrl": rate limiting on, with a rate no client here reaches (its cost).
            rrl = "  rate-limit:\n    responses-per-second: 1000000\n" if self.kind == "zoned-rrl" else ""
            # Many zones: kept in the store as zoned does for every zone; the control socket
            # for zonectl reload.
            extra = (f"  database: {d}/zoned.db\n" if self.many else "") + \
                    (f"  control: {self.sock}\n" if self.control else "") + \
                    (f"  metrics: 127.0.0.1:{self.metrics_port}\n" if self.metrics_port else "")
            zdir = self.zone_dir()
            if zdir:
                templates = (f"templates:\n  - id: default\n    file: \"{zdir}/%s.zone\"\n"
                             f"    allow-transfer: [127.0.0.0/8]\n")
                zones = "".join(f"  - name: {o}\n" for o, _ in self.zones)
            else:
                templates = ""
                zones = "".join(f"  - name: {o}\n    file: {z}\n    allow-transfer: [127.0.0.0/8]\n"
                                for o, z in self.zones)
            (d / "zoned.yaml").write_text(
                f"server:\n  listen: ['127.0.0.1:{p}']\n  workers: {self.workers}\n  log-level: warning\n"
                f"{tcp}{rrl}{extra}{templates}zones:\n{zones}")
            return [str(ZONED), "--config", str(d / "zoned.yaml")]
        if self.kind == "knot":
            loaders = f"    background-workers: {self.loaders}\n" if self.loaders else ""
            control = f'control:\n    listen: "{self.sock}"\n' if self.control else ""
            zdir = self.zone_dir()
            if zdir:
                shared = f'    file: "{zdir}/%s.zone"\n    acl: all\n'
                zones = "".join(f'  - domain: {o}\n' for o, _ in self.zones)
            else:
                shared = ""
                zones = "".join(f'  - domain: {o}\n    file: "{z}"\n    acl: all\n'
                                for o, z in self.zones)
            (d / "knot.conf").write_text(f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{p}
    udp-workers: {self.workers}
    tcp-workers: {self.workers}
{loaders}{"".join(f"    {x}{chr(10)}" for x in self.tcp_settings())}{control}database:
    storage: "{d}"
log:
  - target: stderr
    any: warning
acl:
  - id: all
    address: 127.0.0.0/8
    action: transfer
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
{shared}zone:
{zones}""")
            return ["knotd", "-c", str(d / "knot.conf")]
        if self.kind == "nsd":
            zdir = self.zone_dir()
            (d / "nsd.conf").write_text(f"""server:
    port: {p}
    ip-address: 127.0.0.1
    server-count: {self.workers}
    reuseport: {"yes" if self.workers > 1 else "no"}
{"".join(f"    {x}{chr(10)}" for x in self.tcp_settings())}    username: ""
    chroot: ""
    zonesdir: "{d}"
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    database: ""
    minimal-responses: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    verbosity: 0
remote-control:
    control-enable: {"yes" if self.control else "no"}
{f'    control-interface: "{self.sock}"{chr(10)}' if self.control else ""}pattern:
    name: xfr
    provide-xfr: 127.0.0.0/8 NOKEY
{f'    zonefile: "{zdir}/%s.zone"{chr(10)}' if zdir else ""}""" + "".join(
                f'zone:\n    name: {o}\n' + ("" if zdir else f'    zonefile: "{z}"\n') +
                '    include-pattern: xfr\n' for o, z in self.zones))
            return ["nsd", "-d", "-c", str(d / "nsd.conf")]
        raise ValueError(self.kind)

    def start(self, timeout=120, poll_timeout=0.3, retries=2):
        cmd = (["taskset", "-c", SERVER_CPU] if self.pin else []) + self.command()
        # A restart (start after stop) keeps the first run's log.
        self.log = open(self.dir / "server.log", "a" if self.proc else "w")
        log_from = self.log.tell()  # this run's part of the log
        t0 = self.started_at = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        while time.monotonic() - t0 < timeout:
            r = answers(self.port, self.origin, timeout=poll_timeout)
            if r is not None and r.answer:
                self.start_time = time.monotonic() - t0
                break
            if self.proc.poll() is not None:
                with open(self.dir / "server.log", errors="replace") as f:
                    f.seek(log_from)
                    log = f.read()[-2000:]
                if "already in use" in log.lower() and retries:
                    # Someone else took the port meanwhile (the machine is shared): another.
                    self.port = free_port()
                    return self.start(timeout, poll_timeout, retries - 1)
                raise RuntimeError(f"{self.kind} exited (status {self.proc.returncode}) "
                                   f"{time.monotonic() - t0:.1f} s after start: {log}")
            time.sleep(0.02)
        else:
            raise RuntimeError(f"{self.kind} did not answer within {timeout}s")
        # Knot pins its own threads: put every thread of every server on the server CPU (or,
        # unpinned, let every thread run on every CPU).
        self.pin_threads(SERVER_CPU if self.pin else ALL_CPUS)
        return self

    def pin_threads(self, cpus):
        for p in tree(self.proc.pid):
            subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(p)], capture_output=True)

    def stop(self, timeout=20):
        """SIGTERM, then SIGKILL after timeout seconds; says so when it had to kill."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                print(f"  {self.kind} did not stop within {timeout} s of SIGTERM: killed",
                      file=sys.stderr)
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- measurements
def dnsperf(port, queries, seconds, tcp=False, qps=None, verbose=False, clients=20, threads=1,
            pin=True):
    cmd = (["taskset", "-c", CLIENT_CPU] if pin else []) + [
           "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-T", str(threads),
           "-d", str(queries), "-l", str(seconds), "-c", str(clients), "-q", "500", "-t", "2"]
    if tcp:
        cmd += ["-m", "tcp"]
    if qps:
        cmd += ["-Q", str(qps)]
    if verbose:
        cmd += ["-v"]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = {"completed": 0, "lost": 0, "qps": 0.0, "lat": [],
           "client_cpu": (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)}
    m = re.search(r"Queries completed:\s+(\d+)", out)
    if m:
        res["completed"] = int(m.group(1))
    m = re.search(r"Queries lost:\s+(\d+)", out)
    if m:
        res["lost"] = int(m.group(1))
    m = re.search(r"Run time \(s\):\s+([\d.]+)", out)
    res["seconds"] = float(m.group(1)) if m else float(seconds)
    m = re.search(r"Queries per second:\s+([\d.]+)", out)
    if m:
        res["qps"] = float(m.group(1))
    if verbose:
        for line in out.splitlines():
            if line.startswith("> "):
                try:
                    res["lat"].append(float(line.split()[-1]))
                except ValueError:
                    pass
    return res


def measure_load(server, queries, seconds, tcp=False):
    c0 = cpu_seconds(server.proc.pid)
    r = dnsperf(server.port, queries, seconds, tcp=tcp)
    c1 = cpu_seconds(server.proc.pid)
    r["cpu_us"] = (c1 - c0) / max(1, r["completed"]) * 1e6
    return r


def axfr_seconds(port, origin):
    t0 = time.monotonic()
    out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), origin, "AXFR", "+noall",
                          "+stats"], capture_output=True, text=True)
    t = time.monotonic() - t0
    m = re.search(r"Received \d+ B \((\d+) messages, (\d+) records\)", out.stdout)
    return t, int(m.group(2)) if m else 0


def same_answers(servers, queries, sample=300):
    names = Path(queries).read_text().split("\n")[:sample]
    diffs = 0
    for line in names:
        if not line:
            continue
        name, qtype = line.split()
        seen = []
        for s in servers:
            r = answers(s.port, name, qtype, timeout=1)
            if r is None:
                seen.append(None)
                continue
            key = (r.rcode(), sorted(str(x).lower() for x in r.answer),
                   sorted(str(x).lower() for x in r.authority if x.rdtype == dns.rdatatype.NS))
            seen.append(key)
        if any(k != seen[0] for k in seen):
            diffs += 1
            if diffs <= 3:
                print(f"  differs: {line}: {seen}", file=sys.stderr)
    return diffs


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "-"


def table(rows):
    w = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip())


def percentile_us(lat, q):
    return sorted(lat)[min(len(lat) - 1, int(len(lat) * q))] * 1e6 if lat else 0.0


def measure_fixed(server, queries, seconds, qps, tcp=False):
    """dnsperf at a fixed rate: answered q/s, lost, server CPU per answer, latency p50/p99."""
    c0 = cpu_seconds(server.proc.pid)
    r = dnsperf(server.port, queries, seconds, tcp=tcp, qps=qps, verbose=True)
    c1 = cpu_seconds(server.proc.pid)
    r["cpu_us"] = (c1 - c0) / max(1, r["completed"]) * 1e6
    r["answered"] = r["completed"] / max(0.001, r["seconds"])
    r["p50"], r["p99"] = percentile_us(r["lat"], 0.50), percentile_us(r["lat"], 0.99)
    r["lat"] = []
    return r


# ---------------------------------------------------------------- idle TCP connections
def raise_open_files(want):
    """Raises this process's open-file limit (the servers it starts inherit it); as root the
    hard limit too. Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def accept_queue(port):
    """Connections waiting in the accept queue of the TCP listener on 127.0.0.1:port, asked of
    the kernel with sock_diag (listening sockets only: cheap however many are open)."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4) as nl:  # NETLINK_SOCK_DIAG
        req = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 1 << 10)  # LISTEN
        req += bytes(48)  # inet_diag_sockid: no filter
        nl.send(struct.pack("=IHHII", 16 + len(req), 20, 0x301, 1, 0) + req)  # DUMP|REQUEST
        waiting = 0
        while True:
            data = nl.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, off)
                if kind in (2, 3):  # NLMSG_ERROR, NLMSG_DONE
                    return waiting
                sport = struct.unpack_from("!H", data, off + 20)[0]
                if sport == port:
                    waiting += struct.unpack_from("=I", data, off + 72)[0]  # idiag_rqueue
                off += (length + 3) & ~3
            if not data:
                return waiting


class IdleClients:
    """n TCP connections that connect and then say nothing, from this process (pinned to the
    client CPU while connecting). Connects go a few at a time, and the next ones wait until
    the server has accepted them (its accept queue is empty again): this measures holding
    connections, not absorbing a burst of them. (Knot listens with a backlog of 10: a burst
    overflows it, SYNs are dropped and retried a second later, and with SYN cookies a client
    can even believe in a connection the server never saw.)"""

    def __init__(self, port, n, chunk=8, timeout=10):
        self.socks, self.failed = [], 0
        misses = 0
        old = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {int(CLIENT_CPU)})
        t0 = time.monotonic()
        try:
            for start in range(0, n, chunk):
                ep, pending = select.epoll(), {}
                for _ in range(start, min(n, start + chunk)):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setblocking(False)
                    s.connect_ex(("127.0.0.1", port))
                    ep.register(s.fileno(), select.EPOLLOUT)
                    pending[s.fileno()] = s
                deadline = time.monotonic() + timeout
                while pending and time.monotonic() < deadline:
                    for fd, _ in ep.poll(0.1):
                        s = pending.pop(fd)
                        ep.unregister(fd)
                        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                            self.socks.append(s)
                        else:
                            self.failed += 1
                            s.close()
                for s in pending.values():  # never connected
                    self.failed += 1
                    s.close()
                ep.close()
                # Let the server accept these before the next ones; a server that stops
                # accepting (a cap) is not waited for again after a few tries.
                if misses < 3:
                    wait_until = time.monotonic() + 0.2
                    while accept_queue(port) and time.monotonic() < wait_until:
                        time.sleep(0.0002)
                    misses = misses + 1 if accept_queue(port) else 0
        finally:
            os.sched_setaffinity(0, old)
        self.connect_seconds = time.monotonic() - t0

    def closed_by_server(self):
        """How many the server has closed or reset (EOF, RST: readable at once)."""
        ep = select.epoll()
        try:
            for s in self.socks:
                ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
            return len(ep.poll(0.2, maxevents=len(self.socks) or 1))
        finally:
            ep.close()

    def close(self):
        for s in self.socks:  # RST, not FIN: no TIME_WAIT left behind on loopback
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            except OSError:
                pass
            s.close()
        self.socks = []


def held_by_server(pid, port):
    """TCP connections to port that the server's processes have accepted and still hold
    (ESTABLISHED sockets whose inode is one of their descriptors; a connection still waiting
    in the accept queue has no inode)."""
    inodes = set()
    for p in tree(pid):
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                try:
                    link = os.readlink(f"/proc/{p}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            pass
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "01" and int(f[1].rsplit(":", 1)[1], 16) == port and f[9] in inodes:
                n += 1
    return n


def idle_tcp(kinds, origin, zf, qf, work, n, seconds, qps, rounds):
    """Per server: active clients at a fixed rate (UDP, then TCP) without and then with n
    idle TCP connections open, and what became of those connections."""
    cap, timeout = 2 * n + 1000, 3600
    out = {}
    for k in kinds:
        s = Server(k, origin, zf, work / "idle", tcp_clients=cap, tcp_timeout=timeout,
                   name=f"{k}-idle").start()
        o = out[k] = {"settings": s.tcp_settings(), "base": [], "idle": [], "status": []}
        try:
            for _ in range(rounds):
                o["base"].append({t: measure_fixed(s, qf, seconds, qps, tcp=t == "tcp")
                                  for t in ("udp", "tcp")})
                rss0 = rss_mib(s.proc.pid)
                idle = IdleClients(s.port, n)
                try:
                    t0 = time.monotonic()
                    held = held_by_server(s.proc.pid, s.port)
                    while held < len(idle.socks) and time.monotonic() - t0 < 10:
                        time.sleep(0.2)
                        held = held_by_server(s.proc.pid, s.port)
                    c0 = cpu_seconds(s.proc.pid)
                    time.sleep(2)
                    idle_cpu_ms = (cpu_seconds(s.proc.pid) - c0) / 2 * 1000
                    st = {"connected": len(idle.socks), "failed": idle.failed,
                          "connect_s": idle.connect_seconds, "held_start": held,
                          "rss_mib": rss_mib(s.proc.pid) - rss0, "idle_cpu_ms": idle_cpu_ms}
                    o["idle"].append({t: measure_fixed(s, qf, seconds, qps, tcp=t == "tcp")
                                      for t in ("udp", "tcp")})
                    time.sleep(0.5)  # dnsperf's own TCP connections are gone
                    st["held_end"] = held_by_server(s.proc.pid, s.port)
                    st["closed"] = idle.closed_by_server()
                    st["seconds"] = time.monotonic() - t0
                    o["status"].append(st)
                finally:
                    idle.close()
        finally:
            s.stop()
    return out, cap, timeout


def idle_rows(kinds, res, n, qps):
    med = lambda xs, t, key: statistics.median(x[t][key] for x in xs)
    medst = lambda k, key: statistics.median(x[key] for x in res[k]["status"])
    rows = [[f"{n} idle TCP connections (medians)", *kinds]]
    def fmt(v, d):
        return f"{v:.{d}f}"
    for label, key, d in (("connected (client side)", "connected", 0),
                          ("  connect failed", "failed", 0),
                          ("  seconds to connect them", "connect_s", 2),
                          ("accepted and held by server at start", "held_start", 0),
                          ("held by server at end", "held_end", 0),
                          ("closed by server (seen by client)", "closed", 0),
                          ("  seconds they were open", "seconds", 1),
                          ("server RSS growth MiB", "rss_mib", 1),
                          ("server CPU ms/s while only idle", "idle_cpu_ms", 1)):
        rows.append([label, *[fmt(medst(k, key), d) for k in kinds]])
    rows.append([f"active clients @{qps} q/s: no idle -> {n} idle (ratio)", *["" for _ in kinds]])
    for t in ("udp", "tcp"):
        for label, key, d in (("answered q/s", "answered", 0), ("lost queries", "lost", 0),
                              ("server CPU us/query", "cpu_us", 2),
                              ("latency p50 us", "p50", 0), ("latency p99 us", "p99", 0)):
            cells = []
            for k in kinds:
                a, b = med(res[k]["base"], t, key), med(res[k]["idle"], t, key)
                cells.append(f"{fmt(a, d)} -> {fmt(b, d)}" + (f" {ratio(b, a)}" if key != "lost" else ""))
            rows.append([f"{t.upper()} {label}", *cells])
    return rows


# ---------------------------------------------------------------- 1 vs 2 workers
def machine_busy_seconds():
    """CPU seconds every CPU of the machine spent busy (all processes, others' too)."""
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(f[:8]) - f[3] - f[4]) / CLK  # all but idle and iowait


def thread_cpu(pid):
    """CPU seconds of each thread of pid's process tree."""
    out = {}
    for p in tree(pid):
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                f = Path(f"/proc/{p}/task/{t}/stat").read_text().rsplit(")", 1)[1].split()
                out[(p, t)] = (int(f[11]) + int(f[12])) / CLK
            except (OSError, IndexError):
                pass
    return out


def dnsperf_sampled(server, queries, seconds, tcp, clients, threads):
    """dnsperf unpinned at full speed; cores busy (server, dnsperf, whole machine) sampled in
    the steady middle of the run, leaving out dnsperf's start (reading the query file)."""
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(server.port), "-T", str(threads),
           "-d", str(queries), "-l", str(seconds), "-c", str(clients), "-q", "500", "-t", "2"]
    if tcp:
        cmd += ["-m", "tcp"]
    c_all0 = cpu_seconds(server.proc.pid)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(min(1.0, seconds / 4))
    t0, c0, d0, m0 = time.monotonic(), cpu_seconds(server.proc.pid), cpu_seconds(p.pid), \
        machine_busy_seconds()
    th0 = thread_cpu(server.proc.pid)
    time.sleep(max(0.5, seconds - min(1.0, seconds / 4) - 0.5))
    t1, c1, d1, m1 = time.monotonic(), cpu_seconds(server.proc.pid), cpu_seconds(p.pid), \
        machine_busy_seconds()
    th1 = thread_cpu(server.proc.pid)
    out = p.communicate()[0]
    c_all1 = cpu_seconds(server.proc.pid)
    m = re.search(r"Queries completed:\s+(\d+)", out)
    done = int(m.group(1)) if m else 0
    m = re.search(r"Queries per second:\s+([\d.]+)", out)
    wall = t1 - t0
    return {"qps": float(m.group(1)) if m else 0.0,
            "cpu_us": (c_all1 - c_all0) / max(1, done) * 1e6,
            "server_cores": (c1 - c0) / wall, "client_cores": (d1 - d0) / wall,
            "machine_cores": (m1 - m0) / wall,
            "threads": sorted(((th1[k] - th0.get(k, 0)) / wall for k in th1), reverse=True)[:2]}


def scaling(kinds, origin, zf, qf, work, seconds, rounds, threads=2, clients=20):
    """Each server with 1 and with 2 workers, nothing pinned; dnsperf (unpinned, `threads`
    threads) at full speed over UDP and TCP. Runs are interleaved."""
    servers = {(k, w): Server(k, origin, zf, work / "scaling", workers=w, pin=False,
                              name=f"{k}-{w}w").start() for k in kinds for w in (1, 2)}
    res = {key: {"udp": [], "tcp": []} for key in servers}
    try:
        for _ in range(rounds):
            for (k, w), s in servers.items():
                for t in ("udp", "tcp"):
                    res[(k, w)][t].append(dnsperf_sampled(s, qf, seconds, t == "tcp", clients,
                                                          threads))
    finally:
        for s in servers.values():
            s.stop()
    settings = {k: " / ".join(" | ".join(x) for x in zip(*[servers[(k, w)].worker_settings()
                                                          for w in (1, 2)]))
                for k in kinds}
    return res, settings


def scaling_rows(kinds, res):
    med = lambda xs, key: statistics.median(x[key] for x in xs)
    head = [""]
    for k in kinds:
        head += [f"{k} 1w", f"{k} 2w", "2w/1w"]
    rows = [head]
    for t in ("udp", "tcp"):
        for label, key, d in (("QPS", "qps", 0), ("server CPU us/query", "cpu_us", 2),
                              ("server cores busy", "server_cores", 2),
                              ("dnsperf cores busy", "client_cores", 2),
                              ("machine cores busy (all processes)", "machine_cores", 2)):
            cells = [f"{t.upper()} {label}"]
            for k in kinds:
                a, b = med(res[(k, 1)][t], key), med(res[(k, 2)][t], key)
                cells += [f"{a:.{d}f}", f"{b:.{d}f}", ratio(b, a)]
            rows.append(cells)
            if key == "qps" and len(res[(kinds[0], 1)][t]) > 1:
                cells = [f"{t.upper()} QPS min-max over rounds"]
                for k in kinds:
                    for w in (1, 2):
                        xs = [x["qps"] for x in res[(k, w)][t]]
                        cells.append(f"{min(xs) / 1000:.0f}k-{max(xs) / 1000:.0f}k")
                    cells.append("")
                rows.append(cells)
        cells = [f"{t.upper()} busiest 2 server threads, cores"]
        for k in kinds:
            for w in (1, 2):
                xs = res[(k, w)][t]
                cells.append("+".join(f"{statistics.median(x['threads'][i] for x in xs):.2f}"
                                      for i in range(min(len(x["threads"]) for x in xs))))
            cells.append("")
        rows.append(cells)
    return rows


# ---------------------------------------------------------------- many small zones
ZONES_FORMAT = "zones-v1"  # bump when the generated content changes


def many_zone_names(n):
    """n zone names spread over 8 TLD-like parents: z000000.b0.test. ... (deterministic)."""
    return [f"z{i:06d}.b{i % 8}.test" for i in range(n)]


def gen_many_zones(n, directory):
    """n zones of 9 records each (SOA, 2 NS, A, AAAA, MX, TXT, CNAME and the MX target's A),
    one file per zone, written once per n (a marker says the set is complete).
    Returns [(origin, path)] in configuration order."""
    directory = Path(directory)
    zones = [(o, directory / f"{o}.zone") for o in many_zone_names(n)]
    marker = directory / "complete"
    if marker.exists() and marker.read_text() == f"{ZONES_FORMAT} {n}\n":
        return zones
    directory.mkdir(parents=True, exist_ok=True)
    for i, (o, path) in enumerate(zones):
        path.write_text(
            f"$ORIGIN {o}.\n$TTL 3600\n"
            f"@ SOA ns1.bench-ns.test. hostmaster 1 7200 3600 1209600 300\n"
            f"@ NS ns1.bench-ns.test.\n@ NS ns2.bench-ns.test.\n"
            f"@ A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n"
            f"@ AAAA 2001:db8::{(i >> 16) & 0xffff:x}:{i & 0xffff:x}\n"
            f"@ MX 10 mail\nmail A 192.0.2.25\n"
            f'@ TXT "bench zone {i}"\nwww CNAME @\n')
    marker.write_text(f"{ZONES_FORMAT} {n}\n")
    return zones


def qname_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def soa_sweep(port, names, window=200, timeout=1.0, refused=False):
    """Asks every name for its SOA once (UDP, up to `window` queries in flight) and returns
    the indexes of the names answered authoritatively with an SOA (QR, AA, NOERROR, an
    answer); the others (SERVFAIL while loading, REFUSED, no answer) are left out."""
    qs = [qname_wire(n) + struct.pack("!HH", 6, 1) for n in names]  # SOA IN
    ok = set()
    free, pend, nxt = list(range(window)), {}, 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        while nxt < len(qs) or pend:
            while free and nxt < len(qs):
                qid = free.pop()
                try:
                    s.send(struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + qs[nxt])
                except OSError:
                    pass  # not listening (yet): it times out like a lost query
                pend[qid] = (nxt, time.monotonic() + timeout)
                nxt += 1
            select.select([s], [], [], 0.02)
            while True:
                try:
                    data = s.recv(4096)
                except OSError:  # nothing more (or ICMP refused)
                    break
                if len(data) < 12:
                    continue
                qid, flags, _, an = struct.unpack_from("!HHHH", data)
                p = pend.get(qid)
                # The question must be the one asked with this id (ids are reused).
                if p is None or data[12:12 + len(qs[p[0]])].lower() != qs[p[0]].lower():
                    continue
                del pend[qid]
                free.append(qid)
                if refused:  # asked which names are no longer served (REFUSED)
                    if flags & 0x8000 and flags & 0xF == 5:
                        ok.add(p[0])
                elif flags & 0x8000 and flags & 0x0400 and flags & 0xF == 0 and an > 0:
                    ok.add(p[0])
            now = time.monotonic()
            for qid, (_, deadline) in list(pend.items()):
                if deadline < now:
                    del pend[qid]
                    free.append(qid)
    return ok


def all_answer(port, names, deadline):
    """Sweeps until every name answers its SOA or the deadline passes; returns the indexes
    still missing (empty: all answer)."""
    missing = list(range(len(names)))
    while True:
        got = soa_sweep(port, [names[i] for i in missing])
        missing = [m for k, m in enumerate(missing) if k not in got]
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.1)


def pss_mib(pid):
    """Proportional set size of the process tree: a page shared by k processes counts 1/k
    (NSD's forked servers share the zone data that RSS would count once per process)."""
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except Exception:
            pass
    return total / 1024


def served_serial(port, name):
    r = answers(port, name, timeout=0.2)
    return r.answer[0][0].serial if r is not None and r.answer and \
        r.answer[0].rdtype == dns.rdatatype.SOA else None


def bump_serial(path):
    """The zone file's SOA serial + 1 (the generated layout: serial after 'hostmaster');
    returns the new serial."""
    text = path.read_text()
    m = re.search(r"hostmaster (\d+) ", text)
    new = int(m.group(1)) + 1
    path.write_text(text[:m.start(1)] + str(new) + text[m.end(1):])
    return new


# The reloads measured, in each server's documented terms: the whole server (re-reads its
# configuration and every zone file that changed) and the one changed zone.
RELOAD_ALL = {"zoned": "SIGHUP", "knot": "knotc reload", "nsd": "nsd-control reload"}
RELOAD_ONE = {"zoned": "zonectl reload ZONE", "knot": "knotc zone-reload ZONE",
              "nsd": "nsd-control reload ZONE"}


def reload_command(s, zone):
    """Runs the reload of zone (None: the whole server) and returns when the command has."""
    if s.kind == "zoned" and zone is None:
        s.proc.send_signal(signal.SIGHUP)
        return
    cmd = {"zoned": [str(ZONED.parent / "zonectl"), "--socket", str(s.sock), "reload"],
           "knot": ["knotc", "-s", str(s.sock), "zone-reload" if zone else "reload"],
           "nsd": ["nsd-control", "-c", str(s.dir / "nsd.conf"), "reload"]}[s.kind]
    r = subprocess.run(cmd + ([zone] if zone else []), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stdout}{r.stderr}")


def time_reload(s, zone, path, one, timeout=600):
    """Serial + 1 in zone's file, the reload, then until the new serial is served: seconds."""
    new = bump_serial(path)
    t0 = time.monotonic()
    reload_command(s, zone if one else None)
    while time.monotonic() - t0 < timeout:
        if served_serial(s.port, zone) == new:
            return time.monotonic() - t0
        time.sleep(0.002)
    raise RuntimeError(f"{s.kind}: {zone} does not serve serial {new} {timeout}s after the reload")


def many_zones_round(kind, zones, work, timeout):
    """One server over the zone set: start (nothing kept from before) to the last zone
    answering, then every zone; memory; restart; reload of the whole server and of the one
    changed zone. The changed file is put back afterwards."""
    names = [o for o, _ in zones]
    out = {}
    d = work / kind
    shutil.rmtree(d, ignore_errors=True)  # zoned's database, Knot's timers, NSD's state
    s = Server(kind, names[-1], zones[-1][1], work, pin=False, zones=zones, control=True,
               loaders=None)
    changed, changed_file = zones[len(zones) // 2]
    original = changed_file.read_text()
    phase = "start"
    try:
        s.start(timeout=timeout, poll_timeout=0.1)
        out["start"] = s.start_time
        missing = all_answer(s.port, names, time.monotonic() + timeout)
        out["start_all"] = time.monotonic() - s.started_at
        out["missing"] = len(missing)
        if missing:
            print(f"  {kind}: {len(missing)} of {len(names)} zones do not answer their SOA, "
                  f"e.g. {names[missing[0]]}", file=sys.stderr)
        # Memory once the start-up's work is done, whatever a server does after answering.
        out["settled"] = out["start_all"] + wait_idle(s.proc.pid, timeout)
        time.sleep(1)
        out["rss"], out["pss"] = rss_mib(s.proc.pid), pss_mib(s.proc.pid)
        # Work done per second with every zone loaded and nothing asked: timers, scans.
        c0 = cpu_seconds(s.proc.pid)
        time.sleep(3)
        out["idle_cpu"] = (cpu_seconds(s.proc.pid) - c0) / 3 * 1000
        phase = "stop"
        s.stop(timeout=120)
        phase = "restart"
        s.start(timeout=timeout, poll_timeout=0.1)
        out["restart"] = s.start_time
        missing = all_answer(s.port, names, time.monotonic() + timeout)
        out["restart_all"] = time.monotonic() - s.started_at
        out["missing_restart"] = len(missing)
        phase = "reload"
        out["reload_all"] = time_reload(s, changed, changed_file, False, timeout)
        out["reload_one"] = time_reload(s, changed, changed_file, True, timeout)
        # The other zones are still served after the reloads (a sample).
        sample = names[::max(1, len(names) // 200)]
        out["after_reload"] = len(soa_sweep(s.port, sample)), len(sample)
    except RuntimeError as e:
        raise RuntimeError(f"{phase}: {e}") from e
    finally:
        s.stop(timeout=120)
        changed_file.write_text(original)
    return out


def many_zones(kinds, n, work, rounds, timeout=3600):
    """Each server in turn over the same n zone files, `rounds` interleaved rounds. A server
    that fails (does not start, does not reload) is reported and the others go on."""
    zdir = work / f"zones-{n}"
    t0 = time.monotonic()
    zones = gen_many_zones(n, zdir / "files")
    # Every file read once before the rounds: the first server of the first round does not
    # pay for a cold page cache that the others then find warm.
    for _, path in zones:
        path.read_bytes()
    print(f"{n} zones: files in {zdir / 'files'} ({time.monotonic() - t0:.1f} s to write or "
          f"find them, and read them once); load {load_text()}", flush=True)
    res, failed = {k: [] for k in kinds}, {}
    for _ in range(rounds):
        for k in kinds:
            try:
                res[k].append(many_zones_round(k, zones, zdir, timeout))
            except RuntimeError as e:
                failed.setdefault(k, []).append(str(e)[-500:])
                print(f"  {k} at {n} zones failed: {str(e)[-500:]}", file=sys.stderr, flush=True)
    return res, failed


MANY_ZONE_ROWS = (
    ("start -> last zone answers SOA, s", "start", 2),
    ("start -> all zones answer SOA, s", "start_all", 2),
    ("restart -> last zone answers SOA, s", "restart", 2),
    ("restart -> all zones answer SOA, s", "restart_all", 2),
    ("start -> start-up work done (CPU idle), s", "settled", 2),
    ("resident memory MiB (RSS, process tree, then)", "rss", 1),
    ("proportional memory MiB (PSS, process tree)", "pss", 1),
    ("CPU ms per s while idle (all zones served)", "idle_cpu", 1),
    ("reload whole server -> new serial, s", "reload_all", 3),
    ("reload the one zone -> new serial, s", "reload_one", 3),
)


def median_of(res, k, key):
    """The median over a server's rounds, None when it has none (it failed)."""
    return statistics.median(x[key] for x in res[k]) if res.get(k) else None


def many_zones_rows(kinds, res, n):
    others = [k for k in kinds if k != "zoned"]
    z = "zoned" in kinds
    rows = [[f"{n} zones", *kinds] + ([f"zoned/{k}" for k in others] if z else [])]
    fmt = lambda v, d: "failed" if v is None else f"{v:.{d}f}"
    for label, key, d in MANY_ZONE_ROWS:
        vals = {k: median_of(res, k, key) for k in kinds}
        rows.append([label, *[fmt(vals[k], d) for k in kinds]] +
                    ([ratio(vals["zoned"], vals[k]) if vals["zoned"] is not None and
                      vals[k] is not None else "-" for k in others] if z else []))
    rows.append(["zones not answering after start / restart",
                 *[f"{max(x['missing'] for x in res[k])} / "
                   f"{max(x['missing_restart'] for x in res[k])}" if res[k] else "-"
                   for k in kinds]])
    rows.append(["sample answering after the reloads",
                 *[f"{min(x['after_reload'][0] for x in res[k])}/{res[k][0]['after_reload'][1]}"
                   if res[k] else "-" for k in kinds]])
    return [r + [""] * (len(rows[0]) - len(r)) for r in rows]


def many_zones_goals(res, n):
    """The issue's goals, as measured."""
    if not all(res.get(k) for k in ("zoned", "knot", "nsd")):
        return []
    med = lambda k, key: median_of(res, k, key)
    out = []
    for what, key, other, limit in (("start (fresh database)", "start", "nsd", 0.5),
                                    ("restart (database holds the zones)", "restart", "nsd", 0.5),
                                    ("resident memory", "rss", "knot", 1.0),
                                    ("reload, whole server", "reload_all", "nsd", 0.5),
                                    ("reload, the one zone", "reload_one", "nsd", 0.5)):
        r = med("zoned", key) / max(1e-9, med(other, key))
        out.append(f"  {what}: zoned/{other} {r:.2f}x, goal <= {limit}x: "
                   f"{'met' if r <= limit else 'NOT met'}")
    return out


def many_zones_scaling_rows(kinds, by_n):
    """Each figure at the largest n over the same figure at the smallest."""
    ns = sorted(by_n)
    lo, hi = ns[0], ns[-1]
    rows = [[f"{hi} / {lo} zones (goal <= {hi / lo * 1.1:.0f}x)", *kinds]]
    for label, key, _ in MANY_ZONE_ROWS:
        cells = []
        for k in kinds:
            a, b = median_of(by_n[hi], k, key), median_of(by_n[lo], k, key)
            cells.append(ratio(a, b) if a is not None and b is not None else "-")
        rows.append([label, *cells])
    return rows


# ---------------------------------------------------------------- O(change) commits
COMMIT_LINE = re.compile(r"zone (\S+): serial (\d+) -> (\d+) committed \((.*)\): "
                         r"\+(\d+) -(\d+) records.*?, ([\d.]+) ms")
UPDATE_KEY = ("update-key.", "hmac-sha256", "dXBkYXRlLWtleS1mb3ItdGhlLWJlbmNobWFyay0zMg==")


def commit_line(log, serial, timeout=10):
    """zoned's log line for the commit that made `serial`: (ms, added, removed, source), or
    None when no such line appears within timeout (logged before publication, so it is
    normally there once the serial is served)."""
    t0 = time.monotonic()
    while True:
        for m in COMMIT_LINE.finditer(Path(log).read_text(errors="replace")):
            if int(m.group(3)) == serial:
                return float(m.group(7)), int(m.group(5)), int(m.group(6)), m.group(4)
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(0.02)


def wait_for(pred, timeout=120, what="the change"):
    """Polls pred() every ~1 ms; returns the monotonic time at which it first held."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic()
        time.sleep(0.001)
    raise RuntimeError(f"{what} not served within {timeout}s")


def has_a(port, name, addr):
    r = answers(port, name, "A", timeout=0.2)
    return r is not None and any(x.rdtype == dns.rdatatype.A and any(str(a) == addr for a in x)
                                 for x in r.answer)


def has_referral(port, name, child):
    r = answers(port, name, "A", timeout=0.2)
    return r is not None and any(x.rdtype == dns.rdatatype.NS and
                                 x.name.to_text().rstrip(".") == child for x in r.authority)


def pct(xs, q):
    """The q quantile (0.5: the median; 0.99 of 20 values is the largest)."""
    if not xs:
        return None
    if q == 0.5:
        return statistics.median(xs)
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


class ChangeRun:
    """A zoned primary serving the 1M-record zone from its file (with a control socket and
    an UPDATE key) and a zoned secondary pulling it; both log at info (commit lines)."""

    def __init__(self, work, big_zone, origin):
        self.origin = origin
        self.pdir, self.sdir = Path(work).resolve() / "chg-primary", Path(work).resolve() / "chg-secondary"
        for d in (self.pdir, self.sdir):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        self.zone = self.pdir / "zone"
        shutil.copy(big_zone, self.zone)
        self.pp, self.sp = free_port(), free_port()
        kname, kalg, ksecret = UPDATE_KEY
        (self.pdir / "z.yaml").write_text(
            f"server:\n  listen: ['127.0.0.1:{self.pp}']\n  workers: 1\n  database: p.db\n"
            f"  control: ctl.sock\n  log-level: info\n"
            f"keys:\n  - name: {kname.rstrip('.')}\n    algorithm: {kalg}\n    secret: \"{ksecret}\"\n"
            f"remotes:\n  - name: s\n    address: 127.0.0.1:{self.sp}\n"
            f"zones:\n  - name: {origin}\n    file: {self.zone}\n    notify: [s]\n"
            f"    allow-transfer: [s]\n    allow-update: [{kname.rstrip('.')}]\n")
        (self.sdir / "z.yaml").write_text(
            f"server:\n  listen: ['127.0.0.1:{self.sp}']\n  workers: 1\n  database: s.db\n"
            f"  log-level: info\n"
            f"remotes:\n  - name: p\n    address: 127.0.0.1:{self.pp}\n"
            f"zones:\n  - name: {origin}\n    primaries: [p]\n")
        self.plog, self.slog = self.pdir / "log", self.sdir / "log"
        self.p = self.s = None

    def start(self):
        def run(d):
            with open(d / "log", "a") as log:  # the child keeps its own descriptor
                return subprocess.Popen([str(ZONED), "--config", str(d / "z.yaml")],
                                        stdout=log, stderr=subprocess.STDOUT)
        self.p = run(self.pdir)
        wait_for(lambda: served_serial(self.pp, self.origin) is not None, 600, "the primary's zone")
        self.s = run(self.sdir)
        wait_for(lambda: served_serial(self.sp, self.origin) is not None, 600, "the secondary's zone")

    def stop(self):
        for x in (self.s, self.p):
            if x and x.poll() is None:
                x.send_signal(signal.SIGTERM)
                try:
                    x.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    x.kill()
                    x.wait()

    def serial(self):
        return served_serial(self.pp, self.origin)

    def change(self, command, primary_pred, secondary_pred, out):
        """Runs command() (returns the serial it made, or None: the one served afterwards)
        in a thread while polling the primary and then the secondary for the change; appends
        to out's lists: the command's own time, change -> served on each side, and both
        commit lines' times."""
        done = {}

        def run():
            try:
                done["serial"] = command()
            except Exception as e:  # reported below, in the measuring thread
                done["error"] = e
            done["t"] = time.monotonic()
        t0 = time.monotonic()
        th = threading.Thread(target=run)
        th.start()
        failed = lambda: "error" in done
        try:
            tp = wait_for(lambda: failed() or primary_pred(), what="the change on the primary")
            ts = wait_for(lambda: failed() or secondary_pred(), what="the change on the secondary")
        finally:
            th.join()
        if failed():
            raise RuntimeError(f"the change failed: {done['error']}")
        serial = done["serial"] or self.serial()  # changes run one at a time
        out["command"].append(done["t"] - t0)
        out["primary serves"].append(tp - t0)
        out["secondary serves"].append(ts - t0)
        out["primary -> secondary serves"].append(ts - tp)
        for who, log in (("primary", self.plog), ("secondary", self.slog)):
            c = commit_line(log, serial)
            if c:
                out[f"{who} commit ms"].append(c[0])
                source = re.sub(r"zone file \S+", "zone file", c[3])
                out[f"{who} commit"] = f"+{c[1]} -{c[2]} records, {source}"


def new_lists():
    return {k: [] for k in ("command", "primary serves", "secondary serves",
                            "primary -> secondary serves", "primary commit ms",
                            "secondary commit ms")}


def change_by_file(run, n):
    """(a) One record added to the primary's file (serial + 1), SIGHUP."""
    out = new_lists()
    base = run.serial()
    text = run.zone.read_text()
    text = re.sub(r"hostmaster \d+ ", f"hostmaster {base} ", text, count=1)
    for i in range(1, n + 1):
        serial = base + i
        text = text.replace(f"hostmaster {serial - 1} ", f"hostmaster {serial} ", 1)
        name, addr = f"bench-file{i}", f"192.0.2.{i % 250 + 1}"
        text += f"{name} A {addr}\n"
        run.zone.write_text(text)
        fq = f"{name}.{run.origin}"

        def hup(serial=serial):
            run.p.send_signal(signal.SIGHUP)
            return serial
        run.change(hup, lambda: has_a(run.pp, fq, addr), lambda: has_a(run.sp, fq, addr), out)
        time.sleep(0.05)
    return out


def update_probe(run):
    """None when zoned accepts a signed UPDATE for the zone, else why not."""
    import dns.tsigkeyring
    import dns.update
    kname, kalg, ksecret = UPDATE_KEY
    run.keyring = dns.tsigkeyring.from_text({kname: (kalg, ksecret)})
    u = dns.update.UpdateMessage(run.origin, keyring=run.keyring, keyname=kname,
                                 keyalgorithm=kalg)
    u.add("bench-update0", 300, "A", "192.0.2.200")
    try:
        r = dns.query.tcp(u, "127.0.0.1", port=run.pp, timeout=10)
    except Exception as e:  # a server that answers unsigned, or not at all
        return f"no usable answer to UPDATE ({type(e).__name__}: {e})"
    if r.rcode() != dns.rcode.NOERROR:
        return f"zoned answers UPDATE with {dns.rcode.to_text(r.rcode())}"
    return None


def change_by_update(run, n):
    """(b) One A record added by DNS UPDATE with TSIG (dnspython over TCP, as nsupdate
    would): the command is sending it until the response."""
    import dns.update
    kname, kalg, _ = UPDATE_KEY
    out = new_lists()
    for i in range(1, n + 1):
        name, addr = f"bench-update{i}", f"192.0.2.{i % 250 + 1}"
        fq = f"{name}.{run.origin}"
        u = dns.update.UpdateMessage(run.origin, keyring=run.keyring, keyname=kname,
                                     keyalgorithm=kalg)
        u.add(name, 300, "A", addr)

        def send(u=u, i=i):
            r = dns.query.tcp(u, "127.0.0.1", port=run.pp, timeout=10)
            if r.rcode() != dns.rcode.NOERROR:
                raise RuntimeError(f"UPDATE {i} answered {dns.rcode.to_text(r.rcode())}")
            return None
        run.change(send, lambda: has_a(run.pp, fq, addr), lambda: has_a(run.sp, fq, addr), out)
        time.sleep(0.05)
    return out


def change_by_delegate(run, n):
    """(c) zonectl delegate CHILD --ns ... --force: 2 NS and 2 glue A records."""
    out = new_lists()
    zonectl = str(ZONED.parent / "zonectl")
    for i in range(1, n + 1):
        child = f"bench-deleg{i}.{run.origin}"
        cmd = [zonectl, "--config", str(run.pdir / "z.yaml"), "delegate", child,
               "--ns", f"ns1.{child}=192.0.2.{i % 250 + 1}",
               "--ns", f"ns2.{child}=198.51.100.{i % 250 + 1}", "--force"]

        def delegate(cmd=cmd):
            r = subprocess.run(cmd, capture_output=True, text=True)
            m = re.search(r"now at serial (\d+)", r.stdout)
            if r.returncode != 0 or not m:
                raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stdout}{r.stderr}")
            return int(m.group(1))
        q = f"www.{child}"
        run.change(delegate, lambda: has_referral(run.pp, q, child),
                   lambda: has_referral(run.sp, q, child), out)
        time.sleep(0.05)
    return out


def change_figures(work, big_zone, origin, n=20):
    """The three ways of changing the 1M-record zone, each n times, on one primary/secondary
    pair: returns {what: lists} and the skipped ones {what: why}."""
    run = ChangeRun(work, big_zone, origin)
    res, skipped = {}, {}
    try:
        t0 = time.monotonic()
        run.start()
        print(f"changes: zoned primary and secondary serve the {origin} zone after "
              f"{time.monotonic() - t0:.1f} s; load {load_text()}", flush=True)
        res["file"] = change_by_file(run, n)
        why = update_probe(run)
        if why:
            skipped["update"] = why
        else:
            res["update"] = change_by_update(run, n)
        res["delegate"] = change_by_delegate(run, n)
    finally:
        run.stop()
    return res, skipped


CHANGE_KINDS = (
    ("file", "(a) 1 record added to the primary's file + SIGHUP, IXFR to the secondary",
     None),  # the command is a signal: no time of its own
    ("update", "(b) DNS UPDATE of 1 record (TSIG, TCP), IXFR to the secondary",
     "UPDATE sent -> response"),
    ("delegate", "(c) zonectl delegate CHILD --ns x2 with glue --force, IXFR to the secondary",
     "zonectl delegate wall time"),
)


def change_rows(res, skipped, records):
    rows = [[f"{records}-record zone, zoned only", "p50 ms", "p99 ms", "n"]]
    fmt = lambda v: "-" if v is None else f"{v:.1f}"
    for kind, title, command in CHANGE_KINDS:
        if kind in skipped:
            rows.append([title, "skipped", "", ""])
            rows.append([f"  {skipped[kind]}", "", "", ""])
            continue
        o = res.get(kind)
        if o is None:
            continue
        rows.append([title, "", "", ""])
        rows.append([f"  commit on the primary, from its log ({o.get('primary commit', '?')})",
                     fmt(pct(o["primary commit ms"], 0.5)), fmt(pct(o["primary commit ms"], 0.99)),
                     str(len(o["primary commit ms"]))])
        if command:
            xs = [x * 1000 for x in o["command"]]
            rows.append([f"  {command}", fmt(pct(xs, 0.5)), fmt(pct(xs, 0.99)), str(len(xs))])
        for label, key in (("change -> primary serves it", "primary serves"),
                           ("change -> secondary serves it", "secondary serves"),
                           ("primary serves -> secondary serves (NOTIFY, SOA, IXFR, commit)",
                            "primary -> secondary serves")):
            xs = [x * 1000 for x in o[key]]
            rows.append([f"  {label}", fmt(pct(xs, 0.5)), fmt(pct(xs, 0.99)), str(len(xs))])
        rows.append([f"  commit on the secondary, from its log ({o.get('secondary commit', '?')})",
                     fmt(pct(o["secondary commit ms"], 0.5)),
                     fmt(pct(o["secondary commit ms"], 0.99)), str(len(o["secondary commit ms"]))])
    return rows


# ---------------------------------------------------------------- replication figures
def replication_figures(work, big_zone, origin, changes=20):
    """zoned primary -> zoned secondary with the 1M zone: pull-and-serve, restart, and the
    latency from a change on the primary to the secondary serving it (median of N)."""
    out = {}
    pdir, sdir = Path(work).resolve() / "rep-primary", Path(work).resolve() / "rep-secondary"
    for d in (pdir, sdir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    zone = pdir / "zone"
    shutil.copy(big_zone, zone)
    pp, sp = free_port(), free_port()
    (pdir / "z.yaml").write_text(
        f"server:\n  listen: ['127.0.0.1:{pp}']\n  database: p.db\n  log-level: warning\n"
        f"remotes:\n  - name: s\n    address: 127.0.0.1:{sp}\n"
        f"zones:\n  - name: {origin}\n    file: {zone}\n    notify: [s]\n    allow-transfer: [s]\n")
    (sdir / "z.yaml").write_text(
        f"server:\n  listen: ['127.0.0.1:{sp}']\n  database: s.db\n  log-level: warning\n"
        f"remotes:\n  - name: p\n    address: 127.0.0.1:{pp}\n"
        f"zones:\n  - name: {origin}\n    primaries: [p]\n")

    def start(d):
        return subprocess.Popen([str(ZONED), "--config", str(d / "z.yaml")],
                                stdout=open(d / "log", "a"), stderr=subprocess.STDOUT)

    def serial(port):
        r = answers(port, origin)
        return r.answer[0][0].serial if r is not None and r.answer else None

    def wait_serial(port, want, timeout=300):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if serial(port) == want:
                return time.monotonic() - t0
            time.sleep(0.005)
        raise RuntimeError(f"serial {want} not served on {port}")

    p = start(pdir)
    wait_serial(pp, 1)
    t0 = time.monotonic()
    s = start(sdir)
    wait_serial(sp, 1)
    out["secondary pull+serve (1M)"] = time.monotonic() - t0
    s.send_signal(signal.SIGTERM)
    s.wait()
    p.send_signal(signal.SIGSTOP)  # the primary is "down" during the restart
    t0 = time.monotonic()
    s = start(sdir)
    wait_serial(sp, 1)
    out["secondary restart to answer (1M)"] = time.monotonic() - t0
    p.send_signal(signal.SIGCONT)
    lat = []
    text = zone.read_text()
    for i in range(2, changes + 2):
        text = text.replace(f"hostmaster {i - 1} ", f"hostmaster {i} ", 1)
        text += f"bench-change{i} A 192.0.2.{i}\n"
        zone.write_text(text)
        t0 = time.monotonic()
        p.send_signal(signal.SIGHUP)
        wait_serial(sp, i)
        lat.append(time.monotonic() - t0)
    out[f"change -> secondary serves it (median of {changes})"] = statistics.median(lat)
    for x in (s, p):
        x.send_signal(signal.SIGTERM)
        x.wait()
    return out


def reload_latency(work, big_zone, hosts, qps=20000, seconds=12, hup_at=4):
    """Latency per one-second window while zoned reloads the big zone (SIGHUP at hup_at):
    does a reload pause answering? zoned's threads are all pinned to the server CPU."""
    origin = "big.test"
    qf = gen_queries(origin, hosts, Path(work) / "bigq.txt", count=100000)
    s = Server("zoned", origin, big_zone, Path(work) / "reload").start(timeout=600)
    try:
        threading.Timer(hup_at, lambda: s.proc.send_signal(signal.SIGHUP)).start()
        r = dnsperf(s.port, qf, seconds, qps=qps, verbose=True)
    finally:
        s.stop()
    rows = [["window (s)", "p50 us", "p99 us", "max us"]]
    lat = r["lat"]
    for i in range(0, len(lat), qps):
        w = sorted(lat[i:i + qps])
        if len(w) >= 100:
            rows.append([str(i // qps), f"{w[len(w) // 2] * 1e6:.0f}",
                         f"{w[int(len(w) * 0.99)] * 1e6:.0f}", f"{w[-1] * 1e6:.0f}"])
    return rows, r["completed"]



# ---------------------------------------------------------------- DNSSEC signing
def soa_signed(port, origin):
    """True once the server answers the SOA with its RRSIG (the zone is signed and served)."""
    try:
        q = dns.message.make_query(origin, "SOA", want_dnssec=True)
        r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=2)
        return any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer)
    except Exception:
        return False


def signing_bench(big, work, timeout=1800):
    """zoned vs Knot signing the 1M-record zone from scratch with the same policy (ECDSA
    P-256, KSK+ZSK, NSEC), both unpinned on the machine's cores: time from start to the
    signed SOA served, CPU and memory; then zoned only: one record added and deleted by DNS
    UPDATE (the commit's own time, from its log), zonectl delegate and undelegate with a DS,
    a restart; and the same for the zone signed with NSEC3."""
    import dns.tsig, dns.update
    rows = {}
    knotd = shutil.which("knotd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    secret = "Xq3T0F7s1aq2zH4qR0vV+0mB1f2v0mJ8mCzE7g1Yk2s="
    d = work / "signing"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    shutil.copy(big, d / "big.test.zone")

    def run(kind, cmd, port, log):
        t0 = time.time()
        proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=d)
        while not soa_signed(port, "big.test"):
            if proc.poll() is not None or time.time() - t0 > timeout:
                proc.kill()
                raise RuntimeError(f"{kind} did not serve the signed zone:\n" + Path(log).read_text()[-3000:])
            time.sleep(0.2)
        return proc, time.time() - t0

    def quiet_port():
        # Below the ephemeral range: signing takes minutes before the server binds, and an
        # ephemeral port may be some client's by then.
        rnd = random.Random()
        while True:
            port = rnd.randrange(20000, 32000)
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    u.bind(("127.0.0.1", port))
                    t.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue

    zport, kport = quiet_port(), quiet_port()

    def zoned_config(path, policy_extra, db):
        path.write_text(
            f"server:\n  listen: ['127.0.0.1:{zport}']\n  database: {db}/zoned.db\n  log-level: info\n"
            f"  control: {d}/{db}.sock\n"
            f"keys:\n  - name: k\n    secret: \"{secret}\"\n"
            f"policies:\n  - name: p\n    algorithm: ecdsap256sha256\n{policy_extra}"
            "zones:\n  - name: big.test\n    file: big.test.zone\n    dnssec-policy: p\n"
            "    allow-update: [k]\n    zonefile-sync: 3600\n")

    zoned_config(d / "zoned.yaml", "", "zdb")
    zoned_config(d / "zoned-nsec3.yaml", "    nsec3: true\n", "zdb3")
    (d / "kdb").mkdir()
    (d / "knot.conf").write_text(
        f"server:\n    listen: 127.0.0.1@{kport}\n    rundir: {d}\n"
        f"database:\n    storage: {d}/kdb\nlog:\n  - target: stderr\n    any: info\n"
        f"template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n"
        "    journal-content: none\n    semantic-checks: off\n    dnssec-signing: on\n"
        "zone:\n  - domain: big.test\n    file: big.test.zone\n")
    results = {"zoned": {}, "knot": {}}
    key = dns.tsig.Key("k.", secret, "hmac-sha256")

    def updates(prefix, log):
        # One record at a time by UPDATE, 20 times (a new name added, then deleted again: the
        # NSEC/NSEC3 chain changes each time): sent to answered (the answer comes once the
        # signed change is served), and the commit (sign step included) as zoned logs it.
        took = []
        for i in range(20):
            u = dns.update.UpdateMessage("big.test", keyring={key.name: key}, keyname=key.name,
                                         keyalgorithm=dns.tsig.HMAC_SHA256)
            if i % 2 == 0:
                u.add(f"bench-new{i}.big.test.", 300, "A", "192.0.2.99")
            else:
                u.delete(f"bench-new{i - 1}.big.test.")
            t0 = time.time()
            r = dns.query.tcp(u, "127.0.0.1", port=zport, timeout=600)
            took.append((time.time() - t0) * 1000)
            if r.rcode() != 0:
                raise RuntimeError(f"UPDATE {i} refused: rcode {r.rcode()}")
        m = [float(x) for x in re.findall(r"committed \(UPDATE[^\n]*records, ([\d.]+) ms", log.read_text())]
        results["zoned"][f"{prefix}one-record UPDATE, sent to answered ms p50 (20)"] = statistics.median(took)
        results["zoned"][f"{prefix}one-record UPDATE, slowest of 20 ms"] = max(took)
        results["zoned"][f"{prefix}one-record UPDATE, commit ms p50"] = statistics.median(m) if m else "-"

    def delegations(prefix, conf):
        # zonectl delegate (2 NS, 2 glue, a DS) then undelegate, 5 times each: wall time of
        # the command, which returns once the signed change is committed.
        zonectl = str(ZONED.parent / "zonectl")
        took = {"delegate": [], "undelegate": []}
        for i in range(5):
            child = f"bench-child{i}.big.test"
            for verb in ("delegate", "undelegate"):
                cmd = [zonectl, "--config", str(conf), verb, child]
                if verb == "delegate":
                    cmd += ["--ns", f"ns1.{child}=192.0.2.1", "--ns", f"ns2.{child}=192.0.2.2",
                            "--ds", "47022 13 2 3803e64dcc3a8d2916b3acdd382b4c902a22d30ff47d983b112e99a9b6e885e4",
                            "--force"]
                t0 = time.time()
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                took[verb].append((time.time() - t0) * 1000)
                if r.returncode != 0:
                    raise RuntimeError(f"zonectl {verb} failed: {r.stdout}{r.stderr}")
        for verb, t in took.items():
            results["zoned"][f"{prefix}zonectl {verb} (DS, glue) ms p50 (5)"] = statistics.median(t)

    for kind in ("zoned", "knot"):
        if kind == "knot" and not knotd:
            continue
        cmd = [str(ZONED), "--config", "zoned.yaml"] if kind == "zoned" else [knotd, "-c", "knot.conf"]
        proc, secs = run(kind, cmd, zport if kind == "zoned" else kport, d / f"{kind}.log")
        results[kind]["sign from scratch to serving s"] = secs
        results[kind]["server CPU s"] = cpu_seconds(proc.pid)
        results[kind]["resident memory MiB"] = rss_mib(proc.pid)
        if kind == "zoned":
            updates("", d / "zoned.log")
            delegations("", d / "zoned.yaml")
            proc.terminate()
            proc.wait()
            proc, secs = run(kind, cmd, zport, d / "zoned-restart.log")
            results[kind]["restart to serving s"] = secs
        proc.terminate()
        proc.wait()
    # The same zone with NSEC3 (RFC 9276 parameters): zoned only.
    proc, secs = run("zoned", [str(ZONED), "--config", "zoned-nsec3.yaml"], zport, d / "zoned-nsec3.log")
    results["zoned"]["NSEC3: sign from scratch to serving s"] = secs
    results["zoned"]["NSEC3: resident memory MiB"] = rss_mib(proc.pid)
    updates("NSEC3: ", d / "zoned-nsec3.log")
    delegations("NSEC3: ", d / "zoned-nsec3.yaml")
    proc.terminate()
    proc.wait()
    labels = []
    for r in results.values():
        labels += [l for l in r if l not in labels]
    out = [["1M zone, DNSSEC signing", "zoned", "knot", "zoned/knot"]]
    for l in labels:
        z, k = results["zoned"].get(l, "-"), results["knot"].get(l, "-")
        fmt = lambda v: f"{v:.1f}" if isinstance(v, float) else str(v)
        out.append([l, fmt(z), fmt(k), ratio(z, k) if isinstance(z, float) and isinstance(k, float) else "-"])
    print(f"\nsigning: {load_text()}")
    table(out)

def main_comparison(kinds, origin, zf, qf, work, args, row):
    """All servers pinned to the server CPU: CPU per query and QPS at full speed (UDP, TCP),
    latency at a fixed rate."""
    med = lambda xs, k: statistics.median(x[k] for x in xs)
    servers = [Server(k, origin, zf, work).start() for k in kinds]
    try:
        d = same_answers(servers, qf)
        print(f"answer check on 300 queries: {d} differing")
        res = {k: {"udp": [], "tcp": []} for k in kinds}
        for rnd in range(args.rounds):
            for s in servers:
                res[s.kind]["udp"].append(measure_load(s, qf, args.seconds))
            for s in servers:
                res[s.kind]["tcp"].append(measure_load(s, qf, args.seconds, tcp=True))
        lat = {}
        for s in servers:
            r = dnsperf(s.port, qf, 5, qps=20000, verbose=True)
            l = sorted(r["lat"])
            lat[s.kind] = (l[len(l) // 2] * 1e6, l[int(len(l) * 0.99)] * 1e6) if l else (0, 0)
    finally:
        for s in servers:
            s.stop()
    row("UDP CPU us/query", {k: med(res[k]["udp"], "cpu_us") for k in kinds})
    row("UDP QPS", {k: med(res[k]["udp"], "qps") for k in kinds})
    row("TCP CPU us/query", {k: med(res[k]["tcp"], "cpu_us") for k in kinds})
    row("TCP QPS", {k: med(res[k]["tcp"], "qps") for k in kinds})
    row("latency p50 us @20k qps", {k: lat[k][0] for k in kinds})
    row("latency p99 us @20k qps", {k: lat[k][1] for k in kinds})


class Scraper:
    """GET /metrics every `interval` seconds on a thread, as Prometheus would."""

    def __init__(self, port, interval=1.0):
        import http.client
        self.port, self.interval, self.scrapes, self.bytes = port, interval, 0, 0
        self.stop_event = threading.Event()
        self.http = http.client

    def run(self):
        while not self.stop_event.is_set():
            t0 = time.monotonic()
            c = self.http.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                c.request("GET", "/metrics")
                r = c.getresponse()
                body = r.read()
                if r.status == 200:
                    self.scrapes += 1
                    self.bytes += len(body)
            except OSError:
                pass
            finally:
                c.close()
            self.stop_event.wait(max(0.0, self.interval - (time.monotonic() - t0)))

    def __enter__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()


def named_thread_ns(pid, comm):
    """CPU nanoseconds (schedstat) of pid's threads called `comm`."""
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            if Path(f"/proc/{pid}/task/{t}/comm").read_text().strip() == comm:
                total += int(Path(f"/proc/{pid}/task/{t}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def metrics_cost(origin, zf, qf, work, args):
    """zoned (server.metrics set, pinned to the server CPU) under the UDP benchmark load, with
    and without a scraper fetching /metrics every second; runs interleaved, medians."""
    s = Server("zoned", origin, zf, work, name="zoned-metrics", metrics=True).start()
    plain, scraped, scrapes, thread_ns, scraped_cpu = [], [], 0, 0, 0.0
    try:
        for _ in range(args.rounds):
            plain.append(measure_load(s, qf, args.seconds))
            t0 = named_thread_ns(s.proc.pid, "zoned-metrics")
            with Scraper(s.metrics_port) as sc:
                scraped.append(measure_load(s, qf, args.seconds))
            thread_ns += named_thread_ns(s.proc.pid, "zoned-metrics") - t0
            scraped_cpu += scraped[-1]["cpu_us"] * scraped[-1]["completed"] / 1e6
            scrapes += sc.scrapes
            size = sc.bytes // max(1, sc.scrapes)
    finally:
        s.stop()
    med = lambda xs, k: statistics.median(x[k] for x in xs)
    a, b = med(plain, "cpu_us"), med(scraped, "cpu_us")
    print()
    print(f"metrics: zoned UDP load (dnsperf -c 20, {args.seconds} s per run, {args.rounds} "
          f"interleaved rounds, server pinned to CPU {SERVER_CPU}), without and with GET "
          f"/metrics every 1 s ({scrapes} scrapes of ~{size} bytes); goal: < 2% more CPU per query.")
    table([["", "no scraper", "1 s scraper", "ratio"],
           ["UDP CPU us/query", f"{a:.3f}", f"{b:.3f}", f"{b / a:.3f}"],
           ["UDP QPS", f"{med(plain, 'qps'):.0f}", f"{med(scraped, 'qps'):.0f}",
            f"{med(scraped, 'qps') / med(plain, 'qps'):.3f}"],
           ["per-round CPU us/query", " ".join(f"{x['cpu_us']:.3f}" for x in plain),
            " ".join(f"{x['cpu_us']:.3f}" for x in scraped), ""]])
    # The direct cost, free of the run-to-run noise above: the metrics thread's own CPU time
    # (the workers' counters are bumped whether anyone scrapes or not).
    print(f"  metrics thread (zoned-metrics): {thread_ns / 1e6:.1f} ms CPU for {scrapes} scrapes "
          f"({thread_ns / 1e3 / max(1, scrapes):.0f} us each) = "
          f"{100 * thread_ns / 1e9 / max(1e-9, scraped_cpu):.3f}% of the server's CPU in the "
          f"scraped runs")


def main():
    global ZONED
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=10, help="per dnsperf run")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--hosts", type=int, default=10000, help="hosts in the small zone (~22k records)")
    ap.add_argument("--big", type=int, default=1000000, help="records in the big zone")
    ap.add_argument("--peers", default="zoned,knot,nsd")
    ap.add_argument("--no-big", action="store_true")
    ap.add_argument("--replication", action="store_true", help="also zoned primary->secondary figures")
    ap.add_argument("--reload", action="store_true",
                    help="also latency per second while zoned reloads the big zone")
    ap.add_argument("--idle-tcp", type=int, default=10000, metavar="N",
                    help="idle TCP connections held open while active clients are measured "
                         "(0: skip that part)")
    ap.add_argument("--idle-seconds", type=int, default=3, help="per dnsperf run of --idle-tcp")
    ap.add_argument("--idle-qps", type=int, default=20000,
                    help="fixed rate of the active clients in --idle-tcp")
    ap.add_argument("--idle-rounds", type=int, default=1,
                    help="without/with pairs per server in --idle-tcp (medians)")
    ap.add_argument("--scaling", action="store_true",
                    help="also 1 vs 2 workers per server, nothing pinned, dnsperf -T 2 -c 20")
    ap.add_argument("--zones", nargs="?", const="10000", metavar="N[,N...]",
                    help="also many small zones (9 records each) per server: start, memory, "
                         "restart, reload; N zones (default 10000), several N side by side")
    ap.add_argument("--zones-rounds", type=int, default=3,
                    help="interleaved rounds of --zones per N (medians)")
    ap.add_argument("--zones-timeout", type=int, default=3600, metavar="S",
                    help="a server of --zones that does not answer (start) or serve the new "
                         "serial (reload) within S seconds is reported as failed")
    ap.add_argument("--changes", action="store_true",
                    help="also zoned's commit latency for 1-record changes of the big zone: "
                         "file+SIGHUP, DNS UPDATE, zonectl delegate, to a zoned secondary")
    ap.add_argument("--changes-count", type=int, default=20, help="changes of each kind")
    ap.add_argument("--zoned", type=Path, default=ZONED, help="the zoned binary to measure")
    ap.add_argument("--metrics", action="store_true",
                    help="zoned's UDP CPU per query with and without a 1 s /metrics scraper")
    ap.add_argument("--signing", action="store_true",
                    help="zoned vs Knot signing the 1M-record zone (and one UPDATE, a restart)")
    ap.add_argument("--only", choices=["idle", "scaling", "zones", "changes", "metrics", "signing"],
                    help="skip the main comparison and the big zone; run just this part")
    args = ap.parse_args()
    ZONED = args.zoned.resolve()
    if args.only == "idle" and not args.idle_tcp:
        ap.error("--only idle needs --idle-tcp N")
    if args.only == "scaling":
        args.scaling = True
    if args.only == "zones" and not args.zones:
        args.zones = "10000"
    if args.only == "changes":
        args.changes = True
    if args.only == "metrics":
        args.metrics = True
    if args.only == "signing":
        args.signing = True
    try:
        zone_counts = sorted({int(x) for x in args.zones.split(",")}) if args.zones else []
    except ValueError:
        ap.error(f"--zones {args.zones}: give zone counts like 10000 or 10000,100000")
    if any(n < 1 for n in zone_counts):
        ap.error("--zones: counts must be at least 1")
    work = ROOT / "build" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    kinds = args.peers.split(",")

    origin = "bench.test"
    zf = gen_zone(origin, args.hosts, work / "bench.test.zone")
    qf = gen_queries(origin, args.hosts, work / "queries.txt")
    nrec = sum(1 for l in open(zf) if l[0] not in "$")
    print(f"small zone: {nrec} records; queries: {qf}")
    if args.idle_tcp and args.only in (None, "idle"):
        # The idle clients and the servers (which inherit this limit) need descriptors: N
        # each, and room for caps above N (2N + 1000 is asked for; see idle_tcp).
        limit = raise_open_files(2 * args.idle_tcp + 2000)
        if limit < args.idle_tcp + 1000:
            print(f"warning: open-file limit {limit} is too low for {args.idle_tcp} idle "
                  f"connections: the servers cannot hold them all", file=sys.stderr)
    rows = [["", *kinds] + [f"zoned/{k}" for k in kinds if k != "zoned"]]
    def row(label, vals, lower_better=True):
        z = vals.get("zoned")
        rows.append([label, *[f"{vals[k]:.2f}" if isinstance(vals[k], float) else vals[k] for k in kinds]]
                    + [ratio(z, vals[k]) for k in kinds if k != "zoned" and z is not None])
    if not args.only:
        main_comparison(kinds, origin, zf, qf, work, args, row)

    hosts = int(args.big / 1.9)  # ~1.9 records per host in gen_zone
    big = work / f"big.test.{hosts}.zone"
    if ((not args.no_big and not args.only) or args.replication or args.reload or args.changes
            or args.signing) and not big.exists():
        gen_zone("big.test", hosts, big)
    if args.signing:
        signing_bench(big, work)
    if not args.no_big and not args.only:
        big_rows = {"start to serving s (2 cores)": {}, "resident memory MiB": {}, "AXFR to kdig s": {},
                    "AXFR server CPU s": {}}
        for k in kinds:
            # Loading may use both cores (zoned parses and indexes in parallel); then the
            # server is pinned like the others for the AXFR.
            s = Server(k, "big.test", big, work / "big", pin=False).start(timeout=600)
            s.pin_threads(SERVER_CPU)
            try:
                time.sleep(1)
                big_rows["start to serving s (2 cores)"][k] = s.start_time
                big_rows["resident memory MiB"][k] = rss_mib(s.proc.pid)
                # Wall time is mostly kdig's own parsing; the server's CPU is its share.
                walls, cpus = [], []
                for _ in range(3):
                    c0 = cpu_seconds(s.proc.pid)
                    walls.append(axfr_seconds(s.port, "big.test")[0])
                    cpus.append(cpu_seconds(s.proc.pid) - c0)
                big_rows["AXFR to kdig s"][k] = min(walls)
                big_rows["AXFR server CPU s"][k] = min(cpus)
            finally:
                s.stop()
        for label, vals in big_rows.items():
            row(f"1M zone: {label}", vals)
    if len(rows) > 1:
        print()
        table(rows)
    if args.idle_tcp and args.only in (None, "idle"):
        res, cap, timeout = idle_tcp(kinds, origin, zf, qf, work, args.idle_tcp,
                                     args.idle_seconds, args.idle_qps, args.idle_rounds)
        print()
        print(f"idle TCP: {args.idle_tcp} connections opened to each server after a run without "
              f"them; active clients: dnsperf -Q {args.idle_qps} -c 20, {args.idle_seconds} s "
              f"UDP then TCP; servers pinned to CPU {SERVER_CPU}, clients to CPU {CLIENT_CPU}; "
              f"open-file limit {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}.")
        print("  set so that the idle connections are accepted and not timed out: " +
              "; ".join(f"{k}: {', '.join(res[k]['settings'])}" for k in kinds))
        table(idle_rows(kinds, res, args.idle_tcp, args.idle_qps))
    if args.scaling:
        res, settings = scaling(kinds, origin, zf, qf, work, args.seconds, args.rounds)
        print()
        print(f"scaling: 1 vs 2 workers on {len(ALL_CPUS.split(','))} CPUs, nothing pinned; "
              f"dnsperf -T 2 -c 20 at full speed on the same CPUs, {args.seconds} s per run, "
              f"{args.rounds} interleaved round(s), medians.")
        print("  workers set: " + "; ".join(f"{k}: {v}" for k, v in settings.items()))
        table(scaling_rows(kinds, res))
    if args.reload:
        print()
        rows, done = reload_latency(work, big, hosts)
        print(f"zoned answering at 20k QPS while reloading the big zone (SIGHUP at 4 s), "
              f"{done} answers:")
        table(rows)
    if args.replication:
        print()
        figs = replication_figures(work, big, "big.test")
        table([["zoned replication (1M-record zone)", "seconds"]] +
              [[k, f"{v:.3f}"] for k, v in figs.items()])
    if zone_counts:
        # Opening 100k zone files is one at a time, but leave room anyway (inherited).
        raise_open_files(65536)
        print()
        print(f"many zones: each server in turn over the same zone files (9 records each: SOA, "
              f"2 NS, A, AAAA, MX, mail A, TXT, CNAME), started unpinned (zoned's loader pool "
              f"and Knot's background-workers at their defaults, one per CPU; 1 query worker "
              f"each), nothing kept from the previous round; {args.zones_rounds} round(s), "
              f"medians. \"all zones answer\": every zone asked for its SOA until it answers "
              f"authoritatively. Memory: once the server's CPU is idle after start-up (less "
              f"than 5% of a CPU over 0.5 s; the row before says when), then 1 s more. "
              f"Reloads: serial + 1 in the file of the zone in the middle of "
              f"the list, then the whole server (zoned {RELOAD_ALL['zoned']}, Knot "
              f"{RELOAD_ALL['knot']}, NSD {RELOAD_ALL['nsd']}: configuration and changed files) "
              f"and the one zone (zoned {RELOAD_ONE['zoned']}, Knot {RELOAD_ONE['knot']}, NSD "
              f"{RELOAD_ONE['nsd']}), each timed to the new serial served. zoned keeps its zones "
              f"in server.database: \"start\" is its first start ever, \"restart\" with the "
              f"database holding them (Knot and NSD: their timer/state files kept).", flush=True)
        by_n = {}
        for n in zone_counts:
            res, failed = many_zones(kinds, n, work, args.zones_rounds, args.zones_timeout)
            by_n[n] = res
            print(f"load after {n} zones: {load_text()}")
            table(many_zones_rows(kinds, res, n))
            for line in many_zones_goals(res, n):
                print(line)
            for k, why in failed.items():
                print(f"  {k} failed in {len(why)} round(s): {why[0]}")
        if len(by_n) > 1:
            print()
            table(many_zones_scaling_rows(kinds, by_n))
    if args.metrics:
        metrics_cost(origin, zf, qf, work, args)
    if args.changes:
        print()
        print(f"changes: zoned primary (file, control socket, allow-update) -> zoned secondary, "
              f"the {args.big}-record zone, {args.changes_count} changes of each kind one after "
              f"the other, each timed from the change command to the new record served "
              f"(polled every ~1 ms), and each commit's own time from zoned's log "
              f"(\"committed (...): +A -R records, N ms\"). Goal: <= 20 ms p50.", flush=True)
        res, skipped = change_figures(work, big, "big.test", args.changes_count)
        print(f"load after the changes: {load_text()}")
        table(change_rows(res, skipped, args.big))
        print("  zonectl delegate answers once zoned has also written the change to the zone "
              "file (its wall time includes that write-back); the commit line is the commit's.")


if __name__ == "__main__":
    main()
