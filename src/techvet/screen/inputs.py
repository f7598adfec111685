"""A supplier or party file (CSV, XLSX, JSON; read by techvet.tables) as rows to screen.

Columns are recognised by their header (``name``, ``company``, ``supplier``, ``公司名称`` ... see
``_COLUMNS``). A row that cannot be read (no name, a name too long to be one, bytes that are not
UTF-8, a broken CSV line) is yielded as an error with its line number, and reading goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from techvet.countries import country_code
from techvet.errors import TechvetError
from techvet.tables import bad_text, clean, is_placeholder, printable, read_table, shown_header, source_name

MAX_NAME = 500  # characters: longer is not a company name

_COLUMNS = {
    "name": (
        "name", "company", "company name", "supplier", "supplier name", "party", "entity", "vendor",
        "vendor name", "legal name", "organization", "organisation", "organization name", "organisation name",
        "manufacturer", "counterparty", "firma", "lieferant", "fournisseur", "raison sociale",
        "名称", "公司名称", "企业名称", "供应商", "公司", "名稱", "公司名稱", "企業名稱", "供應商", "厂商",
    ),
    "country": ("country", "country code", "iso country", "land", "pays", "国家", "國家"),
    "address": ("address", "registered address", "adresse", "地址"),
    "identifiers": (
        "identifiers", "identifier", "id", "uscc", "lei", "isin", "registration number", "统一社会信用代码",
    ),
    "parent": ("parent", "parent company", "ultimate parent", "母公司"),
    "tier": ("tier", "supplier tier"),
}  # fmt: skip
FIELDS = tuple(_COLUMNS)  # what --columns can map


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
    return [Row(i, name=n.strip(), country=country, error=_name_error(n.strip())) for i, n in enumerate(names, 1)]


def _name_error(name: str) -> str | None:
    """Why ``name`` is no name to screen, or None: empty, a placeholder ("N/A", "-", "#REF!": a row
    that names no one is not a clean row), or too long to be a company's name."""
    if not name:
        return "no name"
    if is_placeholder(name):
        return f"no name ({name[:20]!r} stands for none)"
    if len(name) > MAX_NAME:
        return f"name longer than {MAX_NAME} characters"
    return None


def read_parties(path: str, columns: dict[str, str] | None = None) -> Iterator[Row]:
    """Rows of a CSV, XLSX or JSON party file (by extension; CSV otherwise). ``columns``: field ->
    header cell, for headers techvet does not recognise (``--columns name=Firmenname``)."""
    header, records = read_table(path, "parties")
    try:
        mapping = _columns(header, columns or {})
    except TechvetError as exc:
        raise TechvetError(f"{source_name(path)}: {exc}") from None
    for record in records:
        if record.cells is None:
            yield Row(record.line, error=record.error)
            continue
        cells = dict(record.cells)
        for cell in [c for c, f in mapping if f == "identifiers"]:
            ids = cells.get(cell)
            if isinstance(ids, dict):
                ids = list(ids.values())
            if isinstance(ids, list):
                cells[cell] = ";".join(map(str, ids))
        yield _row(record.line, cells, mapping)


def _columns(header: list[str], explicit: dict[str, str]) -> list[tuple[str, str]]:
    """(header cell, field) pairs, best first: the cells ``explicit`` names, then every cell whose
    header is a recognised name for a field (case and spacing ignored). A field may have several
    cells ("name" and "company"; JSON rows that use either): a row takes the first that is filled."""
    out: list[tuple[str, str]] = []
    for fieldname, cell in explicit.items():
        if fieldname not in _COLUMNS:
            raise TechvetError(f"--columns: {fieldname!r} is no field (one of: {', '.join(_COLUMNS)})")
        if cell not in header:
            raise TechvetError(f"--columns: no column {printable(cell)!r} in the file")
        out.append((cell, fieldname))
    keys = {str(cell): " ".join(str(cell or "").replace("_", " ").split()).casefold() for cell in header}
    for fieldname, names in _COLUMNS.items():
        if fieldname in explicit:
            continue
        found = [cell for cell, key in keys.items() if key in names]
        out.extend((cell, fieldname) for cell in sorted(found, key=lambda c: names.index(keys[c])))
    if "name" not in {f for _, f in out}:
        raise TechvetError(
            f"no name column among {shown_header(header)} (expected one of: name, company, supplier ...; "
            "or --columns name=HEADER)"
        )
    return out


def _row(line: int, record: dict[str, Any], columns: list[tuple[str, str]]) -> Row:
    row = Row(line, raw={clean(k): clean(v) for k, v in record.items()})
    for cell, fieldname in columns:
        value = record.get(cell)
        text = "" if value is None else str(value).strip()
        if bad_text(text):
            row.error = "not valid UTF-8"
            return row
        if fieldname == "identifiers":
            row.identifiers += [v for v in text.replace(",", ";").split(";") if v.strip()]
        elif fieldname == "country":
            # "China", "PRC", "中国" are CN; a country that names none is no country (no comparison)
            row.country = row.country or country_code(text)
        elif text and not getattr(row, fieldname):  # the first filled cell of the field
            setattr(row, fieldname, text)
    row.error = _name_error(row.name)
    return row


__all__ = ["FIELDS", "Row", "read_parties", "rows_of_names"]
