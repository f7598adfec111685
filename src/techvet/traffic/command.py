"""``techvet traffic CAPTURE...``: flows, destinations, findings and verdict of captures, as text,
JSON, SARIF, Markdown or one HTML page."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import TextIO

from techvet.errors import InputError, NothingToAnalyseError, TechvetError
from techvet.report import write_report
from techvet.report.cells import network_cell, owner_cell
from techvet.traffic import TrafficResult

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".har", ".mitm", ".flows", ".dump")


def find_captures(paths: list[str]) -> list[str]:
    """The captures ``paths`` name: files as given, folders searched (recursive, sorted) for files
    with a capture's suffix. A folder without one, or a path that does not exist, is an error."""
    found: list[str] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            inside = sorted(str(f) for f in p.rglob("*") if f.is_file() and f.suffix.lower() in CAPTURE_SUFFIXES)
            if not inside:
                raise NothingToAnalyseError(f"{path}: no captures in this folder ({', '.join(CAPTURE_SUFFIXES)})")
            found += inside
        elif p.exists():
            found.append(path)
        else:
            raise TechvetError(f"{path}: no such file or folder")
    return found


def run_traffic(args: argparse.Namespace) -> int:
    """Exit 0 when every capture was read whole, 1 when ``--fail-on`` is reached, 2 when one could
    not be read, had damaged parts (what was read is still reported) or held nothing to analyse,
    3 when reading one met a bug in techvet. Each capture is judged by the app policy, as an app's
    scan is: its findings are the same kind. A capture that cannot be read, for whatever reason,
    is one error line: the other captures of the run are still reported."""
    from techvet.api import traffic
    from techvet.report.progress import Feedback
    from techvet.report.terminal import colored_report
    from techvet.verdict import AppPolicy, FailOn, tally

    fail_on = FailOn.parse(args.fail_on)
    policy = AppPolicy.load(args.policy)
    device = _device(args.device) if args.device else None
    from techvet.iocs.command import chosen_index

    indicators = chosen_index(args.iocs)  # a bad bundle is one line before any capture is read
    captures = find_captures(args.captures)
    feedback = Feedback(args.quiet)
    results: list[TrafficResult] = []
    code = failed = 0
    for path in feedback.track(captures, "reading captures", len(captures) if len(captures) > 1 else None):
        try:
            result = traffic(path, policy=policy, device=device, indicators=indicators)
        except InputError as exc:
            print(f"techvet: {exc}", file=sys.stderr)
            code = max(code, 2)
            continue
        except Exception as exc:  # noqa: BLE001 - a reader's bug costs its capture, not the run's others
            print(f"techvet: {path}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            code = 3
            continue
        for warning in result.stats.warnings:
            feedback.warn(f"{path}: {warning}")
            code = max(code, 2)
        worst = max((f.severity for f in result.findings), default=None)
        failed += fail_on.reached(worst, (result.verdict or {}).get("verdict"))
        results.append(result)
    if len(captures) > 1 and not args.quiet:
        shown = tally((r.verdict or {}).get("verdict") for r in results)
        print(f"techvet: {len(captures)} captures: {shown}; {len(captures) - len(results)} unreadable", file=sys.stderr)
    if results:
        color = colored_report(args.format, args.output)
        write_report(_render(results, args.format, color, args.verbose), args.output)
        from techvet.screen.staleness import warn_if_stale

        warn_if_stale(feedback)  # owners and networks were screened against the lists
    return code or (1 if failed else 0)


def _render(results: list[TrafficResult], fmt: str, color: bool = False, verbose: bool = False) -> str:
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
        _text(r, out, color, verbose)
    return out.getvalue()


def _device(path: str) -> dict[str, str]:
    """The test device's identifiers: a YAML or JSON mapping of kind -> value."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle.read(1 << 20))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TechvetError(f"--device {path}: unreadable ({' '.join(str(exc).split())})") from None
    if not isinstance(doc, dict) or not all(isinstance(v, (str, int)) for v in doc.values()):
        raise TechvetError(f"--device {path}: expected a mapping such as 'imei: 35...' and 'android_id: ...'")
    return {str(k): str(v) for k, v in doc.items()}


def _text(result: TrafficResult, out: TextIO, color: bool | None = None, verbose: bool = False) -> None:
    from rich.markup import escape as e
    from rich.table import Table

    from techvet.report.indicators import indicator_notes
    from techvet.report.terminal import SEVERITY_STYLE, VERDICT_STYLE, console

    term = console(out, color)
    s = result.stats
    unit = "packets" if result.kind == "pcap" else "requests (a proxy's log)"
    term.print(f"[bold]{e(result.path)}[/]: {s.packets} {unit}, {len(result.flows)} flows (offline attribution)")
    for warning in s.warnings:  # a damaged part: the report says what it could not read
        term.print(f"  [yellow]not read whole[/]: {e(warning)}")
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
            table.add_column(col, justify="right" if col == "up B" else "left", overflow="fold")
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
            for ev in f.evidence if verbose else f.evidence[:3]:
                term.print(f"      {e(ev.detail)}")
            if len(f.evidence) > 3 and not verbose:
                term.print(f"      [dim]... {len(f.evidence) - 3} more (-v shows them)[/]")
            if verbose:
                for note in indicator_notes(f.extra):  # a known tool: its indicators and reports
                    term.print(f"      {e(note)}")
    term.print()


__all__ = ["CAPTURE_SUFFIXES", "find_captures", "run_traffic"]
