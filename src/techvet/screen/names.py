"""Company names -> comparable tokens, across legal forms and scripts.

Latin names are folded (accents, case, punctuation, "&"), legal-form words are dropped (Co., Ltd.,
GmbH ...), spellings are folded to one token (Technologies -> technology). Han-script names are
first made simplified (``zhconv``: 華為 -> 华为), stripped of legal forms (有限公司 ...), then cut by
longest match into known business words (技术 -> technology), places (深圳 -> shenzhen) and the rest,
each run of which becomes one pinyin token (``pypinyin``: 华为 -> huawei, 宝龙达 -> baolongda). So
华为技术有限公司 and "Huawei Technologies Co., Ltd." both become ``huawei technology``.

A parenthesised short form is a name of its own ("Shenzhen DJI Technology Co., Ltd. (DJI)" is also
"DJI"); a parenthesised place or qualifier is not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_PARENS = re.compile(r"[(\uff08\[]([^()\uff08\uff09\[\]]*)[)\uff09\]]")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_HAN_SUFFIXES = ("市", "省", "区", "县", "自治区")  # administrative suffixes after a place name


@dataclass(frozen=True)
class NameWords:
    """The word lists of name_words.yaml, prepared for lookups."""

    forms: frozenset[str]
    han_forms: tuple[str, ...]  # longest first
    synonyms: dict[str, str]
    han_words: dict[str, tuple[str, ...]]  # Han word -> tokens (business words and places)
    han_max: int  # longest Han word, for the longest-match cut
    generic: frozenset[str]  # tokens that describe a business or place rather than name it

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> NameWords:
        synonyms = {str(k): str(v) for k, v in doc.get("synonyms", {}).items()}
        forms = frozenset(str(w) for w in doc["company_forms"]["latin"])
        words: dict[str, tuple[str, ...]] = {}
        for table in ("han_words", "han_places"):
            for han, english in doc.get(table, {}).items():
                words[str(han)] = tuple(_fold(t, synonyms) for t in str(english).split())
        han_forms = tuple(sorted((str(w) for w in doc["company_forms"]["han"]), key=len, reverse=True))
        generic = {_fold(str(w), synonyms) for w in doc.get("generic", [])}
        generic.update(_fold(t, synonyms) for place in doc.get("han_places", {}).values() for t in str(place).split())
        return cls(forms, han_forms, synonyms, words, max(map(len, words), default=1), frozenset(generic))


def _fold(token: str, synonyms: dict[str, str]) -> str:
    """One spelling per word: synonyms first, then a plain plural."""
    folded = synonyms.get(token)
    if folded is not None:
        return folded
    if len(token) > 4 and token.endswith("s") and not token.endswith("ss"):
        return synonyms.get(token[:-1], token[:-1])
    return token


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


@lru_cache(maxsize=1)
def _converters() -> tuple[Any, Any]:
    import zhconv
    from pypinyin import Style, lazy_pinyin

    def pinyin(text: str) -> str:
        return "".join(lazy_pinyin(text, style=Style.NORMAL, errors="ignore"))

    return (lambda text: zhconv.convert(text, "zh-hans")), pinyin


def name_forms(name: str, words: NameWords) -> list[tuple[str, ...]]:
    """Token lists of a name: the name without its parenthesised parts, and each parenthesised
    part whose words all appear in the name (a trade name or short form: "Shenzhen DJI Technology
    (DJI)"), but not a part that adds words ("Huawei Technologies (Australia)": not "Australia")."""
    name = unicodedata.normalize("NFKC", name).strip()
    outer = tokens(_PARENS.sub(" ", name), words)
    forms = [outer] if outer else []
    for inner in _PARENS.findall(name):
        inner_tokens = tokens(inner, words)
        if inner_tokens and set(inner_tokens) <= set(outer) and inner_tokens not in forms:
            forms.append(inner_tokens)
    return forms


def tokens(name: str, words: NameWords) -> tuple[str, ...]:
    """Comparable tokens of one name (no parenthesis handling: see :func:`variants`)."""
    out: list[str] = []
    for run in _HAN_RUN.findall(name):
        if has_han(run):
            out.extend(_han_tokens(run, words))
        else:
            out.extend(_latin_tokens(run, words))
    return tuple(out)


def _latin_tokens(text: str, words: NameWords) -> list[str]:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", "", text)  # Da-Jiang -> dajiang, Hi-Tech -> hitech
    out = []
    for raw in _NON_WORD.split(text):
        if raw and raw not in words.forms:
            token = _fold(raw, words.synonyms)
            if token not in words.forms:
                out.append(token)
    return out


def _han_tokens(text: str, words: NameWords) -> list[str]:
    simplify, pinyin = _converters()
    text = simplify(text)
    for form in words.han_forms:
        text = text.replace(form, " ")
    out: list[str] = []
    for part in text.split():
        out.extend(_cut(part, words, pinyin))
    return out


def _cut(text: str, words: NameWords, pinyin: Any) -> list[str]:
    """Longest-match cut into known words; unknown runs become one pinyin token each."""
    out: list[str] = []
    unknown = ""
    i = 0
    while i < len(text):
        for size in range(min(words.han_max, len(text) - i), 0, -1):
            known = words.han_words.get(text[i : i + size])
            if known is not None:
                break
        else:
            unknown += text[i]
            i += 1
            continue
        if unknown:
            out.append(pinyin(unknown))
            unknown = ""
        out.extend(known)
        i += size
        if text.startswith(_HAN_SUFFIXES, i):  # 深圳市 -> shenzhen
            i += next(len(s) for s in sorted(_HAN_SUFFIXES, key=len, reverse=True) if text.startswith(s, i))
    if unknown:
        out.append(pinyin(unknown))
    return [t for t in out if t]


__all__ = ["NameWords", "has_han", "name_forms", "tokens"]
