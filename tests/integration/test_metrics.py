"""The Prometheus endpoint (server.metrics) scraped from a running zoned while dig/kdig query
it, a zoned primary with a zoned secondary in `notify` (the secondary's serial and lag),
`promtool check metrics`, bad HTTP input that must never stall DNS answers, and the systemd
watchdog (WATCHDOG=1 on a NOTIFY_SOCKET the test listens on)."""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import dns.message
import dns.rcode
import pytest

from conftest import Zoned, dig, free_port, kdig, query, zoned_bin
from replication_helpers import (HOST, ZONE, ZonedServer, serial_of, wait_serial, wait_until,
                                 zone_text)

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(port, path="/metrics", method="GET", host=HOST):
    c = http.client.HTTPConnection(host, port, timeout=5)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        c.close()


def metrics(port):
    status, ctype, body = scrape(port)
    assert status == 200, body
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    return body, parse(body)


@pytest.fixture
def served():
    """A zoned with metrics on its own port; stopped at teardown."""
    made = []

    def make(zones=None, extra_server=""):
        mport = free_port()
        z = Zoned(zones or {"metrics.test": zone_text(7, origin="metrics.test")},
                  extra_server=f"  metrics: '127.0.0.1:{mport}'\n" + extra_server)
        made.append(z)
        z.start()
        z.mport = mport
        wait_until(lambda: try_scrape(mport), 10, what="metrics endpoint")
        return z

    yield make
    for z in made:
        z.cleanup()


def try_scrape(port):
    try:
        return scrape(port)[0] == 200
    except OSError:
        return False


def promtool():
    return shutil.which("promtool")


def test_counters_move_with_dig_and_kdig_queries(served):
    z = served()
    _, before = metrics(z.mport)
    for _ in range(3):
        assert "status: NOERROR" in dig(z.host, z.port, "www.metrics.test", "A")
    assert "status: NXDOMAIN" in dig(z.host, z.port, "nope.metrics.test", "A")
    assert "status: REFUSED" in dig(z.host, z.port, "example.org", "TXT")
    for _ in range(2):
        assert "NOERROR" in kdig(z.host, z.port, "www.metrics.test", "AAAA", tcp=True)
    text, after = metrics(z.mport)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("zoned_queries_total", transport="udp") == 5, text
    assert delta("zoned_queries_total", transport="tcp") == 2, text
    assert delta("zoned_queries_opcode_total", opcode="QUERY") == 7, text
    assert delta("zoned_queries_qtype_total", qtype="A") == 4, text
    assert delta("zoned_queries_qtype_total", qtype="AAAA") == 2, text
    assert delta("zoned_queries_qtype_total", qtype="TXT") == 1, text
    assert delta("zoned_responses_rcode_total", rcode="NXDOMAIN") == 1, text
    assert delta("zoned_responses_rcode_total", rcode="REFUSED") == 1, text
    assert delta("zoned_responses_rcode_total", rcode="NOERROR") == 5, text
    assert delta("zoned_tcp_connections_accepted_total") == 2, text
    assert value(after, "zoned_workers") == 2
    assert value(after, "zoned_zone_serial", zone="metrics.test") == 7, text
    assert value(after, "zoned_zone_last_update_success", zone="metrics.test", kind="load") == 1
    age = value(after, "zoned_zone_last_update_age_seconds", zone="metrics.test", kind="load")
    assert 0 <= age < 60, text

    # A reload with a new serial shows at once; a broken file shows as a failed load.
    z.write_zone("metrics.test", zone_text(8, origin="metrics.test"))
    z.sighup()
    wait_until(lambda: value(metrics(z.mport)[1], "zoned_zone_serial", zone="metrics.test") == 8,
               10, what="serial 8 in the metrics")
    z.write_zone("metrics.test", "this is not a zone file\n")
    z.sighup()
    wait_until(lambda: value(metrics(z.mport)[1], "zoned_zone_last_update_success",
                             zone="metrics.test", kind="load") == 0
               and ("zoned_zone_last_update_success",
                    frozenset({("zone", "metrics.test"), ("kind", "load")})) in metrics(z.mport)[1],
               10, what="failed load in the metrics")
    assert value(metrics(z.mport)[1], "zoned_zone_serial", zone="metrics.test") == 8


def test_rrl_and_truncation_counted(served):
    z = served(extra_server="  rate-limit:\n    responses-per-second: 1\n    slip: 2\n")
    _, before = metrics(z.mport)
    # A burst from one client: most answers are dropped or slipped (TC=1).
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    q = dns.message.make_query("www.metrics.test", "A").to_wire()
    for _ in range(50):
        s.sendto(q, (z.host, z.port))
    s.close()
    time.sleep(0.5)
    text, after = metrics(z.mport)
    dropped = value(after, "zoned_rrl_dropped_total") - value(before, "zoned_rrl_dropped_total")
    slipped = value(after, "zoned_rrl_slipped_total") - value(before, "zoned_rrl_slipped_total")
    trunc = value(after, "zoned_responses_truncated_total") - \
        value(before, "zoned_responses_truncated_total")
    assert dropped > 0 and slipped > 0, text
    assert trunc >= slipped, text
    assert value(after, "zoned_queries_total", transport="udp") - \
        value(before, "zoned_queries_total", transport="udp") == 50, text


def test_tcp_connections_open_and_refused(served):
    z = served(extra_server="  tcp-max-clients: 2\n")
    held = [socket.create_connection((z.host, z.port), timeout=5) for _ in range(2)]
    try:
        wait_until(lambda: value(metrics(z.mport)[1], "zoned_tcp_connections_open") == 2, 5,
                   what="2 TCP connections open")
        extra = socket.create_connection((z.host, z.port), timeout=5)
        assert recv_all(extra, 5) == b""  # closed at once: over the cap
        extra.close()
        text, m = metrics(z.mport)
        assert value(m, "zoned_tcp_connections_refused_total") == 1, text
        assert value(m, "zoned_tcp_connections_accepted_total") == 2, text
        assert value(m, "zoned_tcp_connections_max") == 2, text
    finally:
        for c in held:
            c.close()
    wait_until(lambda: value(metrics(z.mport)[1], "zoned_tcp_connections_open") == 0, 5,
               what="no TCP connection open")


def test_scrapes_during_query_load_are_monotonic(served):
    """Scraped while a client queries: counters only grow, every query is answered."""
    z = served()
    stop = threading.Event()
    answered = []

    def load():
        while not stop.is_set():
            r = query(z.host, z.port, "www.metrics.test", "A")
            answered.append(r.rcode() == dns.rcode.NOERROR)

    t = threading.Thread(target=load)
    t.start()
    try:
        last = -1
        for _ in range(10):
            v = value(metrics(z.mport)[1], "zoned_queries_total", transport="udp")
            assert v >= last
            last = v
            time.sleep(0.1)
    finally:
        stop.set()
        t.join()
    assert answered and all(answered)
    assert value(metrics(z.mport)[1], "zoned_queries_total", transport="udp") >= len(answered)


def with_metrics(server, port=None):
    """Adds server.metrics (on a free port) to a ZonedServer's generated configuration."""
    server.mport = port or free_port()
    text = server.config.read_text()
    server.config.write_text(text.replace("server:\n", f"server:\n  metrics: '{HOST}:{server.mport}'\n", 1))
    return server


@pytest.fixture
def pair():
    made = []
    yield made
    for s in made:
        s.stop()
        print(f"--- {s.name} on port {s.port} ---\n{s.log()[-4000:]}")
        s.cleanup()


def test_primary_shows_its_zoned_secondary_serial_and_lag(pair):
    p, s = ZonedServer(), ZonedServer()
    pair += [p, s]
    zones = lambda allow: [{"name": ZONE, "text": zone_text(1), "notify": ["secondary"],
                            "allow-transfer": ["secondary"] if allow else ["192.0.2.0/24"]}]
    p.configure(zones(True), remotes={"secondary": (s.port, True)})
    with_metrics(p)
    s.configure([{"name": ZONE, "primaries": ["primary"]}], remotes={"primary": (p.port, True)})
    with_metrics(s)
    p.start()
    s.start()
    wait_serial(s.host, s.port, 1)
    labels = {"zone": ZONE, "remote": "secondary", "address": f"{HOST}:{s.port}"}

    def prim():
        return parse(scrape(p.mport)[2])

    # The primary's watch asks the secondary for its SOA after the NOTIFY it acknowledged.
    wait_until(lambda: value(prim(), "zoned_secondary_serial", **labels) == 1, 15,
               what="secondary serial 1 on the primary")
    m = prim()
    assert value(m, "zoned_secondary_answered", **labels) == 1
    assert value(m, "zoned_secondary_behind_serials", **labels) == 0
    assert value(m, "zoned_secondary_behind_seconds", **labels) == 0
    assert value(m, "zoned_zone_transfers_out_total", zone=ZONE) >= 1
    assert value(m, "zoned_zone_transfer_out_bytes_total", zone=ZONE) > 0
    sm = parse(scrape(s.mport)[2])
    assert value(sm, "zoned_zone_serial", zone=ZONE) == 1
    assert value(sm, "zoned_zone_transfers_in_total", zone=ZONE) == 1
    assert value(sm, "zoned_zone_transfer_in_bytes_total", zone=ZONE) > 0
    assert value(sm, "zoned_zone_last_update_success", zone=ZONE, kind="transfer") == 1

    # The primary moves to serial 3 but no longer lets the secondary transfer: it stays at 1,
    # two serials and a growing number of seconds behind.
    p.configure([dict(zones(False)[0], text=zone_text(3))], remotes={"secondary": (s.port, True)})
    with_metrics(p, p.mport)
    p.reload()
    wait_until(lambda: value(prim(), "zoned_secondary_behind_serials", **labels) == 2, 15,
               what="secondary 2 serials behind")
    assert serial_of(s.host, s.port) == 1
    wait_until(lambda: value(prim(), "zoned_secondary_behind_seconds", **labels) >= 2, 15,
               what="lag in seconds")
    m = prim()
    assert value(m, "zoned_zone_serial", zone=ZONE) == 3
    assert value(m, "zoned_secondary_serial", **labels) == 1
    if promtool():
        check_promtool(scrape(p.mport)[2])
        check_promtool(scrape(s.mport)[2])


def check_promtool(text):
    r = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, f"promtool: {r.stdout}{r.stderr}\n{text}"


@pytest.mark.skipif(not shutil.which("promtool"),
                    reason="promtool (Debian package prometheus) is not installed")
def test_promtool_check_metrics_passes(served):
    z = served()
    dig(z.host, z.port, "www.metrics.test", "A")
    dig(z.host, z.port, "nope.metrics.test", "TXT")
    kdig(z.host, z.port, "metrics.test", "SOA", tcp=True)
    check_promtool(scrape(z.mport)[2])


def dig_time(z):
    """Seconds one dig takes to get its answer (it must get one)."""
    t = time.monotonic()
    out = dig(z.host, z.port, "www.metrics.test", "A")
    assert "status: NOERROR" in out, out
    return time.monotonic() - t


def test_wrong_path_and_method(served):
    z = served()
    assert scrape(z.mport, "/")[0] == 404
    assert scrape(z.mport, "/metricsx")[0] == 404
    assert scrape(z.mport, "/metrics?x=1")[0] == 200
    assert scrape(z.mport, method="POST")[0] == 405
    assert scrape(z.mport, method="DELETE")[0] == 405
    # Not HTTP at all: 400 and a close.
    with socket.create_connection((HOST, z.mport), timeout=5) as c:
        c.sendall(b"\x00\x01garbage\r\n\r\n")
        data = c.recv(4096)
        assert data.startswith(b"HTTP/1.1 400"), data
    assert dig_time(z) < 1


def test_reload_keeps_the_metrics_address_and_says_so(served):
    z = served()
    other = free_port()
    z.config.write_text(z.config.read_text().replace(f"127.0.0.1:{z.mport}", f"127.0.0.1:{other}"))
    z.sighup()
    wait_until(lambda: "metrics address changed: restart zoned to apply it" in z.log(), 10,
               what="the warning")
    assert scrape(z.mport)[0] == 200
    assert not try_scrape(other)


def recv_all(sock, timeout):
    """Everything until the server closes (b'' at once if it closed already)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_oversized_request_gets_431_and_close(served):
    z = served()
    with socket.create_connection((HOST, z.mport), timeout=5) as c:
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        data = recv_all(c, 5)
    assert data.startswith(b"HTTP/1.1 431"), data[:200]
    assert dig_time(z) < 1
    assert scrape(z.mport)[0] == 200


def test_slowloris_is_cut_off_and_dns_keeps_answering(served):
    z = served()
    # Many clients that send a byte now and then and never finish their request.
    slow = [socket.create_connection((HOST, z.mport), timeout=5) for _ in range(30)]
    started = time.monotonic()
    try:
        for c in slow:
            try:
                c.sendall(b"GET /metrics HTTP/1.1\r\n")
            except OSError:
                pass  # over the connection cap: already closed
        closed_at = {}
        while len(closed_at) < len(slow) and time.monotonic() - started < 15:
            assert dig_time(z) < 1  # DNS answers all along
            for i, c in enumerate(slow):
                if i in closed_at:
                    continue
                try:
                    c.sendall(b"X")
                    c.settimeout(0.01)
                    if c.recv(1) == b"":
                        closed_at[i] = time.monotonic() - started
                except socket.timeout:
                    pass
                except OSError:
                    closed_at[i] = time.monotonic() - started
            time.sleep(0.3)
    finally:
        for c in slow:
            c.close()
    assert len(closed_at) == len(slow), f"still open after 15 s: {len(slow) - len(closed_at)}"
    # Past the cap (16) they are closed at once, the others at the request timeout (5 s).
    assert sum(1 for t in closed_at.values() if t < 2) >= 30 - 16, closed_at
    assert max(closed_at.values()) < 9, closed_at
    assert scrape(z.mport)[0] == 200


def test_watchdog_pings_while_workers_answer(tmp_path):
    sock_path = tmp_path / "notify.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(sock_path))
    s.settimeout(5)
    z = Zoned({"metrics.test": zone_text(7, origin="metrics.test")})
    try:
        env = dict(os.environ, NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="400000")
        z.log_file = open(z.log_path, "w")
        z.proc = subprocess.Popen([zoned_bin(), "--config", str(z.config)], env=env,
                                  stdout=z.log_file, stderr=subprocess.STDOUT)
        pings = []
        deadline = time.monotonic() + 4
        ready = False
        while time.monotonic() < deadline:
            msg = s.recv(4096).decode()
            if "READY=1" in msg:
                ready = True
            if "WATCHDOG=1" in msg:
                pings.append(time.monotonic())
        assert ready
        # Every 200 ms (half of 400 ms): about 20 in 4 s. The gaps are checked with room for
        # a loaded test machine's scheduling (systemd would kill at 400 ms).
        assert len(pings) >= 10, pings
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert max(gaps) < 0.6, gaps
        assert sorted(gaps)[len(gaps) // 2] < 0.3, gaps
        assert "systemd watchdog every 200 ms" in z.log()
        assert serial_of_zone(z) == 7
    finally:
        s.close()  # first: zoned's next sd_notify then fails at once instead of queueing
        z.cleanup()


def serial_of_zone(z):
    r = query(z.host, z.port, "metrics.test", "SOA")
    return r.answer[0][0].serial


def test_metrics_port_taken_is_a_clear_error(tmp_path):
    taken = socket.socket()
    taken.bind((HOST, 0))
    taken.listen()
    port = taken.getsockname()[1]
    z = Zoned({"metrics.test": zone_text(7, origin="metrics.test")},
              extra_server=f"  metrics: '127.0.0.1:{port}'\n")
    try:
        z.start(wait=False)
        assert z.proc.wait(timeout=10) == 1
        assert f"cannot listen for metrics on 127.0.0.1:{port}" in z.log(), z.log()
    finally:
        z.cleanup()
        taken.close()
