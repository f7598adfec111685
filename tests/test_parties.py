"""Who is behind an app: maker, SDK vendors and destination owners against the lists, ban orders,
and Xinjiang region exposure of supplier rows."""

from __future__ import annotations

from pathlib import Path

import pytest

import techvet
from techvet.screen.regions import xinjiang_exposure
from tests.axml_builder import manifest_only_apk
from tests.conftest import fixture_app


def app_with(tmp_path: Path, package: str, label: str) -> techvet.ScanResult:
    return techvet.scan(manifest_only_apk(tmp_path / "app.apk", package, label))


def rules(result: techvet.ScanResult, prefix: str = "TV6") -> list[tuple[str, str | None]]:
    return sorted((f.rule, f.subject) for f in result.findings if f.rule.startswith(prefix))


def test_package_on_a_ban_order_is_exact(tmp_path: Path) -> None:
    result = app_with(tmp_path, "com.zhiliaoapp.musically", "TikTok")
    assert rules(result) == [("TV603", "com.zhiliaoapp.musically")]
    f = next(f for f in result.findings if f.rule == "TV603")
    assert f.extra["list"] == "in-meity-69a" and f.extra["entries"][0]["listed_on"] == "2020-06-29"


def test_clone_name_is_scored_not_exact(tmp_path: Path) -> None:
    result = app_with(tmp_path, "org.example.clone", "Tik Tok Lite")
    found = [f for f in result.findings if f.rule == "TV604"]
    assert found and found[0].confidence == "tentative" and 0.9 <= found[0].extra["score"] <= 1.0
    assert rules(app_with(tmp_path, "org.example.notes", "Field Notes")) == []


def test_maker_by_package_organisation(tmp_path: Path) -> None:
    result = app_with(tmp_path, "dji.go.v4", "DJI GO 4")
    lists = {f.extra["list"] for f in result.findings if f.rule == "TV601"}
    assert {"us-bis-entity-list", "us-dod-1260h", "us-fcc-covered"} <= lists
    assert all(f.subject == "dji" for f in result.findings if f.rule == "TV601")
    assert rules(app_with(tmp_path, "com.example.dji", "x"), "TV601") == []  # "example" is the org label


def test_sdk_vendor_and_destination_owner_on_the_fixture() -> None:
    result = techvet.scan(fixture_app("drone_companion.apk"))
    vendor = [f for f in result.findings if f.rule == "TV602"]
    assert [(f.subject, f.extra["list"]) for f in vendor] == [("Tencent", "us-dod-1260h")]
    assert "bugly" in vendor[0].evidence[0].detail
    assert not [f for f in result.findings if f.rule in ("TV601", "TV603")]  # skyfleet is on no list


def test_clean_app_has_no_party_findings() -> None:
    assert rules(techvet.scan(fixture_app("clean_app.apk"))) == []


@pytest.mark.parametrize(
    ("fields", "country", "places"),
    [
        ({"name": "Xinjiang Zhongtai Chemical Co. Ltd."}, "CN", ["新疆 (Xinjiang)"]),
        ({"name": "乌鲁木齐某某贸易有限公司"}, None, ["乌鲁木齐 (Urumqi)"]),
        ({"name": "Widget Co", "address": "No. 5 Road, Shihezi, 832000"}, "CN", ["石河子 (Shihezi)"]),
        ({"name": "Widget Co", "address": "Beijing Road 1, Urumqi"}, "CN", ["乌鲁木齐 (Urumqi)"]),
        ({"name": "Inner Mongolia Yili Industrial Group"}, "CN", []),  # 伊利 the dairy group, not 伊犁
        ({"name": "Ningbo Shanshan Co., Ltd.", "address": "Ningbo 315000"}, "CN", []),  # a county name elsewhere
        ({"name": "Acme", "address": "Bole Road, Addis Ababa"}, "ET", []),
        ({"name": "Acme", "address": "Shihezi Road 3"}, "CN", []),  # a city name without a Xinjiang context
        ({"name": "新星科技有限公司"}, "CN", []),  # 新星 is also an XPCC city, and a common name
    ],
)
def test_xinjiang_exposure(fields: dict[str, str], country: str | None, places: list[str]) -> None:
    assert [e.place for e in xinjiang_exposure(fields, country)] == places  # type: ignore[arg-type]


def test_token_sort_ratio_equals_rapidfuzz() -> None:
    import random

    from rapidfuzz import fuzz

    from techvet.detect.parties import token_sort_ratio

    rng = random.Random(3)
    for _ in range(3000):
        a = " ".join("".join(rng.choice("abcdet") for _ in range(rng.randint(1, 7))) for _ in range(rng.randint(0, 3)))
        b = " ".join("".join(rng.choice("abcdet") for _ in range(rng.randint(1, 7))) for _ in range(rng.randint(0, 3)))
        assert token_sort_ratio(a, b) == pytest.approx(fuzz.token_sort_ratio(a, b)), (a, b)


def test_maker_by_label_and_certificate_subject(tmp_path: Path) -> None:
    from techvet.detect.parties import PartyFacts, _maker_names

    result = app_with(tmp_path, "org.example.viewer", "Hikvision")
    assert {f.extra["list"] for f in result.findings if f.rule == "TV601"} >= {"us-bis-entity-list", "us-fcc-covered"}
    subject = "Common Name: Android Debug, Organization: SZ DJI Technology Co., Ltd., Country: CN"
    facts = PartyFacts(package=None, label=None, certificate_subjects=(subject,))
    assert [name for name, _ in _maker_names(facts)] == ["SZ DJI Technology Co., Ltd."]
