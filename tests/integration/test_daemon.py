"""The zoned daemon as an operator sees it: --check-config, start-up with a broken zone,
SIGHUP reloads (zone changes, broken files, added and removed zones), SIGTERM/SIGINT."""
import signal
import subprocess
import time

import dns.flags
import dns.rcode
import pytest

from conftest import DATA, query, zoned_bin

EXAMPLE = (DATA / "zones" / "example.com.zone").read_text()
OTHER = (DATA / "zones" / "other.net.zone").read_text()
SERIAL = 2026112401


def with_serial(text, serial):
    assert str(SERIAL) in text
    return text.replace(str(SERIAL), str(serial))


def broken(text, bad_line="bad     IN A    300.1.2.3"):
    """text with one bad record appended; returns (text, its 1-based line number)."""
    lines = text.rstrip("\n").split("\n")
    lines.append(bad_line)
    return "\n".join(lines) + "\n", len(lines)


def serial_of(z, zone):
    r = query(z.host, z.port, zone, "SOA")
    assert r.rcode() == dns.rcode.NOERROR, f"{zone}: {dns.rcode.to_text(r.rcode())}"
    return r.answer[0][0].serial


def wait_until(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def check_config(path):
    return subprocess.run([zoned_bin(), "--check-config", str(path)], capture_output=True,
                          text=True, timeout=20)


def write_config(tmp_path, zones, server="", zone_extra=""):
    (tmp_path / "zones").mkdir(exist_ok=True)
    entries = ""
    for name, text in zones.items():
        (tmp_path / "zones" / f"{name}.zone").write_text(text)
        entries += f"  - name: {name}\n    file: zones/{name}.zone\n"
    cfg = tmp_path / "zoned.yaml"
    cfg.write_text('server:\n  listen: ["127.0.0.1:53535"]\n' + server
                   + "zones:\n" + entries + zone_extra)
    return cfg


# --------------------------------------------------------------------------- --check-config

def test_check_config_ok(tmp_path):
    cfg = write_config(tmp_path, {"example.com": EXAMPLE, "other.net": OTHER})
    r = check_config(cfg)
    assert r.returncode == 0, r.stderr
    assert f"serial {SERIAL}" in r.stdout and "errors found" not in r.stdout


def test_check_config_names_file_and_line_of_a_broken_zone(tmp_path):
    text, line = broken(EXAMPLE)
    cfg = write_config(tmp_path, {"example.com": text, "other.net": OTHER})
    r = check_config(cfg)
    assert r.returncode == 1
    zone_file = tmp_path / "zones" / "example.com.zone"
    assert f"{zone_file}:{line}" in r.stderr, r.stderr
    assert "errors found" in r.stdout


def test_check_config_names_a_semantic_error_line(tmp_path):
    # A CNAME beside other data: parses fine, rejected by the zone checks.
    text, line = broken(EXAMPLE, "www     IN CNAME mail")
    cfg = write_config(tmp_path, {"example.com": text})
    r = check_config(cfg)
    assert r.returncode == 1
    assert "CNAME" in r.stderr and "example.com.zone:" in r.stderr, r.stderr


def test_check_config_names_file_and_line_of_a_bad_key(tmp_path):
    cfg = tmp_path / "zoned.yaml"
    cfg.write_text('server:\n  listen: ["127.0.0.1:53535"]\n  tcp-idle-timeot: 5\n')
    r = check_config(cfg)
    assert r.returncode == 1
    assert f"{cfg}:3" in r.stderr and "tcp-idle-timeot" in r.stderr, r.stderr


def test_check_config_names_file_and_line_of_a_bad_value(tmp_path):
    cfg = write_config(tmp_path, {"example.com": EXAMPLE}, server="  tcp-max-clients: 0\n")
    r = check_config(cfg)
    assert r.returncode == 1
    assert f"{cfg}:3" in r.stderr and "tcp-max-clients" in r.stderr, r.stderr


def test_check_config_names_file_and_line_of_yaml_syntax_error(tmp_path):
    cfg = tmp_path / "zoned.yaml"
    cfg.write_text('server:\n  listen: ["127.0.0.1:53535"\nzones: []\n')
    r = check_config(cfg)
    assert r.returncode == 1
    assert f"{cfg}:" in r.stderr, r.stderr


def test_check_config_missing_zone_file(tmp_path):
    cfg = write_config(tmp_path, {"example.com": EXAMPLE})
    (tmp_path / "zones" / "example.com.zone").unlink()
    r = check_config(cfg)
    assert r.returncode == 1 and "example.com.zone" in r.stderr, r.stderr


def test_no_mode_is_a_usage_error():
    r = subprocess.run([zoned_bin()], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and "--config" in r.stderr


# --------------------------------------------------------------------------- start-up

def test_broken_zone_does_not_stop_the_others(make_zoned):
    text, line = broken(EXAMPLE)
    z = make_zoned({"example.com": text, "other.net": OTHER}, probe="other.net")
    assert serial_of(z, "other.net") == 7
    # Configured but with nothing to serve (no database holds an older version): SERVFAIL,
    # as BIND and Knot answer, not REFUSED as for a zone that is not configured here.
    r = query(z.host, z.port, "www.example.com", "A")
    assert r.rcode() == dns.rcode.SERVFAIL
    assert f"example.com.zone:{line}" in z.log()
    assert z.proc.poll() is None


# --------------------------------------------------------------------------- SIGHUP

def test_sighup_serves_the_changed_zone(make_zoned):
    z = make_zoned({"example.com": EXAMPLE, "other.net": OTHER})
    assert serial_of(z, "example.com") == SERIAL
    z.write_zone("example.com",
                 with_serial(EXAMPLE, SERIAL + 1) + "new     IN A    192.0.2.99\n")
    z.sighup()
    assert wait_until(lambda: serial_of(z, "example.com") == SERIAL + 1), z.log()
    r = query(z.host, z.port, "new.example.com", "A")
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].address == "192.0.2.99"
    assert serial_of(z, "other.net") == 7  # untouched zones stay served


def test_sighup_with_broken_zone_keeps_the_old_version(make_zoned):
    z = make_zoned({"example.com": EXAMPLE, "other.net": OTHER})
    text, line = broken(with_serial(EXAMPLE, SERIAL + 1))
    z.write_zone("example.com", text)
    z.sighup()
    assert wait_until(lambda: "reload: " in z.log()), z.log()
    log = z.log()
    assert f"example.com.zone:{line}" in log, log
    assert "still serving serial" in log
    assert serial_of(z, "example.com") == SERIAL
    assert query(z.host, z.port, "www.example.com", "A").answer
    # Fixing the file and reloading again picks up the new version.
    z.write_zone("example.com", with_serial(EXAMPLE, SERIAL + 2))
    z.sighup()
    assert wait_until(lambda: serial_of(z, "example.com") == SERIAL + 2), z.log()


def test_sighup_with_broken_config_keeps_serving(make_zoned):
    z = make_zoned({"example.com": EXAMPLE})
    good = z.config.read_text()
    z.config.write_text(good + "  - nme: broken\n")
    z.sighup()
    assert wait_until(lambda: "reload: " in z.log()), z.log()
    assert "configuration not reloaded" in z.log() and "zoned.yaml:" in z.log()
    assert serial_of(z, "example.com") == SERIAL
    assert z.proc.poll() is None


def test_sighup_serves_a_zone_added_to_the_config(make_zoned):
    z = make_zoned({"example.com": EXAMPLE})
    assert query(z.host, z.port, "host.other.net", "A").rcode() == dns.rcode.REFUSED
    z.write_zone("other.net", OTHER)
    z.config.write_text(z.config.read_text()
                        + "  - name: other.net\n    file: zones/other.net.zone\n")
    z.sighup()
    assert wait_until(
        lambda: query(z.host, z.port, "host.other.net", "A").rcode() == dns.rcode.NOERROR), z.log()
    r = query(z.host, z.port, "host.other.net", "A")
    assert r.flags & dns.flags.AA and r.answer[0][0].address == "198.51.100.10"
    # And a CNAME from example.com into the new zone is now followed.
    r = query(z.host, z.port, "toother.example.com", "A")
    assert "198.51.100.10" in {rd.to_text() for rr in r.answer for rd in rr}


def test_sighup_stops_serving_a_zone_removed_from_the_config(make_zoned):
    z = make_zoned({"example.com": EXAMPLE, "other.net": OTHER})
    text = z.config.read_text()
    z.config.write_text(text.replace("  - name: other.net\n    file: zones/other.net.zone\n", ""))
    z.sighup()
    assert wait_until(
        lambda: query(z.host, z.port, "host.other.net", "A").rcode() == dns.rcode.REFUSED), z.log()
    assert serial_of(z, "example.com") == SERIAL


# --------------------------------------------------------------------------- stopping

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_and_quickly(make_zoned, sig):
    import socket
    z = make_zoned({"example.com": EXAMPLE})
    # An idle TCP client must not hold the shutdown up.
    idle = socket.create_connection((z.host, z.port), timeout=3)
    try:
        start = time.monotonic()
        z.proc.send_signal(sig)
        rc = z.proc.wait(timeout=5)
        took = time.monotonic() - start
    finally:
        idle.close()
    assert rc == 0, z.log()
    assert took < 2, f"took {took:.2f} s to stop"
    assert "stopped" in z.log()
