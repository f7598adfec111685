"""Offline attribution: a table of hosts and IPs with known owners and countries, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from techvet.place import attribute, registrable_domain

TABLE = Path(__file__).parent / "data" / "attribution.tsv"


def _rows() -> list[list[str]]:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def test_table_is_large_enough() -> None:
    rows = _rows()
    assert len(rows) >= 60
    assert sum(1 for r in rows if ":" in r[0] or r[0].replace(".", "").isdigit()) >= 10  # IPs too


@pytest.mark.parametrize(
    ("value", "owner", "owner_country", "registry", "network_owner", "network_country", "server_country", "asn", "why"),
    _rows(),
)
def test_attribution(
    value: str,
    owner: str,
    owner_country: str,
    registry: str,
    network_owner: str,
    network_country: str,
    server_country: str,
    asn: str,
    why: str,
) -> None:
    """Owner (of the name), registry (of the name's ccTLD) and network owner (of the address) are
    three facts: an address has no owner of its own, a .cn name no owner from its suffix."""
    result = attribute(value)
    for found, expected in ((result.owner, owner), (result.network_owner, network_owner)):
        if expected == "-":
            assert found is None, why  # unknown is reported as unknown, never guessed
        else:
            assert found is not None and expected.lower() in found.lower(), why
    assert (result.owner_country or "-") == owner_country, why
    assert (result.registry_country or "-") == registry, why
    assert (result.network_owner_country or "-") == network_country, why
    assert (result.server_country or "-") == server_country, why
    assert str(result.asn or "-") == asn, why
    assert (result.network is None) == (result.asn is None), why
    assert result.sources and all(s["as_of"] for s in result.sources)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("a.b.example.co.uk", "example.co.uk"),
        ("api.weibo.cn", "weibo.cn"),
        ("oss-cn-hangzhou.aliyuncs.com", "aliyuncs.com"),
        ("www.example.com.cn", "example.com.cn"),
        ("com.cn", None),
        ("x.xn--fiqs8s", "x.xn--fiqs8s"),
    ],
)
def test_registrable_domain(host: str, expected: str | None) -> None:
    assert registrable_domain(host) == expected


def test_whois_json() -> None:
    code = "import sys; from techvet.cli import main; sys.argv = ['techvet', *sys.argv[1:]]; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "whois", "cos.eu-frankfurt.myqcloud.com", "nosuch.invalid", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    tencent, unknown = json.loads(proc.stdout)
    for key in ("input", "registrable_domain", "owner", "parent", "owner_country", "server_country", "asn", "sources"):
        assert key in tencent
    assert (tencent["owner_country"], tencent["server_country"]) == ("CN", "DE")
    assert unknown["owner"] is None and unknown["owner_country"] is None


def test_bulk_server_countries_agree_with_single_lookups() -> None:
    from techvet.place import server_countries

    ips = [r[0] for r in _rows() if ":" in r[0] or r[0].replace(".", "").isdigit()]
    assert server_countries(ips) == [attribute(ip).server_country for ip in ips]
