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
from techvet.fleet.models import names_someone
from techvet.verdict import AppPolicy

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


MAX_HTML_DEVICES = 5_000  # a page a person reads; the summary still counts every device


def run_fleet(args: argparse.Namespace) -> int:
    """Exit 0 when every device may fly (allow), 1 when some are grounded, restricted or need
    review, 2 when rows could not be read (the rest are still decided). Devices are decided and
    written one at a time (the summary is counted on the way), so memory does not grow with the
    inventory; the HTML page holds its first MAX_HTML_DEVICES devices and counts the rest."""
    from techvet.knowledge import load

    kb = load()
    policy = Policy.load(args.policy)
    app_policy = AppPolicy.load(args.app_policy)
    app_results = _scan_apps(args.apps) if args.apps else None
    devices = read_inventory(args.file, parse_columns(args.columns))
    try:
        out: TextIO = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise TechvetError(f"{args.output}: cannot write ({exc.strerror})") from None
    summary = _Summary()
    writer = csv.writer(out) if args.format == "csv" else None
    shown: list[dict[str, Any]] = []  # HTML: the page is written at the end, from these
    try:
        if args.format == "html":
            pass
        elif args.format == "json":
            head = json.dumps({"id": policy.id, "title": policy.title}, ensure_ascii=False)
            out.write(f'{{"policy": {head},\n"devices": [')
        elif writer is not None:
            writer.writerow(CSV_COLUMNS)
        else:
            out.write(f"policy: {policy.title} ({policy.id})\n")
        for n, device in enumerate(devices):
            verdict = vet(device, policy, kb, app_results, app_policy)
            if device.error:
                print(f"techvet: {args.file}: row {device.line}: {device.error}", file=sys.stderr)
            summary.add(verdict)
            if args.format == "html":
                if len(shown) < MAX_HTML_DEVICES:
                    shown.append(verdict.to_dict())
            elif args.format == "json":
                out.write(("\n" if n == 0 else ",\n") + json.dumps(verdict.to_dict(), ensure_ascii=False))
            elif writer is not None:
                _csv_row(verdict, writer)
            else:
                _text(verdict, out)
        if args.format == "html":
            from techvet.report.html import render_fleet

            out.write(render_fleet(policy, shown, summary.as_dict()))
        elif args.format == "json":
            out.write(f'\n],\n"summary": {json.dumps(summary.as_dict(), ensure_ascii=False)}}}\n')
        elif writer is None:
            _text_summary(summary.as_dict(), out)
    finally:
        if args.output:
            out.close()
    if summary.unreadable:
        return 2
    return 1 if summary.decisions.total() > summary.decisions["allow"] else 0


class _Summary:
    def __init__(self) -> None:
        self.decisions: Counter[str] = Counter()
        self.makers: Counter[str] = Counter()
        self.rules: Counter[str] = Counter()
        self.unreadable = 0

    def add(self, v: Verdict) -> None:
        if v.device.error:
            self.unreadable += 1
            return
        self.decisions[v.decision] += 1
        self.makers[v.brand or "unknown"] += 1
        self.rules.update(r["rule"] for r in v.reasons)

    def as_dict(self) -> dict[str, Any]:
        return {
            "devices": self.decisions.total(),
            "unreadable_rows": self.unreadable,
            "by_decision": {d: self.decisions[d] for d in DECISIONS},
            "by_maker": dict(self.makers.most_common()),
            "by_rule": dict(self.rules.most_common()),
        }


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


def _csv_row(v: Verdict, writer: Any) -> None:
    d, m = v.device, v.match
    matched = (v.model_name or m.model["names"][0]) if m and m.model else ""
    writer.writerow(
        [d.line, d.make, d.model, d.serial, d.unit, matched, f"{m.score:.2f}" if m else "", v.manufacturer or "",
         v.country or "", "" if d.error else v.decision, " ".join(r["rule"] for r in v.reasons), d.error or ""]
    )  # fmt: skip


def _text(v: Verdict, out: TextIO) -> None:
    d, m = v.device, v.match
    if d.error:
        return  # reported on stderr with its line number
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
    out.write(f"  maker {maker_shown(v)}{f' ({v.country})' if v.country else ''}")
    out.write(f"{'; on ' + ', '.join(v.maker_lists) if v.maker_lists else ''}\n")
    for r in v.reasons:
        lifted = f", set aside by {r['lifted_by']}" if r.get("lifted_by") else ""
        out.write(f"    {r['rule']} ({r['decision']}{lifted}): {r['why']}\n")
        if r.get("evidence"):
            out.write(f"      evidence: {r['evidence']}\n")
    if v.companion_apps and not d.app:
        out.write(
            f"    companion apps of this model: {', '.join(v.companion_apps)} (scanned only if given with --apps)\n"
        )
    for f in v.app_findings[:5]:
        out.write(f"    app: {f.get('rule', '')} {f.get('title', f.get('error', ''))}\n")
    for a in v.app_verdicts:
        lines = f": {', '.join(a['decided_by'])}" if a["decided_by"] else ""
        out.write(
            f"    app verdict: {a['app']} {a['verdict'].upper()} (risk {a['score']}, policy {a['policy']}{lines})\n"
        )


def maker_shown(v: Verdict) -> str:
    """The maker as a reader should see it: the manufacturer, else the brand (its legal maker not
    known), else why there is none."""
    if v.manufacturer:
        return v.manufacturer
    if v.brand:
        return f"{v.brand} (manufacturer not known)"
    if v.device.make and not names_someone(v.device.make):
        return f"not given ({v.device.make!r} names no maker)"
    return "unknown"


def _text_summary(summary: dict[str, Any], out: TextIO) -> None:
    counts = ", ".join(f"{n} {d}" for d, n in summary["by_decision"].items())
    out.write(f"\n{summary['devices']} devices: {counts}; {summary['unreadable_rows']} unreadable rows\n")
    out.write(f"by maker: {', '.join(f'{k} {n}' for k, n in summary['by_maker'].items())}\n")
    out.write(f"by rule: {', '.join(f'{k} {n}' for k, n in summary['by_rule'].items())}\n")


__all__ = ["run_fleet"]
