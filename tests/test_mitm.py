"""mitmproxy flow dumps: mitmproxy's own test dumps (versions 0.18 to 10) against the HAR of the same
flows, and dumps built here with known contents (weak TLS, personal data, damage)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from techvet.traffic import analyze
from techvet.traffic.mitm import parse_tnetstring

SHARED = Path(__file__).resolve().parents[2] / "shared" / "traffic"
needs_shared = pytest.mark.skipif(
    not (SHARED / "mitmproxy_flows_successful_log.mitm").is_file(), reason="../shared/traffic not beside the clone"
)
IMEI = "490154203237518"  # a valid Luhn IMEI from the GSMA's documentation example range


def tnet(value: Any) -> bytes:
    """The tnetstring of a value, as mitmproxy writes it (text as ``;``, bytes as ``,``)."""
    if value is None:
        body, kind = b"", b"~"
    elif isinstance(value, bool):
        body, kind = (b"true" if value else b"false"), b"!"
    elif isinstance(value, int):
        body, kind = str(value).encode(), b"#"
    elif isinstance(value, float):
        body, kind = repr(value).encode(), b"^"
    elif isinstance(value, bytes):
        body, kind = value, b","
    elif isinstance(value, str):
        body, kind = value.encode(), b";"
    elif isinstance(value, list):
        body, kind = b"".join(tnet(v) for v in value), b"]"
    else:
        body, kind = b"".join(tnet(k.encode()) + tnet(v) for k, v in value.items()), b"}"
    return str(len(body)).encode() + b":" + body + kind


def flow_state(
    host: str, scheme: str, path: bytes, body: bytes = b"", tls: str | None = None, cipher: str | None = None
) -> dict[str, Any]:
    return {
        "version": 19,
        "type": "http",
        "id": "f",
        "client_conn": {"peername": ["10.0.0.2", 50000], "tls_established": scheme == "https"},
        "server_conn": {
            "address": [host, 443 if scheme == "https" else 80],
            "peername": ["198.51.100.9", 443 if scheme == "https" else 80],
            "tls_established": scheme == "https",
            "tls_version": tls,
            "cipher_name": cipher,
            "sni": host if scheme == "https" else None,
        },
        "request": {
            "host": host,
            "port": 443 if scheme == "https" else 80,
            "scheme": scheme.encode(),
            "method": b"POST" if body else b"GET",
            "path": path,
            "http_version": b"HTTP/1.1",
            "headers": [[b"Host", host.encode()], [b"Content-Type", b"application/x-www-form-urlencoded"]],
            "content": body,
            "timestamp_start": 1700000000.0,
        },
        "response": {"status_code": 200, "headers": [], "content": b"ok", "timestamp_end": 1700000000.5},
    }


def test_tnetstrings_round_trip_and_bound() -> None:
    value = {"a": [1, 2.5, True, None, b"\x00\xff", "文"], "b": {"c": []}}
    assert parse_tnetstring(tnet(value))[0] == {"a": [1, 2.5, True, None, b"\x00\xff", "文"], "b": {"c": []}}
    deep = b"0:]"
    for _ in range(100):
        deep = str(len(deep)).encode() + b":" + deep + b"]"
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_tnetstring(deep)
    with pytest.raises(ValueError, match="runs past"):
        parse_tnetstring(b"999:abc,")


@needs_shared
def test_dump_gives_the_same_flows_as_the_har_of_the_same_session() -> None:
    """mitmproxy's test data holds one session saved both ways."""
    dump = analyze(str(SHARED / "mitmproxy_flows_successful_log.mitm"))
    har = analyze(str(SHARED / "mitmproxy_flows_successful_log.har"))
    assert dump.stats.warnings == [] and har.stats.warnings == []

    def requests(result: Any) -> list[tuple[Any, ...]]:
        return sorted(
            (r["method"], r["host"], r["path"], r["query_keys"], r["scheme"], r["_body"])
            for f in result.flows
            for r in f.requests
        )

    assert requests(dump) == requests(har) and len(requests(dump)) == 2
    assert [d["host"] for d in dump.destinations] == [d["host"] for d in har.destinations]


@needs_shared
def test_every_mitmproxy_version_in_the_test_data_reads() -> None:
    old = analyze(str(SHARED / "mitmproxy_dumpfile-018.mitm"))  # 0.18: addresses wrapped in dicts
    (flow,) = old.flows
    assert (flow.host, flow.server, flow.sni) == ("www.example.com", "93.184.216.34", "www.example.com")
    assert flow.tls["certificate"]["names"] and not [f for f in old.findings if f.rule in ("TV704", "TV706")]
    seven = analyze(str(SHARED / "mitmproxy_dumpfile-7.mitm"))  # 7: plain http through the proxy
    assert {f.rule for f in seven.findings} >= {"TV701"} and seven.destinations[0]["cleartext"]
    recent = analyze(str(SHARED / "mitmproxy_flows_diff_data.mitm"))  # 10: HTTP/2 and relayed TCP
    assert len(recent.flows) == 7 and recent.stats.warnings == []
    assert {f.tls.get("version") for f in recent.flows} == {"0x0304"}
    assert "mtalk.google.com" in {f.host for f in recent.flows if not f.requests}  # a relayed TCP connection
    assert not [f for f in recent.findings if f.rule.startswith("TV70")]


def test_weak_tls_and_personal_data_in_a_dump(tmp_path: Path) -> None:
    dump = tmp_path / "session.mitm"
    dump.write_bytes(
        tnet(flow_state("api.example.cn", "https", b"/v1/report", f"imei={IMEI}".encode(), "TLSv1.1", "DES-CBC3-SHA"))
        + tnet(flow_state("log.example.cn", "http", f"/collect?imei={IMEI}".encode()))
        + tnet(flow_state("ok.example.com", "https", b"/", b"", "TLSv1.3", "TLS_AES_128_GCM_SHA256"))
    )
    result = analyze(str(dump))
    found = {(f.rule, f.subject) for f in result.findings}
    assert ("TV702", "api.example.cn") in found and ("TV703", "DES-CBC3-SHA") in found
    assert {s for r, s in found if r == "TV710"} and {s for r, s in found if r == "TV711"}  # decrypted; cleartext
    assert ("TV701", "log.example.cn") in found and not [s for r, s in found if s == "ok.example.com"]
    shown = str([f.to_dict() for f in result.findings])
    assert IMEI not in shown  # masked everywhere


def test_damaged_dumps(tmp_path: Path) -> None:
    good = tnet(flow_state("a.example.com", "http", b"/"))
    cut = tmp_path / "cut.mitm"
    cut.write_bytes(good + good[:40])
    result = analyze(str(cut))
    assert len(result.flows) == 1 and "damaged after flow 1" in result.stats.warnings[0]
    junk = tmp_path / "junk.mitm"
    junk.write_bytes(b"12:6:marked;" + b"\xff" * 50)
    run = subprocess.run(
        [sys.executable, "-m", "techvet.cli", "traffic", str(junk)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "not a mitmproxy flow dump" in run.stderr
