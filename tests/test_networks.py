"""IP -> autonomous system: the bundled table, the AS -> company rules, and the table's build tool."""

from __future__ import annotations

import importlib.util
import io
import ipaddress
import json
import tarfile
from pathlib import Path

import pytest

from techvet.knowledge import DATA_DIR, load
from techvet.place import attribute
from techvet.place.networks import NetworkTable

ROOT = Path(__file__).resolve().parent.parent


def test_every_listed_network_is_a_registered_as() -> None:
    """A typo in asn_owners.yaml would silently give a company someone else's network."""
    kb = load()
    missing = [asn for asn in kb.place.asn_companies if kb.networks.name(asn) is None]
    assert not missing


@pytest.mark.parametrize(
    ("asn", "company"),
    [
        (4134, "chinatelecom"),  # listed by number
        (140293, "chinatelecom"),  # "China Telecom": by the name rule
        (134763, "chinatelecom"),  # "CHINANET Guangdong province network"
        (17622, "chinaunicom"),  # "China Unicom Guangzhou network"
        (24138, "chinamobile"),  # "China TieTong Telecommunications Corporation"
        (134172, None),  # "Colocation at China Telecom Hong Kong datacenter": a customer, not the carrier
        (24545, None),  # "South China Telecommunications (H.K.) Limited": another company
        (149967, None),  # "PT Indonesia China Mobile"
        (24940, None),  # Hetzner: a network no rule names
    ],
)
def test_network_owner_rules_use_registered_names(asn: int, company: str | None) -> None:
    from techvet.place.attribution import _network_company

    kb = load()
    name = kb.networks.name(asn)
    assert name is not None
    assert _network_company(asn, name, kb)[0] == company, name


def test_batch_lookup_agrees_with_single_lookups() -> None:
    kb = load()
    addresses = ["8.8.8.8", "1.1.1.1", "203.107.1.1", "10.0.0.1", "0.0.0.0", "255.255.255.255", "93.184.216.34"]
    single = [kb.networks.asn(ipaddress.ip_address(a)) for a in addresses]
    assert kb.networks.asns_v4(addresses) == single
    assert single[:3] == [15169, 13335, 37963]
    assert single[3] is None and single[4] is None  # private and unspecified: in no announced range
    # malformed input is None, not an exception or a shorthand reading ("1.2.3" is not 1.2.0.3)
    assert kb.networks.asns_v4(["1.2.3", "999.1.1.1", "", "8.8.8.8 "]) == [None, None, None, None]


def test_ipv6_ends_of_the_space() -> None:
    kb = load()
    assert kb.networks.asn(ipaddress.ip_address("::1")) is None
    assert kb.networks.asn(ipaddress.ip_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")) is None
    assert kb.networks.asn(ipaddress.ip_address("2400:3200::1")) == 37963  # AliDNS IPv6


def test_network_owner_comes_from_the_network_and_server_country_from_the_registry() -> None:
    """Alibaba's US arm: a network run by a Chinese company, an address registered in the US; both
    are reported, and neither is taken for the owner of whatever site the address serves."""
    result = attribute("47.88.1.1")
    assert (result.asn, result.network_owner_country, result.server_country) == (45102, "CN", "US")
    assert result.owner is None and result.owner_country is None
    assert any("AS45102" in r for r in result.reasons)
    names = {s["name"] for s in result.sources}
    assert {"iptocc", "ip_asn.json", "asn_owners.yaml"} <= names


def _tarball(v4: str, v6: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in (
            ("package.json", json.dumps({"name": "@ip-location-db/asn", "version": "2.3.2026061719"})),
            ("asn-ipv4-num.csv", v4),
            ("asn-ipv6-num.csv", v6),
        ):
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_build_tool_keeps_gaps_and_resolves_overlaps(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_asn", ROOT / "tools" / "build_asn.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    v4 = '16,31,100,"Net A, Inc."\n24,40,200,Net B\n100,4294967295,300,Last\n'  # B overlaps A
    v6 = f"{1 << 100},{(1 << 101) - 1},400,Six\n"
    (tmp_path / "in.tgz").write_bytes(_tarball(v4, v6))
    build.main(str(tmp_path / "in.tgz"), tmp_path)
    table = NetworkTable(tmp_path / "ip_asn.npz")
    expect = {0: None, 15: None, 16: 100, 31: 100, 32: 200, 40: 200, 41: None, 99: None, 100: 300, 2**32 - 1: 300}
    for number, asn in expect.items():
        assert table.asn(ipaddress.IPv4Address(number)) == asn, number
    assert table.asn(ipaddress.IPv6Address(1 << 100)) == 400
    assert table.asn(ipaddress.IPv6Address(1 << 101)) is None
    assert (table.name(100), table.name(300), table.name(999)) == ("Net A, Inc.", "Last", None)
    doc = json.loads((tmp_path / "ip_asn.json").read_text())
    assert doc["as_of"] == "2026-06-17" and len(doc["package_sha256"]) == 64


def test_bundled_table_matches_its_manifest() -> None:
    doc = json.loads((DATA_DIR / "ip_asn.json").read_text())
    table = NetworkTable(DATA_DIR / "ip_asn.npz")
    assert table.name(15169) == "Google LLC"
    assert len(table._names[0]) == doc["networks"]


def test_batch_attribution_equals_one_by_one() -> None:
    import random

    from techvet.place import attribute_ips

    rng = random.Random(7)
    addresses = [
        f"{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}" for _ in range(3000)
    ]
    addresses += ["10.0.0.172", "127.0.0.1", "0.0.0.0", "240.0.0.1", "2400:3200::1", "::1", "not-an-ip", " 8.8.8.8", ""]
    kb = load()
    assert [a.to_dict() for a in attribute_ips(addresses, kb)] == [attribute(a, kb).to_dict() for a in addresses]
