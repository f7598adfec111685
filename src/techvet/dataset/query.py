"""``techvet query DIR "SQL"``: DuckDB over a dataset, each table a view under its name.

The connection can read the dataset's folder and nothing else (``allowed_directories``,
``enable_external_access`` off, the configuration then locked): a query cannot read other files,
write files or fetch URLs, so a query pasted from elsewhere stays a question about the dataset.
Results are fetched a batch at a time, so a query over millions of rows streams.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from techvet.dataset.tables import TABLES, arrow_schema
from techvet.dataset.writer import check_dataset, part_files
from techvet.errors import InputError, TechvetError

BATCH = 2048
TEXT_WIDTH = 60  # a text cell longer than this is cut (csv and json give it whole)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(folder: str | Path) -> Any:
    """A DuckDB connection with a view per table of the dataset at ``folder``."""
    try:
        import duckdb
    except ImportError:
        raise TechvetError("techvet query needs DuckDB: pip install 'techvet[dataset]'") from None
    root = Path(folder).resolve()
    check_dataset(root)
    con = duckdb.connect(":memory:")
    con.execute(f"SET allowed_directories = [{_quote(str(root) + '/')}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    for table in TABLES:
        if part_files(root, table):
            pattern = _quote(str(root / table / "part-*.parquet"))
            try:
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({pattern}, union_by_name = true)")
            except duckdb.Error as exc:  # a part that is not Parquet: said here, once
                raise InputError(f"{root}: table {table}: {str(exc).splitlines()[0]}") from None
        else:  # no rows yet: still a table with its columns, so a query over it answers nothing
            empty = arrow_schema(table).empty_table()
            con.register(f"_empty_{table}", empty)
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM _empty_{table}")
    return con


def run_query(folder: str | Path, sql: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """(column names, rows) of ``sql`` over the dataset; a bad query is one InputError line."""
    import duckdb

    con = connect(folder)
    try:
        cursor = con.execute(sql)
    except duckdb.Error as exc:
        raise InputError(f"query: {str(exc).splitlines()[0]}") from None
    if cursor.description is None:
        return [], iter(())
    names = [d[0] for d in cursor.description]

    def rows() -> Iterator[tuple[Any, ...]]:
        try:
            while batch := cursor.fetchmany(BATCH):
                yield from batch
        except duckdb.Error as exc:
            raise InputError(f"query: {str(exc).splitlines()[0]}") from None
        finally:
            con.close()

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
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
            count += 1
        return count
    first: list[list[str]] = []
    for row in rows:  # widths from the first batch; later rows keep them
        first.append([_cell(v)[:TEXT_WIDTH].replace("\n", " ") for v in row])
        if len(first) >= BATCH:
            break
    widths = [max([len(n), *(len(r[i]) for r in first)]) for i, n in enumerate(names)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() + "\n"

    out.write(line(names))
    out.write(line(["-" * w for w in widths]))
    for cells in first:
        out.write(line(cells))
        count += 1
    for row in rows:
        out.write(line([_cell(v)[:TEXT_WIDTH].replace("\n", " ") for v in row]))
        count += 1
    return count
