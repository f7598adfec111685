"""Known surveillance tools: published indicators (STIX 2.1 bundles, Echap's stalkerware list) and
an index that says whether an app or a capture is, or talks like, one of them.

``installed_index()`` is the index in use (bundled, or the copy ``techvet iocs update`` installed);
``with_bundles(paths)`` adds a user's bundles for one run; ``IndicatorIndex.match_*`` look facts up.
The detectors that turn matches into findings are in :mod:`techvet.detect.iocs`.

The names are imported on first use (PEP 562): the command line builds its ``--iocs`` options from
:mod:`techvet.iocs.command` on every start, and must not pay for the readers then.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from techvet.iocs.index import KIND_NAMES, Entry, Family, IndicatorIndex, Match
    from techvet.iocs.installed import installed_document, installed_index, with_bundles
    from techvet.iocs.stix import read_bundle
    from techvet.iocs.values import IndicatorFileError

_WHERE = {
    "KIND_NAMES": "index",
    "Entry": "index",
    "Family": "index",
    "IndicatorIndex": "index",
    "Match": "index",
    "installed_document": "installed",
    "installed_index": "installed",
    "with_bundles": "installed",
    "read_bundle": "stix",
    "IndicatorFileError": "values",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'techvet.iocs' has no attribute {name!r}")
    return getattr(import_module(f"techvet.iocs.{_WHERE[name]}"), name)


__all__ = [
    "KIND_NAMES",
    "Entry",
    "Family",
    "IndicatorFileError",
    "IndicatorIndex",
    "Match",
    "installed_document",
    "installed_index",
    "read_bundle",
    "with_bundles",
]
