"""Writing a dataset: a folder of Parquet parts per table, committed as results arrive.

Layout: ``DIR/techvet-dataset.json`` (what the folder is, its runs) and ``DIR/<table>/part-*.parquet``
for each table of :mod:`techvet.dataset.tables`. A part is the rows of the apps finished since the
last one (every ``part_apps`` apps or ``part_seconds`` seconds): its files are written under a
temporary name, renamed, and the ``apps`` file last. The ``apps`` file is the commit: a part whose
other tables were written but whose ``apps`` file was not (the run was killed between) is removed
when the folder is next opened, so an interrupted run keeps every app it finished, whole, and
nothing twice.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from techvet.dataset.done import DoneSet
from techvet.dataset.tables import TABLES, arrow_schema
from techvet.errors import TechvetError

MARKER = "techvet-dataset.json"
FORMAT = "techvet-dataset"
PARTIAL = ".partial"
LOCK = ".techvet-writing"
_WRITING: set[str] = set()  # the dataset folders this process is writing


def _arrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise TechvetError("--format parquet needs pyarrow: pip install 'techvet[dataset]'") from None
    return pa, pq


def check_dataset(folder: Path) -> dict[str, Any]:
    """The folder's marker, if it is a techvet dataset; else one clear error."""
    marker = folder / MARKER
    try:
        doc = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TechvetError(f"{folder}: not a techvet dataset (no {MARKER})") from None
    except (OSError, ValueError) as exc:
        raise TechvetError(f"{folder}/{MARKER}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise TechvetError(f"{folder}/{MARKER}: not a techvet dataset marker")
    return doc


def part_files(folder: Path, table: str) -> list[Path]:
    """The committed part files of ``table`` (sorted)."""
    directory = folder / table
    return sorted(directory.glob("part-*.parquet")) if directory.is_dir() else []


class DatasetWriter:
    """Adds apps' rows to the dataset in ``folder`` (made if new), part by part."""

    def __init__(self, folder: str | Path, part_apps: int = 1000, part_seconds: float = 60.0) -> None:
        self.pa, self.pq = _arrow()
        self.folder = Path(folder)
        self.part_apps, self.part_seconds = part_apps, part_seconds
        self._open()
        self.run = uuid.uuid4().hex[:12]
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.parts = 0
        self.added = 0
        self._buffer: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
        self._buffered = 0
        self._since = time.monotonic()
        self._seen: set[str] = set()

    def _lock(self) -> None:
        """One writer per dataset: a second run on the same folder would remove the first one's
        part in progress as left over. A POSIX record lock (``lockf``), which belongs to this
        process alone: an ``flock`` would be shared with the pool's forked workers and outlive
        the run while they are being killed. Within the process, a set of the folders open."""
        import fcntl

        key = str(self.folder.resolve())
        if key in _WRITING:
            raise TechvetError(f"{self.folder}: another techvet run is writing this dataset")
        self._lock_file = open(self.folder / LOCK, "a+b")  # noqa: SIM115 - held until close
        try:
            fcntl.lockf(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise TechvetError(f"{self.folder}: another techvet run is writing this dataset") from None
        _WRITING.add(key)
        self._key = key

    def _open(self) -> None:
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise TechvetError(f"{folder}: a file, not a folder: --format parquet writes a dataset folder")
        try:
            if folder.is_dir() and any(folder.iterdir()):
                self.marker = check_dataset(folder)
                self._lock()
                self._remove_uncommitted()
            else:
                folder.mkdir(parents=True, exist_ok=True)
                self._lock()
                self.marker = {"format": FORMAT, "version": 1, "tables": list(TABLES), "runs": []}
                self._write_marker()
            for table in TABLES:
                (folder / table).mkdir(exist_ok=True)
        except OSError as exc:
            raise TechvetError(f"{folder}: cannot write the dataset ({exc.strerror or exc})") from None

    def _remove_uncommitted(self) -> None:
        """Parts without their ``apps`` file, and files left half-written, from an interrupted run."""
        committed = {p.name for p in part_files(self.folder, "apps")}
        for table in TABLES:
            directory = self.folder / table
            if not directory.is_dir():
                continue
            for path in directory.iterdir():
                if path.name.endswith(PARTIAL) or (table != "apps" and path.name not in committed):
                    path.unlink(missing_ok=True)

    def _write_marker(self) -> None:
        target = self.folder / MARKER
        temporary = target.with_name(target.name + PARTIAL)
        temporary.write_text(json.dumps(self.marker, indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, target)

    def done(self) -> DoneSet:
        """The SHA-256 of every app the dataset holds (read one column, a batch at a time)."""
        digests: list[str] = []
        for path in part_files(self.folder, "apps"):
            try:
                table = self.pq.ParquetFile(path)
                for batch in table.iter_batches(columns=["sha256"]):
                    digests.extend(d for d in batch.column(0).to_pylist() if d)
            except (OSError, self.pa.ArrowException) as exc:
                raise TechvetError(f"{path}: unreadable part ({str(exc).splitlines()[0][:200]})") from None
        return DoneSet(digests)

    def add(self, tables: dict[str, list[dict[str, Any]]], sha256: str) -> bool:
        """Buffer one app's rows (False: the same app came earlier in this run, under another name)."""
        if sha256 in self._seen:
            return False
        self._seen.add(sha256)
        for table, rows in tables.items():
            self._buffer[table].extend(rows)
        self._buffered += 1
        self.added += 1
        if self._buffered >= self.part_apps:
            self.flush()
        return True

    def tick(self) -> None:
        """Commit what is buffered once it is ``part_seconds`` old (called for every result, so a
        run of skipped or failed apps does not hold finished ones back)."""
        if self._buffered and time.monotonic() - self._since >= self.part_seconds:
            self.flush()

    def flush(self) -> None:
        """Commit what is buffered as one part (the ``apps`` file last)."""
        if not self._buffered:
            return
        name = f"part-{self.run}-{self.parts:05d}.parquet"
        for table in (*(t for t in TABLES if t != "apps"), "apps"):
            rows = self._buffer[table]
            if not rows and table != "apps":
                continue
            target = self.folder / table / name
            temporary = target.with_name(name + PARTIAL)
            try:
                frame = self.pa.Table.from_pylist(rows, schema=arrow_schema(table))
                self.pq.write_table(frame, temporary, compression="zstd")
                os.replace(temporary, target)
            except (OSError, ValueError, self.pa.ArrowException) as exc:
                self._buffer = {t: [] for t in TABLES}  # said once: close() does not try it again
                self._buffered = 0
                said = getattr(exc, "strerror", None) or str(exc).splitlines()[0][:200]
                raise TechvetError(f"{target}: cannot write ({said})") from None
        self.parts += 1
        self._buffer = {t: [] for t in TABLES}
        self._buffered = 0
        self._since = time.monotonic()

    def close(self, summary: dict[str, Any] | None = None) -> None:
        """Commit the last part, record the run in the marker, let another run write."""
        try:
            self.flush()
            now = datetime.now(UTC).isoformat(timespec="seconds")
            run = {"run": self.run, "started": self.started, "finished": now, "apps_added": self.added}
            self.marker.setdefault("runs", []).append({**run, **(summary or {})})
            self._write_marker()
        finally:
            _WRITING.discard(self._key)
            self._lock_file.close()
