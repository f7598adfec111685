"""Terminal report: the summary first, then findings by severity; evidence with ``verbose``."""

from __future__ import annotations

from typing import TextIO

from rich.markup import escape
from rich.table import Table

from techvet.findings import Severity
from techvet.report.cells import UNSIGNED, network_cell, owner_cell, sdk_names, unidentified_summary
from techvet.report.indicators import indicator_notes
from techvet.report.terminal import SEVERITY_STYLE as _STYLE
from techvet.report.terminal import VERDICT_STYLE
from techvet.report.terminal import console as terminal
from techvet.scan import NOT_EXAMINED, ScanResult


def render(result: ScanResult, out: TextIO, verbose: bool = False, color: bool | None = None) -> None:
    # soft_wrap: long evidence lines (class names, URLs) stay whole, so they can be copied and grepped
    console = terminal(out, color)
    e = escape
    if result.app is None:
        console.print(f"[red]error[/] {e(result.path)}: {e('; '.join(result.errors))}")
        return
    app = result.app
    m = app.manifest
    ios = app.ios
    named = m is not None or ios is not None
    ident = " ".join(x for x in (app.package, app.version_name) if x)
    title = f"{app.label or '?'}  ({ident})" if named else app.path
    console.print(f"[bold]{e(title)}[/]" + ("  [dim]iOS[/]" if ios is not None else ""))
    console.print(f"  file     {e(app.path)}  sha256 {app.sha256[:16]}…  {app.size:,} bytes")
    if m:
        console.print(
            f"  sdk      min {m.min_sdk if m.min_sdk is not None else 'unset'}, "
            f"target {m.target_sdk if m.target_sdk is not None else 'unset'}"
        )
    if ios is not None:
        console.print(f"  ios      min {e(ios.min_os or 'unset')}, built with {e(ios.sdk or 'unknown SDK')}")
        if ios.profile is not None:
            p = ios.profile
            console.print(
                f"  team     {e(p.team_name or '?')} ({e(p.team_id or '?')}), profile {e(p.name or '?')}, "
                f"expires {e(p.expires or '?')}"
            )
    for cert in app.certificates[:2]:
        console.print(f"  signer   {e(cert.subject)} ({', '.join(cert.schemes)}, sha256 {cert.sha256[:16]}…)")
    if not app.certificates:
        unsigned = UNSIGNED if m else "none: a bare DEX carries no signature and no manifest"
        if ios is not None:
            unsigned = "not signed: no code signature or provisioning profile with a readable certificate"
        console.print(f"  signer   {e(unsigned)}")
    counts = {s: sum(1 for f in result.findings if f.severity == s) for s in Severity}
    summary = ", ".join(f"[{_STYLE[s]}]{n} {s}[/]" for s, n in sorted(counts.items(), reverse=True) if n)
    console.print(f"  findings {summary or 'none'}   ({result.seconds * 1000:.0f} ms)")
    if result.verdict is not None:
        v = result.verdict
        style = VERDICT_STYLE[v["verdict"]]
        lines = ", ".join(d["line"] for d in v["decided_by"]) or "no policy line applies"
        console.print(
            f"  verdict  [{style}]{v['verdict'].upper()}[/]  risk {v['score']}/100  "
            f"[dim](policy {e(v['policy'])}: {e(lines)})[/]"
        )
    # SDKs found by their classes, and catalogue SDKs found only by their native library
    by_code = {f.subject for f in result.findings if f.rule == "TV301"}
    sdk_findings = [
        f
        for f in result.findings
        if f.rule in ("TV301", "TV304") or (f.rule == "TV302" and f.country and f.subject not in by_code)
    ]
    if sdk_findings:
        console.print("\n[bold]Embedded SDKs[/]")
        table = Table(box=None, show_header=True, pad_edge=False)
        for col in ("SDK", "vendor", "country", "category", "collects / does"):
            table.add_column(col, overflow="fold")  # a host or class name is never cut short
        for f in sdk_findings:
            x = f.extra
            if f.rule == "TV304":  # code nobody catalogued: a row of its own, never an empty table
                table.add_row(
                    e(f"{f.subject} ({x.get('classes')} {'class' if x.get('classes') == 1 else 'classes'})"),
                    "[yellow]unidentified[/]",
                    "-",
                    "-",
                    e(unidentified_summary(x)),
                )
                continue
            table.add_row(
                e(f.title.removeprefix("Embeds ").removeprefix("Ships ")),
                e(f.party or "-"),
                e(f.country or "-"),
                e(str(x.get("sdk_category") or "-")),
                e(", ".join([*x.get("collects", []), *x.get("does", [])]) or "-"),
            )
        console.print(table)
    caps = [f for f in result.findings if "capability" in f.extra]
    if caps:
        console.print("\n[bold]What it can do[/]")
        for f in caps:
            holders = ["app code"] if f.extra.get("in_app_code") else []
            holders.extend(sdk_names(f.extra.get("in_sdks", [])))
            if f.extra.get("permission_not_requested"):
                holders.append("the app requests none of its permissions")  # the code is there, dormant until it is
            where = f"  [dim]({e(', '.join(holders))})[/]" if holders else ""
            console.print(f"  [{_STYLE[f.severity]}]{f.severity!s:8}[/] {f.rule} {e(f.title)}{where}")
    destinations = result.destinations()
    if destinations:
        console.print("\n[bold]Where it talks to[/] [dim](hosts named in the code, attributed offline)[/]")
        table = Table(box=None, show_header=True, pad_edge=False)
        rows = []
        for row in destinations:
            first = row["first_evidence"] or {}
            by = ", ".join(sdk_names(row["named_by_sdks"])) or first.get("class_name") or first.get("file") or "-"
            rows.append(
                {
                    "host": row["host"],
                    "owner": owner_cell(row),
                    "network (hosting)": network_cell(row),
                    "server country": row["server_country"] or "-",
                    "cleartext": "yes" if row["cleartext"] else "no",
                    "named by": by,
                }
            )
        # a name the code holds is never resolved: the address columns show only when an address is there
        columns = [
            c for c in rows[0] if c not in ("network (hosting)", "server country") or any(r[c] != "-" for r in rows)
        ]
        for col in columns:
            table.add_column(col, overflow="fold")  # a host or class name is never cut short
        for r in rows:
            table.add_row(*(e(r[c]) for c in columns))
        console.print(table)
    if result.traffic is not None:
        t = result.traffic
        console.print(f"\n[bold]In the traffic[/] [dim]({e(', '.join(t['captures']))})[/]")
        console.print(f"  confirmed: {e(', '.join(r['host'] for r in t['confirmed']) or 'none')}")
        console.print(f"  only in the traffic: {e(', '.join(r['host'] for r in t['traffic_only']) or 'none')}")
        console.print(f"  named in code, never contacted: {e(', '.join(t['code_only']) or 'none')}")
    others = [f for f in result.findings if f.rule not in ("TV301", "TV402") and "capability" not in f.extra]
    if others:
        console.print("\n[bold]Findings[/]")
        for f in others:
            console.print(f"  [{_STYLE[f.severity]}]{f.severity!s:8}[/] {f.rule} {e(f.title)}")
    if verbose:
        console.print("\n[bold]Evidence[/]")
        for f in result.findings:
            console.print(f"  {f.rule} {e(f.title)}")
            for ev in f.evidence:
                where = ev.file
                if ev.class_name:
                    where += f" {ev.class_name}" + (f".{ev.method}" if ev.method else "")
                sdk = " [dim]" + e(f"[{ev.sdk}]") + "[/]" if ev.sdk else ""
                console.print(f"      {e(where)}: {e(ev.detail)}{sdk}")
            for note in indicator_notes(f.extra):
                console.print(f"      {e(note)}")
        if app.notes:  # what the reader could not read, said plainly
            console.print("\n[bold]Not read[/]")
            for note in app.notes[:20]:
                console.print(f"  {e(note)}")
            if len(app.notes) > 20:
                console.print(f"  [dim]... and {len(app.notes) - 20} more (JSON: app.notes)[/]")
    elif result.findings:
        console.print("\n[dim]-v shows the evidence for every finding.[/]")
    for err in result.errors:
        label = "not examined" if err.startswith(NOT_EXAMINED) else "detector error"
        console.print(f"[red]{label}[/] {e(err.removeprefix(NOT_EXAMINED))}")
