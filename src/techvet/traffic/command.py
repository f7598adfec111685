"""``techvet traffic CAPTURE...``: flows, destinations, findings and verdict of captures, as text,
JSON, SARIF, Markdown or one HTML page."""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import TextIO

from techvet.errors import InputError, TechvetError
from techvet.report import write_report
from techvet.report.cells import network_cell, owner_cell
from techvet.traffic import TrafficResult, analyze


def run_traffic(args: argparse.Namespace) -> int:
    """Exit 0 when every capture was read whole, 1 when ``--fail-on`` is reached, 2 when one could
    not be read or had damaged parts (what was read is still reported). Each capture is judged by
    the app policy, as an app's scan is: its findings are the same kind."""
    from techvet.verdict import AppPolicy, FailOn, decide

    fail_on = FailOn.parse(args.fail_on)
    policy = AppPolicy.load(args.policy)
    device = _device(args.device) if args.device else None
    results: list[TrafficResult] = []
    code = failed = 0
    for path in args.captures:
        try:
            result = analyze(path, device=device)
        except InputError as exc:
            print(f"techvet: {exc}", file=sys.stderr)
            code = 2
            continue
        for warning in result.stats.warnings:
            print(f"techvet: {path}: warning: {warning}", file=sys.stderr)
            code = 2
        result.verdict = decide(result.findings, None, [], policy).to_dict()
        worst = max((f.severity for f in result.findings), default=None)
        failed += fail_on.reached(worst, result.verdict["verdict"])
        results.append(result)
    from techvet.report.terminal import wants_color

    color = args.format == "text" and not args.output and wants_color(sys.stdout)
    write_report(_render(results, args.format, color), args.output)
    return code or (1 if failed else 0)


def _render(results: list[TrafficResult], fmt: str, color: bool = False) -> str:
    if fmt == "json":
        return "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in results)
    if fmt == "sarif":
        from techvet.report.sarif import traffic_run, wrap

        return wrap([json.dumps(traffic_run(r), ensure_ascii=False) for r in results]) + "\n"
    if fmt == "md":
        from techvet.report.markdown import render_traffic as render_md

        return "".join(render_md(r) for r in results)
    if fmt == "html":
        from techvet.report.html import render_traffic as render_html

        return render_html(results)
    out = io.StringIO()
    for r in results:
        _text(r, out, color)
    return out.getvalue()


def _device(path: str) -> dict[str, str]:
    """The test device's identifiers: a YAML or JSON mapping of kind -> value."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise TechvetError(f"--device {path}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or not all(isinstance(v, (str, int)) for v in doc.values()):
        raise TechvetError(f"--device {path}: expected a mapping such as 'imei: 35...' and 'android_id: ...'")
    return {str(k): str(v) for k, v in doc.items()}


def _text(result: TrafficResult, out: TextIO, color: bool | None = None) -> None:
    from rich.markup import escape as e
    from rich.table import Table

    from techvet.report.terminal import SEVERITY_STYLE, VERDICT_STYLE, console

    term = console(out, color)
    s = result.stats
    term.print(f"[bold]{e(result.path)}[/]: {s.packets} packets, {len(result.flows)} flows (offline attribution)")
    v = result.verdict
    if v is not None:
        lines = f": {', '.join(d['line'] for d in v['decided_by'])}" if v["decided_by"] else ""
        term.print(
            f"verdict [{VERDICT_STYLE[v['verdict']]}]{v['verdict'].upper()}[/]  risk {v['score']}/100  "
            f"[dim](policy {e(v['policy'])}{e(lines)})[/]"
        )
    if result.destinations:
        term.print("\n[bold]Where it talks to[/]")
        table = Table(box=None, show_header=True, pad_edge=False)
        for col in ("host", "ip", "owner", "network (hosting)", "server", "up B", "clear"):
            table.add_column(col, justify="right" if col == "up B" else "left")
        for d in result.destinations:
            table.add_row(
                e(str(d["host"] or "-")),
                e(d["ip"]),
                e(owner_cell(d)),
                e(network_cell(d)),
                d["server_country"] or "-",
                str(d["bytes_up"]),
                "yes" if d["cleartext"] else "no",
            )
        term.print(table)
    if result.findings:
        term.print("\n[bold]Findings[/]")
        for f in result.findings:
            term.print(f"  [{SEVERITY_STYLE[f.severity]}]{f.severity!s:8}[/] {f.rule} {e(f.title)}")
            for ev in f.evidence[:3]:
                term.print(f"      {e(ev.detail)}")
    term.print()


__all__ = ["run_traffic"]
