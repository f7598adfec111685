#!/usr/bin/env python3
"""Benchmark techvet's name screening against nomenklatura's logic-v2 on the same labelled pairs.

    python bench/screen.py [--threshold 0.80]          (make bench-screen)

The pairs are tests/data/screening_eval.tsv (built from the lists by
tools/build_screening_eval.py): a query, a listed party, and whether they should match. techvet
screens each query against the whole bundled snapshot and predicts a match when that party comes
back at or above the threshold; nomenklatura (in its own virtual environment, .venv-bench/
nomenklatura, as its pinned dependencies differ) compares the query with the party's names and
predicts a match when logic-v2's score reaches 0.7, the threshold yente uses. Prints precision,
recall and F1 for both, recall by kind of query, and speed: techvet's names per second (each a
search of the whole snapshot, one core) and nomenklatura's pairs per second (one comparison each).

Written variants, apart from the labelled file (its builder is tools/build_screening_eval.py): the
listed Han names as people write them in Latin letters, the brand spaced by syllable ("Hangzhou Hai
Kang Wei Shi Digital Technology"), which should meet the party, and the brand with one syllable
changed by one letter into another ("Tianye" for "Tianyi"), which names another company and should
not. Both matchers are scored on them.

Then supplier files of 10,000 and 100,000 rows are screened through ``techvet screen`` (CSV out): time,
rows per second and peak memory, which must not grow with the number of rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "screening_eval.tsv"
NOMENKLATURA = ROOT / ".venv-bench" / "nomenklatura" / "bin" / "python"
HAN_KINDS = ("native-script", "traditional")

DRIVER = """
import json, sys, time
from followthemoney import model
from nomenklatura.matching import get_algorithm
from nomenklatura.matching.types import ScoringConfig
algo = get_algorithm("logic-v2")
config = ScoringConfig.defaults()
pairs = json.load(open(sys.argv[1]))
def company(key, names):
    entity = model.make_entity("Company")
    entity.id = key
    entity.add("name", names)
    return entity
# unique ids: nomenklatura caches comparisons by entity id
built = [(company(f"q{i}", [q]), company(f"p{i}", names)) for i, (q, names) in enumerate(pairs)]
t = time.perf_counter()
scores = [algo.compare(q, p, config).score for q, p in built]
print(json.dumps({"seconds": time.perf_counter() - t, "scores": scores}))
"""


def _rows() -> list[tuple[str, str, int, str]]:
    lines = [line for line in EVAL.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t")
    return [(r["query"], r["party_id"], int(r["label"]), r["kind"]) for r in reader]


def _written_variants(
    parties: list[dict], vocabulary: frozenset[str], rng: random.Random, n: int = 150
) -> list[tuple[str, str, int, str]]:
    """(query, party id, label, kind) rows made from the listed Han names' tokens: each pinyin brand
    token (two syllables or more, no business word) spaced by syllable, label 1; the same token with
    one syllable replaced by a syllable one letter away, written as one word, label 0."""
    from techvet.knowledge import DATA_DIR
    from techvet.screen.names import has_han, pinyin_syllables

    inventory = set(json.loads((DATA_DIR / "pinyin_syllables.json").read_text(encoding="utf-8"))["syllables"])
    spaced: list[tuple[str, str, int, str]] = []
    changed: list[tuple[str, str, int, str]] = []
    for party in parties:
        if party.get("type", "entity") != "entity":
            continue
        for text, form in party["forms"]:
            tokens = form.split()
            cuts = [pinyin_syllables(t) if has_han(text) else None for t in tokens]
            brands = [i for i, cut in enumerate(cuts) if cut and len(cut) >= 2 and tokens[i] not in vocabulary]
            if not brands:
                continue
            i = rng.choice(brands)
            cut = cuts[i]
            assert cut is not None
            words = [t.capitalize() for t in tokens]
            syllables = [s.capitalize() for s in cut]
            spaced.append((" ".join([*words[:i], *syllables, *words[i + 1 :]]), party["id"], 1, "spaced"))
            k = rng.randrange(len(cut))
            near = sorted(o for o in inventory if len(o) == len(cut[k]) and _letters_apart(o, cut[k]) == 1)
            if near:
                brand = "".join([*cut[:k], rng.choice(near), *cut[k + 1 :]]).capitalize()
                changed.append((" ".join([*words[:i], brand, *words[i + 1 :]]), party["id"], 0, "changed"))
    return rng.sample(spaced, min(n, len(spaced))) + rng.sample(changed, min(n, len(changed)))


def _letters_apart(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def _prf(predicted: list[bool], labels: list[int]) -> tuple[float, float, float]:
    tp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and y)
    fp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and not y)
    fn = sum(1 for p, y in zip(predicted, labels, strict=True) if not p and y)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _by_kind(predicted: list[bool], rows: list[tuple[str, str, int, str]]) -> dict[str, float]:
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p, (_, _, label, kind) in zip(predicted, rows, strict=True):
        hits[kind][0] += int(p == bool(label))
        hits[kind][1] += 1
    return {k: v[0] / v[1] for k, v in sorted(hits.items())}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the synthetic supplier file")
    args = parser.parse_args()

    from techvet.knowledge import load
    from techvet.screen import DEFAULT_THRESHOLD, screen

    threshold = args.threshold or DEFAULT_THRESHOLD
    kb = load()
    index = kb.screening_index  # building the index is loading, not screening
    screen("华为技术有限公司", kb=kb)  # so is importing the Han converters (on the first Han name)
    rows = _rows()
    labels = [r[2] for r in rows]
    queries = list(dict.fromkeys(r[0] for r in rows))
    t = time.perf_counter()
    found = {q: {m.party_id for m in screen(q, threshold=threshold, kb=kb)} for q in queries}
    tv_seconds = time.perf_counter() - t
    ours = [party in found[q] for q, party, _, _ in rows]

    variants = _written_variants(index.parties, index.words.vocabulary, random.Random(20261202))
    t = time.perf_counter()
    variant_found = {q: {m.party_id for m in screen(q, threshold=threshold, kb=kb)} for q, _, _, _ in variants}
    variant_seconds = time.perf_counter() - t
    ours_variants = [party in variant_found[q] for q, party, _, _ in variants]

    by_id = {p["id"]: p for p in index.parties}
    pairs = [(q, [by_id[party]["name"], *by_id[party]["aliases"]]) for q, party, _, _ in [*rows, *variants]]
    theirs: list[bool] | None = None
    theirs_variants: list[bool] = []
    nk_seconds = 0.0
    if NOMENKLATURA.exists():
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "pairs.json"
            data.write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
            run = subprocess.run([str(NOMENKLATURA), "-c", DRIVER, str(data)], capture_output=True, text=True)
        if run.returncode == 0:
            result = json.loads(run.stdout.strip().splitlines()[-1])
            scores = result["scores"]
            theirs = [s >= 0.7 for s in scores[: len(rows)]]
            theirs_variants = [s >= 0.7 for s in scores[len(rows) :]]
            nk_seconds = result["seconds"] * len(rows) / len(scores)
        else:
            print(f"nomenklatura failed: {run.stderr.strip().splitlines()[-1:]}")
    else:
        print(f"nomenklatura not installed at {NOMENKLATURA} (make bench-screen installs it)")

    pos = sum(labels)
    print(f"pairs: {len(rows)} ({pos} should match, {len(rows) - pos} should not), {len(queries)} distinct queries")
    print(f"{'matcher':22} {'precision':>9} {'recall':>7} {'F1':>6} {'Han-script recall':>17}  speed")
    han = [i for i, r in enumerate(rows) if r[3] in HAN_KINDS]
    for name, predicted, speed in (
        (f"techvet (>= {threshold:.2f})", ours, f"{len(queries) / tv_seconds:,.0f} names/s (whole snapshot each)"),
        ("nomenklatura logic-v2", theirs, f"{len(rows) / nk_seconds:,.0f} pairs/s (one pair each)" if theirs else ""),
    ):
        if predicted is None:
            continue
        p, r, f1 = _prf(predicted, labels)
        _, han_r, _ = _prf([predicted[i] for i in han], [labels[i] for i in han])
        print(f"{name:22} {p:9.3f} {r:7.3f} {f1:6.3f} {han_r:17.3f}  {speed}")
    print("accuracy by kind of query (techvet" + (" / nomenklatura" if theirs else "") + "):")
    mine = _by_kind(ours, rows)
    other = _by_kind(theirs, rows) if theirs else {}
    for kind, value in mine.items():
        extra = f" / {other[kind]:.3f}" if kind in other else ""
        print(f"  {kind:18} {value:.3f}{extra}")
    for kind, meaning in (("spaced", "meet their party"), ("changed", "wrongly meet it")):
        picked = [i for i, row in enumerate(variants) if row[3] == kind]
        mine_share = sum(ours_variants[i] for i in picked) / len(picked)
        theirs_share = f" / {sum(theirs_variants[i] for i in picked) / len(picked):.3f}" if theirs_variants else ""
        print(
            f"written variants, {kind:7} ({len(picked)}): {mine_share:.3f}{theirs_share} {meaning} "
            f"(techvet{' / nomenklatura' if theirs_variants else ''})"
        )
    print(f"  techvet: {len(variants) / variant_seconds:,.0f} names/s on the written variants")
    for t_sweep in (0.70, 0.75, 0.80, 0.85, 0.90):
        got = {q: {m.party_id for m in screen(q, threshold=t_sweep, kb=kb)} for q in queries}
        p, r, f1 = _prf([party in got[q] for q, party, _, _ in rows], labels)
        print(f"  techvet at {t_sweep:.2f}: precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")
    if args.rows:  # a tenth of the file first: peak memory must not grow with the rows
        _big_file(max(1, args.rows // 10), rows)
        _big_file(args.rows, rows)
    return 0


def write_suppliers(path: Path, n: int, names: list[str]) -> None:
    """A supplier file of ``n`` rows: ``names`` repeated and varied, and a malformed row now and
    then (bench/bulk.py screens one too)."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "country", "address"])
        for i in range(n):
            if i % 997 == 0:
                writer.writerow(["", "CN", ""])  # a malformed row now and then
            else:
                writer.writerow([f"{rng.choice(names)} {rng.choice(['', 'Branch', str(i)])}".strip(), "CN", ""])


def _big_file(n: int, rows: list[tuple[str, str, int, str]]) -> None:
    """A supplier file of ``n`` rows (eval queries, repeated and varied, and junk rows), screened by
    the CLI in a child process: its wall time and peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "suppliers.csv"
        write_suppliers(path, n, [r[0] for r in rows])
        command = [sys.executable, "-m", "techvet.cli", "screen", str(path), "--format", "csv", "-o", os.devnull]
        # run under /usr/bin/time -v when present: the child's own peak memory, not the bench's
        timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
        t = time.perf_counter()
        done = subprocess.run([*timer, *command], capture_output=True, text=True)
        seconds = time.perf_counter() - t
    # the first rows of a kind are reported by line number, then one line counts them all
    counted = re.search(r"([\d,]+) rows in all: no name", done.stderr)
    unreadable = int(counted.group(1).replace(",", "")) if counted else done.stderr.count("no name")
    peak = next((line.split(":")[1].strip() for line in done.stderr.splitlines() if "Maximum resident" in line), "?")
    peak_mib = f"{int(peak) / 1024:.0f} MiB" if peak.isdigit() else "unknown (no /usr/bin/time)"
    print(
        f"supplier file: {n:,} rows in {seconds:.1f} s ({n / seconds:,.0f} rows/s), exit {done.returncode}, "
        f"{unreadable} malformed rows reported, peak RSS {peak_mib}"
    )


if __name__ == "__main__":
    sys.exit(main())
