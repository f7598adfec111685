"""Written variants of listed names (issue 11 item 7): pinyin written in spaced syllables meets the
one token a listed Han run became; a different syllable is a different name, not a typing slip;
Han-script names reach the entries of every list that names the company."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from techvet.knowledge import DATA_DIR, load
from techvet.screen import screen
from techvet.screen.names import distinct_pinyin, name_forms, pinyin_syllables, qualified_tokens

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ALL_FOUR = {"us-bis-entity-list", "us-dod-1260h", "us-fcc-covered", "us-ofac-ns-cmic"}


def parties_of(name: str) -> set[str]:
    return {m.party_id for m in screen(name)}


def lists_of(name: str) -> set[str]:
    return {m.list for m in screen(name)}


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
        ("Hai Neng Da Communications", "us-fcc-covered:hytera-communications-corporation"),
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
    # "an" (安) and "zao" (造) are legal-form words too (the article, the Russian ZAO); "an quan"
    # (安全) is the business word security, as 安全 in a Han name is
    assert index.query_tokens("Zhongdianke Network An Quan Technology") == [
        ("zhongdianke", "network", "security", "technology")
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


# --- Han-script names of listed parties ---------------------------------------------------------------


def test_hytera_chinese_name_meets_its_entity_list_and_fcc_entries() -> None:
    assert {"us-bis-entity-list", "us-fcc-covered"} <= lists_of("海能达通信股份有限公司")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # given by the DoD list, shared with the entries of the same name on other lists
        ("杭州海康威视数字技术股份有限公司", ALL_FOUR),
        ("深圳市道通智能航空技术股份有限公司", {"us-dod-1260h", "us-fcc-covered"}),
        # from party_native_names.yaml: no list gives these Chinese names
        ("曙光信息产业股份有限公司", {"us-bis-entity-list", "us-ofac-ns-cmic"}),
        ("闻泰科技股份有限公司", {"us-bis-entity-list"}),
    ],
)
def test_han_names_reach_every_list_naming_the_company(query: str, expected: set[str]) -> None:
    assert expected <= lists_of(query)


def test_a_shared_han_name_says_where_it_came_from() -> None:
    parties = {p["id"]: p for p in load().restriction_lists["parties"]}
    fcc = parties["us-fcc-covered:hangzhou-hikvision-digital-technology-company"]
    assert "杭州海康威视数字技术股份有限公司" in fcc["aliases"]
    assert "us-dod-1260h:144" in fcc["alias_sources"]["杭州海康威视数字技术股份有限公司"]
    hytera = parties["us-fcc-covered:hytera-communications-corporation"]
    assert "stock-exchange filings" in hytera["alias_sources"]["海能达通信股份有限公司"]


def _party(pid: str, name: str, *aliases: str) -> dict[str, Any]:
    return {"id": pid, "list": pid.split(":")[0], "type": "entity", "name": name, "aliases": list(aliases)}


def test_han_names_are_shared_only_between_primary_names_of_one_company() -> None:
    build = _tool("build_lists")
    words = load().name_words
    parties = [
        _party("dod:1", "Hangzhou Hikvision Digital Technology (Hikvision)", "杭州海康威视数字技术股份有限公司"),
        _party("fcc:1", "Hangzhou Hikvision Digital Technology Company", "Hikvision"),
        _party("bis:1", "Hangzhou Hikvision Digital Technology Co., Ltd."),  # no Han name of its own
        _party("bis:2", "Hangzhou Hikvision Digital Technology (Australia) Pty Ltd."),  # a subsidiary
        _party("dod:2", "BGI Group", "深圳华大基因科技有限公司"),
        _party("bis:3", "Beijing Graphene Institute Co., Ltd", "BGI"),  # the acronym only as an alias
        _party("dod:3", "China Telecom Corporation Limited", "中国电信股份有限公司"),
        _party("cmic:1", "China Telecommunications Corporation"),  # generic words only
        _party("dod:4", "Dahua Technology", "大华"),
        _party("dod:5", "Dahua Technology Co."),  # the same list keeps them apart
    ]
    assert build.share_han_names(parties, words) == 2
    by_id = {p["id"]: p for p in parties}
    for pid in ("fcc:1", "bis:1"):
        assert "杭州海康威视数字技术股份有限公司" in by_id[pid]["aliases"]
        assert "dod:1" in by_id[pid]["alias_sources"]["杭州海康威视数字技术股份有限公司"]
    for pid in ("bis:2", "bis:3", "cmic:1", "dod:5"):
        assert by_id[pid]["aliases"] == [a for a in by_id[pid]["aliases"] if a.isascii()], pid


def test_qualified_tokens_keep_places_and_leave_short_forms() -> None:
    words = load().name_words
    assert qualified_tokens("Huawei Technologies (Australia) Pty Ltd.", words) == ("huawei", "technology", "australia")
    assert qualified_tokens("Shenzhen DJI Technology Co., Ltd. (DJI)", words) == ("shenzhen", "dji", "technology")


# --- provenance shown to users ------------------------------------------------------------------------


def test_snapshot_sources_name_public_origins_not_a_development_folder() -> None:
    kb = load()
    sources = [
        kb.restriction_lists["source"],
        kb.restriction_forms and kb.sources["restriction_scan.json"][0],
        kb.xinjiang_places["source"],
    ]
    for source in sources:
        assert source and "shared/" not in source and "shared\\" not in source, source
    assert "casslab-kaist/restricted-parties-db" in sources[0]
