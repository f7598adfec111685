"""Who a destination belongs to, said as far as it is known (issue 11, items 3 to 5).

The owner is a fact about the name, the network owner a fact about the server's address, the registry
a fact about the name's top-level domain; each stays apart in JSON, text, HTML and what policies
match on. And the same destinations meet the same policy lines whether an app's code names them or
a capture shows them contacted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import techvet
from techvet.traffic import analyze
from techvet.verdict import AppPolicy, decide
from tests.capture_builder import http_capture
from tests.dex_builder import app_naming


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "techvet.cli", *args], capture_output=True, text=True, timeout=120)


def lines_of(findings: list[techvet.Finding], package: str | None = None) -> set[str]:
    return {d["line"] for d in decide(findings, package, [], AppPolicy.load()).decided_by}


def test_a_cn_suffix_names_a_registry_not_an_owner(tmp_path: Path) -> None:
    """Item 4: a small developer's .cn host, owner unknown: the finding claims no owner and the
    owner-country line does not fire; the registry is reported, and a policy may use it."""
    app = app_naming(tmp_path / "small.apk", "org.example.smalldev", ["http://api.smalldev-example.cn/v1/log"])
    result = techvet.scan(app)
    (cleartext,) = result.by_rule("TV401")
    assert cleartext.country is None and cleartext.party is None
    assert "name registered in CN" in cleartext.title and "owner unknown" in cleartext.title
    (row,) = result.destinations()
    assert (row["owner"], row["owner_country"], row["registry_country"]) == (None, None, "CN")
    lines = lines_of(result.findings, "org.example.smalldev")
    assert "APP-CLEARTEXT-CN" not in lines and "APP-CLEARTEXT-CN-REGISTRY" in lines


def test_the_network_owner_is_not_the_sites_owner(tmp_path: Path) -> None:
    """Item 3: a video app's own site on an Alibaba Cloud address is not Alibaba's site: owner
    unknown, network Alibaba, in JSON, text and HTML; owner lines do not match, network lines do."""
    capture = http_capture(tmp_path / "video.pcap", [("47.88.1.1", "video.smallsite-example.com", "/play?id=1")])
    result = analyze(str(capture))
    (row,) = result.destinations
    assert (row["owner"], row["owner_country"]) == (None, None)
    assert (row["network_owner"], row["network_owner_country"], row["asn"]) == (
        "Alibaba Group Holding Ltd.",
        "CN",
        45102,
    )
    assert not [f for f in result.findings if f.rule == "TV605"]  # Alibaba owns no name here
    lines = lines_of(result.findings)
    assert "APP-CLEARTEXT-CN" not in lines and "APP-CLEARTEXT-CN-NETWORK" in lines
    text = cli("traffic", str(capture)).stdout
    table = text[text.index("Where it talks to") :].splitlines()
    assert "network (hosting)" in table[1]
    assert "unknown" in table[2] and "Alibaba Group Holding Ltd. (CN), AS45102" in table[2]
    html = cli("traffic", str(capture), "-f", "html").stdout
    assert "<td>unknown</td><td>Alibaba Group Holding Ltd. (CN), AS45102</td>" in html
    doc = json.loads(cli("traffic", str(capture), "-f", "json").stdout)
    assert doc["destinations"][0]["owner"] is None and doc["destinations"][0]["network_owner"].startswith("Alibaba")


def test_a_policy_matches_owner_network_and_registry_apart(tmp_path: Path) -> None:
    capture = http_capture(tmp_path / "video.pcap", [("47.88.1.1", "video.smallsite-example.com", "/play")])
    head = 'kind: app-policy\nsource: t\nas_of: "2026-12-01"\nid: t\nblock:\n'
    verdicts = {}
    for condition in ("owner_countries", "network_countries", "registry_countries"):
        policy = tmp_path / f"{condition}.yaml"
        policy.write_text(head + f"  - {{id: X, rules: [TV701], {condition}: [CN]}}\n", encoding="utf-8")
        verdicts[condition] = json.loads(cli("traffic", str(capture), "-f", "json", "--policy", str(policy)).stdout)
    assert {k: v["verdict"]["verdict"] for k, v in verdicts.items()} == {
        "owner_countries": "pass",
        "network_countries": "fail",
        "registry_countries": "pass",
    }


def test_the_same_destinations_meet_the_same_policy_lines(tmp_path: Path) -> None:
    """Item 5: hosts a messaging app talks to, all Tencent's (on the 1260H list since January
    2025): named by an app's code or seen in a capture, the same lines decide."""
    hosts = ["weixin.qq.com", "long.weixin.qq.com", "short.weixin.qq.com"]
    app = app_naming(tmp_path / "chat.apk", "org.example.chat", [f"http://{h}/mmtls" for h in hosts])
    scanned = techvet.scan(app)
    capture = http_capture(tmp_path / "chat.pcap", [(f"203.0.113.{i + 1}", h, "/mmtls") for i, h in enumerate(hosts)])
    seen = analyze(str(capture))
    assert [f.rule for f in seen.findings].count("TV605") == 1 == [f.rule for f in scanned.findings].count("TV605")
    from_code, from_traffic = lines_of(scanned.findings, "org.example.chat"), lines_of(seen.findings)
    assert from_code == from_traffic == {"APP-CLEARTEXT-CN", "APP-LISTED-OWNER"}
    run = cli("traffic", str(capture), "-f", "json")
    assert json.loads(run.stdout)["verdict"]["verdict"] == "fail"  # it used to say PASS 0/100


def test_a_listed_network_is_flagged_apart_from_owners(tmp_path: Path) -> None:
    """TV606: an address on a listed company's network is said as such (a weaker tie than owning
    the name), in scans and captures alike."""
    app = app_naming(tmp_path / "ip.apk", "org.example.ip", ["http://119.29.29.29/d?dn=example.org"])
    scanned = techvet.scan(app)
    capture = http_capture(tmp_path / "ip.pcap", [("119.29.29.29", "119.29.29.29", "/d?dn=example.org")])
    seen = analyze(str(capture))
    for findings in (scanned.findings, seen.findings):
        (network,) = [f for f in findings if f.rule == "TV606"]
        assert network.subject == "Tencent Holdings Ltd." and "network" in network.title
        assert not [f for f in findings if f.rule == "TV605"]
    assert lines_of(scanned.findings, "org.example.ip") == lines_of(seen.findings)
