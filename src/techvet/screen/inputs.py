"""Reading a supplier or party file (CSV, XLSX, JSON) row by row, with bounded memory.

Columns are recognised by their header (``name``, ``company``, ``supplier``, ``公司名称`` ... see
``_COLUMNS``). A row that cannot be read (no name, a name too long to be one, bytes that are not
UTF-8, a broken CSV line) is yielded as an error with its line number, and reading goes on: one bad
row never stops a 100,000-row file. CSV and XLSX are streamed; JSON is loaded whole, so its size is
capped.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from techvet.errors import TechvetError

MAX_NAME = 500  # characters: longer is not a company name
MAX_JSON_BYTES = 64 << 20
MAX_XLSX_INFLATED = 512 << 20
MAX_XLSX_RATIO = 200

_COLUMNS = {
    "name": (
        "name", "company", "company name", "supplier", "supplier name", "party", "entity", "vendor",
        "legal name", "名称", "公司名称", "企业名称", "供应商",
    ),
    "country": ("country", "country code", "iso country", "国家"),
    "address": ("address", "registered address", "地址"),
    "identifiers": (
        "identifiers", "identifier", "id", "uscc", "lei", "isin", "registration number", "统一社会信用代码",
    ),
    "parent": ("parent", "parent company", "ultimate parent", "母公司"),
    "tier": ("tier", "supplier tier"),
}  # fmt: skip


@dataclass
class Row:
    """One party to screen, or (``error`` set) a row that could not be read."""

    line: int
    name: str = ""
    country: str | None = None
    address: str | None = None
    identifiers: list[str] = field(default_factory=list)
    parent: str | None = None
    tier: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def read_parties(path: str) -> Iterator[Row]:
    """Rows of a CSV, XLSX or JSON party file (by extension; CSV otherwise)."""
    p = Path(path)
    if not p.is_file():
        raise TechvetError(f"{path}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".xlsx":
        return _xlsx_rows(p)
    if suffix == ".json":
        return _json_rows(p)
    return _csv_rows(p)


def _columns(header: list[str]) -> dict[str, str]:
    """Header cell -> field, by the recognised names (case and spacing ignored)."""
    out: dict[str, str] = {}
    for cell in header:
        key = " ".join(str(cell or "").replace("_", " ").split()).casefold()
        for fieldname, names in _COLUMNS.items():
            if key in names and fieldname not in out.values():
                out[str(cell)] = fieldname
                break
    if "name" not in out.values():
        raise TechvetError(
            f"no name column among {list(map(str, header))[:12]} (expected one of: name, company, supplier ...)"
        )
    return out


def _row(line: int, record: dict[str, Any], columns: dict[str, str]) -> Row:
    row = Row(line, raw={_clean(k): _clean(v) for k, v in record.items()})
    for cell, fieldname in columns.items():
        value = record.get(cell)
        text = "" if value is None else str(value).strip()
        if any("\udc80" <= ch <= "\udcff" for ch in text):
            row.error = "not valid UTF-8"
            return row
        if fieldname == "identifiers":
            row.identifiers = [v for v in text.replace(",", ";").split(";") if v.strip()]
        elif text:
            setattr(row, fieldname, text)
    if not row.name:
        row.error = "no name"
    elif len(row.name) > MAX_NAME:
        row.error = f"name longer than {MAX_NAME} characters"
    return row


def _clean(value: Any) -> str:
    """A cell as text fit to print: bytes that were not UTF-8 become U+FFFD."""
    text = "" if value is None else str(value)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _csv_rows(path: Path) -> Iterator[Row]:
    # surrogateescape: a row with bytes that are not UTF-8 is reported, not the whole file refused
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise TechvetError(f"{path}: empty file") from None
        except csv.Error as exc:
            raise TechvetError(f"{path}: not a CSV file ({exc})") from None
        columns = _columns(header)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # a field over the size limit, a NUL byte ...: skip the row
                yield Row(reader.line_num, error=f"unreadable CSV row ({exc})")
                continue
            if not any(c.strip() for c in cells):
                continue
            yield _row(reader.line_num, dict(zip(header, cells, strict=False)), columns)


def _xlsx_rows(path: Path) -> Iterator[Row]:
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
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
        raise TechvetError(f"{path}: not a readable XLSX file ({type(exc).__name__})") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(c) if c is not None else "" for c in next(rows, ())]
        if not header:
            raise TechvetError(f"{path}: empty sheet")
        columns = _columns(header)
        for line, cells in enumerate(rows, 2):
            if cells and any(c is not None and str(c).strip() for c in cells):
                yield _row(line, dict(zip(header, cells, strict=False)), columns)
    finally:
        book.close()


def _json_rows(path: Path) -> Iterator[Row]:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise TechvetError(f"{path}: refused: larger than {MAX_JSON_BYTES >> 20} MiB (use CSV for large files)")
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise TechvetError(f"{path}: not valid JSON ({exc})") from None
    items = doc.get("parties") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise TechvetError(f'{path}: expected an array of parties (or {{"parties": [...]}})')
    columns: dict[str, str] | None = None
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            yield Row(number, error="not an object")
            continue
        if columns is None:
            keys = {k for i in items if isinstance(i, dict) for k in i}
            columns = _columns(sorted(keys))
        record = dict(item)
        ids = record.get("identifiers")
        if isinstance(ids, dict):
            ids = list(ids.values())
        if isinstance(ids, list):
            record["identifiers"] = ";".join(map(str, ids))
        yield _row(number, record, columns)


__all__ = ["Row", "read_parties"]
