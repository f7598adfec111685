#!/usr/bin/env python3
"""Benchmark the fleet model matcher on the synthetic inventory, against a plain fuzzy matcher.

    python bench/fleet.py            (make bench-fleet)

tests/data/fleet_inventory.csv (built by tools/build_fleet_eval.py) names real catalogue models
under many spellings, and unknown aircraft. techvet's matcher (names, codes, abbreviations, one
typing slip, then fuzzy) is compared in the same run with the plain approach: rapidfuzz's
``process.extractOne`` with WRatio over every catalogue name, accepted at the same 0.88. Prints
accuracy on known models (target >= 0.95), the highest score either gives an unknown aircraft
(it must not be a confident match), accuracy by spelling, and rows per second.
"""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "tests" / "data" / "fleet_inventory.csv"


def main() -> int:
    from rapidfuzz import fuzz, process

    from techvet.fleet.models import FUZZY_ACCEPT, normal
    from techvet.knowledge import load

    catalogue = load().drone_catalogue
    rows = [r for r in csv.DictReader(INVENTORY.open(encoding="utf-8")) if r["variant"] != "empty"]
    choices = list(catalogue.names)

    def plain(make: str, model: str) -> tuple[str, float]:
        name, score, _ = process.extractOne(normal(f"{make} {model}"), choices, scorer=fuzz.WRatio)
        score /= 100
        return (catalogue.models[catalogue.names[name]]["id"] if score >= FUZZY_ACCEPT else "unknown"), score

    def ours(make: str, model: str) -> tuple[str, float]:
        m = catalogue.match(make, model)
        return (m.model["id"] if m.model else "unknown"), m.score

    for warm in (plain, ours):
        warm(rows[0]["Make"], rows[0]["Model"])  # the first call imports and builds
    results = {}
    for name, matcher in (("plain WRatio", plain), ("techvet", ours)):
        t = time.perf_counter()
        got = [matcher(r["Make"], r["Model"]) for r in rows]
        seconds = time.perf_counter() - t
        results[name] = (got, seconds)
    known = [i for i, r in enumerate(rows) if r["expected_model"] != "unknown"]
    unknown = [i for i, r in enumerate(rows) if r["expected_model"] == "unknown"]
    print(f"rows: {len(rows)} ({len(known)} known models under varied spellings, {len(unknown)} unknown aircraft)")
    print(f"{'matcher':14} {'known accuracy':>14} {'unknowns matched':>16} {'max unknown score':>17}  rows/s")
    for name, (got, seconds) in results.items():
        accuracy = sum(got[i][0] == rows[i]["expected_model"] for i in known) / len(known)
        wrongly = sum(got[i][0] != "unknown" for i in unknown)
        top = max(got[i][1] for i in unknown)
        print(f"{name:14} {accuracy:14.3f} {wrongly:16d} {top:17.3f}  {len(rows) / seconds:,.0f}")
    got = results["techvet"][0]
    by_variant: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for i, r in enumerate(rows):
        by_variant[r["variant"]] += 1
        right[r["variant"]] += got[i][0] == r["expected_model"]
    print("techvet by spelling: " + ", ".join(f"{v} {right[v]}/{n}" for v, n in sorted(by_variant.items())))
    speed = (len(rows) / results["techvet"][1]) / (len(rows) / results["plain WRatio"][1])
    print(f"ratio rows/s techvet/plain = {speed:.2f}x")
    for n in (1_000, 10_000):  # the whole command on a large register: time and peak memory
        _register(n, rows)
    return 0


def _register(n: int, rows: list[dict[str, str]]) -> None:
    import random
    import subprocess
    import tempfile

    rng = random.Random(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Make", "Model", "Serial Number", "Owner Unit", "camera_maker", "camera_country"])
            for i in range(n):
                r = rng.choice(rows)
                writer.writerow(
                    [r["Make"], r["Model"], f"SN{i}", r["Owner Unit"], r["camera_maker"], r["camera_country"]]
                )
        timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
        command = [
            sys.executable,
            "-m",
            "techvet.cli",
            "fleet",
            str(path),
            "--format",
            "json",
            "-o",
            str(Path(tmp) / "o"),
        ]
        t = time.perf_counter()
        done = subprocess.run([*timer, *command], capture_output=True, text=True)
        seconds = time.perf_counter() - t
    peak = next((line.split(":")[1].strip() for line in done.stderr.splitlines() if "Maximum resident" in line), "")
    rss = f"{int(peak) / 1024:.0f} MiB" if peak.isdigit() else "unknown"
    print(
        f"register of {n:,} rows: {seconds:.1f} s ({n / seconds:,.0f} rows/s), exit {done.returncode}, peak RSS {rss}"
    )


if __name__ == "__main__":
    sys.exit(main())
