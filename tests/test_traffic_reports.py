"""Captures in every report format: the verdict under the app policy, SARIF, Markdown, HTML; values
masked in all of them, and what came off the wire inert in the HTML."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

from tests.personal_data_scores import CAPTURE, DEVICE
from tests.test_html import PAYLOAD, inert, parse

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
QUIC = Path(__file__).parent / "fixtures" / "captures" / "quic_initial.pcap"


def traffic(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techvet.cli", "traffic", *args], capture_output=True, text=True, timeout=120
    )


def test_every_format_masks_personal_data() -> None:
    device = yaml.safe_load(DEVICE.read_text())
    for fmt in ("text", "json", "md", "html", "sarif"):
        run = traffic(str(CAPTURE), "--device", str(DEVICE), "-f", fmt)
        assert run.returncode == 0 and "TV711" in run.stdout, fmt
        for value in device.values():
            assert str(value) not in run.stdout, (fmt, value)
        assert "@example.cn" not in run.stdout.replace("***@***e.cn", ""), fmt


def test_capture_verdict_uses_what_is_known_of_each_destination(tmp_path: Path) -> None:
    doc = json.loads(traffic(str(CAPTURE), "-f", "json").stdout)
    cleartext = next(f for f in doc["findings"] if f["rule"] == "TV711")
    place = cleartext["extra"]["destination"]
    assert (place["owner_country"], place["registry_country"]) == (None, "CN")  # a .cn name: no owner known
    assert doc["verdict"]["verdict"] == "fail"
    lines = {d["line"] for d in doc["verdict"]["decided_by"]}
    assert {"APP-CLEARTEXT-CN-REGISTRY", "APP-PII-CLEARTEXT"} <= lines and "APP-CLEARTEXT-CN" not in lines
    assert traffic(str(CAPTURE), "--fail-on", "fail").returncode == 1
    assert traffic(str(QUIC), "--fail-on", "warn").returncode == 0  # names only: nothing to warn about
    mine = tmp_path / "policy.yaml"
    mine.write_text(
        'kind: app-policy\nsource: test\nas_of: "2026-11-27"\nid: lab\n'
        "block:\n  - {id: PII, rules: [TV711], owner_countries: [US]}\n",
        encoding="utf-8",
    )
    lab = json.loads(traffic(str(CAPTURE), "-f", "json", "--policy", str(mine)).stdout)
    assert lab["verdict"]["verdict"] == "pass" and lab["verdict"]["policy"] == "lab"


def test_sarif_has_a_run_per_capture_and_validates() -> None:
    log = json.loads(traffic(str(CAPTURE), str(QUIC), "-f", "sarif").stdout)
    jsonschema.validate(log, json.loads(SCHEMA.read_text(encoding="utf-8")))
    first, second = log["runs"]
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in first["results"] for loc in r["locations"]}
    assert uris == {"personal_data.pcap"} and first["properties"]["verdict"] == "fail"
    assert first["artifacts"][0]["hashes"]["sha-256"] and second["results"] == []


def test_html_of_hostile_traffic_is_inert(tmp_path: Path) -> None:
    import dpkt

    capture = tmp_path / "hostile.pcap"
    host = PAYLOAD.replace(" ", "").replace(":", "")[:120]
    with capture.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        request = f"GET /{PAYLOAD.replace(' ', '%20')}?email=a@b.cn HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        tcp = dpkt.tcp.TCP(sport=43000, dport=80, seq=1, flags=dpkt.tcp.TH_ACK, data=request)
        ip = dpkt.ip.IP(src=bytes([10, 0, 0, 2]), dst=bytes([198, 51, 100, 20]), p=6, data=tcp)
        ip.len = len(bytes(ip))
        eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
        writer.writepkt(bytes(eth), ts=1.0)
    run = traffic(str(capture), "-f", "html", "-o", str(tmp_path / "report.html"))
    assert run.returncode == 0, run.stderr
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    markup = parse(html)
    inert(markup)
    text = "".join(markup.text)
    assert host.lower() in text and "TV701" in text  # the hostile host is there, as text
    md = traffic(str(capture), "-f", "md").stdout
    assert "<script>" not in md and "\\<script\\>" in md
