"""Captures: flows, DNS, TLS and HTTP facts checked against tshark's reading of the same files, and
damaged captures that must give what could be read plus a warning, never a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from techvet.traffic import analyze

SHARED = Path(__file__).resolve().parents[2] / "shared" / "traffic"
CAPTURES = sorted(p for p in SHARED.glob("*.pcap*")) if SHARED.is_dir() else []
needs_shared = pytest.mark.skipif(not CAPTURES, reason="../shared/traffic not beside the clone")
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark (the cross-check) not installed")


def tshark(capture: Path, display: str, field: str) -> set[str]:
    run = subprocess.run(
        ["tshark", "-r", str(capture), "-Y", display, "-T", "fields", "-e", field],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return {v for line in run.stdout.splitlines() for v in line.split(",") if v}


@needs_shared
@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_every_shared_capture_parses(capture: Path) -> None:
    result = analyze(str(capture))
    assert result.stats.packets > 0 and result.stats.warnings == []


@needs_shared
@needs_tshark
@pytest.mark.parametrize(
    "name", ["ndpi_android.pcap", "pcapdroid_metadata.pcap", "ndpi_alicloud.pcap", "retina_tls_ciphers.pcap"]
)
def test_sni_agrees_with_tshark(name: str) -> None:
    expected = tshark(SHARED / name, "tls.handshake.type==1", "tls.handshake.extensions_server_name")
    assert {f.sni for f in analyze(str(SHARED / name)).flows if f.sni} == {e.lower() for e in expected}


@needs_shared
@needs_tshark
@pytest.mark.parametrize("name", ["ndpi_weibo.pcap", "pcapdroid_metadata.pcap", "ndpi_android.pcap"])
def test_dns_answers_agree_with_tshark(name: str) -> None:
    expected = tshark(SHARED / name, "dns.flags.response==1", "dns.a") | tshark(
        SHARED / name, "dns.flags.response==1", "dns.aaaa"
    )
    assert set(analyze(str(SHARED / name)).dns) == expected


@needs_shared
@needs_tshark
@pytest.mark.parametrize(
    "name", ["ndpi_weibo.pcap", "pcapdroid_two_flows.pcap", "pcapdroid_http_proxy.pcap", "ndpi_xiaomi.pcap"]
)
def test_http_hosts_agree_with_tshark(name: str) -> None:
    expected = tshark(SHARED / name, "http.request", "http.host")
    found = {r["host"] for f in analyze(str(SHARED / name)).flows for r in f.requests}
    assert found == expected


@needs_shared
@needs_tshark
def test_weak_cipher_suites_in_retina_capture() -> None:
    chosen = tshark(SHARED / "retina_tls_ciphers.pcap", "tls.handshake.type==2", "tls.handshake.ciphersuite")
    result = analyze(str(SHARED / "retina_tls_ciphers.pcap"))
    ours = {f.tls["cipher_suite"] for f in result.flows if "cipher_suite" in f.tls}
    assert ours == {int(c, 16) for c in chosen} and len(ours) == 73
    weak = {f.subject for f in result.findings if f.rule == "TV703"}
    assert "TLS_RSA_WITH_RC4_128_MD5" in weak and "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in weak
    assert "TLS_RSA_EXPORT_WITH_RC4_40_MD5" in weak and "TLS_RSA_WITH_DES_CBC_SHA" in weak
    assert not any("AES_128_GCM" in w for w in weak)  # strong suites are not findings


@needs_shared
def test_certificate_name_mismatch() -> None:
    result = analyze(str(SHARED / "ndpi_ssl-cert-name-mismatch.pcap"))
    assert [(f.rule, f.subject) for f in result.findings] == [("TV704", "wrong.host.badssl.com")]


@needs_shared
def test_httpdns_request_and_placeholder_mac() -> None:
    result = analyze(str(SHARED / "ndpi_xiaomi.pcap"))
    requests = [r for f in result.flows for r in f.requests]
    assert [r.get("httpdns_query") for r in requests] == ["appmarket.micloud.xiaomi.net"]
    cleartext = [f for f in result.findings if f.rule == "TV701"]
    assert [f.subject for f in cleartext] == ["203.107.1.65"]
    dest = {d["ip"]: d for d in result.destinations}["203.107.1.65"]
    # an address alone names no owner: Alibaba runs the network (its HTTPDNS service, AS37963)
    assert (dest["owner"], dest["network_owner"], dest["asn"], dest["cleartext"]) == (
        None,
        "Alibaba Group Holding Ltd.",
        37963,
        True,
    )
    # bssid=02:00:00:00:00:00 is Android's placeholder MAC: not personal data, not a finding
    assert not any("02:00:00:00:00:00" in f.title for f in result.findings)


@needs_shared
def test_network_owner_and_server_country_differ_for_chinese_infrastructure_abroad() -> None:
    result = analyze(str(SHARED / "ndpi_alicloud.pcap"))
    rows = [d for d in result.destinations if d["ip"].startswith("8.209.")]
    assert rows and all(d["network_owner_country"] == "CN" and d["asn"] == 45102 for d in rows)
    assert all(d["server_country"] == "SG" and d["owner"] is None for d in rows)


def _damaged(tmp_path: Path, name: str, data: bytes) -> subprocess.CompletedProcess[str]:
    path = tmp_path / name
    path.write_bytes(data)
    return subprocess.run(
        [sys.executable, "-m", "techvet.cli", "traffic", str(path), "-f", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_shared
def test_truncated_capture_gives_what_was_read_and_a_warning(tmp_path: Path) -> None:
    whole = (SHARED / "ndpi_weibo.pcap").read_bytes()
    run = _damaged(tmp_path, "cut.pcap", whole[: len(whole) // 2 + 7])
    assert run.returncode == 2 and "Traceback" not in run.stderr and "damaged record" in run.stderr
    doc = json.loads(run.stdout)
    assert doc["packets"] > 100 and doc["flows"]


def test_garbage_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run = _damaged(tmp_path, "junk.pcap", b"this is not a capture at all")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "not a capture techvet reads" in run.stderr
    run = _damaged(tmp_path, "empty.pcap", b"")
    assert run.returncode == 2 and "Traceback" not in run.stderr and "empty file" in run.stderr


def test_a_capture_of_an_unknown_link_type_is_nothing_to_analyse_and_says_why(tmp_path: Path) -> None:
    import dpkt

    from techvet.errors import NothingToAnalyseError

    path = tmp_path / "odd.pcap"
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle, linktype=147)  # a user-defined link type
        writer.writepkt(b"\x00" * 60, ts=1.0)
    with pytest.raises(NothingToAnalyseError, match="link types techvet does not decode: 147"):
        analyze(str(path))


def test_giant_http_body_and_malformed_tls_are_bounded(tmp_path: Path) -> None:
    import dpkt

    path = tmp_path / "big.pcap"
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        request = b"POST /upload HTTP/1.1\r\nHost: example.net\r\nContent-Length: 5000000\r\n\r\n"
        seq = 1000
        packets = [request] + [b"A" * 1400] * 3000 + [b"\x16\x03\x01\xff\xff" + b"\x01" * 40]
        for i, payload in enumerate(packets):
            tcp = dpkt.tcp.TCP(sport=40000, dport=80, seq=seq, flags=dpkt.tcp.TH_ACK, data=payload)
            ip = dpkt.ip.IP(src=bytes([10, 0, 0, 2]), dst=bytes([93, 184, 216, 34]), p=6, data=tcp)
            ip.len = len(bytes(ip))
            eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
            writer.writepkt(bytes(eth), ts=1.0 + i / 1000)
            seq += len(payload)
    result = analyze(str(path))
    (flow,) = result.flows
    assert flow.up.truncated and len(flow.up.data) == 64 << 10  # kept the start only
    assert flow.bytes_up > 4_000_000 and [r["host"] for r in flow.requests] == ["example.net"]


@needs_shared
def test_har_files_are_flows_with_decrypted_requests() -> None:
    result = analyze(str(SHARED / "mitmproxy_har_files_chrome.har"))
    assert len(result.flows) == 3 and result.stats.warnings == []
    assert {f.host for f in result.flows} == {"mitmproxy.org", "www.google.com"}
    assert not any(d["cleartext"] for d in result.destinations)  # https, read decrypted
    assert not [f for f in result.findings if f.rule in ("TV701", "TV711")]
    assert not [f for f in result.findings if f.rule == "TV710"]  # Google's SSID cookie is not a Wi-Fi name
    post = analyze(str(SHARED / "mitmproxy_har_files_postdata.har"))
    assert post.flows[0].requests[0]["_body"].startswith(b'{"metadata"')


def test_broken_har_is_one_line(tmp_path: Path) -> None:
    run = _damaged(tmp_path, "broken.har", b'{"log": {"entries": [ {"request": ')
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "not a HAR file" in run.stderr


def test_scan_with_traffic_says_what_the_capture_confirms(tmp_path: Path) -> None:
    import dpkt

    from tests.conftest import fixture_app

    capture = tmp_path / "app.pcap"
    with capture.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        for i, host in enumerate(["api.skyfleet-demo.cn", "plugins.example-cdn.net"]):
            payload = f"GET /v1/config HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            tcp = dpkt.tcp.TCP(sport=41000 + i, dport=80, seq=1, flags=dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, data=payload)
            ip = dpkt.ip.IP(src=bytes([10, 0, 0, 2]), dst=bytes([198, 51, 100, 7 + i]), p=6, data=tcp)
            ip.len = len(bytes(ip))
            eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
            writer.writepkt(bytes(eth), ts=1.0 + i)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "techvet.cli",
            "scan",
            str(fixture_app("drone_companion.apk")),
            "--traffic",
            str(capture),
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    traffic = json.loads(run.stdout)["traffic"]
    assert [r["host"] for r in traffic["confirmed"]] == ["api.skyfleet-demo.cn"]
    assert traffic["confirmed"][0]["cleartext"] is True
    assert [r["host"] for r in traffic["traffic_only"]] == ["plugins.example-cdn.net"]
    assert "log.skyfleet-demo.cn" in traffic["code_only"]


def test_pcapdroid_trailer_names_the_app(tmp_path: Path) -> None:
    import struct

    import dpkt

    from techvet.traffic.correlate import correlate, observed

    capture = tmp_path / "pcapdroid.pcap"
    with capture.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        for i, (host, app) in enumerate(
            [("api.skyfleet-demo.cn", b"com.skyfleet.pilot"), ("other.example", b"com.other.app")]
        ):
            payload = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            tcp = dpkt.tcp.TCP(sport=42000 + i, dport=80, seq=1, flags=dpkt.tcp.TH_ACK, data=payload)
            ip = dpkt.ip.IP(src=bytes([10, 0, 0, 2]), dst=bytes([198, 51, 100, 9 + i]), p=6, data=tcp)
            ip.len = len(bytes(ip))
            eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
            trailer = struct.pack(">Ii20sI", 0x01072021, 10100 + i, app, 0)
            writer.writepkt(bytes(eth) + trailer, ts=1.0 + i)
    result = analyze(str(capture))
    assert {f.host: f.app for f in result.flows} == {
        "api.skyfleet-demo.cn": "com.skyfleet.pilot (uid 10100)",
        "other.example": "com.other.app (uid 10101)",
    }
    joined = correlate(["api.skyfleet-demo.cn"], observed([result]), "com.skyfleet.pilot")
    assert [r["host"] for r in joined["confirmed"]] == ["api.skyfleet-demo.cn"] and joined["traffic_only"] == []
    assert "PCAPdroid" in joined["note"]


@needs_shared
def test_destinations_carry_the_whois_fields() -> None:
    from techvet.place import attribute

    result = analyze(str(SHARED / "ndpi_weibo.pcap"))
    row = next(d for d in result.destinations if d["host"] == "u1.img.mobile.sina.cn")
    whois = set(attribute("u1.img.mobile.sina.cn").to_dict()) - {"input", "kind"}
    assert whois <= set(row) and row["sources"] and all(s["as_of"] for s in row["sources"])
    assert (row["owner_country"], row["server_country"], row["asn"]) == ("CN", "CN", 4812)


def test_control_characters_from_the_wire_are_not_printed(tmp_path: Path) -> None:
    import dpkt

    capture = tmp_path / "evil.pcap"
    with capture.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        payload = b"GET /\x1b[2Jpath HTTP/1.1\r\nHost: evil\x1b]0;pwned\x07.example\r\n\r\n"
        tcp = dpkt.tcp.TCP(sport=43000, dport=80, seq=1, flags=dpkt.tcp.TH_ACK, data=payload)
        ip = dpkt.ip.IP(src=bytes([10, 0, 0, 2]), dst=bytes([198, 51, 100, 20]), p=6, data=tcp)
        ip.len = len(bytes(ip))
        eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
        writer.writepkt(bytes(eth), ts=1.0)
    run = subprocess.run(
        [sys.executable, "-m", "techvet.cli", "traffic", str(capture)], capture_output=True, text=True, timeout=60
    )
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout and "evil?]0;pwned?.example" in run.stdout


def test_control_characters_from_a_proxy_log_are_not_printed(tmp_path: Path) -> None:
    """HAR and mitmproxy flows go through the same request record, and the same scrubbing, as the wire's."""
    har = tmp_path / "evil.har"
    url = "http://evil\u001bc\u0007.example/a\u001b[2Jb?imei=1"
    har.write_text(json.dumps({"log": {"entries": [{"request": {"method": "GET", "url": url, "headers": []}}]}}))
    run = subprocess.run(
        [sys.executable, "-m", "techvet.cli", "traffic", str(har)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0 and "\x1b" not in run.stdout and "\x07" not in run.stdout
    (flow,) = analyze(str(har)).flows
    assert "\x1b" not in flow.host + flow.requests[0]["path"] + flow.requests[0]["host"]
    from tests.test_mitm import flow_state, tnet

    dump = tmp_path / "evil.mitm"
    state = flow_state("evil\x1bc.example", "https", b"/a\x1b[2Jb", b"", "TLSv1.2", "RC4\x1b-SHA")
    dump.write_bytes(tnet(state))
    (flow,) = analyze(str(dump)).flows
    shown = flow.host + flow.sni + flow.server + flow.requests[0]["path"] + flow.tls["cipher_suite_name"]
    assert "\x1b" not in shown and flow.host == "evil?c.example"
