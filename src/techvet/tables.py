"""Reading a user's table (CSV, XLSX or JSON) row by row, with bounded memory and per-row errors.

Supplier files (``techvet screen``) and fleet inventories (``techvet fleet``) come as spreadsheets.
:func:`read_table` gives the header and then each row as a dict of cells, or the reason a row
could not be read (a broken CSV line, an entry that is not an object), so one bad row never stops
a 100,000-row file. CSV and XLSX are streamed; JSON is loaded whole, so its size is capped; an XLSX
that would inflate to more than 512 MiB (or 200 times its size) is refused as a zip bomb. Cells
whose bytes were not UTF-8 keep them as surrogates, for the caller to report (:func:`bad_text`).
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from techvet.errors import TechvetError

MAX_JSON_BYTES = 64 << 20
MAX_XLSX_INFLATED = 512 << 20
MAX_XLSX_RATIO = 200


@dataclass(frozen=True)
class Record:
    line: int  # the line (CSV), row (XLSX) or entry number (JSON) a user can find it by
    cells: dict[str, Any] | None  # header -> value; None when the row could not be read
    error: str | None = None


def read_table(path: str, array_key: str) -> tuple[list[str], Iterator[Record]]:
    """The header and the rows of a CSV, XLSX or JSON file (by extension; CSV otherwise). A JSON
    file is an array of objects, or an object holding that array under ``array_key``."""
    p = Path(path)
    if not p.is_file():
        raise TechvetError(f"{path}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".xlsx":
        return _xlsx(p)
    if suffix == ".json":
        return _json(p, array_key)
    return _csv(p)


def clean(value: Any) -> str:
    """A cell as text fit to print: bytes that were not UTF-8 become U+FFFD."""
    text = "" if value is None else str(value)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def bad_text(text: str) -> bool:
    """Whether a cell held bytes that were not UTF-8."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _csv(path: Path) -> tuple[list[str], Iterator[Record]]:
    # surrogateescape: a row with bytes that are not UTF-8 is reported, not the whole file refused
    handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise TechvetError(f"{path}: empty file") from None
    except csv.Error as exc:
        handle.close()
        raise TechvetError(f"{path}: not a CSV file ({exc})") from None

    def rows() -> Iterator[Record]:
        with handle:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # a field over the size limit, a NUL byte ...: skip the row
                    yield Record(reader.line_num, None, f"unreadable CSV row ({exc})")
                    continue
                if any(c.strip() for c in cells):
                    yield Record(reader.line_num, dict(zip(header, cells, strict=False)))

    return header, rows()


def _xlsx(path: Path) -> tuple[list[str], Iterator[Record]]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise TechvetError(f"{path}: not an XLSX file ({exc})") from None
    inflated = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if inflated > MAX_XLSX_INFLATED or (inflated > (8 << 20) and inflated / packed > MAX_XLSX_RATIO):
        raise TechvetError(f"{path}: refused: inflates to {inflated >> 20} MiB (a zip bomb?)")
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        sheet_rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(c) if c is not None else "" for c in next(sheet_rows, ())]
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
        raise TechvetError(f"{path}: not a readable XLSX file ({type(exc).__name__})") from None
    if not header:
        book.close()
        raise TechvetError(f"{path}: empty sheet")

    def rows() -> Iterator[Record]:
        try:
            for line, cells in enumerate(sheet_rows, 2):
                if cells and any(c is not None and str(c).strip() for c in cells):
                    yield Record(line, dict(zip(header, cells, strict=False)))
        finally:
            book.close()

    return header, rows()


def _json(path: Path, array_key: str) -> tuple[list[str], Iterator[Record]]:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise TechvetError(f"{path}: refused: larger than {MAX_JSON_BYTES >> 20} MiB (use CSV for large files)")
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise TechvetError(f"{path}: not valid JSON ({exc})") from None
    items = doc.get(array_key) if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise TechvetError(f'{path}: expected an array of objects (or {{"{array_key}": [...]}})')
    header = sorted({str(k) for item in items if isinstance(item, dict) for k in item})

    def rows() -> Iterator[Record]:
        for number, item in enumerate(items, 1):
            if isinstance(item, dict):
                yield Record(number, item)
            else:
                yield Record(number, None, "not an object")

    return header, rows()


__all__ = ["Record", "bad_text", "clean", "read_table"]
