"""``techvet query DIR "SQL"``: DuckDB over a dataset, each table a view under its name.

The tables are the committed parts only (a part without its ``apps`` file is a run's work in
progress, or its leftover), handed to DuckDB as Arrow datasets; the connection then has external
access off and its configuration locked, so a query cannot read other files, write any file (the
dataset's own parts included), attach a database or fetch a URL: a query pasted from elsewhere
stays a question about the dataset. DuckDB spills to a temporary folder of its own, removed at the
end. Results are fetched a batch at a time, so a query over millions of rows streams.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from techvet.dataset.tables import TABLES, arrow_schema
from techvet.dataset.writer import check_dataset, part_files
from techvet.errors import InputError, TechvetError
from techvet.spreadsheet import csv_writer
from techvet.tables import clean

BATCH = 2048
TEXT_WIDTH = 60  # a text cell longer than this is cut (csv and json give it whole)


def _quoted(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def connect(folder: str | Path, scratch: str) -> Any:
    """A DuckDB connection with a view per table of the dataset at ``folder``, spilling to
    ``scratch``."""
    try:
        import duckdb
        import pyarrow.dataset as ds
    except ImportError:
        raise TechvetError("techvet query needs DuckDB and pyarrow: pip install 'techvet[dataset]'") from None
    root = Path(folder).resolve()
    check_dataset(root)
    committed = {p.name for p in part_files(root, "apps")}
    con = duckdb.connect(":memory:")
    con.execute(f"SET temp_directory = {_quoted(scratch)}")
    for table in TABLES:
        files = [str(p) for p in part_files(root, table) if p.name in committed]
        try:
            data = ds.dataset(files, format="parquet", schema=arrow_schema(table))
        except (OSError, ValueError) as exc:
            raise InputError(f"{root}: table {table}: {str(exc).splitlines()[0][:200]}") from None
        con.register(table, data)
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def run_query(folder: str | Path, sql: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """(column names, rows) of ``sql`` over the dataset; a bad query is one InputError line."""
    import duckdb
    import pyarrow as pa

    scratch = tempfile.mkdtemp(prefix="techvet-query-")
    try:
        con = connect(folder, scratch)
        cursor = con.execute(sql)
    except (duckdb.Error, pa.ArrowException) as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise InputError(f"query: {str(exc).splitlines()[0]}") from None
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    names = [d[0] for d in cursor.description] if cursor.description is not None else []

    def rows() -> Iterator[tuple[Any, ...]]:
        try:
            while names and (batch := cursor.fetchmany(BATCH)):
                yield from batch
        except (duckdb.Error, pa.ArrowException) as exc:
            raise InputError(f"query: {str(exc).splitlines()[0]}") from None
        finally:
            con.close()
            shutil.rmtree(scratch, ignore_errors=True)

    return names, rows()


def _plain(value: Any) -> Any:
    """A value JSON can hold."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    plain = _plain(value)
    return plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False)


def _shown(value: Any) -> str:
    """A text cell: one line, control characters out (an app's label may hold escape sequences
    meant for the analyst's terminal), cut at :data:`TEXT_WIDTH`."""
    text = "".join(ch if ch.isprintable() else "?" for ch in clean(_cell(value)))
    return text[:TEXT_WIDTH]


def write_result(names: list[str], rows: Iterator[tuple[Any, ...]], fmt: str, out: TextIO) -> int:
    """Write the rows in ``fmt`` (text, csv, json) as they come; return how many there were."""
    count = 0
    if fmt == "json":
        out.write("[")
        for row in rows:
            out.write(("\n" if not count else ",\n") + json.dumps(dict(zip(names, map(_plain, row), strict=True)),
                                                                 ensure_ascii=False))  # fmt: skip
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    if fmt == "csv":
        writer = csv_writer(out)  # a cell that starts like a formula is not one in a spreadsheet
        writer.writerow(names)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
            count += 1
        return count
    first: list[list[str]] = []
    for row in rows:  # widths from the first batch; later rows keep them
        first.append([_shown(v) for v in row])
        if len(first) >= BATCH:
            break
    widths = [max([len(n), *(len(r[i]) for r in first)]) for i, n in enumerate(names)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() + "\n"

    out.write(line([_shown(n) for n in names]))
    out.write(line(["-" * w for w in widths]))
    for cells in first:
        out.write(line(cells))
        count += 1
    for row in rows:
        out.write(line([_shown(v) for v in row]))
        count += 1
    return count
