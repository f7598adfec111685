"""The per-app job of a dataset run: fetch, hash, skip what the dataset has, scan, flatten.

It runs in a worker (a process of the local pool or of a Dask cluster) and hands back only rows:
a few kilobytes per app, never the scan result with its DEX images.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from techvet.dataset.tables import rows_of
from techvet.many.outcome import Failed
from techvet.many.sources import SourceError, local_copy


@dataclass(frozen=True, slots=True)
class AppRows:
    """One app's rows, by table."""

    sha256: str
    tables: dict[str, list[dict[str, Any]]]

    @property
    def app(self) -> dict[str, Any]:
        return self.tables["apps"][0]


@dataclass(frozen=True, slots=True)
class AlreadyThere:
    """An app the dataset holds already (by its SHA-256), not scanned again."""

    sha256: str


@dataclass(frozen=True, slots=True)
class Shared:
    """What every item of a run shares, sent once to each worker."""

    done: Any  # techvet.dataset.done.DoneSet, or None
    policy: Any  # the AppPolicy, read by the parent (a remote worker need not see the file)
    indicators: Any = None  # the known tools' index with the run's --iocs bundles; None: the one in use


@lru_cache(maxsize=1)
def stamp() -> dict[str, str]:
    """The techvet version, knowledge identity and list snapshot this worker scans under (once per
    worker: they change only when the worker's installation does)."""
    from techvet import __version__
    from techvet.knowledge import identity, load

    kb = load()
    lists = kb.restriction_forms.lists
    snapshot = " ".join(f"{name}@{lists[name].get('as_of') or '?'}" for name in sorted(lists))
    return {"techvet_version": __version__, "knowledge": identity(str(kb.directory)), "lists": snapshot}


def file_sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _hashed(path: str) -> str:
    try:
        return file_sha256(path)
    except OSError as exc:
        raise SourceError(f"cannot read ({exc.strerror or exc})") from None


def scan_rows(source: str, shared: Shared) -> AppRows | AlreadyThere | Failed:
    """Scan ``source`` (a path or fsspec URL) into dataset rows, unless the dataset has it.

    With apps to skip, the file is hashed before it is scanned; without, the scan's own hash of it
    is used (a file that could not be read as an app is hashed here), so a first run reads and
    hashes each app once, not twice."""
    from techvet.scan import scan_as

    try:
        with local_copy(source) as path:
            sha256 = None
            if shared.done is not None:
                sha256 = _hashed(path)
                if sha256 in shared.done:
                    return AlreadyThere(sha256)
            result = scan_as(path, source, None, shared.indicators)
            if result.ok:
                result.judge(shared.policy)
            doc = result.to_dict()
            if sha256 is None:
                sha256 = result.app.sha256 if result.app is not None else _hashed(path)
    except SourceError as exc:
        return Failed(str(exc), exc.retry)
    scanned_at = datetime.now(UTC)
    return AppRows(sha256, rows_of(doc, sha256, source, {**stamp(), "scanned_at": scanned_at}))  # type: ignore[dict-item]
