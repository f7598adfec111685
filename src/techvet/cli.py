"""The ``techvet`` command: parse arguments, call the library, pick the renderer.

Every error a user can cause becomes one line on stderr and a non-zero exit: 2 for unreadable
input, 1 when ``--fail-on`` is reached, 3 for a bug in techvet itself (still no traceback).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from techvet.errors import TechvetError
from techvet.findings import Severity

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Vet Android apps with evidence: SDKs, capabilities, destinations, anti-analysis.",
)


class Format(StrEnum):
    text = "text"
    json = "json"


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"techvet: {message}", err=True)
    return typer.Exit(code)


@app.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="APK, XAPK/APKS/APKM bundle, DEX file, or a folder of them.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the evidence of every finding.")] = False,
    fail_on: Annotated[
        str | None,
        typer.Option(help="Exit 1 when a finding is at least this severe (info, low, medium, high, critical)."),
    ] = None,
) -> None:
    """Scan apps and report what they can do, which SDKs they embed and where they send data."""
    from techvet.scan import iter_scan

    threshold = None
    if fail_on is not None:
        try:
            threshold = Severity.parse(fail_on)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    for p in paths:
        if not p.exists():
            raise _fail(f"{p}: no such file or folder")
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    failed = unreadable = 0
    try:
        for result in iter_scan([str(p) for p in paths]):
            if not result.ok:
                unreadable += 1
                typer.echo(f"techvet: {result.errors[0]}", err=True)
                continue
            if fmt is Format.json:
                from techvet.report.json_report import render as render_json

                out.write(render_json(result) + "\n")
            else:
                from techvet.report.text import render as render_text

                render_text(result, out, verbose=verbose)
                out.write("\n")
            if threshold is not None and result.max_severity is not None and result.max_severity >= threshold:
                failed += 1
    finally:
        if output:
            out.close()
    if unreadable:
        raise typer.Exit(2)
    if failed:
        raise typer.Exit(1)


@app.command()
def rules() -> None:
    """List every rule: id, severity, category and title."""
    from techvet.knowledge import load

    for rule in load().rules.values():
        typer.echo(f"{rule.id}  {rule.severity!s:8}  {rule.category:14}  {rule.title}")


@app.command()
def explain(rule_id: Annotated[str, typer.Argument(help="A rule id such as TV201.")]) -> None:
    """Explain a rule: what it catches, why it matters, and its sources."""
    from techvet.knowledge import load

    rule = load().rules.get(rule_id.strip().upper())
    if rule is None:
        raise _fail(f"no rule {rule_id!r} (techvet rules lists them)")
    typer.echo(f"{rule.id} {rule.name}: {rule.title}")
    typer.echo(f"severity: {rule.severity}   category: {rule.category}")
    typer.echo(f"\nWhat it catches\n  {rule.what}")
    typer.echo(f"\nWhy it matters\n  {rule.why}")
    if rule.refs:
        typer.echo("\nReferences")
        for ref in rule.refs:
            typer.echo(f"  {ref}")
    typer.echo(f"\nKnowledge source: {rule.source} (as of {rule.as_of})")


def main() -> None:
    """Console entry point: run the app, turning every error into one line."""
    try:
        code = app(standalone_mode=False)  # click returns the exit code instead of raising Exit
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except TechvetError as exc:
        typer.echo(f"techvet: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the edge: a usage error or a bug, never a traceback
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        typer.echo(f"techvet: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
