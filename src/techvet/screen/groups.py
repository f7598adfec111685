"""A row's possible matches grouped the way a reader checks them: by listed party, then by family.

One supplier row such as "Huawei Technologies Co. Ltd." meets some 80 listed names: the company on
four lists, its affiliates by the dozen (Huawei Device, Huawei Cloud Beijing, ...), each listed
under aliases. Printed one per line they bury the answer. So matches are grouped twice:

- a **listed party**: the same company name (compared as tokens, parenthesised qualifiers kept, so
  "Huawei Technologies (Thailand)" stays apart from the parent) on one or more lists, shown once
  with every list it is on;
- a **family**: listed parties that met the row through the same distinctive word (the heaviest
  word of the match: "huawei", "hikvision", "dajiang"), best first. The first few are shown and
  the rest counted; ``-v`` shows them all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from techvet.knowledge import Knowledge
from techvet.screen.names import tokens

if TYPE_CHECKING:
    from techvet.screen import Match


@dataclass
class ListedParty:
    """One company name as listed, on every list that has it, with the matches behind it."""

    score: float
    matches: list[Match] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The name the lists write most often (then the fullest): "Huawei Technologies Co., Ltd.
        (Huawei)" rather than one list's short "Huawei Technology"."""
        counts = Counter(m.name.casefold() for m in self.matches)
        return max(self.matches, key=lambda m: (counts[m.name.casefold()], len(m.name))).name

    @property
    def lists(self) -> list[str]:
        return list(dict.fromkeys(m.list for m in self.matches))


@dataclass
class Family:
    """Listed parties that met a row through the same distinctive word, best first."""

    word: str
    parties: list[ListedParty] = field(default_factory=list)

    @property
    def score(self) -> float:
        return self.parties[0].score if self.parties else 0.0


def group(matches: list[Match], kb: Knowledge) -> list[Family]:
    """``matches`` (one row's, best first) as families of listed parties, the best family first."""
    words = kb.name_words
    index = kb.screening_index
    families: dict[str, Family] = {}
    parties: dict[tuple[str, str], ListedParty] = {}
    for m in matches:
        word = _distinctive(m, index)
        family = families.setdefault(word, Family(word))
        key = " ".join(dict.fromkeys(tokens(m.name, words))) or m.name.casefold()
        party = parties.get((word, key))
        if party is None:
            party = parties[(word, key)] = ListedParty(m.score)
            family.parties.append(party)
        party.matches.append(m)
        party.score = max(party.score, m.score)
    for family in families.values():
        # best score, then the party on most lists, then the plainer (shorter) name
        family.parties.sort(key=lambda p: (-round(p.score, 6), -len(p.lists), len(p.name), p.name))
    return sorted(families.values(), key=lambda f: (-round(f.score, 6), f.word))


def _distinctive(m: Match, index: object) -> str:
    """The heaviest listed word the match was made through (an identifier match: the heaviest
    word of the listed name)."""
    from techvet.screen.index import ScreeningIndex

    assert isinstance(index, ScreeningIndex)
    kind, *rest = m.reason
    if kind == "name":
        scored = rest[1]
        met = [listed for _, listed, _ in scored.matched]
    else:
        met = list(tokens(m.name, index.words))
    if not met:
        return m.name.casefold()
    return max(met, key=lambda t: (index.weight(t), t))


__all__ = ["Family", "ListedParty", "group"]
