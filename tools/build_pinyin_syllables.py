#!/usr/bin/env python3
"""Rebuild techvet's inventory of pinyin syllables (src/techvet/knowledge/data/pinyin_syllables.json).

    python tools/build_pinyin_syllables.py

The syllables are the toneless readings (``Style.NORMAL``, ü written ``v`` as pypinyin writes it)
of every character in the pinned pypinyin's dictionary: exactly the pieces the Han-script names of
the lists are transliterated into (techvet.screen.names), so a token made by pypinyin always cuts
back into them. Left out: the syllabic nasals and interjections (m, n, ng, hm, hng, ê: 呣, 嗯, 噷,
哼, 欸), which name no company and, being one or two consonants, would let plain words such as
"hmm" pass for pinyin.

Why a file and not pypinyin at run time: deriving the set imports pypinyin's dictionary (0.2 s,
tens of MB), and screening a Latin-only supplier file should not pay that; the file loads in well
under a millisecond. tests/test_screen_names.py checks that the file still equals what the pinned
pypinyin gives.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src/techvet/knowledge/data/pinyin_syllables.json"
NOT_IN_NAMES = frozenset({"m", "n", "ng", "hm", "hng", "ê"})


def syllables() -> list[str]:
    """The inventory, sorted: every toneless reading in pypinyin's dictionary but NOT_IN_NAMES."""
    from pypinyin.constants import PINYIN_DICT
    from pypinyin.contrib.tone_convert import to_normal

    found = {to_normal(reading) for readings in PINYIN_DICT.values() for reading in readings.split(",")}
    return sorted(found - NOT_IN_NAMES)


def main() -> None:
    from importlib.metadata import version

    found = syllables()
    doc = {
        "source": f"pypinyin {version('pypinyin')} (github.com/mozillazg/python-pinyin): the toneless readings of "
        "its character dictionary, without the syllabic nasals and interjections (m, n, ng, hm, hng, ê)",
        "as_of": "2026-12-02",
        "licence": "MIT (pypinyin)",
        "syllables": found,
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(found)} syllables -> {OUT}")


if __name__ == "__main__":
    main()
