"""The SDK catalogue as a listing: what ``techvet rules --sdks`` prints, and its size by source.

The catalogue is built from several maintained sources (tools/build_sdk_catalogue.py); a reader who
relies on "no SDK of a listed vendor" needs to see how large it is, where each entry comes from and
under which licence, and how many entries lack a known maker.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from techvet.knowledge import Knowledge


def source_name(source: str) -> str:
    """A short name for an entry's source ("Exodus Privacy (ODbL)", "hand-curated", ...)."""
    if source.startswith("public SDK documentation"):
        return "hand-curated (vendor documentation, public analyses)"
    return source


def sdk_rows(kb: Knowledge) -> list[dict[str, Any]]:
    """One row per catalogue SDK, sorted by vendor country, vendor and name (unknown makers last)."""
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "vendor": s.vendor,
            "country": s.country,
            "category": s.category,
            "prefixes": list(s.prefixes),
            "components": len(s.components),
            "source": source_name(s.source),
        }
        for s in kb.sdks.values()
    ]
    return sorted(
        rows, key=lambda r: (r["country"] is None, r["country"] or "", (r["vendor"] or "~").casefold(), r["name"])
    )


def summary(kb: Knowledge) -> dict[str, Any]:
    """Counts a reader can quote: SDKs, with a maker, Chinese, by source; libraries set aside."""
    sdks = list(kb.sdks.values())
    doc = kb.sources.get("sdk_catalogue.json", ("", ""))
    return {
        "sdks": len(sdks),
        "with_vendor": sum(1 for s in sdks if s.vendor),
        "with_country": sum(1 for s in sdks if s.country),
        "by_country": dict(Counter(s.country for s in sdks if s.country).most_common()),
        "by_source": dict(Counter(source_name(s.source) for s in sdks).most_common()),
        "manifest_components": len(kb.sdk_by_component),
        "open_source_and_platform_packages": len(kb.library_by_prefix),
        "built": doc[1],
        "licences": {
            "Exodus Privacy (ODbL)": "Open Database License 1.0 (EXODUS-LICENSE.md)",
            "LibChecker-Rules (Apache-2.0)": "Apache License 2.0 (LIBCHECKER-LICENSE.txt)",
            "LibRadar (Apache-2.0)": "Apache License 2.0 (LIBRADAR-LICENSE.txt)",
            "third-party SDK disclosure list": "facts (SDK name, maker, packages) as published by the apps",
        },
    }


__all__ = ["sdk_rows", "source_name", "summary"]
