"""Build the indicator index from its sources (knowledge/data/ioc_sources.yaml).

One function for both places an index is made: ``tools/build_iocs.py`` reads the sources from a
local copy (``../shared/knowledge/iocs``) into the bundled ``iocs.json``, and ``techvet iocs update``
reads them from their public repositories. ``fetch(source_id, file)`` returns a file's bytes either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from techvet.iocs.echap import echap_index
from techvet.iocs.index import IndicatorIndex
from techvet.iocs.stix import bundle_index
from techvet.iocs.values import IndicatorFileError, read_yaml, texts

Fetch = Callable[[str, str], bytes]
PROVENANCE = ("title", "home", "commit", "date", "licence", "notice")


def build_index(config: dict[str, Any], fetch: Fetch, commits: dict[str, str] | None = None) -> IndicatorIndex:
    """Every source of ``config`` (ioc_sources.yaml) read through ``fetch`` into one index.
    ``commits``: the version actually read of a source, when it is not the configured one (an
    update reads the newest). Raises :class:`IndicatorFileError` naming the file that is not readable."""
    index = IndicatorIndex()
    for source_id, source in config["sources"].items():
        commit = (commits or {}).get(source_id, source["commit"])
        index.sources.append({"id": source_id, **{k: str(source[k]) for k in PROVENANCE}, "commit": commit})
        home, licence, date = str(source["home"]), str(source["licence"]), str(source["date"])
        if source["format"] == "echap":
            for name in source["files"]:
                echap_index(fetch(source_id, name), f"{source_id}/{name}", index, source_id, licence, date, home)
            continue
        reports = _reports(fetch(source_id, source["list"]), source, source_id) if source.get("list") else {}
        for name in source["files"]:
            refs = reports.get(name) or (f"{home}/blob/{_version(commit, source)}/{name}",)
            bundle_index(fetch(source_id, name), f"{source_id}/{name}", index, source_id, licence, refs, date)
    return index


def _version(commit: str, source: dict[str, Any]) -> str:
    """What a link into the source's repository names: the commit read, else its branch."""
    return commit if len(commit) == 40 and all(c in "0123456789abcdef" for c in commit) else str(source["branch"])


def _reports(data: bytes, source: dict[str, Any], source_id: str) -> dict[str, tuple[str, ...]]:
    """MVT's indicators.yaml: per bundle of this repository, the reports that document it."""
    doc = read_yaml(data, f"{source_id}/{source['list']}")
    if not isinstance(doc, dict):
        raise IndicatorFileError(f"{source_id}/{source['list']}: not a list of indicator files")
    home = str(source["home"]).removeprefix("https://github.com/")
    out: dict[str, tuple[str, ...]] = {}
    for entry in texts(doc.get("indicators")):
        github = entry.get("github") if isinstance(entry, dict) else None
        if not isinstance(github, dict) or f"{github.get('owner')}/{github.get('repo')}" != home:
            continue
        refs = [r for r in texts(entry.get("references")) if isinstance(r, str) and r.startswith("https://")]
        out[str(github.get("path"))] = tuple(refs[:8])
    return out


__all__ = ["Fetch", "build_index"]
