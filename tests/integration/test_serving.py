"""zoned answers real clients (dig, kdig) over UDP and TCP."""
from conftest import DATA, dig, kdig


def zones():
    return {n: (DATA / "zones" / f"{n}.zone").read_text()
            for n in ("example.com", "child.example.com", "other.net")}


def test_dig_udp_answer_is_authoritative(make_zoned):
    z = make_zoned(zones())
    out = dig(z.host, z.port, "www.example.com", "A")
    assert "status: NOERROR" in out
    assert " aa" in out.split("flags:")[1].split(";")[0]
    assert "192.0.2.10" in out and "192.0.2.11" in out


def test_kdig_tcp_answer(make_zoned):
    z = make_zoned(zones())
    out = kdig(z.host, z.port, "www.example.com", "AAAA", tcp=True)
    assert "NOERROR" in out and "2001:db8::10" in out
