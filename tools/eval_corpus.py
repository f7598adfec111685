#!/usr/bin/env python3
"""Score techvet against a labelled corpus (TRUTH.tsv as in shared/corpus/LABELS.md).

    python tools/eval_corpus.py --corpus ~/.cache/techvet-corpus --truth ../shared/corpus/TRUTH.tsv

Prints a per-app line for every disagreement, then one line per label kind:
``eval KIND precision=P recall=R n=N`` (N: labels in the truth for that kind; for manifest flags, the
number of app x field pairs compared). The mapping from techvet ids to labels is tools/label_map.yaml.

Kinds TRUTH.tsv has no column for (``own_kinds`` in the map: android_id) are labelled separately,
one file per kind (``tests/data/<kind>_labels.tsv``: ``file`` and ``<kind>`` true/false, made
without techvet: tools/label_android_id.py). Such a kind is scored on the apps its file labels, and
only when it labels some of the truth's apps: a TRUTH= file of other apps is scored on its own
columns alone.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import yaml

from techvet import scan
from techvet.errors import InputError

# TRUTH.tsv counts location from AppCompat's night-mode helper (TwilightManager) whatever the app's
# permissions (LABELS.md 6.1; a note on each such row). Issue 12 defines it as not the app's capability
# when the app requests no location permission, so such rows are scored under that definition.
TWILIGHT_ONLY_NOTE = "location evidence only from appcompat TwilightManager"
LOCATION_PERMISSIONS = {"android.permission.ACCESS_FINE_LOCATION", "android.permission.ACCESS_COARSE_LOCATION"}
HERE = Path(__file__).resolve().parent
LABELS = HERE.parent / "tests" / "data"
MANIFEST_FIELDS = ("debuggable", "allow_backup", "uses_cleartext", "min_sdk", "target_sdk")


def _split(cell: str) -> set[str]:
    return {x.strip() for x in cell.split(",") if x.strip()} if cell and cell != "none" else set()


def _fmt(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def predict(path: Path, mapping: dict) -> dict[str, object]:
    """techvet's answer for one app, in the label vocabulary."""
    result = scan(path)
    caps = {mapping["capabilities"][f.rule] for f in result.findings if f.rule in mapping["capabilities"]}
    sdks = {f.subject for f in result.findings if f.rule == "TV301" and f.subject in mapping["sdks"]}
    own = {kind for rule, kind in mapping.get("own_kinds", {}).items() if result.by_rule(rule)}
    packers = {f.subject for f in result.findings if f.rule == "TV501" and f.subject}
    hosts = {f.subject for f in result.findings if f.rule == "TV401" and f.subject}
    m = result.app.manifest if result.app else None
    manifest = (
        {k: "n/a" for k in MANIFEST_FIELDS}
        if m is None
        else {
            "debuggable": _fmt(m.debuggable),
            "allow_backup": _fmt(m.allow_backup),
            "uses_cleartext": _fmt(m.uses_cleartext_traffic),
            "min_sdk": _fmt(m.min_sdk),
            "target_sdk": _fmt(m.target_sdk),
        }
    )
    return {
        "sdks": sdks,
        "capabilities": caps,
        "packers": packers,
        "cleartext_hosts": hosts,
        "manifest": manifest,
        "own_kinds": own,
        "permissions": set(m.permissions) if m else set(),
    }


def own_labels(kinds: list[str], files: set[str]) -> dict[str, dict[str, bool]]:
    """kind -> file -> label, for the own kinds whose label file labels some of ``files``."""
    out: dict[str, dict[str, bool]] = {}
    for kind in kinds:
        path = LABELS / f"{kind}_labels.tsv"
        if not path.is_file():
            continue
        with open(path, newline="", encoding="utf-8") as fh:
            labels = {
                r["file"]: r[kind] == "true" for r in csv.DictReader(fh, delimiter="\t") if r[kind] in ("true", "false")
            }
        labels = {f: v for f, v in labels.items() if f in files}
        if labels:
            out[kind] = labels
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--truth", required=True, type=Path)
    ap.add_argument("--quiet", action="store_true", help="only the summary lines")
    args = ap.parse_args()
    mapping = yaml.safe_load((HERE / "label_map.yaml").read_text(encoding="utf-8"))
    mapping["sdks"] = set(mapping["sdks"])
    with open(args.truth, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    extra = own_labels(list(dict.fromkeys(mapping.get("own_kinds", {}).values())), {r["file"] for r in rows})
    kinds = ("sdks", "capabilities", "packers", "cleartext_hosts", "manifest", *extra)
    tp = dict.fromkeys(kinds, 0)
    fp = dict.fromkeys(kinds, 0)
    fn = dict.fromkeys(kinds, 0)
    n = dict.fromkeys(kinds, 0)
    amended = 0
    for row in rows:
        path = args.corpus / row["file"]
        if not path.exists():
            print(f"missing {path}", file=sys.stderr)
            continue
        try:
            got = predict(path, mapping)
        except InputError as exc:
            print(f"unreadable {row['file']}: {exc}", file=sys.stderr)
            got = {"sdks": set(), "capabilities": set(), "packers": set(), "cleartext_hosts": set(), "manifest": {}}
            got["own_kinds"] = set()
        capabilities = _split(row["capabilities"])
        if TWILIGHT_ONLY_NOTE in row.get("notes", "") and not LOCATION_PERMISSIONS & got.get("permissions", set()):
            capabilities.discard("location")
            amended += 1
        truth = {
            "sdks": _split(row["sdks"]),
            "capabilities": capabilities,
            "packers": _split(row["packers"]),
            # the TSV keeps the first 30 hosts; only score hosts within its sorted range
            "cleartext_hosts": _split(row["cleartext_hosts"]),
        }
        for kind in ("sdks", "capabilities", "packers", "cleartext_hosts"):
            want = truth[kind]
            have = got[kind]
            assert isinstance(have, set)
            if kind == "cleartext_hosts" and len(want) >= 30:
                cutoff = max(want)
                have = {h for h in have if h <= cutoff}
            tp[kind] += len(want & have)
            fp[kind] += len(have - want)
            fn[kind] += len(want - have)
            n[kind] += len(want)
            if (want != have) and not args.quiet:
                print(f"{row['file']} {kind}: missed {sorted(want - have)} extra {sorted(have - want)}")
        for kind, labels in extra.items():
            if row["file"] not in labels:
                continue
            want_it, have_it = labels[row["file"]], kind in got["own_kinds"]
            n[kind] += int(want_it)
            tp[kind] += int(want_it and have_it)
            fp[kind] += int(have_it and not want_it)
            fn[kind] += int(want_it and not have_it)
            if want_it != have_it and not args.quiet:
                print(f"{row['file']} {kind}: truth {want_it} techvet {have_it}")
        manifest = got["manifest"]
        assert isinstance(manifest, dict)
        for field in MANIFEST_FIELDS:
            n["manifest"] += 1
            if manifest.get(field) == row[field]:
                tp["manifest"] += 1
            else:
                fp["manifest"] += 1
                fn["manifest"] += 1
                if not args.quiet:
                    print(f"{row['file']} manifest {field}: truth {row[field]} techvet {manifest.get(field)}")
    if amended:
        print(f"note: {amended} rows scored without location from TwilightManager alone (no location permission)")
    for kind in kinds:
        p = tp[kind] / (tp[kind] + fp[kind]) if tp[kind] + fp[kind] else 1.0
        r = tp[kind] / (tp[kind] + fn[kind]) if tp[kind] + fn[kind] else 1.0
        print(f"eval {kind} precision={p:.3f} recall={r:.3f} n={n[kind]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
