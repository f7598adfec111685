"""The knowledge base: every rule explainable, catalogue facts, package-boundary matching."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from techvet.errors import KnowledgeError
from techvet.knowledge import DATA_DIR, _load, load


def test_every_rule_has_id_text_and_source() -> None:
    kb = load()
    assert len(kb.rules) >= 30
    for rule in kb.rules.values():
        assert rule.id.startswith("TV") and len(rule.id) == 5
        assert rule.title and rule.what and rule.why and rule.source and rule.as_of


def test_every_knowledge_file_names_its_source_and_date() -> None:
    kb = _load(DATA_DIR)
    # loaded on first use; their sources join then
    assert kb.psl.rules and kb.place.companies and kb.networks and kb.restriction_lists and kb.name_words
    assert kb.xinjiang_places["places"]
    assert set(kb.sources) == {
        "capabilities.yaml",
        "manifest.yaml",
        "endpoints.yaml",
        "sdk_rules.yaml",
        "antianalysis.yaml",
        "packers_apkid.json",
        "crypto.yaml",
        "sdks.yaml",
        "exodus_trackers.json",
        "sdk_catalogue.json",
        "native_libs.json",
        "psl.json",
        "owner_companies.yaml",
        "owners.json",
        "place_rules.yaml",
        "asn_owners.yaml",
        "ip_asn.json",
        "screening.yaml",
        "restriction_lists.json.gz",
        "name_words.yaml",
        "pinyin_syllables.json",
        "xinjiang_places.json",
        "traffic.yaml",
        "personal_data.yaml",
        "ios.yaml",
    }
    for source, as_of in kb.sources.values():
        assert source and as_of[:2] == "20"


def test_catalogue_covers_exodus_and_chinese_sdks() -> None:
    kb = load()
    curated = [s for s in kb.sdks.values() if s.source == kb.sources["sdks.yaml"][0]]
    chinese = [s for s in curated if s.country == "CN"]
    assert len(chinese) >= 40
    face = {s.id for s in curated if s.category == "face-recognition"}
    assert face >= {"megvii-faceplusplus", "sensetime", "arcsoft-face", "baidu-face", "tencent-youtu"}
    for sdk in curated:
        assert sdk.vendor and sdk.prefixes and sdk.category
    assert sum(1 for s in kb.sdks.values() if s.id.startswith("exodus-")) > 300
    assert "ODbL" in (DATA_DIR / "EXODUS-LICENSE.md").read_text()


@pytest.mark.parametrize(
    ("descriptor", "sdk"),
    [
        ("Lcom/mob/tools/utils/DeviceHelper;", "mobtech"),
        ("Lcom/mobclick/android/MobclickAgent;", "umeng"),
        ("Lcom/umengx/analytics/Agent;", None),
        ("Lcom/tencent/bugly/crashreport/CrashReport;", "bugly"),
        ("Lcom/tencent/buglyx/Thing;", None),
        ("Lcom/sina/weibo/sdk/cmd/AppInstallCmdExecutor;", "weibo"),
        ("Lcn/jpush/android/api/JPushInterface;", "jpush"),
    ],
)
def test_prefixes_match_whole_package_segments(descriptor: str, sdk: str | None) -> None:
    assert load().sdk_for_class(descriptor) == sdk


def test_exodus_prefixes_keep_package_boundaries() -> None:
    kb = load()
    exodus = [(p, s) for p, s in kb.sdk_by_prefix.items() if s.startswith("exodus-")]
    assert len(exodus) > 300
    for prefix, sdk in exodus:
        inside = "L" + prefix.replace(".", "/") + "/Inner;"
        longer = "L" + prefix.replace(".", "/") + "zz/Other;"
        beside = "L" + prefix.rpartition(".")[0].replace(".", "/") + "/Other;"
        assert kb.sdk_for_class(inside) == sdk
        # "com.dv" must not claim "com.dvtech": the longer name is classified like its parent package
        assert kb.sdk_for_class(longer) == kb.sdk_for_class(beside)


def _broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the bundled knowledge with one edit in file ``name``."""
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    text = (copy / name).read_text()
    assert old in text
    (copy / name).write_text(text.replace(old, new, 1))
    return copy


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        ("capabilities.yaml", "severity: high", "severity: dreadful", "capabilities.yaml"),
        ("manifest.yaml", "source:", "origin:", "source"),
        ("manifest.yaml", "id: TV102", "id: TV101", "twice"),
        ("antianalysis.yaml", "min_score: 2", "min_score: [2]", "antianalysis.yaml"),
        ("sdks.yaml", "id: weibo,", "ident: weibo,", "sdks.yaml"),
    ],
)
def test_bad_knowledge_fails_at_load_naming_the_file(
    tmp_path: Path, name: str, old: str, new: str, message: str
) -> None:
    with pytest.raises(KnowledgeError, match=message):
        _load(_broken_copy(tmp_path, name, old, new))
