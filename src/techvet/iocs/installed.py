"""The indicator index in use: the copy ``techvet iocs update`` last installed, else the bundled one,
and a run's own bundles (``--iocs FILE``) merged into it.

The installed copy sits in the user's data folder (``<data dir>/iocs/current/iocs.json``, beside the
list snapshots) behind a ``current`` link that an update replaces in one rename, so a reader never
sees half an index. It is used while it is at least as new as the bundled index: a techvet release
whose bundled index is newer (say, with a false match fixed) wins over an older update. The index
is read once per process and again only when ``current`` points elsewhere (a long-running worker
of the service follows an update without restarting).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from techvet.errors import KnowledgeError
from techvet.iocs.index import BadIndexError, IndicatorIndex
from techvet.knowledge import _chosen, _read, indicators_dir

INDEX_FILE = "iocs.json"


def bundled_folder() -> Path:
    """The knowledge folder whose iocs.json ships with techvet (or ``TECHVET_KNOWLEDGE_DIR``)."""
    return Path(_chosen(None))


def index_folder() -> Path:
    """Where the index in use is read from: the installed copy when there is one at least as new
    as the bundled index, else the bundled knowledge."""
    current = indicators_dir() / "current" / INDEX_FILE
    if not current.is_file():
        return bundled_folder()
    installed = current.resolve()
    return _newer(str(installed.parent), installed.stat().st_mtime_ns, str(bundled_folder()))


@lru_cache(maxsize=4)
def _newer(installed: str, _mtime: int, bundled: str) -> Path:
    """The installed folder unless the bundled index is dated later (read once per version)."""
    return Path(bundled) if _index(bundled)[0]["as_of"] > _index(installed)[0]["as_of"] else Path(installed)


def installed_index() -> IndicatorIndex:
    """The index in use (read once per process and folder), with the process's own bundles."""
    folder = str(index_folder())
    return _with_own(folder, tuple(_bundles)) if _bundles else _index(folder)[1]


def installed_document() -> dict[str, Any]:
    """The index document in use, with its provenance (source, as_of, sources, families)."""
    return _index(str(index_folder()))[0]


@lru_cache(maxsize=4)
def _index(folder: str) -> tuple[dict[str, Any], IndicatorIndex]:
    doc = _read(Path(folder), INDEX_FILE)
    try:
        return doc, IndicatorIndex.from_doc(doc)
    except BadIndexError as exc:
        raise KnowledgeError(f"{Path(folder) / INDEX_FILE}: {exc}") from None


def bundled_index() -> IndicatorIndex:
    """The index that ships with techvet, whatever is installed (what an update falls back on when
    the installed copy is damaged, and measures a new download against)."""
    return _index(str(bundled_folder()))[1]


_bundles: list[str] = []  # this process's own bundles (a service worker's serve --iocs)


def use_bundles(paths: Iterable[str]) -> None:
    """Match everything this process scans or reads with these STIX bundles too, beside the
    installed index: a worker of ``techvet serve --iocs`` (its scans, captures and re-judgings).
    The bundles are read once, on first use."""
    _bundles[:] = list(paths)


@lru_cache(maxsize=2)
def _with_own(folder: str, paths: tuple[str, ...]) -> IndicatorIndex:
    return _merge(_index(folder)[1], paths)


def with_bundles(paths: Iterable[str]) -> IndicatorIndex:
    """The index in use and the user's STIX bundles at ``paths`` together, for one run. Raises
    :class:`techvet.iocs.values.IndicatorFileError` (one line) for a bundle techvet does not read."""
    return _merge(installed_index(), tuple(paths))


def _merge(index: IndicatorIndex, paths: tuple[str, ...]) -> IndicatorIndex:
    from techvet.iocs.stix import read_bundle

    extra = IndicatorIndex()
    for path in paths:
        read_bundle(path, extra, source=path)  # by its path: two bundles of one name stay two sources
        extra.sources.append({"id": path, "title": "a bundle given with --iocs", "licence": "as its publisher says"})
    return index.merged(extra)


__all__ = [
    "INDEX_FILE",
    "bundled_index",
    "index_folder",
    "installed_document",
    "installed_index",
    "use_bundles",
    "with_bundles",
]
