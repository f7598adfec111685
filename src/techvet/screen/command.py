"""``techvet screen`` and ``techvet lists``: argument checks, progress, summary and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import date
from typing import TextIO

from techvet.errors import TechvetError
from techvet.screen import DEFAULT_THRESHOLD
from techvet.screen.batch import Screened, screen_rows, summary, write
from techvet.screen.inputs import MAX_NAME, Row, read_parties

STALE_DAYS = 90


def run_screen(args: argparse.Namespace) -> int:
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if not 0.0 < threshold <= 1.0:
        raise TechvetError("--threshold must be above 0 and at most 1")
    if bool(args.file) == bool(args.name):
        raise TechvetError("give a party file or --name, not both and not neither")
    if args.name:
        rows: Iterator[Row] = iter(
            [
                Row(
                    i,
                    name=n.strip(),
                    country=args.country,
                    error=None if 0 < len(n.strip()) <= MAX_NAME else "bad name",
                )
                for i, n in enumerate(args.name, 1)
            ]
        )
    else:
        rows = read_parties(args.file)
    try:
        out: TextIO = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise TechvetError(f"{args.output}: cannot write ({exc.strerror})") from None
    source = args.file or "--name"
    try:
        results = _report_unreadable(screen_rows(_progress(rows), threshold, args.include_people), source)
        totals = write(results, args.format, out, args.verbose)
    finally:
        if args.output:
            out.close()
    if args.format == "text":
        print(f"\n{summary(totals)}", file=out if not args.output else sys.stdout)
    stale = _stale_lists(date.today())
    if stale:
        print(
            f"techvet: warning: {len(stale)} lists are older than {STALE_DAYS} days ({', '.join(stale)}): "
            "a party listed since is not found; `techvet lists update` refreshes them",
            file=sys.stderr,
        )
    if totals.unreadable:
        return 2
    return 1 if totals.matched or totals.exposed else 0


def _report_unreadable(results: Iterator[Screened], source: str) -> Iterator[Screened]:
    for screened in results:
        if screened.row.error:
            print(f"techvet: {source}: row {screened.row.line}: {screened.row.error}", file=sys.stderr)
        yield screened


def _progress(rows: Iterator[Row]) -> Iterator[Row]:
    """Count rows on a live line when stderr is a terminal (files of 100,000 rows take a while)."""
    if not sys.stderr.isatty():
        yield from rows
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("screening: {task.completed} rows"), TimeElapsedColumn(), transient=True
    ) as bar:
        task = bar.add_task("screen", total=None)
        for row in rows:
            yield row
            bar.advance(task)


def update() -> int:
    """Download the lists with a machine-readable source; exit 0 if every one was refreshed, 2 if
    some kept their copy in use (each says why)."""
    from techvet.screen.update import update_lists

    report = update_lists()
    for list_id, (old, new) in report.updated.items():
        print(f"{list_id:20} updated: {new} entries (was {old})")
    for list_id, why in report.kept.items():
        print(f"techvet: {list_id}: not updated: {why}", file=sys.stderr)
    if report.snapshot is not None:
        print(f"snapshot installed: {report.snapshot}")
    return 2 if report.kept else 0


def _stale_lists(today: date) -> list[str]:
    from techvet.knowledge import load

    lists = load().restriction_lists["lists"]
    return [k for k, v in lists.items() if (today - date.fromisoformat(v["as_of"])).days > STALE_DAYS]


def show_lists(today: date | None = None) -> int:
    from techvet.knowledge import load

    kb = load()
    doc = kb.restriction_lists
    today = today or date.today()
    print(f"lists in use: {kb.lists_folder} ({doc['source']})")
    print(f"{'list':20} {'entries':>7}  {'as of':10}  {'age':>6}  title")
    stale = []
    for list_id, meta in doc["lists"].items():
        age = (today - date.fromisoformat(meta["as_of"])).days
        flag = "  STALE" if age > STALE_DAYS else ""
        if flag:
            stale.append(list_id)
        print(f"{list_id:20} {meta['count']:7}  {meta['as_of']:10}  {age:5}d  {meta['title']}{flag}")
        print(f"{'':20} {'':7}  source: {meta['url']}")
    if stale:
        print(
            f"\nwarning: {len(stale)} lists are older than {STALE_DAYS} days: {', '.join(stale)}. "
            "Lists change often; check the sources before relying on a negative result.",
            file=sys.stderr,
        )
    return 0
