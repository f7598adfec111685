"""A country written the way people write it ("China", "PRC", "中国", "cn") as its ISO 3166 code.

Supplier files and inventories rarely use the codes the lists and policies use: "China" and "CN"
must be the same country, or a Chinese camera in a fleet is no Chinese part and a supplier written
"China" is screened as if from elsewhere. Codes and ISO names come from pycountry (the ISO 3166
data); the names spreadsheets use besides are a knowledge file (country_aliases.yaml). Anything
else is no country, said as such, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from techvet.knowledge import DATA_DIR, _read

_NOT_WORD = re.compile(r"[^\w]+")


def _key(text: str) -> str:
    """Lowercase words, accents and punctuation out: "P.R. China" -> "p r china"."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    doc = _read(DATA_DIR, "country_aliases.yaml")
    return {_key(str(k)): str(v).upper() for k, v in doc.get("aliases", {}).items()}


@lru_cache(maxsize=4096)
def country_code(text: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code ``text`` names, or None when it names no country techvet knows."""
    if not text or not text.strip():
        return None
    key = _key(text)
    alias = _aliases().get(key)
    if alias is not None:
        return alias
    import pycountry

    try:
        return str(pycountry.countries.lookup(text.strip()).alpha_2)
    except LookupError:
        return None


__all__ = ["country_code"]
