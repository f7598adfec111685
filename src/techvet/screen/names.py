"""Company names -> comparable tokens, across legal forms and scripts.

Latin names are folded (accents, case, punctuation, "&"), legal-form words are dropped (Co., Ltd.,
GmbH ...), spellings are folded to one token (Technologies -> technology). Han-script names are
first made simplified (``zhconv``: 華為 -> 华为), stripped of legal forms (有限公司 ...), then cut by
longest match into known business words (技术 -> technology), places (深圳 -> shenzhen) and the rest,
each run of which becomes one pinyin token (``pypinyin``: 华为 -> huawei, 宝龙达 -> baolongda). So
华为技术有限公司 and "Huawei Technologies Co., Ltd." both become ``huawei technology``.

A parenthesised short form is a name of its own ("Shenzhen DJI Technology Co., Ltd. (DJI)" is also
"DJI"); a parenthesised place or qualifier is not.

Pinyin syllables (:func:`pinyin_syllables`): a token made wholly of pinyin syllables is a Chinese
name written in Latin letters, where one letter more or less is another syllable and so another
name (tianye 天业 is not tianyi 天翼, tanyuan 碳元 is not taiyuan 太原). Such a token is never
taken for a typing slip of another such token (:func:`distinct_pinyin`), and spaced syllables
("Haikang Weishi") can be joined back into the one token a Han run became (techvet.screen.index).
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
_TYPO_MIN_LEN = 6
_SYLLABLE_HYPHEN = re.compile(r"\b([a-z]{1,5})-([a-z]{1,5})\b")
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
    near_vocab: dict[str, str]  # a vocabulary word minus one letter -> the word (typo folding)
    vocabulary: frozenset[str]  # legal forms, generic words, synonyms: what typo folding aims at

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
        vocabulary = {*forms, *synonyms, *generic, *(t for tokens in words.values() for t in tokens)}
        near: dict[str, str] = {}
        for word in sorted(vocabulary):
            if len(word) >= _TYPO_MIN_LEN:
                for i in range(len(word)):
                    near.setdefault(word[:i] + word[i + 1 :], word)
        han_max = max(map(len, words), default=1)
        return cls(forms, han_forms, synonyms, words, han_max, frozenset(generic), near, frozenset(vocabulary))

    def typo_of(self, token: str) -> str | None:
        """The legal-form or business word ``token`` is one typing slip away from ("Compnay",
        "Limtied", "Teahnologies"), found through one-deletion variants, else None. A slip in a
        word that names no company should not make a name look like another company's."""
        if len(token) < _TYPO_MIN_LEN:
            return None
        candidates = [self.near_vocab.get(token)]  # a letter missing
        for i in range(len(token)):
            shorter = token[:i] + token[i + 1 :]
            candidates.append(self.near_vocab.get(shorter))  # a letter changed or swapped
            if shorter in self.vocabulary:
                candidates.append(shorter)  # a letter added to a vocabulary word
        for word in candidates:
            # a slip between two pinyin spellings is another name, not a slip (changzhou 常州 is not
            # hangzhou 杭州, changxin 长鑫 is not chuangxin 创新 = innovation)
            if word and _one_edit(token, word) and not distinct_pinyin(token, word):
                return word
        return None


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by at most one typing slip: a letter changed, added, dropped,
    or two neighbours swapped (optimal-string-alignment distance <= 1). Written out because it
    is a few comparisons, and a scan should not import rapidfuzz for it."""
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


@lru_cache(maxsize=1)
def _syllables() -> tuple[frozenset[str], int]:
    """The pinyin syllables (pinyin_syllables.json, derived from the pinned pypinyin's dictionary),
    with the longest one's length. pypinyin writes ü as v (lv 绿, nve 虐); Latin keyboards write u,
    so lue and nue are accepted too (lu and nu are syllables of their own already). Read from the
    bundled data folder, not a knowledge override: the inventory belongs to pypinyin's output, not
    to a list a user edits."""
    from techvet.knowledge import DATA_DIR, _read

    doc = _read(DATA_DIR, "pinyin_syllables.json")
    found = {str(s) for s in doc["syllables"]}
    found.update(s.replace("v", "u") for s in list(found))
    return frozenset(found), max(map(len, found))


@lru_cache(maxsize=1 << 16)
def pinyin_syllables(token: str) -> tuple[str, ...] | None:
    """``token`` cut into pinyin syllables ("haikangweishi" -> hai kang wei shi), or None when it
    cannot be cut wholly into them ("hikvision", "huawie"). Where several cuts exist (xian: xi an
    or xian) the one with the longest first syllables is given; callers only need to know that
    one exists."""
    if not token.isascii() or not token.isalpha():
        return None
    syllables, longest = _syllables()
    n = len(token)
    # cut[i]: a cut of token[i:], built from the end so each position is tried once
    cut: list[tuple[str, ...] | None] = [None] * n + [()]
    for i in range(n - 1, -1, -1):
        for size in range(min(longest, n - i), 0, -1):
            rest = cut[i + size]
            if rest is not None and token[i : i + size] in syllables:
                cut[i] = (token[i : i + size], *rest)
                break
    return cut[0]


def distinct_pinyin(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are both written wholly in pinyin syllables and spell different
    syllables, so are different names however alike they look (tianye 天业 / tianyi 天翼). Since
    both strings cut into syllables, any difference between them is a difference of syllables;
    only ü, which pypinyin writes v and people write u (lv / lu), is not one. English words that
    happen to cut into syllables ("china", "mining") are held to the same rule: a one-letter
    change between two of them is as likely another word as a slip."""
    if a == b or a.replace("v", "u") == b.replace("v", "u"):
        return False
    return pinyin_syllables(a) is not None and pinyin_syllables(b) is not None


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

    # brand and place runs recur across a supplier file: each is converted once (pypinyin's
    # phrase-aware conversion costs some 50 us a run)
    @lru_cache(maxsize=1 << 16)
    def pinyin(text: str) -> str:
        return "".join(lazy_pinyin(text, style=Style.NORMAL, errors="ignore"))

    @lru_cache(maxsize=1 << 16)
    def simplify(text: str) -> str:
        return str(zhconv.convert(text, "zh-hans"))

    return simplify, pinyin


def han_key(name: str, words: NameWords) -> str:
    """A Han-script name reduced to what names the company, without any converter: legal forms,
    spaces and punctuation out (深圳市大疆创新科技有限公司 -> 深圳市大疆创新科技). Scans look makers up
    by it, so a scan never loads the pinyin and script converters (60 MB, 0.3 s)."""
    text = unicodedata.normalize("NFKC", name)
    for form in words.han_forms:
        text = text.replace(form, "")
    return "".join(ch for ch in text if ch.isalnum())


def name_forms(name: str, words: NameWords, *, syllables: bool = False) -> list[tuple[str, ...]]:
    """Token lists of a name: the name without its parenthesised parts, and each parenthesised
    part whose words all appear in the name (a trade name or short form: "Shenzhen DJI Technology
    (DJI)"), but not a part that adds words ("Huawei Technologies (Australia)": not "Australia").
    ``syllables``: see :func:`tokens`."""
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name)
    if "(" not in name and "[" not in name and "\uff08" not in name:
        plain = tokens(name, words, syllables=syllables)
        return [plain] if plain else []
    outer = tokens(_PARENS.sub(" ", name), words, syllables=syllables)
    forms = [outer] if outer else []
    for inner in _PARENS.findall(name):
        inner_tokens = tokens(inner, words, syllables=syllables)
        if inner_tokens and set(inner_tokens) <= set(outer) and inner_tokens not in forms:
            forms.append(inner_tokens)
    return forms


def qualified_tokens(name: str, words: NameWords) -> tuple[str, ...]:
    """The tokens of a whole name, its parenthesised qualifiers kept ("Huawei Technologies
    (Australia)" -> huawei technology australia) and its short forms left out ("Shenzhen DJI
    Technology (DJI)" -> shenzhen dji technology). :func:`name_forms` asks what a name may be
    called; this asks which company it names, so two names with the same qualified tokens name
    the same company, and a subsidiary named after its place does not pass for its parent."""
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name)
    outer = set(tokens(_PARENS.sub(" ", name), words))

    def keep_qualifier(part: re.Match[str]) -> str:
        inner = tokens(part.group(1), words)
        return " " if inner and set(inner) <= outer else f" {part.group(1)} "

    return tokens(_PARENS.sub(keep_qualifier, name), words)


def tokens(name: str, words: NameWords, *, syllables: bool = False) -> tuple[str, ...]:
    """Comparable tokens of one name (no parenthesis handling: see :func:`name_forms`).

    ``syllables``: keep the legal-form words that are also pinyin syllables of two letters or
    more (an 安, sa 萨, zao 造: "An Quan", "Zhi Zao" are syllables of a spaced name, not the
    article or the Russian ZAO). A query asks for them so the index can join them with their
    neighbours ("zhi zao" -> zhizao); it drops those that join nothing."""
    if name.isascii():
        return tuple(_latin_tokens(name, words, syllables))
    out: list[str] = []
    for run in _HAN_RUN.findall(name):
        if has_han(run):
            out.extend(_han_tokens(run, words))
        else:
            out.extend(_latin_tokens(run, words, syllables))
    return tuple(out)


def _latin_tokens(text: str, words: NameWords, syllables: bool = False) -> list[str]:
    if not text.isascii():  # accents off: Ürümqi -> urumqi
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.casefold()
    text = text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    # a hyphen between syllables joins them (Da-Jiang -> dajiang, Hi-Tech -> hitech); between
    # words it separates them (Corp-Systems, Low-Temperature)
    text = _SYLLABLE_HYPHEN.sub(r"\1\2", text)
    out: list[str] = []
    initials = ""
    for raw in _NON_WORD.split(text):
        if not raw:
            continue
        if raw in words.forms:
            if syllables and len(raw) > 1 and pinyin_syllables(raw) == (raw,):
                if initials:
                    _add_initials(out, initials, words)
                    initials = ""
                out.append(raw)
            continue
        if len(raw) == 1 and raw.isalpha():
            initials += raw  # M.V. -> mv, R&D -> rd
            continue
        if initials:
            _add_initials(out, initials, words)
            initials = ""
        if raw not in words.vocabulary:
            raw = words.typo_of(raw) or raw
            if raw in words.forms:
                continue
        token = _fold(raw, words.synonyms)
        if token not in words.forms:
            out.append(token)
    if initials:
        _add_initials(out, initials, words)
    return out


def _add_initials(out: list[str], initials: str, words: NameWords) -> None:
    """Initials as one token, unless they spell a legal form: "B.V.", "S.A.", "N.V." are BV, SA, NV."""
    if initials not in words.forms:
        out.append(initials)


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


__all__ = [
    "NameWords",
    "distinct_pinyin",
    "han_key",
    "has_han",
    "name_forms",
    "pinyin_syllables",
    "qualified_tokens",
    "tokens",
]
