"""Knot DNS and NSD as test peers: each in its own temp dir, started from a generated
config on a loopback address, waited for until it serves every zone authoritatively, and
stopped (with its directory removed) by cleanup()."""
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode


def wait_authoritative(host, port, zones, timeout=15.0):
    """Until the server answers SOA with AA for every zone (Knot loads in the background and
    answers SERVFAIL until then)."""
    deadline = time.time() + timeout
    pending = list(zones)
    while pending and time.time() < deadline:
        try:
            r = dns.query.udp(dns.message.make_query(pending[0], "SOA"), host, port=port,
                              timeout=0.3)
            if r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA and r.answer:
                pending.pop(0)
                continue
        except Exception:
            pass
        time.sleep(0.05)
    return not pending


class Peer:
    """kind: "knot" or "nsd"; zones: {origin: zone text}."""

    def __init__(self, kind, zones, host, port, knot_template="", nsd_server=""):
        self.kind, self.zones, self.host, self.port = kind, dict(zones), host, port
        self.name = kind
        self.knot_template, self.nsd_server = knot_template, nsd_server
        self.dir = Path(tempfile.mkdtemp(prefix=f"{kind}-test-"))
        self.log_path = self.dir / f"{kind}.out"
        self.proc = None
        self.log = None
        for name, text in self.zones.items():
            (self.dir / f"{name}.zone").write_text(text)

    def _command(self):
        d = self.dir
        if self.kind == "knot":
            (d / "run").mkdir(exist_ok=True)
            (d / "db").mkdir(exist_ok=True)
            conf = d / "knot.conf"
            conf.write_text(
                f"server:\n    listen: {self.host}@{self.port}\n    rundir: {d}/run\n"
                f"database:\n    storage: {d}/db\n"
                "log:\n  - target: stderr\n    any: info\n"
                f"template:\n  - id: default\n    storage: {d}\n"
                "    zonefile-load: whole\n    zonefile-sync: -1\n    journal-content: none\n"
                "    semantic-checks: off\n" + self.knot_template +
                "zone:\n" + "".join(f"  - domain: {n}\n    file: {n}.zone\n" for n in self.zones))
            return ["knotd", "-c", str(conf)]
        conf = d / "nsd.conf"
        conf.write_text(
            f"server:\n    ip-address: {self.host}\n    port: {self.port}\n"
            f"    pidfile: {d}/nsd.pid\n    zonelistfile: {d}/zone.list\n"
            f"    xfrdfile: {d}/xfrd.state\n    xfrdir: {d}\n    zonesdir: {d}\n"
            '    database: ""\n    username: ""\n    chroot: ""\n    verbosity: 1\n'
            # Debian builds NSD with --enable-ratelimit: RRL on by default would start
            # truncating bursts of queries. The documented keys are rrl-*.
            "    rrl-ratelimit: 0\n    rrl-whitelist-ratelimit: 0\n" + self.nsd_server +
            "remote-control:\n    control-enable: no\n" +
            "".join(f"zone:\n    name: {n}\n    zonefile: {n}.zone\n" for n in self.zones))
        return ["nsd", "-d", "-c", str(conf)]

    def start(self, timeout=15.0):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self._command(), stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_authoritative(self.host, self.port, self.zones, timeout):
            text = self.log_path.read_text()
            self.cleanup()
            raise RuntimeError(f"{self.kind} did not serve {list(self.zones)}:\n{text}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
