"""Screening a whole party file: each row's possible matches and Xinjiang exposure, streamed out.

Rows are read, screened and written one at a time, so a 100,000-row file needs the memory of one
row plus the index. Output shapes:

- ``json``: an array, one object per input row: ``row`` (line number), ``input`` (the row as read),
  ``matches`` (at or above the threshold, best first), ``xinjiang_exposure`` and ``error`` (why a
  row could not be read, else null);
- ``csv``: one line per match (a row without matches gets one line with empty match columns);
- ``text``: rows with something to say, matches grouped by listed party and family
  (techvet.screen.groups), then a summary.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from techvet.knowledge import Knowledge, load
from techvet.screen import DEFAULT_THRESHOLD, Match, screen
from techvet.screen.groups import group
from techvet.screen.inputs import Row
from techvet.screen.regions import Exposure, xinjiang_exposure
from techvet.spreadsheet import csv_writer

CSV_COLUMNS = ("row", "name", "list", "listed_name", "matched_alias", "score", "program", "listed_on", "via", "why")


@dataclass
class Screened:
    row: Row
    matches: list[Match] = field(default_factory=list)
    exposure: list[Exposure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        row = self.row
        return {
            "row": row.line,
            "input": None if row.error and not row.raw else {"name": row.name, **row.raw},
            "matches": [m.to_dict() for m in self.matches],
            "xinjiang_exposure": [e.to_dict() for e in self.exposure],
            "error": row.error,
        }


@dataclass
class Totals:
    rows: int = 0
    matched: int = 0
    exposed: int = 0
    unreadable: int = 0
    best: float = 0.0  # the closest match of the run (for --fail-on SCORE)


def screen_rows(
    rows: Iterable[Row], threshold: float = DEFAULT_THRESHOLD, include_people: bool = False, kb: Knowledge | None = None
) -> Iterator[Screened]:
    kb = kb or load()
    for row in rows:
        if row.error:
            yield Screened(row)
            continue
        matches = screen(
            row.name,
            country=row.country,
            identifiers=row.identifiers,
            parent=row.parent,
            include_people=include_people,
            threshold=threshold,
            kb=kb,
        )
        fields = {"name": row.name, "address": row.address, "parent": row.parent}
        yield Screened(row, matches, xinjiang_exposure(fields, row.country, kb))


@dataclass(frozen=True, slots=True)
class Rendered:
    """One screened row as written in a format, with what the totals and stderr need: a worker
    hands this back instead of the :class:`Screened` (whose matches carry the index's scoring
    objects, ten times their text in pickled bytes)."""

    line: int
    error: str | None
    matched: bool
    exposed: bool
    best: float
    text: str  # the row's output: a JSON object, CSV lines, or a text block (maybe empty)


def render_row(screened: Screened, fmt: str, verbose: bool = False, kb: Knowledge | None = None) -> Rendered:
    """``screened`` written in ``fmt`` (json: one object; csv: its lines; text: its block)."""
    if fmt == "json":
        text = json.dumps(screened.to_dict(), ensure_ascii=False)
    else:
        buffer = io.StringIO()
        if fmt == "csv":
            _write_csv(csv_writer(buffer), screened)
        else:
            _write_text(buffer, screened, verbose, kb or load())
        text = buffer.getvalue()
    row = screened.row
    best = max((m.score for m in screened.matches), default=0.0)
    return Rendered(row.line, row.error, bool(screened.matches), bool(screened.exposure), best, text)


def write(
    results: Iterable[Screened], fmt: str, out: TextIO, verbose: bool = False, kb: Knowledge | None = None
) -> Totals:
    """Write ``results`` in ``fmt`` as they come; return the counts for the summary and exit code."""
    kb = kb or load()
    return write_rendered((render_row(s, fmt, verbose, kb) for s in results), fmt, out)


def write_rendered(rows: Iterable[Rendered], fmt: str, out: TextIO) -> Totals:
    """Write rows already rendered (here or by workers) as they come; return the counts."""
    totals = Totals()
    if fmt == "csv":
        csv_writer(out).writerow(CSV_COLUMNS)
    if fmt == "json":
        out.write("[")
    for row in rows:
        totals.rows += 1
        totals.matched += row.matched
        totals.exposed += row.exposed
        totals.unreadable += bool(row.error)
        totals.best = max(totals.best, row.best)
        out.write((("\n" if totals.rows == 1 else ",\n") + row.text) if fmt == "json" else row.text)
    if fmt == "json":
        out.write("\n]\n")
    return totals


def _write_csv(writer: Any, screened: Screened) -> None:
    row = screened.row
    if not screened.matches:
        writer.writerow([row.line, row.name, "", "", "", "", "", "", "", row.error or ""])
    for m in screened.matches:
        writer.writerow(
            [
                row.line,
                row.name,
                m.list,
                m.name,
                m.matched_alias,
                f"{m.score:.3f}",
                m.program or "",
                m.listed_on or "",
                m.via,
                m.why,
            ]
        )


SHOWN_PER_FAMILY = 2  # listed parties shown per family before the rest are counted (-v: all)


def _write_text(out: TextIO, screened: Screened, verbose: bool, kb: Knowledge) -> None:
    """A row with something to say: its possible matches grouped by listed party and family (the
    best few of each family, the rest counted), then its Xinjiang exposure."""
    row = screened.row
    if row.error:
        return  # reported on stderr by the caller, with the line number
    if not screened.matches and not screened.exposure:
        return
    out.write(f"row {row.line}: {row.name}\n")  # each block ends with a blank line: the first line is a row
    for family in group(screened.matches, kb):
        shown = family.parties if verbose else family.parties[:SHOWN_PER_FAMILY]
        for n, party in enumerate(shown):
            out.write(f"  possible match {party.score:.2f}  {party.name}  [{', '.join(party.lists)}]\n")
            best = party.matches[0]
            if verbose:
                for m in party.matches:
                    program = f"{m.program}, " if m.program else ""
                    out.write(f"      {m.list}: {program}listed {m.listed_on or 'date not given'}\n")
                out.write(f"      {best.why}\n")
            elif n == 0 and (best.via != "name" or best.matched_alias != best.name):
                out.write(f"      {best.why}\n")
        rest = family.parties[len(shown) :]
        if rest:
            low, high = min(p.score for p in rest), max(p.score for p in rest)
            scores = f"{low:.2f}" if round(low, 2) == round(high, 2) else f"{low:.2f}-{high:.2f}"
            lists = ", ".join(dict.fromkeys(lst for p in rest for lst in p.lists))
            out.write(
                f"  ... and {len(rest)} more listed parties met through {family.word!r} ({scores}; {lists}): "
                "-v shows them\n"
            )
    for e in screened.exposure:
        context = f" ({e.context})" if e.context else ""
        out.write(f"  Xinjiang region exposure: {e.place}, {e.kind}, named in the {e.field} as {e.found!r}{context}\n")
    out.write("\n")


def summary(totals: Totals, kb: Knowledge | None = None) -> str:
    kb = kb or load()
    lists = kb.restriction_lists["lists"]
    dates = ", ".join(f"{k} {v['as_of']}" for k, v in lists.items())
    return (
        f"{totals.rows} rows screened: {totals.matched} with possible matches, {totals.exposed} with Xinjiang "
        f"exposure, {totals.unreadable} unreadable. Possible matches are name similarities to verify, not "
        f"findings about a party. Lists as of: {dates}."
    )


__all__ = ["Rendered", "Screened", "Totals", "render_row", "screen_rows", "summary", "write", "write_rendered"]
