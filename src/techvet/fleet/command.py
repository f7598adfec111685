"""``techvet fleet FILE``: decisions per device, a summary, text / CSV / JSON / HTML, exit codes."""

from __future__ import annotations

import argparse
import itertools
import json
from typing import Any, TextIO

from techvet.errors import NothingToAnalyseError, UsageError
from techvet.fleet import DECISIONS, Policy, Verdict
from techvet.fleet.models import names_someone
from techvet.fleet.register import Summary, decide_register, open_register, scan_apps
from techvet.report.terminal import DECISION_STYLE, VERDICT_STYLE, paint
from techvet.spreadsheet import csv_writer
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
FAIL_ON = ("review", "restrict", "ground", "never")


def run_fleet(args: argparse.Namespace) -> int:
    """Exit 0 when every device may fly (allow), 1 when some are decided at least as strictly as
    ``--fail-on`` (default review), 2 when rows could not be read (the rest are still decided) or
    the file holds no device. Devices are decided and written one at a time (the summary is counted
    on the way), so memory does not grow with the inventory; the HTML page holds its first
    MAX_HTML_DEVICES devices and counts the rest."""
    from techvet.knowledge import load
    from techvet.report import opened_output
    from techvet.report.progress import Feedback
    from techvet.report.terminal import colored_report

    fail_on = args.fail_on.strip().lower()
    if fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on: {args.fail_on!r} is not one of {', '.join(FAIL_ON)}")
    kb = load()
    policy = Policy.load(args.policy)
    app_policy = AppPolicy.load(args.app_policy)
    feedback = Feedback(args.quiet)
    register = open_register(args.file, args.columns)
    for note in register.notes:
        feedback.warn(f"{args.file}: {note}")
    app_results = scan_apps(args.apps, kb) if args.apps else None
    color = colored_report(args.format, args.output)
    summary = Summary()
    shown: list[dict[str, Any]] = []  # HTML: the page is written at the end, from these
    verdicts = decide_register(register, policy, app_policy, app_results, kb)
    first_verdict = next(verdicts, None)
    if first_verdict is None:  # said before any output is opened: no empty report is left behind
        raise NothingToAnalyseError(f"{args.file}: no rows below the header")
    with opened_output(args.output) as out:
        writer = csv_writer(out) if args.format == "csv" else None
        if args.format == "json":
            head = json.dumps({"id": policy.id, "title": policy.title}, ensure_ascii=False)
            notes = json.dumps(register.notes, ensure_ascii=False)
            out.write(f'{{"policy": {head},\n"warnings": {notes},\n"devices": [')
        elif writer is not None:
            writer.writerow(CSV_COLUMNS)
        elif args.format == "text":
            out.write(f"policy: {policy.title} ({policy.id})\n")
        for verdict in feedback.track(itertools.chain([first_verdict], verdicts), "deciding devices"):
            if verdict.device.error:
                feedback.row_problem(args.file, verdict.device.line, verdict.device.error)
            first = summary.decisions.total() + summary.unreadable == 0
            summary.add(verdict)
            if args.format == "html":
                if len(shown) < MAX_HTML_DEVICES:
                    shown.append(verdict.to_dict())
            elif args.format == "json":
                out.write(("\n" if first else ",\n") + json.dumps(verdict.to_dict(), ensure_ascii=False))
            elif writer is not None:
                _csv_row(verdict, writer)
            else:
                _text(verdict, out, args.verbose, color)
        if args.format == "html":
            from techvet.report.html import render_fleet

            out.write(render_fleet(policy, shown, summary.as_dict()))
        elif args.format == "json":
            out.write(f'\n],\n"summary": {json.dumps(summary.as_dict(), ensure_ascii=False)}}}\n')
        elif writer is None:
            _text_summary(summary.as_dict(), out)
    feedback.row_summary(args.file)
    from techvet.screen.staleness import warn_if_stale

    warn_if_stale(feedback)  # makers were screened against the lists
    summary.require_devices(args.file)
    if summary.unreadable:
        return 2
    if fail_on == "never":
        return 0
    strict = DECISIONS[: DECISIONS.index(fail_on) + 1]
    return 1 if any(summary.decisions[d] for d in strict) else 0


def _csv_row(v: Verdict, writer: Any) -> None:
    d, m = v.device, v.match
    matched = (v.model_name or m.model["names"][0]) if m and m.model else ""
    writer.writerow(
        [d.line, d.make, d.model, d.serial, d.unit, matched, f"{m.score:.2f}" if m else "", v.manufacturer or "",
         v.country or "", "" if d.error else v.decision, " ".join(r["rule"] for r in v.reasons), d.error or ""]
    )  # fmt: skip


def _text(v: Verdict, out: TextIO, verbose: bool = False, color: bool = False) -> None:
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
    decision = paint(v.decision.upper(), DECISION_STYLE[v.decision], color)
    out.write(f"\nrow {d.line}{serial}: {d.make} {d.model} -> {model}\n  {decision}")
    out.write(f"  maker {maker_shown(v)}{f' ({v.country})' if v.country else ''}")
    out.write(f"{'; on ' + ', '.join(v.maker_lists) if v.maker_lists else ''}\n")
    for r in v.reasons:
        lifted = f", set aside by {r['lifted_by']}" if r.get("lifted_by") else ""
        until = f", until {r['until']}" if r.get("until") else ""
        out.write(f"    {r['rule']} ({r['decision']}{until}{lifted}): {r['why']}\n")
        if r.get("evidence"):
            out.write(f"      evidence: {r['evidence']}\n")
    if v.companion_apps and not d.app:
        out.write(
            f"    companion apps of this model: {', '.join(v.companion_apps)} (scanned only if given with --apps)\n"
        )
    for f in v.app_findings if verbose else v.app_findings[:5]:
        out.write(f"    app: {f.get('rule', '')} {f.get('title', f.get('error', ''))}\n")
    if len(v.app_findings) > 5 and not verbose:
        out.write(f"    app: ... and {len(v.app_findings) - 5} more findings (-v shows them)\n")
    for a in v.app_verdicts:
        lines = f": {', '.join(a['decided_by'])}" if a["decided_by"] else ""
        word = paint(a["verdict"].upper(), VERDICT_STYLE[a["verdict"]], color)
        out.write(f"    app verdict: {a['app']} {word} (risk {a['score']}, policy {a['policy']}{lines})\n")


def maker_shown(v: Verdict) -> str:
    """The maker as a reader should see it: the manufacturer, else the brand (its legal maker not
    known), else why there is none."""
    said = v.device.make
    note = f" (from the model; the row says {said!r})" if v.maker_from == "model" and names_someone(said) else ""
    if v.manufacturer:
        return v.manufacturer + note
    if v.brand:
        return f"{v.brand} (manufacturer not known){note}"
    if v.device.make and not names_someone(v.device.make):
        return f"not given ({v.device.make!r} names no maker)"
    if v.device.make:
        return f"{v.device.make} (not in the drone catalogue: its country is not known)"
    return "not given"


def _text_summary(summary: dict[str, Any], out: TextIO) -> None:
    counts = ", ".join(f"{n} {d}" for d, n in summary["by_decision"].items())
    out.write(f"\n{summary['devices']} devices: {counts}; {summary['unreadable_rows']} unreadable rows\n")
    out.write(f"by maker: {', '.join(f'{k} {n}' for k, n in summary['by_maker'].items())}\n")
    out.write(f"by rule: {', '.join(f'{k} {n}' for k, n in summary['by_rule'].items())}\n")


__all__ = ["run_fleet"]
