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
    write_report(_render(results, args.format), args.output)
    return code or (1 if failed else 0)


def _render(results: list[TrafficResult], fmt: str) -> str:
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
        _text(r, out)
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


def _text(result: TrafficResult, out: TextIO) -> None:
    s = result.stats
    out.write(f"{result.path}: {s.packets} packets, {len(result.flows)} flows (offline attribution)\n")
    v = result.verdict
    if v is not None:
        lines = f": {', '.join(d['line'] for d in v['decided_by'])}" if v["decided_by"] else ""
        out.write(f"verdict {v['verdict'].upper()}  risk {v['score']}/100  (policy {v['policy']}{lines})\n")
    if result.destinations:
        out.write("\nWhere it talks to\n")
        out.write(f"  {'host':34} {'ip':39} {'owner':30} {'owner c.':8} {'server c.':9} {'AS':>7} {'up B':>9} clear\n")
        for d in result.destinations:
            out.write(
                f"  {str(d['host'] or '-')[:34]:34} {d['ip'][:39]:39} {str(d['owner'] or 'unknown')[:30]:30} "
                f"{d['owner_country'] or '-':8} {d['server_country'] or '-':9} {d['asn'] or '-':>7} "
                f"{d['bytes_up']:>9} {'yes' if d['cleartext'] else 'no'}\n"
            )
    if result.findings:
        out.write("\nFindings\n")
        for f in result.findings:
            out.write(f"  {f.severity!s:8} {f.rule} {f.title}\n")
            for e in f.evidence[:3]:
                out.write(f"      {e.detail}\n")
    out.write("\n")


__all__ = ["run_traffic"]
