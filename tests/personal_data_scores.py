"""Precision and recall of personal-data detection on the labelled synthetic capture
(tests/fixtures/captures/personal_data.pcap, labels in tests/data/personal_data_labels.tsv, both
from tools/build_pii_captures.py). One scorer for the test that holds the bar and for
bench/traffic.py, which prints the figures."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

from techvet.traffic import analyze

ROOT = Path(__file__).resolve().parent
CAPTURE = ROOT / "fixtures" / "captures" / "personal_data.pcap"
DEVICE = ROOT / "fixtures" / "captures" / "device.yaml"
LABELS = ROOT / "data" / "personal_data_labels.tsv"


class Scores(NamedTuple):
    precision: float
    recall: float
    fields: int  # labelled fields
    positives: int  # of which hold an identifier


def score(device: dict[str, str] | None) -> Scores:
    """Every labelled field against what the detector saw there (request, place, field name)."""
    result = analyze(str(CAPTURE), device=device)
    flows = sorted(result.flows, key=lambda f: f.id)
    found = {(i, s["place"], s["key"]): s["kind"] for i, f in enumerate(flows) for s in f.personal}
    lines = [line for line in LABELS.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    tp = fp = fn = 0
    for row in rows:
        got, want = found.get((int(row["request"]), row["place"], row["field"])), row["kind"]
        tp += bool(want != "none" and got == want)
        fn += bool(want != "none" and got != want)
        fp += bool(got is not None and got != want)
    positives = sum(1 for r in rows if r["kind"] != "none")
    return Scores(tp / (tp + fp), tp / (tp + fn), len(rows), positives)
