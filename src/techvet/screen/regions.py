"""Forced-labour region exposure: does a name or address place a supplier in Xinjiang?

Under the Uyghur Forced Labor Prevention Act, goods made wholly or in part in Xinjiang are presumed
to be made with forced labour, so a supplier there is flagged even when it is on no list. Places
come from xinjiang_places.json (region, prefectures, cities, counties, the XPCC and its cities, in
Han and Latin spellings).

Precision matters as much as recall: many county and city names recur elsewhere in China (新星,
双河, Xinhe, Shanshan) and some Latin names elsewhere in the world (Bole, Aral, Aksu). So the region,
the XPCC and prefecture names count wherever they appear; county, city and ambiguous names count
only with a Xinjiang context in the same row: one of the former, or a Xinjiang postcode (83xxxx,
84xxxx) in a Chinese address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from techvet.knowledge import Knowledge, load

_STRONG_KINDS = ("region", "xpcc", "prefecture")
_POSTCODE = re.compile(r"(?<!\d)8[34]\d{4}(?!\d)")


@dataclass(frozen=True)
class Exposure:
    place: str  # the place as the gazetteer names it (Han / first Latin form)
    kind: str
    field: str  # name | address | parent
    found: str  # the text that matched
    context: str | None  # what made a weak name count, if it needed to

    def to_dict(self) -> dict[str, Any]:
        return {
            "place": self.place,
            "kind": self.kind,
            "field": self.field,
            "found": self.found,
            "context": self.context,
        }


@dataclass(frozen=True)
class _Place:
    label: str
    kind: str
    strong: bool
    pattern: re.Pattern[str]


_compiled: dict[int, tuple[dict[str, Any], tuple[_Place, ...]]] = {}  # id(doc) -> (doc, patterns)


def _places(kb: Knowledge) -> tuple[_Place, ...]:
    """The gazetteer's patterns, compiled once per loaded gazetteer (the entry holds the document,
    so its id is not reused while cached)."""
    doc = kb.xinjiang_places
    held = _compiled.get(id(doc))
    if held is not None and held[0] is doc:
        return held[1]
    ambiguous = {a.casefold() for a in doc.get("ambiguous_latin", [])}
    out = []
    for place in doc["places"]:
        label = f"{place['han']} ({place['latin'][0]})" if place["latin"] else place["han"]
        strong_kind = place["kind"] in _STRONG_KINDS
        forms = [(place["han"], strong_kind and len(place["han"]) >= 2)]
        forms += [(latin, strong_kind and latin.casefold() not in ambiguous) for latin in place["latin"]]
        for form, strong in forms:
            if re.search(r"[A-Za-z]", form):
                pattern = re.compile(rf"(?<![A-Za-z]){re.escape(form)}(?![A-Za-z])", re.IGNORECASE)
            else:
                pattern = re.compile(re.escape(form))
            out.append(_Place(label, place["kind"], strong, pattern))
    _compiled[id(doc)] = (doc, tuple(out))
    return tuple(out)


def xinjiang_exposure(
    fields: dict[str, str | None], country: str | None = None, kb: Knowledge | None = None
) -> list[Exposure]:
    """Places in Xinjiang named in ``fields`` (name, address, parent ...), one per place and field."""
    places = _places(kb or load())
    texts = {k: v for k, v in fields.items() if v}
    strong_hits: list[tuple[_Place, str, str]] = []
    weak_hits: list[tuple[_Place, str, str]] = []
    for fieldname, text in texts.items():
        for place in places:
            m = place.pattern.search(text)
            if m is not None:
                (strong_hits if place.strong else weak_hits).append((place, fieldname, m.group(0)))
    context = None
    if strong_hits:
        context = f"{strong_hits[0][2]!r} in the {strong_hits[0][1]}"
    elif (country or "").upper() in ("CN", "") and texts.get("address"):
        code = _POSTCODE.search(texts["address"] or "")
        if code is not None:
            context = f"Xinjiang postcode {code.group(0)} in the address"
    out: dict[tuple[str, str], Exposure] = {}
    for place, fieldname, found in strong_hits:
        out.setdefault((place.label, fieldname), Exposure(place.label, place.kind, fieldname, found, None))
    if context is not None:
        for place, fieldname, found in weak_hits:
            out.setdefault((place.label, fieldname), Exposure(place.label, place.kind, fieldname, found, context))
    return list(out.values())


__all__ = ["Exposure", "xinjiang_exposure"]
