"""Markdown for tickets and pull requests: verdict and score first, then what matters.

Everything taken from the app (labels, hosts, class names, strings) is escaped for Markdown, so a
label such as ``<script>`` or ``](javascript:...)`` stays text in whatever renders the ticket.
"""

from __future__ import annotations

import re
from typing import Any

from techvet.report.cells import UNSIGNED, network_cell, owner_cell
from techvet.scan import ScanResult

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~-])")


def md(text: object) -> str:
    """Escape Markdown and HTML-significant characters; no line breaks from the app."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def code(text: object) -> str:
    """A code span: its content is shown as it is (a backslash escape there would show up as a
    backslash, ``us\\-federal``), so nothing is escaped; the fence is one backtick longer than the
    longest run of backticks inside, as CommonMark allows, so the text cannot end the span."""
    plain = " ".join(str(text).split())
    longest = max((len(run) for run in re.findall(r"`+", plain)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if plain.startswith("`") or plain.endswith("`") else ""
    return f"{fence}{pad}{plain}{pad}{fence}"


def render(result: ScanResult) -> str:
    app = result.app
    lines = [f"## techvet: {md(result.title)} ({code(app.package if app and app.package else '-')})"]
    signers = [c.subject for c in app.certificates[:2]] if app else []
    lines.append(f"\nsigned by {md('; '.join(signers))}" if signers else f"\n**{md(UNSIGNED)}**")
    lines += _verdict(result.verdict)
    lines += _destinations(result.destinations(), "Where it talks to")
    lines += _findings(result.findings)
    return "\n".join(lines) + "\n"


def render_traffic(result: Any) -> str:
    """A capture (techvet.traffic.TrafficResult): verdict, where the data went, findings (masked)."""
    lines = [f"## techvet traffic: {md(result.path)}", f"\n{result.stats.packets} packets, {len(result.flows)} flows"]
    lines += _verdict(result.verdict)
    lines += _destinations(result.destinations, "Where the data went")
    lines += _findings(result.findings)
    return "\n".join(lines) + "\n"


def _verdict(v: dict[str, Any] | None) -> list[str]:
    if v is None:
        return []
    lines = [f"\n**Verdict: {v['verdict'].upper()}** · risk score {v['score']}/100 · policy {code(v['policy'])}"]
    lines.append(f"\n_score = {md(v['score_formula'])}_\n")
    for d in v["decided_by"]:
        shown = ", ".join(f"{md(f['rule'])} {md(f['subject'] or '')}".strip() for f in d["findings"][:5])
        lines.append(f"- **{md(d['effect'])}** {md(d['line'])}: {md(d['why'])}" + (f" ({shown})" if shown else ""))
    for e in v["expired_exceptions"]:
        lines.append(f"- expired exception: {md(e['exception'])} (expired {md(e['expired'])})")
    return lines


def _destinations(rows: list[dict[str, Any]], heading: str) -> list[str]:
    if not rows:
        return []
    lines = [f"\n### {heading}\n", "| host | owner | network (hosting) | server country | cleartext |"]
    lines.append("|---|---|---|---|---|")
    for row in rows[:30]:
        lines.append(
            f"| {md(row['host'] or row.get('ip') or '-')} | {md(owner_cell(row))} | {md(network_cell(row))} "
            f"| {md(row['server_country'] or '-')} | {'yes' if row['cleartext'] else 'no'} |"
        )
    return lines


def _findings(findings: list[Any]) -> list[str]:
    if not findings:
        return []
    lines = ["\n### Findings\n", "| severity | rule | finding |", "|---|---|---|"]
    lines += [f"| {md(f.severity)} | {md(f.rule)} | {md(f.title)} |" for f in findings]
    return lines


__all__ = ["code", "md", "render", "render_traffic"]
