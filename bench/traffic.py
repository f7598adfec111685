#!/usr/bin/env python3
"""Benchmark techvet's capture reading against tshark extracting the same fields, same file, same run.

    python bench/traffic.py          (make bench-traffic; needs Debian's tshark and mergecap)

The shared Ethernet captures (../shared/traffic) are appended to one another with mergecap until
the file holds at least 100,000 packets. techvet reads it with ``techvet.traffic.analyze`` (flows,
DNS answers, TLS hellos and certificates, HTTP requests, attribution and findings) in this process;
tshark reads it with ``-T fields`` for the fields that analysis uses (addresses, ports, DNS
answers, SNI, chosen cipher suite, HTTP host). Prints packets per second for both and the ratio,
then personal-data precision and recall on the labelled synthetic capture
(tests/fixtures/captures/personal_data.pcap, tests/data/personal_data_labels.tsv).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "traffic"
FIELDS = [
    "frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
    "udp.srcport", "udp.dstport", "dns.qry.name", "dns.a", "dns.aaaa", "tls.handshake.extensions_server_name",
    "tls.handshake.ciphersuite", "http.host", "http.request.uri",
]  # fmt: skip


def main() -> int:
    if not shutil.which("tshark") or not shutil.which("mergecap"):
        print("tshark and mergecap are needed (apt-get install tshark)")
        return 2
    from techvet.knowledge import load
    from techvet.traffic import analyze

    sources = [str(p) for p in sorted(SHARED.glob("*.pcap")) if _link(p) == "ether"]
    per_round = sum(_count(p) for p in sources)
    rounds = -(-100_000 // per_round)
    with tempfile.TemporaryDirectory() as tmp:
        merged = Path(tmp) / "merged.pcap"
        subprocess.run(["mergecap", "-a", "-F", "pcap", "-w", str(merged), *(sources * rounds)], check=True)
        packets = _count(str(merged))
        kb = load()
        analyze(sources[0], kb)  # imports and knowledge loading are not reading
        t = time.perf_counter()
        result = analyze(str(merged), kb)
        ours = time.perf_counter() - t
        command = ["tshark", "-r", str(merged), "-T", "fields", *(x for f in FIELDS for x in ("-e", f))]
        t = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        theirs = time.perf_counter() - t
    print(f"capture: {packets:,} packets ({len(sources)} shared Ethernet captures x {rounds})")
    found = f"{len(result.flows)} flows, {len(result.findings)} findings"
    print(f"techvet analyze: {ours:.2f} s, {packets / ours:,.0f} packets/s ({found})")
    print(f"tshark -T fields ({len(FIELDS)} fields): {theirs:.2f} s, {packets / theirs:,.0f} packets/s")
    print(f"ratio packets/s techvet/tshark = {theirs / ours:.2f}x")
    _personal_data()
    return 0


def _personal_data() -> None:
    """Precision and recall of personal-data detection on the labelled synthetic capture, scored
    by the same code as the test that holds the bar (tests/personal_data_scores.py)."""
    import yaml

    sys.path.insert(0, str(ROOT))
    from tests.personal_data_scores import DEVICE, score

    precision, recall, fields, positives = score(yaml.safe_load(DEVICE.read_text()))
    print(
        f"personal data: {fields} labelled fields ({positives} holding an identifier), "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )


def _link(path: Path) -> str:
    out = subprocess.run(["capinfos", "-T", "-m", "-E", str(path)], capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1].split(",")[-1] if out.strip() else ""


def _count(path: str) -> int:
    out = subprocess.run(["capinfos", "-T", "-m", "-c", path], capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1].split(",")[-1])


if __name__ == "__main__":
    sys.exit(main())
