"""Hostile captures found by fuzzing (issue 13): every one is read, or refused in one line, in
bounded time and memory, and one bad capture never costs the others of a run.

The small reproducers live in ../shared/fuzz/reproducers (beside the clone); the large cases (a
pcapng block claiming 2 GiB, a 256 MB pcap of zeros, a 120 MB HAR of empty lists) are built here,
sparse where they can be.
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from techvet.errors import InputError, NothingToAnalyseError
from techvet.traffic import analyze
from techvet.traffic.fields import address, count, ip_address, port, timestamp, when
from techvet.traffic.har import MAX_HAR_VALUES, json_values
from techvet.traffic.packets import MAX_EMPTY_RUN, ReadStats
from tests.capture_builder import http_capture
from tests.conftest import REPRODUCERS, needs_reproducers

CAPTURES = [
    "har_bad_server_ip.har",
    "har_keyerror.har",
    "har_bodysize_inf.har",
    "har_date_overflow.har",
    "har_type_confusion.har",
    "har_deep_100k.har",
    "har_deep_body.har",
    "har_deep_body_100k.har",
    "har_warning_flood.har",
    "xss_host.har",
    "pcap_short_ipv4.pcap",
    "pcap_short_ipv6.pcap",
    "pcap_snaplen_4g.pcap",
    "pcapng_cert_future_timestamp.pcapng",
    "mitm_bigint.mitm",
    "mitm_float_overflow.mitm",
    "mitm_address_overflow.mitm",
    "mitm_findings_time_overflow.mitm",
    "mitm_deep.mitm",
    "mitm_biglen.mitm",
]
TECHVET = [sys.executable, "-m", "techvet"]


@needs_reproducers
@pytest.mark.parametrize("name", CAPTURES)
def test_reproducer_is_read_or_refused_never_raises(name: str) -> None:
    """Only InputError (one line at the CLI, exit 2) may leave the reader; anything else was a crash."""
    try:
        result = analyze(str(REPRODUCERS / name))
    except InputError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
        return
    for flow in result.flows:  # every number a report shows is in range
        assert 0.0 <= flow.first <= 253402300799.0 and 0 <= flow.server_port <= 65535
        assert 0 <= flow.bytes_down < 1 << 63
    json.dumps(result.to_dict())  # and the whole result renders


@needs_reproducers
def test_one_run_over_every_reproducer_reports_the_readable_ones() -> None:
    """A multi-capture run: each bad capture is one error line, never an internal error, and the
    rest are reported (issue 13: a bad item never costs the batch)."""
    paths = [str(REPRODUCERS / name) for name in CAPTURES]
    started = time.monotonic()
    run = subprocess.run([*TECHVET, "traffic", "-q", "-f", "json", *paths], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    reported = [json.loads(line)["path"] for line in run.stdout.splitlines()]
    refused = [line for line in run.stderr.splitlines() if line.startswith("techvet: /")]
    assert len(reported) + len(refused) == len(paths), run.stderr
    assert str(REPRODUCERS / "har_bodysize_inf.har") in reported
    assert str(REPRODUCERS / "mitm_address_overflow.mitm") in reported
    assert time.monotonic() - started < 60


@needs_reproducers
def test_folder_with_a_short_packet_and_an_app() -> None:
    """``f2/``: the capture whose only packet is cut short is one line; with a readable capture
    beside it in the same run, that one is reported."""
    folder = REPRODUCERS / "f2"
    run = subprocess.run([*TECHVET, "traffic", "-q", str(folder)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "internal error" not in run.stderr
    assert run.stderr.count("\n") == 1 and "pcap_short_ipv6.pcap" in run.stderr
    both = [str(folder / "pcap_short_ipv6.pcap"), str(REPRODUCERS / "xss_host.har")]
    run = subprocess.run([*TECHVET, "traffic", "-q", "-f", "json", *both], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "internal error" not in run.stderr
    assert [json.loads(line)["path"] for line in run.stdout.splitlines()] == [both[1]]


@needs_reproducers
def test_warning_flood_is_one_line_with_a_count() -> None:
    with pytest.raises(NothingToAnalyseError) as caught:
        analyze(str(REPRODUCERS / "har_warning_flood.har"))
    assert "\n" not in str(caught.value) and "200,000 HAR entries: malformed, skipped (1, 2, 3 and" in str(caught.value)


def test_many_malformed_entries_beside_a_good_one_are_one_warning(tmp_path: Path) -> None:
    good = {"request": {"method": "GET", "url": "http://a.example/", "headers": []}}
    har = tmp_path / "flood.har"
    har.write_text(json.dumps({"log": {"entries": [good] + [[]] * 50_000}}))
    result = analyze(str(har))
    assert len(result.flows) == 1
    assert result.stats.warnings == ["50,000 HAR entries: malformed, skipped (2, 3, 4 and 49,997 more)"]


def test_repeated_warning_counts_per_problem() -> None:
    stats = ReadStats()
    stats.warn_each("flow", 7, "malformed TLS client hello")
    assert stats.warnings == ["flow 7: malformed TLS client hello"]
    stats.warn_each("flow", 9, "malformed TLS client hello")
    stats.warn_each("flow", 11, "malformed QUIC client hello")
    assert stats.warnings == ["2 flows: malformed TLS client hello (7, 9)", "flow 11: malformed QUIC client hello"]


def test_a_short_packet_costs_only_itself(tmp_path: Path) -> None:
    """A record too short for the IPv4 or IPv6 header it announces is skipped; the packets
    around it are read (before: inet_ntop's ValueError lost the whole capture)."""
    pcap = http_capture(tmp_path / "mixed.pcap", [("93.184.216.34", "a.example", "/")])
    short_v4 = b"\x00" * 12 + b"\x08\x00" + b"\x45" + b"\x00" * 13
    short_v6 = b"\x00" * 12 + b"\x86\xdd" + b"\x60" + b"\x00" * 20
    with pcap.open("ab") as handle:
        for frame in (short_v4, short_v6):
            handle.write(struct.pack("<IIII", 1764201700, 0, len(frame), len(frame)) + frame)
    result = analyze(str(pcap))
    assert result.stats.packets == 4 and result.stats.decoded == 2
    assert [f.host for f in result.flows] == ["a.example"]


def test_range_checks() -> None:
    assert timestamp(1e999) == 0.0 and timestamp(10**400) == 0.0 and timestamp(float("nan")) == 0.0
    assert timestamp("x") == 0.0 and timestamp(-5) == 0.0 and timestamp(1.5) == 1.5
    assert when(0.0) is None and when(1e20) is None and when(86400.0) is not None
    assert count(math.inf) == 0 and count(-1) == 0 and count(1e300) == 0 and count(True) == 0 and count(12) == 12
    assert port(None) == 0 and port(443) == 443 and port(80.0) == 80
    for bad in (math.inf, 65536, -1, "80", 1.5):
        with pytest.raises(ValueError):
            port(bad)
    assert address("[2001:DB8:0::1]") == "2001:db8::1" == address(b"2001:db8::1")
    assert address("Example.COM.") == "example.com" and address(None) == ""
    assert ip_address("13.35.121.L50") == "" and ip_address(" 13.35.121.150 ") == "13.35.121.150"


def test_two_spellings_of_one_address_are_one_destination(tmp_path: Path) -> None:
    """One normalisation for address keys: the destinations table is keyed by the flows' own
    server strings, which every reader writes in one form."""
    entries = [
        {"request": {"method": "GET", "url": "http://a.example/", "headers": []}, "serverIPAddress": ip}
        for ip in ("2001:DB8:0::1", "[2001:db8::1]", "X", "")
    ]
    har = tmp_path / "spellings.har"
    har.write_text(json.dumps({"log": {"entries": entries}}))
    result = analyze(str(har))
    assert sorted((d["ip"], d["flows"]) for d in result.destinations) == [("", 2), ("2001:db8::1", 2)]


def test_json_values_skips_strings() -> None:
    text = b'{"a":[1,2,{"b":"x,y:[{"}],"c":"q\\"[,,,","d":"\\\\","e":[]}'
    assert json_values(text, 0) == 14
    assert json_values(b'["\\\\\\"[,,"]', 0) == 1


def _measured(path: Path) -> tuple[int, float, int, str]:
    """Exit code, seconds and peak KB of ``techvet traffic PATH`` in a child process, and its stderr."""
    code = (
        "import sys, time\n"
        "from techvet.cli import main\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    main(['traffic', '-q', '-o', '/dev/null', sys.argv[1]])\n"
        "except SystemExit as exc:\n"
        "    rc = exc.code\n"
        # VmHWM, not ru_maxrss: Linux hands a child its parent's high-water mark through exec, and
        # pytest grows past the bound once the dataset tests have loaded pyarrow, DuckDB and Dask
        "peak = next(int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM:'))\n"
        "print(rc, time.monotonic() - start, peak, file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    *said, last = run.stderr.strip().splitlines()
    rc, seconds, kb = last.split()
    return int(rc), float(seconds), int(kb), "\n".join(said)


def test_pcapng_block_claiming_2_gib_is_refused_unread(tmp_path: Path) -> None:
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    idb = struct.pack("<IIHHI", 1, 20, 1, 0, 65535) + struct.pack("<I", 20)
    head = shb + idb + struct.pack("<II", 6, 2 << 30)
    path = tmp_path / "block_2g.pcapng"
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(len(head) + (2 << 30))  # sparse: the claimed bytes are there, as zeros
    rc, seconds, kb, said = _measured(path)
    assert rc == 2 and said.count("\n") == 0 and "a block claims 2147483648 bytes" in said
    assert seconds < 20 and kb < 500_000


def test_sparse_256_mb_pcap_stops_at_a_run_of_empty_records(tmp_path: Path) -> None:
    path = tmp_path / "zeros.pcap"
    with path.open("wb") as handle:
        handle.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        handle.truncate(256 << 20)
    rc, seconds, kb, said = _measured(path)
    assert rc == 2 and said.count("\n") == 0 and f"{MAX_EMPTY_RUN:,} empty records in a row" in said
    assert seconds < 20 and kb < 500_000


def test_120_mb_har_of_empty_lists_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "lists.har"
    with path.open("wb") as handle:  # written in pieces: a child forked from a big test process
        handle.write(b'{"log":{"entries":[')  # would start with its size (and measure it)
        for _ in range(40):
            handle.write(b"[]," * (1 << 20))
        handle.write(b"[]]}}")
    rc, seconds, kb, said = _measured(path)
    assert rc == 2 and said.count("\n") == 0 and f"more than {MAX_HAR_VALUES:,} JSON values" in said
    assert seconds < 20 and kb < 500_000


@needs_reproducers
def test_scan_with_an_unreadable_capture_still_reports_the_app() -> None:
    folder = REPRODUCERS / "f2"
    command = [*TECHVET, "scan", "-q", "--traffic", str(folder / "pcap_short_ipv6.pcap"), str(folder / "clean_app.apk")]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 1, 2) and "internal error" not in run.stderr
    assert run.stdout.strip(), run.stderr
