"""A supplier or party file (CSV, XLSX, JSON; read by techvet.tables) as rows to screen.

Columns are recognised by their header (``name``, ``company``, ``supplier``, ``公司名称`` ... see
``_COLUMNS``). A row that cannot be read (no name, a name too long to be one, bytes that are not
UTF-8, a broken CSV line) is yielded as an error with its line number, and reading goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from techvet.errors import TechvetError
from techvet.tables import bad_text, clean, read_table

MAX_NAME = 500  # characters: longer is not a company name

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


def rows_of_names(names: list[str], country: str | None = None) -> list[Row]:
    """Names given one by one (``--name``, ``--names-from``, ``techvet.screen(names=...)``) as rows,
    numbered from 1; an empty name or one too long to be a name is a row with its error."""
    return [
        Row(i, name=n.strip(), country=country, error=None if 0 < len(n.strip()) <= MAX_NAME else "bad name")
        for i, n in enumerate(names, 1)
    ]


def read_parties(path: str) -> Iterator[Row]:
    """Rows of a CSV, XLSX or JSON party file (by extension; CSV otherwise)."""
    header, records = read_table(path, "parties")
    columns = _columns(header)
    for record in records:
        if record.cells is None:
            yield Row(record.line, error=record.error)
            continue
        cells = dict(record.cells)
        ids = cells.get("identifiers")
        if isinstance(ids, dict):
            ids = list(ids.values())
        if isinstance(ids, list):
            cells["identifiers"] = ";".join(map(str, ids))
        yield _row(record.line, cells, columns)


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
    row = Row(line, raw={clean(k): clean(v) for k, v in record.items()})
    for cell, fieldname in columns.items():
        value = record.get(cell)
        text = "" if value is None else str(value).strip()
        if bad_text(text):
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


__all__ = ["Row", "read_parties", "rows_of_names"]
