#!/usr/bin/env python3
"""zoned vs Knot DNS vs NSD on this machine: CPU per query, QPS, latency, start-to-serving,
memory, AXFR time, and (with --replication) zoned's primary->secondary figures.

One command from a fresh clone:  tools/bench/run.sh   (builds Release, then runs this)
Servers are pinned to CPU 1 and dnsperf to CPU 0; runs are interleaved; server CPU is read
from /proc (utime+stime of every thread of the process tree), not inferred from QPS.
"""
import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
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
ZONED = ROOT / "build" / "zoned"
CLK = os.sysconf("SC_CLK_TCK")
SERVER_CPU, CLIENT_CPU = "1", "0"


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
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def answers(port, name, qtype="SOA", timeout=0.3):
    try:
        q = dns.message.make_query(name, qtype)
        q.flags &= ~dns.flags.RD
        return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
    except Exception:
        return None


class Server:
    def __init__(self, kind, origin, zonefile, workdir, workers=1):
        self.kind, self.origin, self.zonefile = kind, origin, Path(zonefile)
        self.dir = Path(workdir) / kind
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.workers = workers
        self.proc = None

    def command(self):
        d, p, o, z = self.dir, self.port, self.origin, self.zonefile
        if self.kind == "zoned":
            (d / "zoned.yaml").write_text(
                f"server:\n  listen: ['127.0.0.1:{p}']\n  workers: {self.workers}\n  log-level: warning\n"
                f"zones:\n  - name: {o}\n    file: {z}\n    allow-transfer: [127.0.0.0/8]\n")
            return [str(ZONED), "--config", str(d / "zoned.yaml")]
        if self.kind == "knot":
            (d / "knot.conf").write_text(f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{p}
    udp-workers: {self.workers}
    tcp-workers: {self.workers}
    background-workers: 1
database:
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
zone:
  - domain: {o}
    file: "{z}"
    acl: all
""")
            return ["knotd", "-c", str(d / "knot.conf")]
        if self.kind == "nsd":
            (d / "nsd.conf").write_text(f"""server:
    port: {p}
    ip-address: 127.0.0.1
    server-count: {self.workers}
    username: ""
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
    control-enable: no
pattern:
    name: xfr
    provide-xfr: 127.0.0.0/8 NOKEY
zone:
    name: {o}
    zonefile: "{z}"
    include-pattern: xfr
""")
            return ["nsd", "-d", "-c", str(d / "nsd.conf")]
        raise ValueError(self.kind)

    def start(self, timeout=120):
        cmd = ["taskset", "-c", SERVER_CPU] + self.command()
        self.log = open(self.dir / "server.log", "w")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        while time.monotonic() - t0 < timeout:
            r = answers(self.port, self.origin)
            if r is not None and r.answer:
                self.start_time = time.monotonic() - t0
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {(self.dir / 'server.log').read_text()[-2000:]}")
            time.sleep(0.02)
        else:
            raise RuntimeError(f"{self.kind} did not answer within {timeout}s")
        # Knot pins its own threads: put every thread of every server on the server CPU.
        subprocess.run(["taskset", "-a", "-p", "-c", SERVER_CPU, str(self.proc.pid)],
                       capture_output=True)
        for p in tree(self.proc.pid):
            subprocess.run(["taskset", "-a", "-p", "-c", SERVER_CPU, str(p)], capture_output=True)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- measurements
def dnsperf(port, queries, seconds, tcp=False, qps=None, verbose=False, clients=20):
    cmd = ["taskset", "-c", CLIENT_CPU, "dnsperf", "-s", "127.0.0.1", "-p", str(port),
           "-d", str(queries), "-l", str(seconds), "-c", str(clients), "-q", "500", "-t", "2"]
    if tcp:
        cmd += ["-m", "tcp"]
    if qps:
        cmd += ["-Q", str(qps)]
    if verbose:
        cmd += ["-v"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    res = {"completed": 0, "qps": 0.0, "lat": []}
    m = re.search(r"Queries completed:\s+(\d+)", out)
    if m:
        res["completed"] = int(m.group(1))
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


def main():
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
    args = ap.parse_args()
    work = ROOT / "build" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    kinds = args.peers.split(",")

    origin = "bench.test"
    zf = gen_zone(origin, args.hosts, work / "bench.test.zone")
    qf = gen_queries(origin, args.hosts, work / "queries.txt")
    nrec = sum(1 for l in open(zf) if l[0] not in "$")
    print(f"small zone: {nrec} records; queries: {qf}")
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

    med = lambda xs, k: statistics.median(x[k] for x in xs)
    rows = [["", *kinds] + [f"zoned/{k}" for k in kinds if k != "zoned"]]
    def row(label, vals, lower_better=True):
        z = vals.get("zoned")
        rows.append([label, *[f"{vals[k]:.2f}" if isinstance(vals[k], float) else vals[k] for k in kinds]]
                    + [ratio(z, vals[k]) for k in kinds if k != "zoned" and z is not None])
    row("UDP CPU us/query", {k: med(res[k]["udp"], "cpu_us") for k in kinds})
    row("UDP QPS", {k: med(res[k]["udp"], "qps") for k in kinds})
    row("TCP CPU us/query", {k: med(res[k]["tcp"], "cpu_us") for k in kinds})
    row("TCP QPS", {k: med(res[k]["tcp"], "qps") for k in kinds})
    row("latency p50 us @20k qps", {k: lat[k][0] for k in kinds})
    row("latency p99 us @20k qps", {k: lat[k][1] for k in kinds})

    hosts = int(args.big / 1.9)  # ~1.9 records per host in gen_zone
    big = work / f"big.test.{hosts}.zone"
    if (not args.no_big or args.replication or args.reload) and not big.exists():
        gen_zone("big.test", hosts, big)
    if not args.no_big:
        big_rows = {"start to serving s": {}, "resident memory MiB": {}, "AXFR to kdig s": {},
                    "AXFR server CPU s": {}}
        for k in kinds:
            s = Server(k, "big.test", big, work / "big").start(timeout=600)
            try:
                time.sleep(1)
                big_rows["start to serving s"][k] = s.start_time
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
    print()
    table(rows)
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


if __name__ == "__main__":
    main()
