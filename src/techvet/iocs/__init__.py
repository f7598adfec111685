"""Known surveillance tools: published indicators (STIX 2.1 bundles, Echap's stalkerware list) and
an index that says whether an app or a capture is, or talks like, one of them.

``installed_index()`` is the index in use (bundled, or the copy ``techvet iocs update`` installed);
``with_bundles(paths)`` adds a user's bundles for one run; ``IndicatorIndex.match_*`` look facts up.
The detectors that turn matches into findings are in :mod:`techvet.detect.iocs`.
"""

from __future__ import annotations

from techvet.iocs.index import KIND_NAMES, Entry, Family, IndicatorIndex, Match
from techvet.iocs.installed import installed_document, installed_index, with_bundles
from techvet.iocs.stix import BundleError, read_bundle

__all__ = [
    "KIND_NAMES",
    "BundleError",
    "Entry",
    "Family",
    "IndicatorIndex",
    "Match",
    "installed_document",
    "installed_index",
    "read_bundle",
    "with_bundles",
]
