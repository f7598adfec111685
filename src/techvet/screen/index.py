"""The screening index: every listed name as tokens, token weights learnt from the lists, and the
blocking tables that give a query its few candidates.

Scoring (why it is not plain fuzzy string similarity): a name's words do not count alike. "Hangzhou
Digital Technology" shares three words with "Hangzhou Hikvision Digital Technology", but the one it
lacks is the one that says which company it is. A generic word (a place, "technology": the
``generic`` list of name_words.yaml) weighs 1; any other token weighs the square of its inverse
document frequency over the listed parties, but at least 16: rarity in the lists alone would make
"huawei" (150 listed affiliates) as light as a place name. The score is the weighted Dice
coefficient of the two token sets: twice the weight of the matched tokens over the weight of both
names. Tokens match exactly, or fuzzily (Levenshtein
similarity >= 0.8, for tokens of 5+ letters) with their similarity as credit; adjacent query tokens
are joined when the join is a listed token ("Da Jiang" -> dajiang). The default threshold, 0.80,
was set on tests/data/screening_eval.tsv (bench/screen.py prints precision and recall around it).

Blocking: a query is compared only with names sharing a token with it (exactly, or within one
edit through a deletion index), skipping tokens so common that they block nothing; a name made only
of common tokens falls back to them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import Levenshtein

from techvet.screen.names import NameWords, name_forms

_FUZZY_MIN_LEN = 5
_FUZZY_MIN_SIM = 0.8
_GENERIC_WEIGHT = 1.0
_MIN_NAME_WEIGHT = 16.0
_COMMON_SHARE = 0.02  # a token in more than 2% of the parties does not block on its own


@dataclass(frozen=True)
class Alias:
    party: int  # index into ScreeningIndex.parties
    text: str  # the name as listed
    tokens: tuple[str, ...]
    weight: float  # sum of the token weights
    token_set: frozenset[str]


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
    weights: dict[str, float] = field(default_factory=dict)
    unseen_weight: float = 1.0
    postings: dict[str, list[int]] = field(default_factory=dict)  # token -> alias ids
    deletions: dict[str, set[str]] = field(default_factory=dict)  # one-deletion variant -> tokens
    common: frozenset[str] = frozenset()
    identifiers: dict[str, list[int]] = field(default_factory=dict)  # normalised id -> party ids

    @classmethod
    def build(cls, parties: list[dict[str, Any]], words: NameWords) -> ScreeningIndex:
        index = cls(parties, words)
        raw: list[tuple[int, str, tuple[str, ...]]] = []
        party_tokens: list[set[str]] = [set() for _ in parties]
        for i, party in enumerate(parties):
            # forms were tokenized when the lists were built (tools/build_lists.py): loading never
            # needs the Han converters
            for name, form in party["forms"]:
                toks = tuple(form.split())
                raw.append((i, name, toks))
                party_tokens[i].update(toks)
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
        seen: set[tuple[int, tuple[str, ...]]] = set()
        postings: dict[str, list[int]] = defaultdict(list)
        for party_id, text, toks in raw:
            if (party_id, toks) in seen:
                continue
            seen.add((party_id, toks))
            alias_id = len(index.aliases)
            index.aliases.append(Alias(party_id, text, toks, sum(index.weights[t] for t in toks), frozenset(toks)))
            for token in set(toks):
                postings[token].append(alias_id)
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
        """Listed tokens equal to ``token`` or within one edit of it, with their similarity."""
        out = [(token, 1.0)] if token in self.postings else []
        if len(token) < _FUZZY_MIN_LEN:
            return out
        near: set[str] = set(self.deletions.get(token, ()))  # token is a listed token minus one letter
        for variant in _deletions(token):
            if variant in self.postings:  # a listed token is the query minus one letter
                near.add(variant)
            near.update(self.deletions.get(variant, ()))  # one substitution (or transposition)
        near.discard(token)
        for other in near:
            sim = Levenshtein.normalized_similarity(token, other)
            if sim >= _FUZZY_MIN_SIM:
                out.append((other, sim))
        return out

    def query_tokens(self, name: str) -> list[tuple[str, ...]]:
        """The query's token lists (one per variant), with adjacent tokens joined where the join is
        a listed token."""
        out = []
        for form in name_forms(name, self.words):
            toks = list(form)
            i = 0
            while i < len(toks) - 1:
                first, second = toks[i], toks[i + 1]
                joined = first + second
                # "da jiang" -> dajiang, but "china mobile" stays two words even if "chinamobile" is listed
                split_word = (
                    first not in self.postings or second not in self.postings or min(len(first), len(second)) <= 3
                )
                if joined in self.postings and split_word:
                    toks[i : i + 2] = [joined]
                else:
                    i += 1
            out.append(tuple(toks))
        return out

    def candidates(self, query: tuple[str, ...]) -> tuple[set[int], dict[str, list[tuple[str, float]]]]:
        """Alias ids sharing a (near-)token with the query, and each query token's near tokens."""
        near = {t: self.similar_tokens(t) for t in set(query)}
        # block on the query's uncommon words (and their near spellings); a name made only of
        # common words blocks on its rarest one
        keys = [o for t in set(query) if t not in self.common for o, _ in near[t]]
        if not keys:
            rarest = max(query, key=self.weight)
            keys = [o for o, _ in near[rarest]]
        found: set[int] = set()
        for key in keys:
            found.update(self.postings.get(key, ()))
        return found, near

    def best_per_party(self, query: tuple[str, ...], threshold: float) -> dict[int, Scored]:
        """For every candidate party, its best-scoring listed name, where that reaches ``threshold``.

        The query's weights are worked out once; a listed name whose weight alone keeps it below
        the threshold (Dice is at most 2*min/(sum) of the two weights) is never aligned.
        """
        found, near = self.candidates(query)
        query_weights = [self.weight(t) for t in query]
        query_weight = sum(query_weights)
        # a misspelt word weighs what the listed word it meets weighs (an unseen spelling would
        # otherwise weigh most of all): the query's lightest possible weight bounds the score
        floor = sum(min([w, *(self.weight(o) for o, _ in near[t])]) for t, w in zip(query, query_weights, strict=True))
        # with no near spellings and no repeated word, the matched weight is a set intersection
        exact_only = len(set(query)) == len(query) and all(len(near[t]) <= 1 for t in query)
        out: dict[int, Scored] = {}
        for alias_id in found:
            alias = self.aliases[alias_id]
            if _dice_bound(floor, query_weight, alias.weight) < threshold:
                continue
            if exact_only:
                shared = alias.token_set.intersection(query)
                if 2 * sum(self.weights[t] for t in shared) / (query_weight + alias.weight) < threshold:
                    continue
            scored = self._align(query, query_weights, alias, near)
            if scored.score >= threshold:
                held = out.get(alias.party)
                if held is None or scored.score > held.score:
                    out[alias.party] = scored
        return out

    def _align(
        self,
        query: tuple[str, ...],
        query_weights: list[float],
        alias: Alias,
        near: dict[str, list[tuple[str, float]]],
    ) -> Scored:
        remaining = list(alias.tokens)
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
        total = query_weight + alias.weight
        score = 2 * matched_weight / total if total else 0.0
        return Scored(score, alias, tuple(matched), tuple(query_only), tuple(remaining))


def _dice_bound(low: float, high: float, other: float) -> float:
    """The highest weighted Dice score a query whose weight lies in [low, high] can reach against a
    name of weight ``other``: 2*min(q, other)/(q + other), largest where q is nearest ``other``."""
    q = min(max(other, low), high)
    return 2 * min(q, other) / (q + other) if q + other else 0.0


def _deletions(token: str) -> set[str]:
    return {token[:i] + token[i + 1 :] for i in range(len(token))}


def _normal_id(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


__all__ = ["Alias", "Scored", "ScreeningIndex"]
