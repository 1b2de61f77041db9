#!/usr/bin/env python3
"""Catalog zones: N members added to a zoned producer's catalog in one change (one SIGHUP),
time from the producer serving the new catalog serial until every member is served by the
consumer (SOA answered authoritatively with the
member's serial), then all N removed, time until every one is gone (REFUSED) — for a zoned
consumer and for Knot DNS as the consumer of the same catalog, one after the other. TSIG
on everything. For zoned, also: the database rows of the removed members are purged, and a
restart serves all N members from the database before any refresh.

    ZONED_BIN=build/zoned python3 tools/bench/catalog_bench.py [--members 1000] [--rounds 3]

Rounds alternate zoned and Knot; the table shows the median of each.
"""
import argparse
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
os.environ.setdefault("ZONED_BIN", str(ROOT / "build" / "zoned"))

import bench  # noqa: E402  (tools/bench/bench.py: the SOA sweep)
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

from replication_helpers import HOST, ZonedServer, zone_text  # noqa: E402
from test_catalog import CAT, KnotConsumer, stored_zones  # noqa: E402


def state(port, zone):
    """'ok' (AA SOA serial 1), 'gone' (REFUSED) or None."""
    q = dns.message.make_query(zone, "SOA")
    q.flags &= ~dns.flags.RD
    try:
        r = dns.query.udp(q, HOST, port=port, timeout=0.3)
    except Exception:
        return None
    if r.rcode() == dns.rcode.REFUSED:
        return "gone"
    if r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA and r.answer:
        return "ok" if r.answer[0][0].serial == 1 else None
    return None


def wait_all(port, zones, want, timeout):
    """Sweeps the zones not yet in the wanted state (up to 200 queries in flight from one
    non-blocking socket, bench.py's sweep) until none is left. A sweep of 1,000 zones costs a
    few ms; asking one zone at a time took ~0.3 s per sweep (the harness, not the servers,
    was measured)."""
    t0 = time.monotonic()
    left = list(zones)
    while left and time.monotonic() - t0 < timeout:
        got = bench.soa_sweep(port, left, timeout=0.3, refused=(want == "gone"))
        left = [z for k, z in enumerate(left) if k not in got]
        if left:
            time.sleep(0.005)
    return time.monotonic() - t0, len(left)


def catalog_serial(port):
    q = dns.message.make_query(CAT, "SOA")
    try:
        r = dns.query.udp(q, HOST, port=port, timeout=0.3)
        return r.answer[0][0].serial if r.answer else None
    except Exception:
        return None


def hup_and_wait_catalog(p):
    """SIGHUP to the producer; returns when it serves the catalog's next serial."""
    before = catalog_serial(p.port)
    p.send_signal(signal.SIGHUP)
    while catalog_serial(p.port) == before:
        time.sleep(0.005)
    return time.monotonic()


def producer_config(p, consumer_port, members):
    lines = ["server:", f"  listen: ['{HOST}:{p.port}']", "  workers: 1", "  database: var/zoned.db",
             "keys:", "  - name: xfr-key", "    algorithm: hmac-sha256",
             '    secret: "Xq3T0F7s1aq2zH4qR0vV+0mB1f2v0mJ8mCzE7g1Yk2s="',
             "remotes:", "  - name: sec", f'    address: "{HOST}:{consumer_port}"', "    key: xfr-key",
             "zones:", f"  - name: {CAT}", "    catalog: produce", "    notify: [sec]",
             "    allow-transfer: [sec]"]
    for m in members:
        lines += [f"  - name: {m}", f"    file: zones/{m}.zone", f"    catalog-member: {CAT}",
                  "    allow-transfer: [sec]"]
    p.config.write_text("\n".join(lines) + "\n")


def run(kind, n):
    members = [f"m{i}.bench.test" for i in range(n)]
    p = ZonedServer()
    c = ZonedServer() if kind == "zoned" else KnotConsumer()
    try:
        for m in members:
            p.write_zone(m, zone_text(1, origin=m))
        p.config = p.dir / "zoned.yaml"
        producer_config(p, c.port, [])
        if kind == "zoned":
            c.configure([{"name": CAT, "catalog": "consume", "primaries": ["pri"]}],
                        remotes={"pri": (p.port, True)}, log_level="warning")
        else:
            c.configure_consumer(p.port)
            c.config.write_text(c.config.read_text().replace("any: info", "any: warning"))
        p.start()
        c.start()
        time.sleep(1.0)
        producer_config(p, c.port, members)
        t0 = hup_and_wait_catalog(p)
        add_s, add_left = wait_all(c.port, members, "ok", 300)
        add_s = time.monotonic() - t0 if not add_left else add_s
        out = {"kind": kind, "add_s": add_s, "add_missing": add_left}
        # Removal right after the addition, for both consumers alike.
        producer_config(p, c.port, [])
        t0 = hup_and_wait_catalog(p)
        rm_s, rm_left = wait_all(c.port, members, "gone", 300)
        rm_s = time.monotonic() - t0 if not rm_left else rm_s
        out.update(rm_s=rm_s, rm_missing=rm_left)
        if kind == "zoned":
            time.sleep(0.5)
            held = stored_zones(c)
            out["rows_left"] = sum(1 for m in members if m in held)
            # Then the restart: the members again, the producer stopped, the consumer
            # restarted: only its database can serve them.
            producer_config(p, c.port, members)
            hup_and_wait_catalog(p)
            wait_all(c.port, members, "ok", 300)
            c.stop()
            t1 = time.monotonic()
            p.stop()
            c.start()
            up = time.monotonic() - t1
            restart_s, restart_left = wait_all(c.port, members, "ok", 60)
            out["restart_s"] = up + restart_s
            out["restart_missing"] = restart_left
        return out
    finally:
        p.cleanup()
        c.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    runs = {"zoned": [], "knot": []}
    for _ in range(a.rounds):
        for kind in ("zoned", "knot"):
            runs[kind].append(run(kind, a.members))

    def med(kind, key):
        v = sorted(r[key] for r in runs[kind])
        return v[len(v) // 2]
    print(f"catalog with {a.members} members added / removed in one change: seconds from the "
          f"producer serving the new catalog serial until every member is served / gone at "
          f"the consumer (median of {a.rounds}; every round listed)")
    print(f"{'consumer':10} {'add':>8} {'remove':>8}  rounds (add/remove)")
    for kind in ("zoned", "knot"):
        rounds = ", ".join(f"{r['add_s']:.2f}/{r['rm_s']:.2f}" for r in runs[kind])
        print(f"{kind:10} {med(kind, 'add_s'):8.2f} {med(kind, 'rm_s'):8.2f}  {rounds}")
        for r in runs[kind]:
            if r["add_missing"] or r["rm_missing"]:
                print(f"  missing after timeout: add {r['add_missing']}, remove {r['rm_missing']}")
    print(f"zoned restart with the producer down: all {a.members} members served after "
          f"{med('zoned', 'restart_s'):.2f} s (from the start of the process); store rows "
          f"left after removal: {max(r['rows_left'] for r in runs['zoned'])}")
    print(f"zoned/knot: add {med('zoned', 'add_s') / med('knot', 'add_s'):.2f}x, "
          f"remove {med('zoned', 'rm_s') / med('knot', 'rm_s'):.2f}x")


if __name__ == "__main__":
    main()
