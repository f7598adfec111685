"""``techvet scan ... --format parquet -o DIR`` and ``techvet query DIR "SQL"``: arguments, progress,
summary and exit codes around :mod:`techvet.dataset`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from techvet.errors import NothingToAnalyseError, UsageError


def scan_to_dataset(
    args: argparse.Namespace, targets: Any, total: int | None, cluster: str | None, feedback: Any, indicators: Any
) -> int:
    """Exit 2 when an app was unreadable, incomplete or not done (a rerun does those), 1 when one
    reached --fail-on, else 0."""
    from techvet.dataset.build import build_dataset
    from techvet.screen.staleness import warn_if_stale
    from techvet.verdict import FailOn, tally

    if not args.output:
        raise UsageError("--format parquet writes a dataset folder: give it with -o DIR")
    if args.verbose:
        raise UsageError("--format parquet has no -v: the dataset holds every finding, ask it with techvet query")
    if args.traffic:
        raise UsageError("--traffic goes with a report of one app, not with --format parquet")
    fail_on = FailOn.parse(args.fail_on)

    def say(line: str) -> None:
        print(f"techvet: {line}", file=sys.stderr)

    result = build_dataset(
        targets,
        args.output,
        jobs=args.jobs,
        cluster=cluster,
        policy=args.policy,
        reached=fail_on.reached,
        say=say,
        track=lambda items: feedback.track(items, "scanning apps", total),
        indicators=indicators,
    )
    if not (result.added or result.already or result.repeated or result.unreadable or result.not_done):
        raise NothingToAnalyseError(f"{', '.join(args.paths)}: names no app")
    if result.added:
        warn_if_stale(feedback)
    if not args.quiet:
        print(
            f"techvet: {args.output}: {result.added} apps added ({tally(result.verdicts)}), "
            f"{result.already} already there, {result.repeated} repeated; {result.unreadable} unreadable, "
            f"{result.incomplete} incomplete, {result.not_done} not done",
            file=sys.stderr,
        )
    if result.unreadable or result.incomplete or result.not_done:
        return 2
    return 1 if result.reached else 0


def run_query_command(args: argparse.Namespace) -> int:
    from techvet.dataset.query import run_query, write_result
    from techvet.report import opened_output

    if not args.sql.strip():
        raise UsageError('give a query, e.g. "select count(*) from apps"')
    names, rows = run_query(args.dataset, args.sql)
    with opened_output(args.output) as out:
        count = write_result(names, rows, args.format, out)
    if not args.quiet and args.format == "text":
        print(f"techvet: {count} row{'s' if count != 1 else ''}", file=sys.stderr)
    return 0
