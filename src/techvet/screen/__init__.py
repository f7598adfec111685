"""Screening names against the bundled restriction and ban lists.

A match is a *possible* match to verify, never a finding that a party is the listed one: the score
says how alike the names are (see :mod:`techvet.screen.index` for how it is computed) and the
explanation says which name met which listed alias through which words. Identifiers (USCC, ISIN,
LEI) match exactly. People are screened only when asked (``include_people``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from techvet.entry import make_callable
from techvet.knowledge import Knowledge, load

if TYPE_CHECKING:  # the index (and rapidfuzz) load when screening starts, not when a scan imports names
    from techvet.screen.index import Scored, ScreeningIndex

DEFAULT_THRESHOLD = 0.80
_COUNTRY_MISMATCH = 0.9  # a name alike but registered in another country counts a little less


@dataclass(frozen=True)
class Match:
    list: str
    list_title: str
    party_id: str
    name: str  # the party's primary listed name
    matched_alias: str  # the listed name (primary or alias) that matched
    score: float
    type: str
    country: str | None
    program: str | None
    listed_on: str | None
    via: str  # name | identifier | parent
    # what the explanation is made of; the text is built only when asked for (most matches of a
    # 100,000-row file are counted or written as CSV without it being read twice)
    reason: tuple[Any, ...] = field(repr=False, compare=False)

    @property
    def why(self) -> str:
        kind, *rest = self.reason
        if kind == "identifier":
            return f"identifier {rest[0]} is listed for this party"
        text, scored, country_note = rest
        why = _explain(text, scored) + country_note
        return f"through its parent company: {why}" if self.via == "parent" else why

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.list,
            "list_title": self.list_title,
            "party_id": self.party_id,
            "name": self.name,
            "matched_alias": self.matched_alias,
            "score": round(self.score, 3),
            "type": self.type,
            "country": self.country,
            "program": self.program,
            "listed_on": self.listed_on,
            "why": self.why,
            "via": self.via,
        }


def screen(
    name: str,
    *,
    country: str | None = None,
    identifiers: list[str] | tuple[str, ...] = (),
    parent: str | None = None,
    include_people: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    kb: Knowledge | None = None,
) -> list[Match]:
    """Possible matches for one party, best first (at most one per listed party)."""
    from techvet.screen.index import _normal_id

    kb = kb or load()
    index = kb.screening_index
    best: dict[int, Match] = {}
    if country:
        from techvet.countries import country_code

        country = country_code(country)  # "China" is CN; a name that is no country compares with nothing

    def keep(party_id: int, match: Match) -> None:
        held = best.get(party_id)
        if held is None or match.score > held.score:
            best[party_id] = match

    for value in identifiers:
        for party_id in index.identifiers.get(_normal_id(value), ()):
            party = index.parties[party_id]
            if _wanted(party, include_people):
                keep(party_id, _match(kb, party, party["name"], 1.0, ("identifier", value), "identifier"))
    for via, text in (("name", name), ("parent", parent)):
        if not text or not text.strip():
            continue
        for party_id, scored in _scored(index, text, threshold).items():
            party = index.parties[party_id]
            if not _wanted(party, include_people):
                continue
            score = scored.score
            mismatch = bool(country and party.get("country") and country.upper() != party["country"])
            if mismatch:
                score *= _COUNTRY_MISMATCH
            if score < threshold:
                continue
            note = f"; listed country {party['country']}, given {str(country).upper()}" if mismatch else ""
            keep(party_id, _match(kb, party, scored.alias.text, score, ("name", text, scored, note), via))
    # equal scores: the plainer listed name first ("Huawei Technologies Co., Ltd." before its
    # "(Australia) Pty Ltd." affiliate), then by list
    return sorted(best.values(), key=lambda m: (-round(m.score, 6), len(m.name), m.list, m.name))


def _wanted(party: dict[str, Any], include_people: bool) -> bool:
    return include_people or party.get("type") != "person"


def _scored(index: ScreeningIndex, text: str, threshold: float) -> dict[int, Scored]:
    """The best-scoring alias of every party reaching ``threshold``, over the query's forms."""
    out: dict[int, Scored] = {}
    for query in index.query_tokens(text):
        for party_id, scored in index.best_per_party(query, threshold).items():
            held = out.get(party_id)
            if held is None or scored.score > held.score:
                out[party_id] = scored
    return out


def _explain(text: str, scored: Scored) -> str:
    pairs = ", ".join(q if q == a and s == 1.0 else f"{q}~{a} ({s:.2f})" for q, a, s in scored.matched)
    why = f"{text!r} ~ listed {scored.alias.text!r}: shared {pairs or 'nothing'}"
    if scored.query_only:
        why += f"; only in the query: {' '.join(scored.query_only)}"
    if scored.alias_only:
        why += f"; only in the listed name: {' '.join(scored.alias_only)}"
    return why


def _match(kb: Knowledge, party: dict[str, Any], alias: str, score: float, reason: tuple[Any, ...], via: str) -> Match:
    meta = kb.restriction_lists["lists"][party["list"]]
    return Match(
        list=party["list"],
        list_title=meta["title"],
        party_id=party["id"],
        name=party["name"],
        matched_alias=alias,
        score=score,
        type=party.get("type", "entity"),
        country=party.get("country"),
        program=party.get("program"),
        listed_on=party.get("listed_on"),
        via=via,
        reason=reason,
    )


__all__ = ["DEFAULT_THRESHOLD", "Match", "screen"]

make_callable(__name__)  # techvet.screen(...) answers as techvet.api.screen does (techvet.entry)
