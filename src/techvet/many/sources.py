"""Where a batch's items come from, read as a stream: a million-path list never sits in memory.

A source is a folder (walked, one directory listing at a time, sorted), a text file of paths or
URLs (one per line; ``#`` comments), or a column of a CSV/TSV or Parquet table (``--column``, else
the first column named path, url, uri, file, location or apk). Entries may be fsspec URLs
(``file://``, ``s3://``, ``gs://`` ...): they are fetched where the item runs
(:func:`local_copy`); the object-store drivers are the user's own extra (s3fs, gcsfs ...).
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from techvet.errors import InputError, TechvetError

LIST_SUFFIXES = (".txt", ".list", ".lst")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
PATH_COLUMNS = ("path", "url", "uri", "file", "location", "apk")
MAX_ENTRY_BYTES = 4096  # a path or URL longer than this is not one (PATH_MAX is 4096 on Linux)
BATCH_ROWS = 10_000  # Parquet rows read at a time
FETCH_MAX_BYTES = 4 << 30  # a remote app larger than this is refused, not copied


def is_list(source: str) -> bool:
    """Whether ``source`` names a list of items rather than an item (by its suffix)."""
    return not is_url(source) and source.lower().endswith(LIST_SUFFIXES + TABLE_SUFFIXES) and os.path.isfile(source)


def is_url(source: str) -> bool:
    """A URL with a scheme fsspec can read (``C:\\x`` and bare paths are not)."""
    scheme, sep, _ = source.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum()


def walk(folder: str, suffixes: tuple[str, ...]) -> Iterator[str]:
    """Files below ``folder`` with one of ``suffixes`` (recursive, sorted per directory)."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(suffixes):
                yield str(Path(root) / name)


def count(folder: str, suffixes: tuple[str, ...]) -> int:
    """How many files :func:`walk` yields, without keeping them (for a progress bar's total)."""
    return sum(1 for _ in walk(folder, suffixes))


def entries(source: str, column: str | None = None) -> Iterator[str]:
    """The paths or URLs a list file names, in order."""
    lower = source.lower()
    if lower.endswith((".parquet", ".pq")):
        yield from _parquet_column(source, column)
    elif lower.endswith((".csv", ".tsv")):
        yield from _csv_column(source, column, "\t" if lower.endswith(".tsv") else ",")
    else:
        yield from _lines(source)


def _lines(source: str) -> Iterator[str]:
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below, after the last line is yielded
    except OSError as exc:
        raise TechvetError(f"{source}: cannot read ({exc.strerror})") from None
    with handle:
        for number, raw in enumerate(iter(lambda: handle.readline(MAX_ENTRY_BYTES + 2), b""), 1):
            if len(raw) > MAX_ENTRY_BYTES + 1 or (len(raw) == MAX_ENTRY_BYTES + 1 and not raw.endswith(b"\n")):
                raise InputError(f"{source}: line {number}: longer than {MAX_ENTRY_BYTES} bytes, not a path or URL")
            if b"\0" in raw:
                raise InputError(f"{source}: line {number}: a NUL byte: not a text file of paths")
            line = raw.decode("utf-8", "surrogateescape").strip()  # a path may be any bytes but NUL
            if line and not line.startswith("#"):
                yield line


def _pick(columns: list[str], column: str | None, source: str) -> str:
    if column is not None:
        if column not in columns:
            raise InputError(f"{source}: no column {column!r} (columns: {', '.join(columns[:20])})")
        return column
    for wanted in PATH_COLUMNS:
        for name in columns:
            if name.strip().lower() == wanted:
                return name
    raise InputError(f"{source}: which column holds the paths? none is named {', '.join(PATH_COLUMNS)}: give --column")


def _csv_column(source: str, column: str | None, delimiter: str) -> Iterator[str]:
    try:
        handle = open(source, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as exc:
        raise TechvetError(f"{source}: cannot read ({exc.strerror})") from None
    with handle:  # the csv module's own field limit (128 KiB) bounds a line; a path is checked below
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader, None)
            if not header:
                raise InputError(f"{source}: empty (a header row naming the path column is needed)")
            index = header.index(_pick(header, column, source))
            for record in reader:
                value = record[index].strip() if index < len(record) else ""
                if len(value) > MAX_ENTRY_BYTES:
                    raise InputError(f"{source}: line {reader.line_num}: over {MAX_ENTRY_BYTES} bytes, not a path")
                if value:
                    yield value
        except csv.Error as exc:
            raise InputError(f"{source}: line {reader.line_num}: {exc}") from None


def _parquet_column(source: str, column: str | None) -> Iterator[str]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise TechvetError("a Parquet list of paths needs pyarrow: pip install 'techvet[dataset]'") from None
    try:
        table = pq.ParquetFile(source)
        name = _pick(table.schema_arrow.names, column, source)
        if not pa.types.is_string(table.schema_arrow.field(name).type) and not pa.types.is_large_string(
            table.schema_arrow.field(name).type
        ):
            raise InputError(f"{source}: column {name!r} holds {table.schema_arrow.field(name).type}, not paths")
        for batch in table.iter_batches(batch_size=BATCH_ROWS, columns=[name]):
            for value in batch.column(0).to_pylist():
                if value and value.strip():
                    if len(value) > MAX_ENTRY_BYTES:
                        raise InputError(f"{source}: a value longer than {MAX_ENTRY_BYTES} bytes, not a path or URL")
                    yield value.strip()
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source}: not a readable Parquet file ({str(exc).splitlines()[0][:200]})") from None


class SourceError(Exception):
    """An item's file could not be fetched or opened. ``retry``: the run's problem (a network, a
    mount, a missing file), not the entry's, so a rerun tries it again."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@contextlib.contextmanager
def local_copy(source: str, max_bytes: int = FETCH_MAX_BYTES) -> Iterator[str]:
    """A local path for ``source``: the path itself, a ``file://`` URL's path, or a temporary copy
    of a remote object (removed afterwards; refused past ``max_bytes``)."""
    from techvet.ios.reader import is_ios_app
    if not is_url(source):
        if os.path.isdir(source) and not is_ios_app(source):  # an iOS app may be a folder (.app)
            raise SourceError("a folder, not an app file (give the folder itself to scan what it holds)", retry=False)
        yield source
        return
    parsed = urlparse(source)
    if parsed.scheme.lower() == "file":
        yield unquote(parsed.path)
        return
    try:
        import fsspec
    except ImportError:
        raise SourceError(
            f"reading {parsed.scheme}:// needs fsspec and its driver (pip install 'techvet[cluster]')"
        ) from None
    folder = tempfile.mkdtemp(prefix="techvet-fetch-")
    try:
        target = Path(folder) / (Path(parsed.path).name.replace(os.sep, "_") or "app.apk")
        try:
            with fsspec.open(source, "rb") as remote, open(target, "wb") as local:
                copied = 0
                while chunk := remote.read(1 << 20):
                    copied += len(chunk)
                    if copied > max_bytes:
                        raise SourceError(f"refused: larger than {max_bytes >> 20} MiB")
                    local.write(chunk)
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - fsspec and its drivers: no driver, object, network, credentials
            said = str(exc).splitlines()[0][:200] if str(exc) else ""
            raise SourceError(f"cannot fetch ({type(exc).__name__}: {said})") from None
        yield str(target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
