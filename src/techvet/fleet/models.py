"""Which aircraft a fleet row names: model names, codes and abbreviations to catalogue models.

An inventory writes the same aircraft many ways: "DJI Mavic 3 Enterprise", "Mavic 3E", "M3E",
"WM160", "EVO 2 Pro", "Mavik 3 Pro". A row is matched, in order:

1. by the model name, with the maker's name in front or not ("evo ii" and "evo 2" are one name);
2. by a model code the catalogue lists (WM160, PH4PRO, M3E; a code the source doubts scores 0.9);
3. by abbreviation: "Mavic 3 Enterprise" is M3E and "Matrice 300 RTK" is M300R, as makers and
   pilots write them (an abbreviation two models share is not used);
4. by one typing slip in a name (a letter changed, added, dropped or swapped; digits must agree);
5. by fuzzy name (rapidfuzz token-sort ratio over the catalogue's names, restricted to the row's maker
   when the maker is known), accepted at 0.88 and shown with its score.

Anything else is unknown: the best candidate and its score are reported, never taken. The maker is
matched on its own (brand or manufacturer name), so an unknown model of a known maker still gets
the maker's rules. A maker cell that names nobody ("-", "?", "n/a", "!!!") is no maker: it neither
matches a catalogue maker nor lets a vague short name ("X1", "2", "X10D": a model name without its
brand and without a word of three letters) stand for one maker's model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from techvet.tables import is_placeholder

FUZZY_ACCEPT = 0.88
_ROMAN = {"ii": "2", "iii": "3", "iv": "4"}
_WORD = re.compile(r"[a-z0-9+]+")
_NAMING_WORD = re.compile(r"[a-z]{3,}")


@dataclass(frozen=True)
class ModelMatch:
    model: dict[str, Any] | None  # the catalogue entry, None when unknown
    name: str | None  # the catalogue name or code that matched
    score: float
    how: str  # code | name | abbreviation | fuzzy | unknown
    candidate: str | None = None  # for an unknown model: the nearest name, to help a human


def normal(text: str) -> str:
    """Lowercase words, roman numerals as digits, punctuation out ("EVO II Pro" -> "evo 2 pro")."""
    words = _WORD.findall(text.lower().replace("-", " "))
    return " ".join(_ROMAN.get(w, w) for w in words)


def names_someone(text: str | None) -> bool:
    """Whether a maker cell names anyone: a placeholder ("-", "?", "n/a", "!!!@@@", "#REF!") or a
    name its source itself doubts ("? (SkyRover)") does not; a name in any script ("大疆") does."""
    return not is_placeholder(text)


def _vague(short: str) -> bool:
    """A brand-stripped model name too plain to name one maker's model on its own ("x1", "2",
    "x10d", "e2"): it has no word of three letters. With the maker known it is fine."""
    return _NAMING_WORD.search(short) is None


def abbreviation(name: str) -> str | None:
    """Initials of the words, numbers and codes kept whole: "mavic 3 enterprise" -> "m3e",
    "matrice 300 rtk" and "m300 rtk" -> "m300r", "mavic 3e" -> "m3e"; None for one plain word."""
    words = name.split()
    if len(words) < 2 and not any(ch.isdigit() for ch in name):
        return None
    return "".join(w if any(ch.isdigit() for ch in w) else w[0] for w in words)


class ModelCatalogue:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.models: list[dict[str, Any]] = doc["models"]
        self.codes: dict[str, tuple[int, bool]] = {}
        code_rows: dict[str, set[int]] = {}
        self.names: dict[str, int] = {}
        self.display: dict[str, str] = {}  # normal name -> the name as the catalogue writes it
        self.vague: set[str] = set()  # brand-stripped names that need the maker to name a model
        abbreviations: dict[str, set[int]] = {}
        self.makers: dict[str, str] = {}  # normal maker name -> brand
        for i, m in enumerate(self.models):
            for c in m["codes"]:
                if len(c["code"]) >= 3:  # "V2", "P4": too short to name one model in free text
                    self.codes.setdefault(c["code"].lower(), (i, bool(c["doubtful"])))
                    code_rows.setdefault(c["code"].lower(), set()).add(i)
            brand = normal(m["brand"])
            for name in m["names"]:
                key = normal(name)
                self.names.setdefault(key, i)
                self.display.setdefault(key, name)
                short = key[len(brand) :].strip() if key.startswith(brand + " ") else key
                self.names.setdefault(short, i)
                self.display.setdefault(short, name)
                if short != key and _vague(short):
                    self.vague.add(short)
                abbr = abbreviation(short)
                if abbr and abbr != short.replace(" ", ""):  # "x1" is a name, not an abbreviation of one
                    abbreviations.setdefault(abbr, set()).add(i)
            # a manufacturer the source doubts ("? (SkyRover)") is no name to match a row's maker by
            for maker in (m["brand"], m["manufacturer"], m["manufacturer"].split("(")[0].replace(", ltd.", "")):
                if names_someone(maker):
                    self.makers.setdefault(normal(maker), m["brand"])
        self.abbreviations = {k: next(iter(v)) for k, v in abbreviations.items() if len(v) == 1}
        brands = {normal(m["brand"]): m["brand"] for m in self.models if names_someone(m["brand"])}
        self.brand_words = {k: v for k, v in brands.items() if " " not in k and len(k) >= 3}  # "dji" -> DJI
        heads: dict[str, set[str]] = {}
        for key, brand in brands.items():
            if " " in key and len(key.split()[0]) >= 3:
                heads.setdefault(key.split()[0], set()).add(brand)
        # "autel" -> Autel Robotics, when one brand alone starts with that word
        self.brand_heads = {k: next(iter(v)) for k, v in heads.items() if len(v) == 1 and k not in self.brand_words}
        for code, rows in code_rows.items():  # a code two rows claim names neither
            if len(rows) > 1:
                del self.codes[code]
        self._choices = list(self.names)

    def maker(self, make: str | None) -> str | None:
        """The catalogue brand a maker name means ("DJI", "SZ DJI Technology Co., Ltd." -> DJI)."""
        if not names_someone(make):
            return None
        key = normal(str(make))
        if not key:  # a name in another script ("大疆"): the lists may know it, the catalogue does not
            return None
        if key in self.makers:
            return self.makers[key]
        # Only a brand's own word says whose a longer name is: "DJI Enterprise" is DJI's and "Autel"
        # is Autel Robotics, but the first word of a legal name ("Shenzhen", "Quantum", "Harris") is
        # shared by many companies and names none of them.
        words = key.split()
        if words[0] in self.brand_words:
            return self.brand_words[words[0]]
        if len(words) == 1:
            return self.brand_heads.get(key)
        return None

    def match(self, make: str | None, model: str | None) -> ModelMatch:
        text = normal(" ".join(p for p in (make, model) if p))
        bare = normal(model or "")
        brand = self.maker(make)
        if brand is None:  # "Wingtra WingtraRAY", "DJI Mini 2" in the model column alone
            words = bare.split()
            for n in (2, 1):  # the maker's exact name: "dji mavic" is not a maker called "dji ..."
                if len(words) > n and " ".join(words[:n]) in self.makers:
                    brand = self.makers[" ".join(words[:n])]
                    bare = " ".join(words[n:])
                    break
        elif bare.startswith(normal(brand) + " "):
            bare = bare[len(normal(brand)) + 1 :]
        if not bare:
            return ModelMatch(None, None, 0.0, "unknown")
        keys = [bare, text] + ([f"{normal(brand)} {bare}"] if brand else [])
        for key in keys:
            i = self.names.get(key)
            if i is not None and self._maker_agrees(i, brand) and (brand is not None or key not in self.vague):
                return ModelMatch(self.models[i], key, 1.0, "name")
        for token in bare.split():
            hit = self.codes.get(token)
            if hit is not None and self._maker_agrees(hit[0], brand):
                return ModelMatch(self.models[hit[0]], token.upper(), 0.9 if hit[1] else 1.0, "code")
        for key in (bare.replace(" ", ""), abbreviation(bare) or ""):
            i = self.abbreviations.get(key)
            if i is not None and self._maker_agrees(i, brand):
                return ModelMatch(self.models[i], key, 0.95, "abbreviation")
        slip = self._one_slip(bare, brand)
        if slip is not None:
            return slip
        return self._fuzzy(bare, brand)

    def _one_slip(self, bare: str, brand: str | None) -> ModelMatch | None:
        """A name one typing slip from a catalogue name ("sprak" for "spark", "avtaa 2"), letters
        only: a different digit is a different model ("Mini 6" is not "Mini 5")."""
        if len(bare) < 5:
            return None
        digits = re.sub(r"\D", "", bare)
        from rapidfuzz.distance import OSA

        for key, i in self.names.items():
            same_digits = abs(len(key) - len(bare)) <= 1 and re.sub(r"\D", "", key) == digits
            if same_digits and self._maker_agrees(i, brand) and OSA.distance(bare, key) == 1:
                return ModelMatch(self.models[i], key, 0.9, "one slip")
        return None

    def _maker_agrees(self, i: int, brand: str | None) -> bool:
        return brand is None or self.models[i]["brand"] == brand

    def _fuzzy(self, bare: str, brand: str | None) -> ModelMatch:
        from rapidfuzz import fuzz, process

        choices = self._choices
        if brand is not None:
            choices = [c for c in choices if self.models[self.names[c]]["brand"] == brand]
        else:  # "x1" is not SkyRover's X1 unless the row says SkyRover
            choices = [c for c in choices if c not in self.vague]
        # token_sort_ratio, not WRatio: WRatio scores a name inside a longer one as a match
        # ("phantom" in "phantom x9"), and an unknown model must stay unknown
        best = process.extractOne(bare, choices, scorer=fuzz.token_sort_ratio) if choices else None
        if best is None:
            return ModelMatch(None, None, 0.0, "unknown")
        name, score, _ = best
        score = round(score / 100, 3)
        if score >= FUZZY_ACCEPT:
            return ModelMatch(self.models[self.names[name]], name, score, "fuzzy")
        return ModelMatch(None, None, score, "unknown", candidate=name)


__all__ = ["ModelCatalogue", "ModelMatch", "abbreviation", "names_someone", "normal"]
