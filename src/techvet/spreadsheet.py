"""CSV output a spreadsheet can open safely: cells that would run as formulas are neutralised.

techvet's CSV outputs carry text from hostile sources (a supplier's company names, a fleet
inventory's model cells, an app's label, a downloaded list's titles). A spreadsheet opening the
file treats a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula (``=cmd|' /C calc'!A0``
runs a program), and one starting with a tab or carriage return can hide one. OWASP's rule (CSV
injection) is to prefix such a cell with a single quote, which makes it text. A cell that is a plain
number (``-12.5``, ``+3``, ``-1e3``) is no formula and stays as it is, so numbers still sort and sum.
Every CSV writer in techvet goes through :func:`csv_writer`, so no output forgets the rule.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet may read it: text starting like a formula gets a leading ``'``;
    numbers, plain-number text and every other cell are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeCsvWriter:
    """A ``csv.writer`` whose every cell passes through :func:`safe_cell`."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: TextIO) -> SafeCsvWriter:
    """The CSV writer every techvet output uses (see the module's docstring for why)."""
    return SafeCsvWriter(out)


__all__ = ["FORMULA_STARTS", "SafeCsvWriter", "csv_writer", "safe_cell"]
