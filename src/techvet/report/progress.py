"""Feedback while a long run works: a progress bar on a terminal, nothing in a pipe, one notice per kind.

A bar appears only when standard error is a terminal, ``--quiet`` was not given, and the run has
already taken a second (a quick run should not flash one). Warnings that can repeat (a stale list,
the same kind of unreadable row) are said once per run, with a count where there were many, so a
50,000-row file with 5,000 empty rows prints one line, not 5,000.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def _delay() -> float:
    """Seconds a run takes before its bar shows: 1, or TECHVET_PROGRESS_DELAY (tests set 0)."""
    try:
        return max(0.0, float(os.environ.get("TECHVET_PROGRESS_DELAY", "1")))
    except ValueError:
        return 1.0


DELAY = _delay()
ROWS_SHOWN = 3  # rows of one kind of problem reported by line number before they are counted


class Feedback:
    """Progress and warnings for one command run (``quiet``: neither, errors still go to stderr)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._said: set[str] = set()
        self._row_problems: Counter[str] = Counter()
        self._row_lines: dict[str, list[int]] = {}

    def track(self, items: Iterable[T], what: str, total: int | None = None) -> Iterator[T]:
        """Yield ``items``, showing a bar (``what``: "apps", "rows", ...) once the run passes a second."""
        if self.quiet or not _terminal():
            yield from items
            return
        started = time.monotonic()
        bar: Any = None
        task: Any = None
        done = 0
        try:
            for item in items:
                yield item
                done += 1
                if bar is None and time.monotonic() - started >= DELAY:
                    bar, task = _start(what, total, done, started)
                elif bar is not None:
                    bar.update(task, completed=done)
        finally:
            if bar is not None:
                bar.stop()

    def warn(self, message: str, key: str | None = None) -> None:
        """A warning on stderr, once per run for its ``key`` (the message itself when None)."""
        key = key or message
        if self.quiet or key in self._said:
            return
        self._said.add(key)
        print(f"techvet: warning: {message}", file=sys.stderr)

    def row_problem(self, source: str, line: int, problem: str) -> None:
        """A row that could not be used: the first few of each kind by line number, then counted."""
        self._row_problems[problem] += 1
        lines = self._row_lines.setdefault(problem, [])
        if len(lines) < ROWS_SHOWN:
            lines.append(line)
            where = f"row {line}: " if line else ""  # 0: the file as a whole (a sheet not read)
            print(f"techvet: {source}: {where}{problem}", file=sys.stderr)

    def row_summary(self, source: str) -> None:
        """One line per kind of row problem seen more often than it was shown."""
        for problem, count in self._row_problems.items():
            if count > ROWS_SHOWN:
                print(
                    f"techvet: {source}: {count:,} rows in all: {problem} (the first {ROWS_SHOWN} shown above)",
                    file=sys.stderr,
                )


def _terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _start(what: str, total: int | None, done: int, started: float) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns: list[Any] = [TextColumn(f"{what}")]
    columns += [BarColumn(), MofNCompleteColumn()] if total else [TextColumn("{task.completed:,}")]
    bar = Progress(*columns, TimeElapsedColumn(), transient=True, console=Console(stderr=True))
    bar.start()
    task = bar.add_task(what, total=total, completed=done)
    bar.tasks[-1].start_time = started  # the time shown is the run's, not the bar's (it came later)
    return bar, task


__all__ = ["Feedback"]
