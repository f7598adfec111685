"""Markdown for tickets and pull requests: verdict and score first, then what matters.

Everything taken from the app (labels, hosts, class names, strings) is escaped for Markdown, so a
label such as ``<script>`` or ``](javascript:...)`` stays text in whatever renders the ticket.
"""

from __future__ import annotations

import re

from techvet.scan import ScanResult

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~-])")


def md(text: object) -> str:
    """Escape Markdown and HTML-significant characters; no line breaks from the app."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def render(result: ScanResult) -> str:
    app = result.app
    lines = []
    title = (app.manifest.label if app and app.manifest and app.manifest.label else None) or (
        app.package if app else result.path
    )
    lines.append(f"## techvet: {md(title)} (`{md(app.package) if app and app.package else '-'}`)")
    v = result.verdict
    if v is not None:
        lines.append(
            f"\n**Verdict: {v['verdict'].upper()}** · risk score {v['score']}/100 · policy `{md(v['policy'])}`"
        )
        lines.append(f"\n_score = {md(v['score_formula'])}_\n")
        for d in v["decided_by"]:
            shown = ", ".join(f"{md(f['rule'])} {md(f['subject'] or '')}".strip() for f in d["findings"][:5])
            lines.append(f"- **{md(d['effect'])}** {md(d['line'])}: {md(d['why'])} ({shown})")
        for e in v["expired_exceptions"]:
            lines.append(f"- expired exception: {md(e['exception'])} (expired {md(e['expired'])})")
    destinations = result.destinations()
    if destinations:
        lines.append("\n### Where it talks to\n")
        lines.append("| host | owner | owner country | server country | cleartext |")
        lines.append("|---|---|---|---|---|")
        for row in destinations[:30]:
            lines.append(
                f"| {md(row['host'])} | {md(row['owner'] or 'unknown')} | {md(row['owner_country'] or '-')} "
                f"| {md(row['server_country'] or '-')} | {'yes' if row['cleartext'] else 'no'} |"
            )
    if result.findings:
        lines.append("\n### Findings\n")
        lines.append("| severity | rule | finding |")
        lines.append("|---|---|---|")
        for f in result.findings:
            lines.append(f"| {md(f.severity)} | {md(f.rule)} | {md(f.title)} |")
    return "\n".join(lines) + "\n"


__all__ = ["md", "render"]
