"""Helpers for the zonectl tests: running zonectl, zoned/NSD/Knot servers on 127.0.0.x:53,
signing a zone with the ldns tools, polling."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode

import peers
from conftest import ROOT, Zoned, free_port

TSIG_SECRET = "Xq3T0F7s1aq2zH4qR0vV+0mB1f2v0mJ8mCzE7g1Yk2s="


def zonectl_bin():
    return os.environ.get("ZONECTL_BIN", str(ROOT / "build" / "zonectl"))


def zonectl(*args, timeout=60):
    """Runs zonectl; returns the CompletedProcess (text)."""
    return subprocess.run([zonectl_bin(), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def zonectl_json(*args):
    r = zonectl("--json", *args)
    return r, json.loads(r.stdout) if r.stdout.strip() else None


def wait_until(pred, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def port53_free(host):
    """Nothing (of another test or agent) listens on host:53, UDP nor TCP."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, 53))
            except OSError:
                return False
    return True


def ask(host, port, name, rdtype, timeout=1.0):
    """One non-recursive UDP query; None when there is no answer."""
    q = dns.message.make_query(name, rdtype, want_dnssec=True)
    q.flags &= ~dns.flags.RD
    try:
        return dns.query.udp(q, host, port=port, timeout=timeout)
    except Exception:
        return None


def soa_serial(host, port, zone):
    r = ask(host, port, zone, "SOA")
    if r is None or r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return r.answer[0][0].serial


def wait_authoritative(host, port, zone, timeout=15.0):
    def ok():
        r = ask(host, port, zone, "SOA", timeout=0.3)
        return r is not None and r.rcode() == dns.rcode.NOERROR and bool(r.flags & dns.flags.AA) \
            and bool(r.answer)
    return wait_until(ok, timeout)


def referral(host, port, name):
    """(NS targets, {glue owner: {addresses}}) of the referral a server gives for name."""
    r = ask(host, port, name, "NS")
    if r is None:
        return None, {}
    ns = {rd.target.to_text() for rr in r.authority if rr.rdtype == dns.rdatatype.NS for rd in rr}
    glue = {}
    for rr in r.additional:
        if rr.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            glue.setdefault(rr.name.to_text(), set()).update(rd.address for rd in rr)
    return ns, glue


class ZonedServer(Zoned):
    """A zoned with a hand-written configuration (remotes, keys, control socket, ...).
    config may use {dir}; zone files go to {dir}/zones/NAME.zone."""

    def __init__(self, zones, config, host="127.0.0.1", port=None, probe=None):
        super().__init__(zones, host=host, port=port or free_port(host), probe=probe)
        self.config.write_text(config.format(dir=self.dir, port=self.port, host=self.host))

    def zone_path(self, name):
        return self.dir / "zones" / f"{name}.zone"

    def start(self, wait=True):
        super().start(wait=False)
        if wait and self.probe and not wait_authoritative(self.host, self.port, self.probe):
            self.stop()
            raise RuntimeError(f"zoned did not start:\n{self.log()}")
        return self


def child_zoned(zones, addresses, probe=None):
    """A zoned serving child zones on ADDR:53 for every address."""
    for a in addresses:
        assert port53_free(a), f"{a}:53 is in use"
    listen = ", ".join(f'"{a}:53"' for a in addresses)
    cfg = ("server:\n"
           f"  listen: [{listen}]\n"
           "  workers: 1\n"
           "  log-level: info\n"
           "zones:\n"
           + "".join(f"  - name: {n}\n    file: zones/{n}.zone\n" for n in zones))
    return ZonedServer(zones, cfg, host=addresses[0], port=53, probe=probe or next(iter(zones)))


class Peer(peers.Peer):
    """NSD or Knot serving zones on ADDR:53."""

    def __init__(self, kind, zones, address):
        assert port53_free(address), f"{address}:53 is in use"
        super().__init__(kind, zones, address, 53)
        self.address = address


def sign_zone(origin, text, workdir):
    """Signs text (the zone origin) with a fresh ECDSA P-256 KSK+ZSK pair (ldns-keygen,
    ldns-signzone). Returns (signed text, the DS of the KSK as "TAG ALG DIGTYPE DIGEST")."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    run = lambda *a: subprocess.run(a, cwd=workdir, capture_output=True, text=True, check=True,
                                    timeout=60).stdout.strip()
    ksk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", origin)
    zsk = run("ldns-keygen", "-a", "ECDSAP256SHA256", origin)
    zf = workdir / f"{origin}.zone"
    zf.write_text(text)
    run("ldns-signzone", "-f", str(workdir / f"{origin}.signed"), str(zf), ksk, zsk)
    # ldns-key2ds writes the DS to KNAME.ds and prints that file name.
    dsfile = run("ldns-key2ds", "-n", "-2", f"{ksk}.key")
    line = (workdir / dsfile).read_text() if (workdir / dsfile).exists() else dsfile
    fields = line.split()
    i = fields.index("DS")
    return (workdir / f"{origin}.signed").read_text(), " ".join(fields[i + 1:])


def wrong_ds(ds):
    """The same DS with its digest changed."""
    tag, alg, dt, digest = ds.split()
    flipped = ("0" if digest[0] != "0" else "1") + digest[1:]
    return f"{tag} {alg} {dt} {flipped}"
