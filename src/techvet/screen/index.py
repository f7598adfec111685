"""The screening index: every listed name as tokens, token weights learnt from the lists, and the
blocking tables that give a query its few candidates.

Scoring (why it is not plain fuzzy string similarity): a name's words do not count alike. "Hangzhou
Digital Technology" shares three words with "Hangzhou Hikvision Digital Technology", but the one it
lacks is the one that says which company it is. A generic word (a place, "technology": the
``generic`` list of name_words.yaml) weighs 1; any other token weighs the square of its inverse
document frequency over the listed parties, but at least 16: rarity in the lists alone would make
"huawei" (150 listed affiliates) as light as a place name. The score is the weighted Dice
coefficient of the two token sets: twice the weight of the matched tokens over the weight of both
names. A query word that is a listed word matches it exactly; one that is not is looked up within
one edit (optimal string alignment, for words of 5+ letters, similarity >= 0.8) and earns its
similarity as credit, unless both words are written wholly in pinyin syllables: then the edit
changes a syllable, and a different syllable is a different name (tianye 天业 is not tianyi 天翼),
while slips in other words ("Hikvison", "Huawie") keep their credit. Adjacent query words are
joined when the join is a listed word: runs of pinyin syllables ("Haikang Weishi", "Da Jiang",
"Hai Neng Da"), since a Han run of a listed name became one pinyin token (or a business word in
pinyin: "An Quan" is anquan, security), and two short pieces of which one is no listed word.
The default threshold, 0.80, was set on
tests/data/screening_eval.tsv (bench/screen.py prints precision and recall around it).

Speed (a supplier file has 100,000 rows, each searched against the whole snapshot): names with the
same tokens are scored once (150 Huawei affiliates share "huawei technology"); a query is compared
only with names sharing a word with it, exactly or within one edit through a deletion index,
skipping words so common that they block nothing (a name made only of common words blocks on its
rarest one); and a name whose weight alone keeps the score under the threshold is never aligned.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import OSA

from techvet.screen.names import NameWords, distinct_pinyin, name_forms, pinyin_syllables

_FUZZY_MIN_LEN = 5
_FUZZY_MIN_SIM = 0.8
_GENERIC_WEIGHT = 1.0
_MIN_NAME_WEIGHT = 16.0
_NEAR_CACHE_SIZE = 100_000
_COMMON_SHARE = 0.02  # a token in more than 2% of the parties does not block on its own


@dataclass(frozen=True)
class Alias:
    party: int  # index into ScreeningIndex.parties
    text: str  # the name as listed


@dataclass(frozen=True)
class Form:
    """A listed name's tokens, shared by every alias that has them."""

    tokens: tuple[str, ...]
    weight: float  # sum of the token weights
    token_set: frozenset[str]
    aliases: tuple[int, ...]  # alias ids


@dataclass(frozen=True)
class Scored:
    score: float
    alias: Alias
    matched: tuple[tuple[str, str, float], ...]  # (query token, listed token, similarity)
    query_only: tuple[str, ...]
    alias_only: tuple[str, ...]


@dataclass
class ScreeningIndex:
    parties: list[dict[str, Any]]
    words: NameWords
    aliases: list[Alias] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    unseen_weight: float = 1.0
    postings: dict[str, list[int]] = field(default_factory=dict)  # token -> form ids
    deletions: dict[str, set[str]] = field(default_factory=dict)  # one-deletion variant -> tokens
    common: frozenset[str] = frozenset()
    identifiers: dict[str, list[int]] = field(default_factory=dict)  # normalised id -> party ids
    # an unlisted word's near spellings, worked out once: the words of a supplier file recur
    _near_cache: dict[str, list[tuple[str, float]]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, parties: list[dict[str, Any]], words: NameWords) -> ScreeningIndex:
        index = cls(parties, words)
        by_tokens: dict[tuple[str, ...], list[int]] = {}
        party_tokens: list[set[str]] = [set() for _ in parties]
        seen: set[tuple[int, tuple[str, ...]]] = set()
        for i, party in enumerate(parties):
            # forms were tokenized when the lists were built (tools/build_lists.py): loading never
            # needs the Han converters
            for name, form in party["forms"]:
                toks = tuple(form.split())
                party_tokens[i].update(toks)
                if (i, toks) not in seen:
                    seen.add((i, toks))
                    by_tokens.setdefault(toks, []).append(len(index.aliases))
                    index.aliases.append(Alias(i, name))
            for values in party.get("identifiers", {}).values():
                for value in values:
                    index.identifiers.setdefault(_normal_id(value), []).append(i)
        df: dict[str, int] = defaultdict(int)
        for token_set in party_tokens:
            for token in token_set:
                df[token] += 1
        n = len(parties) or 1
        index.weights = {
            t: _GENERIC_WEIGHT if t in words.generic else max(_MIN_NAME_WEIGHT, math.log((n + 1) / (c + 0.5)) ** 2)
            for t, c in df.items()
        }
        index.unseen_weight = math.log((n + 1) / 0.5) ** 2
        index.common = frozenset(t for t, c in df.items() if c > _COMMON_SHARE * n)
        postings: dict[str, list[int]] = defaultdict(list)
        for toks, alias_ids in by_tokens.items():
            form_id = len(index.forms)
            weight = sum(index.weights[t] for t in toks)
            index.forms.append(Form(toks, weight, frozenset(toks), tuple(alias_ids)))
            for token in set(toks):
                postings[token].append(form_id)
        index.postings = dict(postings)
        deletions: dict[str, set[str]] = defaultdict(set)
        for token in index.postings:
            if len(token) >= _FUZZY_MIN_LEN:
                for variant in _deletions(token):
                    deletions[variant].add(token)
        index.deletions = dict(deletions)
        return index

    def weight(self, token: str) -> float:
        found = self.weights.get(token)
        if found is not None:
            return found
        return _GENERIC_WEIGHT if token in self.words.generic else self.unseen_weight

    def similar_tokens(self, token: str) -> list[tuple[str, float]]:
        """A listed token itself; else the listed tokens within one edit of it, with their
        similarity. (A listed word is taken as meant: looking for its near spellings too would
        cost every query a deletion scan for the rare case of one listed word misspelling another.)"""
        if token in self.postings:
            return [(token, 1.0)]
        if len(token) < _FUZZY_MIN_LEN:
            return []
        cached = self._near_cache.get(token)
        if cached is not None:
            return cached
        near: set[str] = set(self.deletions.get(token, ()))  # token is a listed token minus one letter
        for variant in _deletions(token):
            if variant in self.postings:  # a listed token is the query minus one letter
                near.add(variant)
            near.update(self.deletions.get(variant, ()))  # one substitution (or transposition)
        out = []
        for other in near:
            sim = OSA.normalized_similarity(token, other)  # a transposition is one edit, as in typing
            if sim >= _FUZZY_MIN_SIM and not distinct_pinyin(token, other):
                out.append((other, sim))
        if len(self._near_cache) >= _NEAR_CACHE_SIZE:  # bounded: a supplier file can hold millions of words
            self._near_cache.clear()
        self._near_cache[token] = out
        return out

    def query_tokens(self, name: str) -> list[tuple[str, ...]]:
        """The query's token lists: one per form of the name, with adjacent pieces joined where
        the join is a listed token (see :meth:`_join_at`). A join replaces its pieces, except
        where every piece is itself a listed word and the join names a company: then the spaced
        reading is as likely ("Li Ming" the person, "liming" the brand) and both are searched.
        Legal-form words that are also syllables ("an", "zao") take part in joins ("An Quan" ->
        anquan) and are dropped where they join nothing, as in any other name."""
        out: list[tuple[str, ...]] = []
        forms = self.words.forms
        for form in name_forms(name, self.words, syllables=True):
            for reading in self._readings(form) if len(form) > 1 else (form,):
                if any(t in forms for t in reading):  # a form word kept as a syllable that joined nothing
                    reading = tuple(t for t in reading if t not in forms)
                if reading and reading not in out:
                    out.append(reading)
        return out

    def _readings(self, form: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
        """``form`` with its joins made, and the spaced reading too where a join is optional."""
        pinyin = [pinyin_syllables(t) is not None for t in form]
        joined: list[str] = []
        spaced: list[str] = []
        both = False
        i = 0
        while i < len(form):
            end = self._join_at(form, i, pinyin)
            if end is None:
                joined.append(form[i])
                spaced.append(form[i])
                i += 1
                continue
            pieces = form[i:end]
            token = "".join(pieces)
            token = self.words.synonyms.get(token, token)  # a business word in pinyin: "chuang xin" is innovation
            joined.append(token)
            if token not in self.words.generic and all(p in self.postings for p in pieces):
                spaced.extend(pieces)
                both = True
            else:
                spaced.append(token)
            i = end
        return (tuple(joined), tuple(spaced)) if both else (tuple(joined),)

    def _join_at(self, toks: tuple[str, ...], i: int, pinyin: list[bool]) -> int | None:
        """Where a join of the pieces starting at ``i`` ends, or None (``pinyin``: which pieces
        are made of pinyin syllables). Two kinds of pieces join:

        - pinyin syllables, as many as form a listed token or a business word written in pinyin
          (anquan, chuangxin), longest first: a listed Han run became one pinyin token (海康威视 ->
          haikangweishi), and people write it spaced by syllable or word ("Haikang Weishi", "Hai
          Kang Wei Shi", "Da Jiang", "Chuang Xin"). Pieces that are listed words themselves join
          too ("da" and "jiang" are both listed somewhere).
        - two short pieces of which one is no listed word: short, because long words
          are words of their own ("low temperature" stays two), and one unlisted, because two
          listed words side by side are more likely meant as two."""
        if i + 1 >= len(toks):
            return None
        postings = self.postings
        if pinyin[i] and pinyin[i + 1]:
            run = i + 2
            while run < len(toks) and pinyin[run]:
                run += 1
            for end in range(run, i + 1, -1):  # at least two pieces
                joined = "".join(toks[i:end])
                if joined in postings or joined in self.words.synonyms:  # "an quan": anquan = security
                    return end
        first, second = toks[i], toks[i + 1]
        short = len(first) <= 6 and len(second) <= 6
        if short and first + second in postings and (first not in postings or second not in postings):
            return i + 2
        return None

    def best_per_party(self, query: tuple[str, ...], threshold: float) -> dict[int, Scored]:
        """For every candidate party, its best-scoring listed name, where that reaches ``threshold``."""
        near = {t: self.similar_tokens(t) for t in set(query)}
        query_weights = [self.weight(t) for t in query]
        high = sum(query_weights)
        # a misspelt word weighs what the listed word it meets weighs (an unseen spelling would
        # otherwise weigh most of all): the query's lightest possible weight bounds the score
        lows = [
            w if near[t] == [(t, 1.0)] else min([w, *(self.weight(o) for o, _ in near[t])])
            for t, w in zip(query, query_weights, strict=True)
        ]
        low = sum(lows)
        # A name lacking a query word of weight w scores at most 2(W - w)/(2W - w) (W: the query's
        # weight). When the heaviest word weighs so much that this is under the threshold, only
        # names holding it (or a near spelling) can pass: block on it alone.
        heaviest = max(range(len(query)), key=lows.__getitem__)
        share = lows[heaviest] / (high - query_weights[heaviest] + lows[heaviest]) if high else 0.0
        if share > 2 * (1 - threshold) / (2 - threshold):
            keys = [o for o, _ in near[query[heaviest]]]
        else:  # block on the uncommon words; a name made only of common words, on its rarest one
            keys = [o for t in near if t not in self.common for o, _ in near[t]]
            if not keys:
                keys = [o for o, _ in near[query[heaviest]]]
        found: set[int] = set()
        postings = self.postings
        for key in keys:
            found.update(postings.get(key, ()))
        if not found:
            return {}
        exact = all(near[t] == [(t, 1.0)] for t in query) and len(set(query)) == len(query)
        query_set = frozenset(query)
        weights = self.weights
        forms = self.forms
        aliases = self.aliases
        out: dict[int, Scored] = {}
        for form_id in found:
            form = forms[form_id]
            other = form.weight
            # the best this form could score: Dice with the query weight nearest its own
            q = other if low <= other <= high else (low if other < low else high)
            if 2 * (q if q < other else other) < threshold * (q + other):
                continue
            if exact:  # no near spellings: the matched weight is a set intersection
                shared = 0.0
                for t in form.token_set & query_set:
                    shared += weights[t]
                if 2 * shared < threshold * (high + other):
                    continue
            scored = self._align(query, query_weights, form, near)
            score = scored[0]
            if score < threshold:
                continue
            for alias_id in form.aliases:
                alias = aliases[alias_id]
                held = out.get(alias.party)
                if held is None or score > held.score:
                    out[alias.party] = Scored(score, alias, *scored[1:])
        return out

    def _align(
        self,
        query: tuple[str, ...],
        query_weights: list[float],
        form: Form,
        near: dict[str, list[tuple[str, float]]],
    ) -> tuple[float, tuple[tuple[str, str, float], ...], tuple[str, ...], tuple[str, ...]]:
        remaining = list(form.tokens)
        matched = []
        query_only = []
        matched_weight = 0.0
        query_weight = 0.0
        for token, weight in zip(query, query_weights, strict=True):
            best = None
            for other, sim in near[token]:
                if other in remaining and (best is None or sim > best[1]):
                    best = (other, sim)
            if best is None:
                query_only.append(token)
                query_weight += weight
                continue
            remaining.remove(best[0])
            matched.append((token, best[0], best[1]))
            # a near spelling counts with the lighter of the two weights: "technology" meeting a
            # rare misspelling "techology" is still the common word, and "hikvison" is "hikvision"
            counted = weight if best[1] == 1.0 else min(weight, self.weight(best[0]))
            query_weight += counted
            matched_weight += best[1] * counted
        total = query_weight + form.weight
        score = 2 * matched_weight / total if total else 0.0
        return score, tuple(matched), tuple(query_only), tuple(remaining)


def _deletions(token: str) -> set[str]:
    return {token[:i] + token[i + 1 :] for i in range(len(token))}


def _normal_id(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


__all__ = ["Alias", "Form", "Scored", "ScreeningIndex"]
