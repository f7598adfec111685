"""``techvet fleet FILE``: decisions per device, a summary, text / CSV / JSON, exit codes."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from techvet.errors import TechvetError
from techvet.fleet import DECISIONS, Policy, Verdict, vet
from techvet.fleet.inventory import parse_columns, read_inventory

CSV_COLUMNS = (
    "row",
    "make",
    "model",
    "serial",
    "unit",
    "matched_model",
    "score",
    "manufacturer",
    "country",
    "decision",
    "rules",
    "error",
)


def run_fleet(args: argparse.Namespace) -> int:
    """Exit 0 when every device may fly (allow), 1 when some are grounded, restricted or need
    review, 2 when rows could not be read (the rest are still decided)."""
    from techvet.knowledge import load

    kb = load()
    policy = Policy.load(args.policy)
    app_results = _scan_apps(args.apps) if args.apps else None
    devices = read_inventory(args.file, parse_columns(args.columns))
    try:
        out: TextIO = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise TechvetError(f"{args.output}: cannot write ({exc.strerror})") from None
    verdicts: list[Verdict] = []
    try:
        for device in devices:
            verdict = vet(device, policy, kb, app_results)
            if device.error:
                print(f"techvet: {args.file}: row {device.line}: {device.error}", file=sys.stderr)
            verdicts.append(verdict)
        summary = _summary(verdicts, policy)
        if args.format == "json":
            json.dump(
                {
                    "policy": {"id": policy.id, "title": policy.title},
                    "devices": [v.to_dict() for v in verdicts],
                    "summary": summary,
                },
                out,
                ensure_ascii=False,
                indent=1,
            )
            out.write("\n")
        elif args.format == "csv":
            _csv(verdicts, out)
        else:
            _text(verdicts, summary, policy, out)
    finally:
        if args.output:
            out.close()
    if any(v.device.error for v in verdicts):
        return 2
    return 1 if any(v.decision != "allow" for v in verdicts if not v.device.error) else 0


def _scan_apps(folder: str) -> dict[str, Any]:
    """Scan the companion apps given with --apps: package id -> result."""
    from techvet.scan import iter_scan

    if not Path(folder).is_dir():
        raise TechvetError(f"--apps {folder}: not a folder")
    out = {}
    for result in iter_scan([folder]):
        if result.ok and result.app is not None and result.app.package:
            out[result.app.package] = result
    return out


def _summary(verdicts: list[Verdict], policy: Policy) -> dict[str, Any]:
    decided = [v for v in verdicts if not v.device.error]
    rules = Counter(r["rule"] for v in decided for r in v.reasons)
    return {
        "devices": len(decided),
        "unreadable_rows": len(verdicts) - len(decided),
        "by_decision": {d: sum(1 for v in decided if v.decision == d) for d in DECISIONS},
        "by_maker": dict(Counter(v.brand or "unknown" for v in decided).most_common()),
        "by_rule": dict(rules.most_common()),
    }


def _csv(verdicts: list[Verdict], out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for v in verdicts:
        d, m = v.device, v.match
        matched = (v.model_name or m.model["names"][0]) if m and m.model else ""
        writer.writerow(
            [d.line, d.make, d.model, d.serial, d.unit, matched, f"{m.score:.2f}" if m else "", v.manufacturer or "",
             v.country or "", "" if d.error else v.decision, " ".join(r["rule"] for r in v.reasons), d.error or ""]
        )  # fmt: skip


def _text(verdicts: list[Verdict], summary: dict[str, Any], policy: Policy, out: TextIO) -> None:
    out.write(f"policy: {policy.title} ({policy.id})\n")
    for v in verdicts:
        d, m = v.device, v.match
        if d.error:
            continue
        if m is not None and m.model is not None:
            name = v.model_name or m.model["names"][0]
            shown = name if name.lower().startswith(m.model["brand"].lower()) else f"{m.model['brand']} {name}"
            model = f"{shown} ({m.how} {m.score:.2f})"
        elif m is not None and m.candidate:
            model = f"unknown model (nearest: {m.candidate}, {m.score:.2f}: not taken)"
        else:
            model = "unknown model"
        serial = f" #{d.serial}" if d.serial else ""
        out.write(f"\nrow {d.line}{serial}: {d.make} {d.model} -> {model}\n  {v.decision.upper()}")
        out.write(f"  maker {v.manufacturer or 'unknown'} ({v.country or '?'})")
        out.write(f"{'; on ' + ', '.join(v.maker_lists) if v.maker_lists else ''}\n")
        for r in v.reasons:
            out.write(f"    {r['rule']} ({r['decision']}): {r['why']}\n")
        for f in v.app_findings[:5]:
            out.write(f"    app: {f.get('rule', '')} {f.get('title', f.get('error', ''))}\n")
    counts = ", ".join(f"{n} {d}" for d, n in summary["by_decision"].items())
    out.write(f"\n{summary['devices']} devices: {counts}; {summary['unreadable_rows']} unreadable rows\n")
    out.write(f"by maker: {', '.join(f'{k} {n}' for k, n in summary['by_maker'].items())}\n")
    out.write(f"by rule: {', '.join(f'{k} {n}' for k, n in summary['by_rule'].items())}\n")


__all__ = ["run_fleet"]
