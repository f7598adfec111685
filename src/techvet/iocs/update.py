"""``techvet iocs update``: fetch the public indicator sources again, never losing good data.

The same rules as ``techvet lists update`` (techvet.screen.update): only this command touches the
network; each source's files are downloaded over https, bounded in size and time, and read by the
same bounded readers as the bundled build. A source whose download fails, cannot be read, or holds
under half the indicators it has in the index in use (a truncated file, a moved repository) keeps
its indicators in use, and the command says so and exits non-zero. The sources that pass replace
theirs in a new index written to a fresh folder; one rename of the ``current`` link then makes it
the index every later run reads.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from techvet.errors import KnowledgeError, TechvetError
from techvet.iocs.build import build_index
from techvet.iocs.index import IndicatorIndex
from techvet.iocs.installed import INDEX_FILE, bundled_index, installed_index
from techvet.knowledge import DATA_DIR, _read, indicators_dir
from techvet.knowledge.installing import install_current

MIN_SHARE = 0.5  # a source giving under half the indicators in use is taken for a broken download

Download = Callable[[str], bytes]


@dataclass
class IocUpdate:
    updated: dict[str, tuple[int, int]] = field(default_factory=dict)  # source -> (indicators before, now)
    kept: dict[str, str] = field(default_factory=dict)  # source -> why the indicators in use were kept
    folder: Path | None = None


def _download(url: str) -> bytes:
    from techvet.screen.update import fetch_url

    return fetch_url(url)


def update_iocs(
    download: Download = _download, today: date | None = None, config: dict[str, Any] | None = None
) -> IocUpdate:
    """Fetch every source of ``config`` (ioc_sources.yaml); install an index when one passed."""
    today = today or date.today()
    config = config or _read(DATA_DIR, "ioc_sources.yaml")
    bundled = bundled_index()
    try:
        current = installed_index()
    except KnowledgeError:  # a damaged installed copy: the update replaces it, measured on the bundled one
        current = bundled
    report = IocUpdate()
    fresh: dict[str, IndicatorIndex] = {}
    for source_id, source in config["sources"].items():
        # measured against the larger of the bundled and the installed copy: updates that each
        # lose a little cannot wear the index down
        before = max(current.only({source_id}).size(), bundled.only({source_id}).size())
        one = {"sources": {source_id: {**source, "date": today.isoformat()}}}  # what has no date of its own
        raw = str(source["raw"])

        def fetch(_: str, name: str, raw: str = raw) -> bytes:
            return download(raw + name)

        try:
            built = build_index(one, fetch, {source_id: f"{source['branch']} as of {today.isoformat()}"})
        except Exception as exc:  # noqa: BLE001 - whatever one source's download does, the others go on
            report.kept[source_id] = f"{_reason(exc)}: kept the {before} indicators in use"
            continue
        now = built.size()
        if now < MIN_SHARE * before:
            report.kept[source_id] = f"the new copy has {now} indicators against {before} in use: kept the copy in use"
            continue
        fresh[source_id] = built
        report.updated[source_id] = (before, now)
    if not report.updated:
        return report
    index = IndicatorIndex()
    for source_id in config["sources"]:  # in the configured order, as the bundled index is built
        index = index.merged(fresh.get(source_id) or current.only({source_id}))
    kept = sorted(set(config["sources"]) - set(report.updated))
    doc = {
        "source": f"techvet iocs update of {today.isoformat()}: {', '.join(sorted(report.updated))} fetched"
        + (f"; {', '.join(kept)} kept as installed before" if kept else ""),
        "as_of": today.isoformat(),
        **index.to_doc(),
    }
    report.folder = _install(doc, config)
    return report


def _reason(exc: Exception) -> str:
    if isinstance(exc, TechvetError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _install(doc: dict[str, object], config: dict[str, Any]) -> Path:
    """Write the index, with the licence notice of each source beside it (the licences travel with
    the data), into a new folder made current in one rename (techvet.knowledge.installing)."""

    def write(folder: Path) -> None:
        (folder / INDEX_FILE).write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
        for source in config["sources"].values():
            shutil.copy(DATA_DIR / str(source["notice"]), folder / str(source["notice"]))

    return install_current(indicators_dir(), "index-", write)


__all__ = ["IocUpdate", "update_iocs"]
