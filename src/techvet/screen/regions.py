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
# Chinese cities name streets after provinces and cities (Xinjiang Road in Shanghai and Qingdao): a
# place name followed by one of these is a street, which says nothing of the region
_STREET_WORDS = frozenset({"road", "rd", "street", "st", "avenue", "ave", "lu", "jie", "dadao", "lane", "xiang"})
_HAN_STREET = ("路", "街", "大道", "巷")


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


@dataclass(frozen=True)
class _Gazetteer:
    """Spellings as dictionary keys: a field is cut into words (and Han runs into substrings) and
    each is looked up. A regular expression of all 150 spellings (with word boundaries, any case)
    took 0.7 ms a row; lookups take a few microseconds."""

    places: tuple[_Place, ...]
    latin: dict[str, list[int]]  # "xinjiang uyghur autonomous region" -> place numbers
    han: dict[str, list[int]]
    max_words: int
    han_lengths: tuple[int, ...]


_compiled: dict[int, tuple[dict[str, Any], _Gazetteer]] = {}  # id(doc) -> (doc, gazetteer)
_WORD = re.compile(r"[^\W\d_]+")
_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def _gazetteer(kb: Knowledge) -> _Gazetteer:
    """The gazetteer as lookups, built once per loaded gazetteer (the entry holds the document, so
    its id is not reused while cached)."""
    doc = kb.xinjiang_places
    held = _compiled.get(id(doc))
    if held is not None and held[0] is doc:
        return held[1]
    ambiguous = {a.casefold() for a in doc.get("ambiguous_latin", [])}
    places: list[_Place] = []
    latin: dict[str, list[int]] = {}
    han: dict[str, list[int]] = {}
    for place in doc["places"]:
        label = f"{place['han']} ({place['latin'][0]})" if place["latin"] else place["han"]
        strong_kind = place["kind"] in _STRONG_KINDS
        han.setdefault(place["han"], []).append(len(places))
        places.append(_Place(label, place["kind"], strong_kind and len(place["han"]) >= 2))
        for spelling in place["latin"]:
            key = " ".join(_WORD.findall(spelling.casefold()))
            if _HAN_RUN.fullmatch(spelling):
                han.setdefault(spelling, []).append(len(places))
            else:
                latin.setdefault(key, []).append(len(places))
            places.append(_Place(label, place["kind"], strong_kind and spelling.casefold() not in ambiguous))
    max_words = max((k.count(" ") + 1 for k in latin), default=1)
    gazetteer = _Gazetteer(tuple(places), latin, han, max_words, tuple(sorted({len(k) for k in han})))
    _compiled[id(doc)] = (doc, gazetteer)
    return gazetteer


def _as_written(text: str, key: str) -> str:
    """The words of ``key`` as they are written in ``text`` (case and separators kept)."""
    pattern = r"[\W_]+".join(re.escape(w) for w in key.split())
    m = re.search(pattern, text, re.IGNORECASE)
    return m.group(0) if m else key


def _found(gazetteer: _Gazetteer, text: str) -> list[tuple[int, str]]:
    """(place number, text as found) for every spelling in ``text``."""
    out = []
    words = _WORD.findall(text.casefold())
    for n in range(1, gazetteer.max_words + 1):
        for i in range(len(words) - n + 1):
            key = " ".join(words[i : i + n])
            if i + n < len(words) and words[i + n] in _STREET_WORDS:
                continue  # "Xinjiang Road, Shanghai": a street named after the place, elsewhere
            for number in gazetteer.latin.get(key, ()):
                out.append((number, _as_written(text, key)))
    for run in _HAN_RUN.findall(text):
        for i in range(len(run)):
            for size in gazetteer.han_lengths:
                piece = run[i : i + size]
                if run.startswith(_HAN_STREET, i + size):
                    continue  # 新疆路: a street named after the place, in another city
                if len(piece) == size:
                    for number in gazetteer.han.get(piece, ()):
                        out.append((number, piece))
    return out


def xinjiang_exposure(
    fields: dict[str, str | None], country: str | None = None, kb: Knowledge | None = None
) -> list[Exposure]:
    """Places in Xinjiang named in ``fields`` (name, address, parent ...), one per place and field."""
    gazetteer = _gazetteer(kb or load())
    texts = {k: v for k, v in fields.items() if v}
    strong_hits: list[tuple[_Place, str, str]] = []
    weak_hits: list[tuple[_Place, str, str]] = []
    for fieldname, text in texts.items():
        for number, found in _found(gazetteer, text):
            place = gazetteer.places[number]
            (strong_hits if place.strong else weak_hits).append((place, fieldname, found))
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
