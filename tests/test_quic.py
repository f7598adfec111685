"""QUIC: the server name from the client's Initial packets (v1 and v2, one packet or two), checked
against tshark's own decryption of the same fixture (built by tools/build_quic_capture.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dpkt
import pytest

from techvet.traffic import analyze
from techvet.traffic.quic import client_hello
from tests.test_traffic import tshark

CAPTURE = Path(__file__).parent / "fixtures" / "captures" / "quic_initial.pcap"


def test_sni_and_alpn_from_initial_packets() -> None:
    result = analyze(str(CAPTURE))
    by_server = {f.server: f for f in result.flows}
    assert by_server["198.51.100.20"].host == "api.quic-demo.cn"
    assert by_server["198.51.100.21"].host == "upload.quic-demo.cn"  # the hello spans two packets
    assert by_server["198.51.100.22"].host == "v2.quic-demo.net"  # QUIC version 2
    assert by_server["198.51.100.23"].host is None  # a long-header look-alike that is not QUIC
    for server in ("198.51.100.20", "198.51.100.21", "198.51.100.22"):
        flow = by_server[server]
        assert (flow.host_from, flow.alpn, flow.tls["quic"]) == ("quic", ["h3"], True)
    assert result.stats.warnings == []
    cn = [d for d in result.destinations if d["host"] and d["host"].endswith(".cn")]
    assert {(d["owner_country"], d["registry_country"]) for d in cn} == {(None, "CN")}  # a registry, no owner


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark (the cross-check) not installed")
def test_the_same_names_as_tshark() -> None:
    ours = {f.host for f in analyze(str(CAPTURE)).flows if f.host}
    assert ours == tshark(CAPTURE, "quic", "tls.handshake.extensions_server_name") and len(ours) == 3


def test_damaged_initials_give_nothing_and_no_error() -> None:
    datagrams = []
    for _, buf in dpkt.pcap.Reader(CAPTURE.open("rb")):
        datagrams.append(bytes(dpkt.ethernet.Ethernet(buf).data.data.data))
    first = datagrams[0]
    assert client_hello([first]) is not None
    for cut in (7, 30, 200, len(first) - 1):
        assert client_hello([first[:cut]]) is None
    flipped = bytearray(first)
    flipped[600] ^= 0xFF  # the AEAD tag no longer verifies
    assert client_hello([bytes(flipped)]) is None
    assert client_hello([datagrams[1]]) is None  # the second half alone is not a hello
