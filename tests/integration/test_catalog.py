"""Catalog zones (RFC 9432) with real processes on loopback, TSIG everywhere: zoned as the
producer (consumed by zoned, Knot DNS and BIND 9) and as the consumer (of a catalog served by
Knot DNS), members added, removed and re-added with a new id, restarts served from the store,
and broken catalogs that must not drop any zone."""
import sqlite3
import time
import subprocess

import dns.name
import dns.rcode
import dns.rdataclass
import pytest

from replication_helpers import (HOST, KEY_ALG, KEY_NAME, KEY_SECRET, BindServer, KnotServer,
                                 ZonedServer, query, serial_of, tool, wait_serial, wait_until,
                                 zone_text)
from zonectl_helpers import zonectl

needs_knot = pytest.mark.skipif(not (tool("knotd") and tool("knotc")), reason="knotd not installed")
needs_bind = pytest.mark.skipif(not tool("named"), reason="named not installed")

CAT = "cat.test"


def member_text(name, serial=1):
    return zone_text(serial, origin=name)


def refused_or_gone(host, port, zone):
    """The server no longer answers for zone (REFUSED, or nothing authoritative)."""
    try:
        r = query(host, port, zone, "SOA", timeout=0.5)
    except Exception:
        return False
    return r.rcode() == dns.rcode.REFUSED


def name_text(w):
    labels, i = [], 0
    while i < len(w) and w[i]:
        labels.append(bytes(w[i + 1:i + 1 + w[i]]).decode())
        i += 1 + w[i]
    return ".".join(labels)


def stored_zones(server):
    """Every zone the server's database holds anything of (zone rows, records, history)."""
    db = sqlite3.connect(str(server.database()))
    try:
        rows = db.execute("SELECT name FROM zones UNION SELECT zone FROM records "
                          "UNION SELECT zone FROM history").fetchall()
        return {name_text(r[0]) for r in rows}
    finally:
        db.close()


def wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def catalog_ptrs(host, port, source=None):
    """{member: id} from an AXFR of the catalog."""
    import dns.query
    import dns.zone
    from replication_helpers import tsig_key
    z = dns.zone.from_xfr(dns.query.xfr(host, CAT, port=port, keyring=tsig_key(),
                                        keyalgorithm=KEY_ALG, source=source))
    out = {}
    for name, node in z.nodes.items():
        labels = name.labels
        for rds in node.rdatasets:
            if rds.rdtype == dns.rdatatype.PTR and len(labels) == 2 and labels[1] == b"zones":
                for rd in rds:
                    out[rd.target.to_text().rstrip(".")] = labels[0].decode()
    return out


import dns.rdatatype  # noqa: E402


@pytest.fixture
def servers():
    made = []

    def make(cls):
        s = cls()
        made.append(s)
        return s
    yield make
    for s in made:
        s.cleanup()


def producer(make, consumer_port, members=("m1.test", "m2.test")):
    """A zoned primary producing CAT from `members` (configured with catalog-member)."""
    p = make(ZonedServer)
    zones = [{"name": CAT, "catalog": "produce", "notify": ["sec"], "allow-transfer": ["sec"]}]
    for m in members:
        zones.append({"name": m, "text": member_text(m), "catalog-member": CAT,
                      "notify": ["sec"], "allow-transfer": ["sec"]})
    p.configure(zones, remotes={"sec": (consumer_port, True)}, log_level="debug")
    lines = p.config.read_text().splitlines()
    lines.insert(3, f"  control: {p.dir}/zoned.sock")
    p.config.write_text("\n".join(lines) + "\n")
    p.socket = p.dir / "zoned.sock"
    return p


def zoned_consumer(make, primary_port, extra=()):
    c = make(ZonedServer)
    c.configure([{"name": CAT, "catalog": "consume", "primaries": ["pri"], "extra": list(extra)}],
                remotes={"pri": (primary_port, True)})
    return c


def add_member(p, name, serial=1):
    path = p.dir / "zones" / f"{name}.zone"
    path.write_text(member_text(name, serial))
    r = zonectl("--socket", p.socket, "zone-add", name, "--file", path, "--catalog", CAT,
                "--notify", "sec", "--allow-transfer", "sec")
    assert r.returncode == 0, r.stdout + r.stderr


def remove_member(p, name):
    r = zonectl("--socket", p.socket, "zone-remove", name)
    assert r.returncode == 0, r.stdout + r.stderr


def test_zoned_producer_zoned_consumer(servers):
    c = servers(ZonedServer)
    p = producer(servers, c.port)
    c.configure([{"name": CAT, "catalog": "consume", "primaries": ["pri"]}],
                remotes={"pri": (p.port, True)})
    p.start()
    c.start()
    # The catalog as produced: version 2, one PTR per member, ids from the member name.
    ptrs = catalog_ptrs(p.host, p.port)
    assert set(ptrs) == {"m1.test", "m2.test"}
    assert query(p.host, p.port, f"version.{CAT}", "TXT").answer[0][0].strings == (b"2",)
    for m in ("m1.test", "m2.test"):
        wait_serial(c.host, c.port, 1, zone=m)
    cat_serial = serial_of(p.host, p.port, CAT)
    # A member added at runtime: the catalog changes by IXFR, the consumer serves it.
    mark = c.mark()
    add_member(p, "m3.test")
    wait_serial(c.host, c.port, 1, timeout=15, zone="m3.test")
    assert serial_of(p.host, p.port, CAT) == cat_serial + 1
    c.wait_log(r"zone cat\.test: IXFR in", since=mark)
    # Removed: gone from the consumer, its data purged from its database.
    remove_member(p, "m3.test")
    wait_until(lambda: refused_or_gone(c.host, c.port, "m3.test"), 15, what="m3.test removed")
    held = stored_zones(c)
    assert "m1.test" in held and "m3.test" not in held, held
    assert serial_of(c.host, c.port, "m1.test") == 1
    # Ids stable across a producer restart: the same catalog content, no new serial.
    p.stop()
    p.start()
    assert catalog_ptrs(p.host, p.port) == {k: v for k, v in ptrs.items()}
    assert serial_of(p.host, p.port, CAT) == cat_serial + 2
    # The consumer restarted with the producer down: members served from its database.
    p.stop()
    c.stop()
    c.start()
    for m in ("m1.test", "m2.test"):
        assert serial_of(c.host, c.port, m) == 1
    assert refused_or_gone(c.host, c.port, "m3.test")


class KnotConsumer(KnotServer):
    def configure_consumer(self, primary_port):
        d = self.dir
        self.socket = d / "knot.sock"
        conf = [
            "server:", f"    rundir: {d}", f"    listen: {HOST}@{self.port}",
            "control:", f"    listen: {self.socket}",
            "log:", "  - target: stderr", "    any: info",
            "database:", f"    storage: {d}",
            "key:", f"  - id: {KEY_NAME}", f"    algorithm: {KEY_ALG}", f"    secret: {KEY_SECRET}",
            "remote:", "  - id: pri", f"    address: {HOST}@{primary_port}", f"    key: {KEY_NAME}",
            "acl:", "  - id: peers", f"    address: {HOST}", f"    key: {KEY_NAME}",
            "    action: [transfer, notify]",
            "template:", "  - id: default", f"    storage: {d}", "    zonefile-sync: -1",
            "    zonefile-load: none", "    journal-content: all",
            "  - id: member", f"    storage: {d}", "    master: pri", "    acl: peers",
            "    zonefile-sync: -1", "    zonefile-load: none", "    journal-content: all",
            "zone:", f"  - domain: {CAT}", "    master: pri", "    acl: peers",
            "    catalog-role: interpret", "    catalog-template: member",
        ]
        self.config = d / "knot.conf"
        self.config.write_text("\n".join(conf) + "\n")
        return self


@needs_knot
def test_zoned_producer_knot_consumer(servers):
    k = servers(KnotConsumer)
    p = producer(servers, k.port)
    k.configure_consumer(p.port)
    p.start()
    k.start()
    for m in ("m1.test", "m2.test"):
        wait_serial(k.host, k.port, 1, timeout=20, zone=m)
    add_member(p, "m3.test")
    wait_serial(k.host, k.port, 1, timeout=20, zone="m3.test")
    remove_member(p, "m3.test")
    wait_until(lambda: refused_or_gone(k.host, k.port, "m3.test"), 20, what="m3.test gone from Knot")
    assert serial_of(k.host, k.port, "m2.test") == 1


@needs_bind
def test_zoned_producer_bind_consumer(servers):
    b = servers(BindServer)
    p = producer(servers, b.port)
    b.configure([{"name": CAT, "primary_port": p.port}])
    text = b.config.read_text().replace(
        "  transfers-in 1;\n",
        f'  catalog-zones {{ zone "{CAT}" default-primaries {{ {HOST} port {p.port} key '
        f'{KEY_NAME}; }} min-update-interval 1; }};\n')
    b.config.write_text(text)
    p.start()
    b.start()
    for m in ("m1.test", "m2.test"):
        wait_serial(b.host, b.port, 1, timeout=30, zone=m)
    add_member(p, "m3.test")
    wait_serial(b.host, b.port, 1, timeout=30, zone="m3.test")
    remove_member(p, "m3.test")
    wait_until(lambda: refused_or_gone(b.host, b.port, "m3.test"), 30, what="m3.test gone from BIND")
    assert serial_of(b.host, b.port, "m2.test") == 1


def catalog_text(serial, members, version='"2"', extra=()):
    """A hand-written catalog zone: members is a list of (id, zone)."""
    lines = [f"$ORIGIN {CAT}.", "$TTL 0",
             f"@ SOA invalid. invalid. {serial} 3600 600 2147483646 0", "@ NS invalid."]
    if version:
        lines.append(f"version TXT {version}")
    lines += [f"{i}.zones PTR {z}." for i, z in members]
    return "\n".join(lines + list(extra)) + "\n"


class KnotPrimary(KnotServer):
    def configure_primary(self, consumer_port, catalog, members, generate=False):
        d = self.dir
        self.socket = d / "knot.sock"
        conf = [
            "server:", f"    rundir: {d}", f"    listen: {HOST}@{self.port}",
            "control:", f"    listen: {self.socket}",
            "log:", "  - target: stderr", "    any: info",
            "database:", f"    storage: {d}",
            "key:", f"  - id: {KEY_NAME}", f"    algorithm: {KEY_ALG}", f"    secret: {KEY_SECRET}",
            "remote:", "  - id: sec", f"    address: {HOST}@{consumer_port}", f"    key: {KEY_NAME}",
            "acl:", "  - id: peers", f"    address: {HOST}", f"    key: {KEY_NAME}",
            "    action: [transfer, notify]",
            "template:", "  - id: default", f"    storage: {d}", "    zonefile-sync: -1",
            "    zonefile-load: difference", "    journal-content: all",
            "    notify: sec", "    acl: peers",
            "zone:", f"  - domain: {CAT}",
        ]
        if generate:
            conf += ["    catalog-role: generate"]
        else:
            conf += [f"    file: {CAT}.zone"]
            self.write_zone(CAT, catalog)
        for m in members:
            self.write_zone(m, member_text(m))
            conf += [f"  - domain: {m}", f"    file: {m}.zone"]
            if generate:
                conf += ["    catalog-role: member", f"    catalog-zone: {CAT}"]
        self.config = d / "knot.conf"
        self.config.write_text("\n".join(conf) + "\n")
        return self


def knot_reload(k):
    r = k.knotc("reload")
    assert r.returncode == 0, r.stdout + r.stderr


@needs_knot
def test_knot_catalog_zoned_consumer(servers):
    c = servers(ZonedServer)
    k = servers(KnotPrimary)
    members = ["m1.test", "m2.test", "m3.test", "static.test"]
    k.configure_primary(c.port, catalog_text(1, [("a1", "m1.test"), ("a2", "m2.test")]), members)
    c.configure([{"name": CAT, "catalog": "consume", "primaries": ["pri"]},
                 {"name": "static.test", "primaries": ["pri"]}],
                remotes={"pri": (k.port, True)})
    k.start()
    c.start()
    for m in ("m1.test", "m2.test"):
        wait_serial(c.host, c.port, 1, timeout=15, zone=m)
    # Added and removed.
    k.write_zone(CAT, catalog_text(2, [("a1", "m1.test"), ("a3", "m3.test")]))
    knot_reload(k)
    wait_serial(c.host, c.port, 1, timeout=15, zone="m3.test")
    wait_until(lambda: refused_or_gone(c.host, c.port, "m2.test"), 15, what="m2.test removed")
    held = stored_zones(c)
    assert "m1.test" in held and "m2.test" not in held, held
    # m1 gets a new id: reset (its data goes and it is transferred again).
    mark = c.mark()
    k.write_zone(CAT, catalog_text(3, [("b1", "m1.test"), ("a3", "m3.test")]))
    knot_reload(k)
    c.wait_log(r"catalog member m1\.test has a new id \(a1 -> b1\): reset", since=mark)
    c.wait_log(r"zone m1\.test: AXFR in", since=mark, timeout=15)
    wait_serial(c.host, c.port, 1, timeout=15, zone="m1.test")
    # Broken updates: no version -> the whole catalog ignored, nothing dropped.
    mark = c.mark()
    k.write_zone(CAT, catalog_text(4, [], version=None))
    knot_reload(k)
    c.wait_log(r"catalog cat\.test: no version\.cat\.test TXT record: the catalog is ignored",
               since=mark, timeout=15)
    k.write_zone(CAT, catalog_text(5, [("b1", "m1.test")], version='"1"'))
    knot_reload(k)
    c.wait_log(r'version "1" is not the supported "2"', since=mark, timeout=15)
    assert serial_of(c.host, c.port, "m3.test") == 1
    assert serial_of(c.host, c.port, "m1.test") == 1
    # Bad members are skipped one by one, the good ones kept.
    mark = c.mark()
    k.write_zone(CAT, catalog_text(6, [("b1", "m1.test"), ("a3", "m3.test"), ("d1", "m3.test"),
                                       ("s1", "static.test"), ("own", CAT)],
                                   extra=["stray PTR m2.test.", r"bad.zones PTR m\032x.test."]))
    knot_reload(k)
    c.wait_log(r"d1\.zones\.cat\.test PTR m3\.test: duplicate of a3\.zones\.cat\.test: skipped",
               since=mark, timeout=15)
    log = c.log_since(mark)
    assert "own.zones.cat.test PTR cat.test: the catalog cannot be its own member: skipped" in log
    assert "stray.cat.test PTR m2.test: not under zones.cat.test: skipped" in log
    assert "not a valid zone name: skipped" in log
    assert "s1.zones.cat.test PTR static.test: a zone of that name is configured here" in log
    assert refused_or_gone(c.host, c.port, "m2.test")
    assert serial_of(c.host, c.port, "m3.test") == 1
    # A restart with Knot down: members served from the store.
    k.stop()
    c.stop()
    c.start()
    for m in ("m1.test", "m3.test"):
        assert serial_of(c.host, c.port, m) == 1


@needs_knot
def test_knot_generated_catalog_zoned_consumer(servers):
    c = servers(ZonedServer)
    k = servers(KnotPrimary)
    k.configure_primary(c.port, None, ["m1.test", "m2.test"], generate=True)
    c.configure([{"name": CAT, "catalog": "consume", "primaries": ["pri"]}],
                remotes={"pri": (k.port, True)})
    k.start()
    c.start()
    for m in ("m1.test", "m2.test"):
        wait_serial(c.host, c.port, 1, timeout=20, zone=m)
    # m2 leaves Knot's configuration: its catalog drops it, zoned follows.
    k.configure_primary(c.port, None, ["m1.test"], generate=True)
    knot_reload(k)
    wait_until(lambda: refused_or_gone(c.host, c.port, "m2.test"), 20, what="m2.test removed")
    assert serial_of(c.host, c.port, "m1.test") == 1


# ---------------------------------------------------------------- zonectl host / unhost

def port_free_on(hosts):
    import socket
    from conftest import free_port
    for _ in range(50):
        port = free_port(hosts[0])
        ok = True
        for h in hosts:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                with socket.socket(socket.AF_INET, kind) as s:
                    try:
                        s.bind((h, port))
                    except OSError:
                        ok = False
        if ok:
            return port
    raise RuntimeError("no port free on " + ", ".join(hosts))


def key_block():
    return ["keys:", f"  - name: {KEY_NAME}", f"    algorithm: {KEY_ALG}",
            f"    secret: \"{KEY_SECRET}\""]


def parent_has_cut(p, parent, child, source="127.0.0.21"):
    import dns.query
    import dns.zone
    from replication_helpers import tsig_key
    z = dns.zone.from_xfr(dns.query.xfr(p.host, parent, port=p.port, keyring=tsig_key(),
                                        keyalgorithm=KEY_ALG, lifetime=2, source=source))
    node = z.get_node(dns.name.from_text(child))
    return node is not None and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS) is not None


@needs_knot
def test_host_and_unhost_with_zoned_and_knot_secondaries(servers):
    import threading
    import time
    S_ADDR, K_ADDR = "127.0.0.21", "127.0.0.22"
    ns_port = port_free_on([S_ADDR, K_ADDR])
    p = servers(ZonedServer)
    s = servers(ZonedServer)
    s.host, s.port = S_ADDR, ns_port
    k = servers(KnotConsumer)
    k.host, k.port = K_ADDR, ns_port
    parent = "example.test"
    p.write_zone(parent, zone_text(10, origin=parent))
    p.config = p.dir / "zoned.yaml"
    p.config.write_text("\n".join(
        ["server:", f"  listen: ['{HOST}:{p.port}']", "  workers: 1",
         "  database: var/zoned.db", f"  control: {p.dir}/zoned.sock"] + key_block() +
        ["remotes:",
         "  - name: s", f"    address: \"{S_ADDR}:{ns_port}\"", f"    key: {KEY_NAME}",
         "  - name: k", f"    address: \"{K_ADDR}:{ns_port}\"", f"    key: {KEY_NAME}",
         "zones:",
         f"  - name: {parent}", f"    file: zones/{parent}.zone",
         "    notify: [s, k]", "    allow-transfer: [s, k]",
         f"  - name: {CAT}", "    catalog: produce", "    notify: [s, k]",
         "    allow-transfer: [s, k]"]) + "\n")
    sock = p.dir / "zoned.sock"
    s.config = s.dir / "zoned.yaml"
    s.config.write_text("\n".join(
        ["server:", f"  listen: ['{S_ADDR}:{ns_port}']", "  workers: 1",
         "  database: var/zoned.db", f"  via: {S_ADDR}"] + key_block() +
        ["remotes:", "  - name: pri", f"    address: \"{HOST}:{p.port}\"", f"    key: {KEY_NAME}",
         "zones:", f"  - name: {CAT}", "    catalog: consume", "    primaries: [pri]"]) + "\n")
    k.configure_consumer(p.port)
    text = k.config.read_text().replace(f"listen: {HOST}@", f"listen: {K_ADDR}@").replace(
        f"    address: {HOST}@{p.port}\n    key: {KEY_NAME}",
        f"    address: {HOST}@{p.port}\n    key: {KEY_NAME}\n    via: {K_ADDR}").replace(
        f"    address: {HOST}\n", "    address: 127.0.0.0/8\n")
    k.config.write_text(text)
    p.start()
    s.start()
    k.start()
    wait_until(lambda: serial_of(S_ADDR, ns_port, CAT) is not None, 15, what="catalog at S")
    child = f"shop.{parent}"
    ns_args = ["--ns", f"ns1.{child}={S_ADDR}", "--ns", f"ns2.{child}={K_ADDR}",
               "--ns-port", ns_port]

    # Refusals that change nothing.
    r = zonectl("--socket", sock, "host", "shop.elsewhere.test", *ns_args)
    assert r.returncode == 1 and "is not a primary zone served here" in r.stderr + r.stdout
    r = zonectl("--socket", sock, "host", parent, *ns_args)
    assert r.returncode == 1 and "already served here" in r.stderr + r.stdout

    # --dry-run: the zone file and the delegation shown, nothing made.
    r = zonectl("--socket", sock, "host", child, *ns_args, "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"@ IN NS ns1.{child}." in r.stdout and f"+ {child}. 3600 IN NS ns1.{child}." in r.stdout
    assert not (p.dir / "zones" / f"{child}.zone").exists()
    assert query(p.host, p.port, child, "SOA").rcode() == dns.rcode.NXDOMAIN

    # Watch the parent during the run: whenever it refers to the child's servers, both
    # must already answer for the child.
    violations, referrals, stop = [], [], threading.Event()
    both_serving = []

    def watch():
        while not stop.is_set():
            if not both_serving and all(serial_of(a, ns_port, child) is not None
                                        for a in (S_ADDR, K_ADDR)):
                both_serving.append(time.monotonic())
            # The primary serves the child zone too, so the parent's cut is read from the
            # parent zone itself (AXFR).
            try:
                cut = parent_has_cut(p, parent, child)
            except Exception:
                continue
            if cut:
                referrals.append(time.monotonic())
                for addr in (S_ADDR, K_ADDR):
                    if serial_of(addr, ns_port, child) is None:
                        violations.append(addr)
            time.sleep(0.02)
    t = threading.Thread(target=watch)
    t.start()
    try:
        r = zonectl("--socket", sock, "host", child, *ns_args, "--catalog", CAT, "--timeout", 30)
    finally:
        time.sleep(0.3)
        stop.set()
        t.join()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "every nameserver serves serial" in r.stdout and "done:" in r.stdout
    assert referrals, "the parent never referred to the child"
    assert not violations, violations
    # The delegation follows within 2 s of both secondaries serving the child.
    assert both_serving and referrals[0] - both_serving[0] < 2.0, (both_serving, referrals[:1])
    assert (p.dir / "zones" / f"{child}.zone").exists()
    for addr in (S_ADDR, K_ADDR):
        assert serial_of(addr, ns_port, child) is not None
    assert child in catalog_ptrs(p.host, p.port, S_ADDR)

    # A child whose servers never come up: the table, and nothing changed.
    dead = f"dead.{parent}"
    r = zonectl("--socket", sock, "host", dead, "--ns", f"ns1.{dead}=127.0.0.23",
                "--ns", f"ns2.{dead}=127.0.0.24", "--ns-port", ns_port, "--timeout", 2)
    assert r.returncode == 1
    assert "127.0.0.23" in r.stderr and "no answer" in r.stderr and "nothing changed" in r.stderr
    assert not (p.dir / "zones" / f"{dead}.zone").exists()
    assert query(p.host, p.port, dead, "SOA").rcode() == dns.rcode.NXDOMAIN
    assert dead not in catalog_ptrs(p.host, p.port, S_ADDR)
    assert not parent_has_cut(p, parent, dead)

    # unhost: undelegated first, then gone from here and from the catalog, so from S and K.
    r = zonectl("--socket", sock, "unhost", child)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not parent_has_cut(p, parent, child)
    assert child not in catalog_ptrs(p.host, p.port, S_ADDR)
    for addr in (S_ADDR, K_ADDR):
        wait_until(lambda: refused_or_gone(addr, ns_port, child), 20, what=f"{child} gone at {addr}")


@needs_knot
def test_coo_moves_a_member_to_another_catalog(servers):
    """RFC 9432 5.6: a member moves from catalog A to B only when A says so with coo; without
    coo a zone listed by two catalogs stays with the first."""
    CAT2 = "cat2.test"
    c = servers(ZonedServer)
    k = servers(KnotPrimary)

    def cat2_text(serial, members):
        return catalog_text(serial, members).replace(f"$ORIGIN {CAT}.", f"$ORIGIN {CAT2}.")

    k.configure_primary(c.port, catalog_text(1, [("a1", "m1.test"), ("a2", "m2.test")]),
                        ["m1.test", "m2.test"])
    k.write_zone(CAT2, cat2_text(1, []))
    k.config.write_text(k.config.read_text() + f"  - domain: {CAT2}\n    file: {CAT2}.zone\n")
    c.configure([{"name": CAT, "catalog": "consume", "primaries": ["pri"]},
                 {"name": CAT2, "catalog": "consume", "primaries": ["pri"]}],
                remotes={"pri": (k.port, True)})
    k.start()
    c.start()
    for m in ("m1.test", "m2.test"):
        wait_serial(c.host, c.port, 1, timeout=15, zone=m)
    # cat2 lists both; only m1 carries coo in cat: m1 moves, m2 stays with cat.
    mark = c.mark()
    k.write_zone(CAT, catalog_text(2, [("a1", "m1.test"), ("a2", "m2.test")],
                                   extra=[f"coo.a1.zones PTR {CAT2}."]))
    k.write_zone(CAT2, cat2_text(2, [("a1", "m1.test"), ("b2", "m2.test")]))
    knot_reload(k)
    c.wait_log(r"zone cat2\.test: catalog member m1\.test moves here from catalog cat\.test \(coo\)",
               since=mark, timeout=15)
    c.wait_log(r"b2\.zones\.cat2\.test PTR m2\.test: already a member of catalog cat\.test",
               since=mark, timeout=15)
    # Same id: the data is kept, no new transfer; cat dropping m1 now does not remove it.
    k.write_zone(CAT, catalog_text(3, [("a2", "m2.test")]))
    knot_reload(k)
    time.sleep(1.5)
    log = c.log_since(mark)
    assert "zone m1.test: AXFR in" not in log, log[-3000:]
    assert "catalog member m1.test removed" not in log
    assert serial_of(c.host, c.port, "m1.test") == 1
    assert serial_of(c.host, c.port, "m2.test") == 1


@needs_knot
def test_group_template_and_static_zone_taken_after_reload(servers):
    """A member with a group property gets that group's template (here: a primary that does
    not answer, so it never loads); a zone configured statically is skipped, and taken from
    the catalog once the configuration no longer has it."""
    from conftest import free_port
    c = servers(ZonedServer)
    k = servers(KnotPrimary)
    dead = free_port(HOST)
    k.configure_primary(c.port, catalog_text(1, [("a1", "m1.test"), ("g1", "grouped.test"),
                                                 ("s1", "static.test")],
                                             extra=['group.g1.zones TXT "slow"']),
                        ["m1.test", "grouped.test", "static.test"])
    zones = [{"name": CAT, "catalog": "consume", "primaries": ["pri"],
              "extra": ["group-templates:", "  - group: slow", "    primaries: [dead]"]},
             {"name": "static.test", "primaries": ["pri"]}]
    c.configure(zones, remotes={"pri": (k.port, True), "dead": (dead, True)})
    k.start()
    c.start()
    wait_serial(c.host, c.port, 1, timeout=15, zone="m1.test")
    wait_serial(c.host, c.port, 1, timeout=15, zone="static.test")
    c.wait_log(rf"zone grouped\.test: AXFR from dead \(127\.0\.0\.1:{dead}\) failed", timeout=15)
    assert serial_of(c.host, c.port, "grouped.test") is None
    c.wait_log(r"s1\.zones\.cat\.test PTR static\.test: a zone of that name is configured here")
    # static.test leaves the configuration: the catalog's entry takes it.
    mark = c.mark()
    c.configure(zones[:1], remotes={"pri": (k.port, True), "dead": (dead, True)})
    c.reload()
    c.wait_log(r"zone cat\.test: catalog member static\.test added", since=mark, timeout=15)
    wait_serial(c.host, c.port, 1, timeout=15, zone="static.test")


def test_zoned_producer_moves_a_member_with_coo(servers):
    """catalog-previous: the old catalog keeps the member with coo naming the new one, so a
    consumer of both moves it without a reset (same id, data kept)."""
    CAT2 = "cat2.test"
    c = servers(ZonedServer)
    p = producer(servers, c.port, members=("m1.test",))
    cfg = p.config.read_text()
    cfg += (f"  - name: {CAT2}\n    catalog: produce\n    notify: [sec]\n"
            f"    allow-transfer: [sec]\n")
    p.config.write_text(cfg)
    c.configure([{"name": CAT, "catalog": "consume", "primaries": ["pri"]},
                 {"name": CAT2, "catalog": "consume", "primaries": ["pri"]}],
                remotes={"pri": (p.port, True)})
    p.start()
    c.start()
    wait_serial(c.host, c.port, 1, timeout=15, zone="m1.test")
    mark = c.mark()
    p.config.write_text(cfg.replace(f"    catalog-member: {CAT}\n",
                                    f"    catalog-member: {CAT2}\n    catalog-previous: {CAT}\n"))
    p.reload()
    c.wait_log(r"zone cat2\.test: catalog member m1\.test moves here from catalog cat\.test \(coo\)",
               since=mark, timeout=15)
    # The old catalog lists it with coo; the new one under the same id.
    import dns.query
    import dns.zone
    from replication_helpers import tsig_key
    old = dns.zone.from_xfr(dns.query.xfr(p.host, CAT, port=p.port, keyring=tsig_key(),
                                          keyalgorithm=KEY_ALG))
    assert any(str(n).startswith("coo.") for n in old.nodes), list(old.nodes)
    # Then the old catalog drops it: it stays, with cat2.
    p.config.write_text(cfg.replace(f"    catalog-member: {CAT}\n", f"    catalog-member: {CAT2}\n"))
    p.reload()
    time.sleep(1.5)
    log = c.log_since(mark)
    assert "zone m1.test: AXFR in" not in log and "catalog member m1.test removed" not in log, log
    assert serial_of(c.host, c.port, "m1.test") == 1
