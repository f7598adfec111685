"""``techvet screen`` and ``techvet lists``: argument checks, progress, summary and exit codes."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

from techvet.errors import NothingToAnalyseError, UsageError
from techvet.many import chosen_cluster
from techvet.report import opened_output, say_update
from techvet.report.progress import Feedback
from techvet.screen import DEFAULT_THRESHOLD
from techvet.screen.batch import Rendered, render_row, screen_rows, summary, write_rendered
from techvet.screen.inputs import FIELDS, Row, read_parties, rows_of_names
from techvet.screen.staleness import closed_lists, stale_lists, warn_if_stale
from techvet.tables import parse_columns, read_lines, source_name


def run_screen(args: argparse.Namespace) -> int:
    """Exit 1 when a possible match or Xinjiang exposure reaches ``--fail-on`` (default: any), 2
    when rows could not be read or there was nothing to screen, else 0."""
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if not 0.0 < threshold <= 1.0:
        raise UsageError("--threshold must be above 0 and at most 1")
    fail_score = _fail_on(args.fail_on)
    if fail_score and fail_score < threshold:
        raise UsageError(f"--fail-on {fail_score} is below --threshold {threshold}: matches between are never seen")
    names = list(args.name)
    if args.names_from:
        names += read_lines(args.names_from)
    if bool(args.file) == bool(names or args.names_from):
        raise UsageError("give a party file, or names (--name, --names-from), not both and not neither")
    if args.country is not None:
        from techvet.countries import country_code

        if country_code(args.country) is None:
            raise UsageError(f"--country {args.country!r} names no country (an ISO code such as CN, or a name)")
        args.country = country_code(args.country)
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per core) or more")
    feedback = Feedback(args.quiet)
    if names or args.names_from:
        rows: Iterator[Row] = iter(rows_of_names(names, args.country))
        source = "--name"
    else:
        rows = read_parties(args.file, parse_columns(args.columns, frozenset(FIELDS)))
        source = source_name(args.file)
    first = next(rows, None)
    if first is None:  # said before any output is opened: no empty report is left behind
        raise NothingToAnalyseError(f"{source}: no rows to screen")
    rows = itertools.chain([first], rows)
    with opened_output(args.output) as out:
        tracked = feedback.track(rows, "screening rows")
        cluster = chosen_cluster(args.cluster)
        if cluster or args.jobs != 1:  # partitioned: blocks of rows on workers, each with its own index
            from techvet.screen.partitioned import screen_partitioned

            rendered = screen_partitioned(
                tracked, threshold, args.include_people, args.format, args.verbose, args.jobs, cluster
            )
        else:
            screened = screen_rows(tracked, threshold, args.include_people)
            rendered = (render_row(s, args.format, args.verbose) for s in screened)
        totals = write_rendered(_report_unreadable(rendered, source, feedback), args.format, out)
        if args.format == "text" and totals.rows:
            print(summary(totals), file=out if not args.output else sys.stderr)
    feedback.row_summary(source)
    warn_if_stale(feedback)
    if totals.unreadable:
        return 2
    if fail_score is None:
        return 0
    return 1 if totals.exposed or (totals.matched and totals.best >= fail_score) else 0


def _fail_on(text: str) -> float | None:
    """``--fail-on``: match (any possible match: 0.0), a score in (0, 1], or never (None)."""
    level = text.strip().lower()
    if level == "never":
        return None
    if level == "match":
        return 0.0
    try:
        score = float(level)
    except ValueError:
        raise UsageError(f"--fail-on: {text!r} is not match, never or a score between 0 and 1") from None
    if not 0.0 < score <= 1.0:
        raise UsageError("--fail-on: a score must be above 0 and at most 1")
    return score


def _report_unreadable(results: Iterator[Rendered], source: str, feedback: Feedback) -> Iterator[Rendered]:
    for row in results:
        if row.error:
            feedback.row_problem(source, row.line, row.error)
        yield row


def update(args: argparse.Namespace | None = None) -> int:
    """Download the lists with a machine-readable source; exit 0 if every one was refreshed, 2 if
    some kept their copy in use (each says why)."""
    from techvet.screen.update import update_lists

    report = update_lists()
    installed = f"snapshot installed: {report.snapshot}" if report.snapshot is not None else None
    return say_update(report.updated, report.kept, "entries", installed)


def show_lists(args: argparse.Namespace | None = None, today: date | None = None) -> int:
    from techvet.knowledge import load

    args = args or argparse.Namespace(format="text", output=None, verbose=False, quiet=False)
    kb = load()
    doc = kb.restriction_lists
    today = today or date.today()
    closed = closed_lists()
    stale = stale_lists(today)
    rows: list[dict[str, Any]] = []
    for list_id, meta in doc["lists"].items():
        age = (today - date.fromisoformat(meta["as_of"])).days
        rows.append(
            {
                "id": list_id,
                "title": meta["title"],
                "entries": meta["count"],
                "as_of": meta["as_of"],
                "age_days": age,
                "stale": list_id in stale,
                "closed": closed.get(list_id),
                "url": meta["url"],
                "inputs": meta.get("inputs", {}),
            }
        )
    with opened_output(args.output) as out:
        if args.format == "json":
            snapshot = {"folder": str(kb.lists_folder), "source": doc["source"], "lists": rows}
            out.write(json.dumps(snapshot, ensure_ascii=False, indent=1) + "\n")
        elif args.format == "csv":
            from techvet.spreadsheet import csv_writer

            columns = ("id", "title", "entries", "as_of", "age_days", "stale", "closed", "url")
            writer = csv_writer(out)
            writer.writerow(columns)
            writer.writerows([r[c] if r[c] is not None else "" for c in columns] for r in rows)
        else:
            out.write(f"lists in use: {kb.lists_folder} ({doc['source']})\n")
            out.write(f"{'list':20} {'entries':>7}  {'as of':10}  {'age':>6}  title\n")
            for r in rows:
                flag = "  STALE" if r["stale"] else "  (closed: cannot change)" if r["closed"] else ""
                out.write(f"{r['id']:20} {r['entries']:7}  {r['as_of']:10}  {r['age_days']:5}d  {r['title']}{flag}\n")
                out.write(f"{'':20} {'':7}  source: {r['url']}\n")
                if args.verbose:
                    for name, sha in r["inputs"].items():
                        out.write(f"{'':20} {'':7}  input: {name} sha256 {sha}\n")
                    if r["closed"]:
                        out.write(f"{'':20} {'':7}  closed: {r['closed']}\n")
    warn_if_stale(Feedback(args.quiet), today, kb)
    return 0


__all__ = ["run_screen", "show_lists", "update"]
