"""A dataset run: every source through :func:`techvet.dataset.job.scan_rows` on the chosen backend,
each finished app committed to the dataset as it arrives.

A rerun with the same folder skips the apps it holds (by SHA-256, tested in the workers after
hashing, so a skipped app costs one read and no scan). An unreadable app is a row with its reason;
an app the run itself failed (its worker died, it ran out of time, its source could not be
fetched) is not written, is named on stderr, and is done by the next rerun.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from techvet.dataset.job import AlreadyThere, AppRows, Shared, scan_rows
from techvet.dataset.writer import DatasetWriter
from techvet.findings import Severity
from techvet.many import Failed, run_many


@dataclass
class Tally:
    """What a run did, for the summary line and the exit code."""

    added: int = 0
    already: int = 0  # in the dataset before this run
    repeated: int = 0  # the same app twice in this run's sources
    unreadable: int = 0
    incomplete: int = 0
    not_done: int = 0  # failed by the run, not by the app: a rerun does them
    reached: int = 0  # apps reaching --fail-on
    verdicts: list[str | None] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        keys = ("added", "already", "repeated", "unreadable", "incomplete", "not_done")
        return {k: getattr(self, k) for k in keys}


def _warm() -> None:
    from techvet.dataset.job import stamp

    stamp()  # loads the knowledge, and the stamp every row carries


def build_dataset(
    sources: Iterable[str],
    folder: str | Path,
    *,
    jobs: int = 0,
    cluster: str | None = None,
    policy: str | None = None,
    reached: Callable[[Severity | None, str | None], bool] = lambda worst, verdict: False,
    say: Callable[[str], None] = lambda line: None,
    track: Callable[[Iterator[Any]], Iterator[Any]] = lambda items: items,
    part_apps: int = 1000,
    indicators: Any = None,
) -> Tally:
    """Scan ``sources`` into the dataset at ``folder``; ``say`` gets one line per app that gave no
    whole result (unreadable, incomplete, not done), ``reached`` decides --fail-on per app."""
    from techvet.bulk import cached_policy

    chosen = cached_policy(policy)
    writer = DatasetWriter(folder, part_apps=part_apps)
    tally = Tally()
    try:
        done = writer.done()
        shared = Shared(done if len(done) else None, chosen, indicators)
        results = run_many(sources, scan_rows, shared, jobs=jobs, cluster=cluster, warm=_warm)
        with contextlib.closing(results):
            for source, result in track(results):
                writer.tick()
                if isinstance(result, AlreadyThere):
                    tally.already += 1
                elif isinstance(result, Failed):
                    tally.not_done += 1
                    say(f"{source}: {result.reason}{' (a rerun tries it again)' if result.retry else ''}")
                elif isinstance(result, AppRows):
                    if not writer.add(result.tables, result.sha256):
                        tally.repeated += 1
                        continue
                    _count(result, tally, reached, say)
    finally:
        tally.added = writer.added
        writer.close(tally.to_dict())
    return tally


def _count(
    rows: AppRows, tally: Tally, reached: Callable[[Severity | None, str | None], bool], say: Callable[[str], None]
) -> None:
    app = rows.app
    if app["status"] == "unreadable":
        tally.unreadable += 1
        say(str(app["error"]))
        return
    for error in app["incomplete"]:
        tally.incomplete += 1
        say(f"{app['source']}: incomplete scan: {error}")
    verdict = rows.tables["verdicts"][0]["verdict"] if rows.tables["verdicts"] else None
    tally.verdicts.append(verdict)
    worst = Severity.parse(app["max_severity"]) if app["max_severity"] else None
    tally.reached += reached(worst, verdict)
