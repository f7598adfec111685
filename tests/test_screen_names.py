"""Written variants of listed names (issue 11 item 7): pinyin written in spaced syllables meets the
one token a listed Han run became; a different syllable is a different name, not a typing slip;
Han-script names reach the entries of every list that names the company."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from techvet.knowledge import DATA_DIR, load
from techvet.screen import screen
from techvet.screen.names import distinct_pinyin, name_forms, pinyin_syllables

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def parties_of(name: str) -> set[str]:
    return {m.party_id for m in screen(name)}


# --- the syllable inventory and its rules ------------------------------------------------------------


def test_syllable_inventory_is_what_the_pinned_pypinyin_gives() -> None:
    doc = json.loads((DATA_DIR / "pinyin_syllables.json").read_text(encoding="utf-8"))
    assert doc["source"] and doc["as_of"] and doc["licence"].startswith("MIT")
    assert doc["syllables"] == _tool("build_pinyin_syllables").syllables()  # else: rerun the tool


@pytest.mark.parametrize(
    ("token", "syllables"),
    [
        ("haikangweishi", ("hai", "kang", "wei", "shi")),
        ("dajiang", ("da", "jiang")),
        ("hainengda", ("hai", "neng", "da")),
        ("lvmeng", ("lv", "meng")),  # pypinyin's ü
        ("lue", ("lue",)),  # the same ü as a Latin keyboard writes it
        ("hikvision", None),
        ("huawie", None),
        ("hmm", None),  # interjections are left out of the inventory
        ("xian2", None),
        ("", None),
    ],
)
def test_tokens_cut_into_pinyin_syllables(token: str, syllables: tuple[str, ...] | None) -> None:
    assert pinyin_syllables(token) == syllables


@pytest.mark.parametrize(
    ("a", "b", "distinct"),
    [
        ("tianye", "tianyi", True),  # 天业 / 天翼
        ("tanyuan", "taiyuan", True),  # 碳元 / 太原
        ("changzhou", "hangzhou", True),  # 常州 / 杭州
        ("hikvison", "hikvision", False),  # a slip in a word that is not pinyin
        ("huawie", "huawei", False),
        ("lvmeng", "lumeng", False),  # ü written v or u: one syllable
        ("tianye", "tianye", False),
    ],
)
def test_different_syllables_are_different_names(a: str, b: str, distinct: bool) -> None:
    assert distinct_pinyin(a, b) is distinct


# --- screening: spaced syllables meet, different syllables do not ------------------------------------


@pytest.mark.parametrize(
    ("query", "party"),
    [
        ("Haikang Weishi", "us-bis-entity-list:1522"),  # listed 海康威视 -> haikangweishi
        ("Hai Kang Wei Shi Digital Technology", "us-bis-entity-list:1522"),
        ("Da Jiang Innovations", "us-bis-entity-list:1455"),  # listed Da-Jiang -> dajiang
    ],
)
def test_spaced_pinyin_syllables_meet_the_listed_token(query: str, party: str) -> None:
    assert party in parties_of(query)


def test_a_join_where_every_piece_is_listed_keeps_the_spaced_reading() -> None:
    index = load().screening_index
    readings = index.query_tokens("Da Jiang Innovations")
    assert readings[0] == ("dajiang", "innovation")  # the join first
    assert ("da", "jiang", "innovation") in readings  # "da" and "jiang" are listed words too
    assert index.query_tokens("Hikvision") == [("hikvision",)]


def test_form_words_that_are_syllables_join_or_go() -> None:
    index = load().screening_index
    # "an" (安) and "zao" (造) are legal-form words too (the article, the Russian ZAO)
    assert index.query_tokens("Zhongdianke Network An Quan Technology") == [
        ("zhongdianke", "network", "anquan", "technology")
    ]
    assert ("shenzhen", "huadazhizao", "technology") in index.query_tokens("Shenzhen Hua Da Zhi Zao Technology")
    assert index.query_tokens("An Apple Company") == [("apple",)]  # joined nothing: dropped as ever
    assert index.query_tokens("ZAO Zhi") == [("zhi",)]


@pytest.mark.parametrize(
    ("query", "not_meant"),
    [
        ("新疆天业", "Tianyi"),  # xinjiang tianye, not Tianyi Cloud or Tianyi International
        ("Tianye Cloud Technology", "Tianyi"),
        ("Taiyuan Technology Co., Ltd.", "Tanyuan"),  # 太原 is not 碳元
    ],
)
def test_a_different_syllable_is_a_different_name(query: str, not_meant: str) -> None:
    assert not any(not_meant.lower() in m.name.lower() for m in screen(query))


@pytest.mark.parametrize(
    ("query", "meant"),
    [
        ("Hikvison", "Hikvision"),
        ("Huawie Technologies", "Huawei"),
        ("Hangzhou Hikvision Digital Teahnologies", "Hikvision"),
    ],
)
def test_typing_slips_outside_pinyin_still_match(query: str, meant: str) -> None:
    assert any(meant in m.name for m in screen(query))


def test_slips_fold_into_business_words_but_not_across_syllables() -> None:
    words = load().name_words
    assert name_forms("Changzhou Utek Composite Co., Ltd.", words) == [("changzhou", "utek", "composite")]
    assert name_forms("Tanyuan Technology Co. Ltd.", words) == [("tanyuan", "technology")]
    assert name_forms("Hongkong Inkson Technology Limited", words) == [("hongkong", "inkson", "technology")]
    assert name_forms("Acme Teahnologies Compnay Limtied", words) == [("acme", "technology")]
