"""Issue 18: iOS apps. Fixture IPAs built with known contents give exactly their findings; the
Weibo SDK's real demo IPAs and Tencent's real framework (from fetched repositories; skipped when
absent) give the SDKs, hosts, ATS settings and maker; hostile IPAs are refused in one line."""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from techvet.errors import InputError, LimitExceededError
from techvet.ios.macho import read_binary
from techvet.ios.names import objc_classes, swift_type_name
from techvet.ios.reader import read_ios_app
from techvet.scan import scan
from tests import ios_build as build

MIRRORS = Path(os.environ.get("TECHVET_MIRRORS", "/work/.mirror"))
WEIBO = MIRRORS / "sinaweibosdk+weibo_ios_sdk" / "repo"
TENCENT = MIRRORS / "wanggang316+MyTimeLine" / "repo"
# the Weibo SDK's demo IPAs, by the commit that added each (sinaweibosdk/weibo_ios_sdk)
WEIBO_IPAS = {"SDKDemo20131113.ipa": "aa79b5b", "SDKDemo20131126.ipa": "a3b0ec7", "SDKDemo20140109.ipa": "97d9110"}
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "json-schema.json").read_text())


def _git_blob(repo: Path, spec: str, out: Path) -> Path:
    if not repo.is_dir():
        pytest.skip(f"{repo} not fetched (fetch the repository into {MIRRORS}, or set TECHVET_MIRRORS)")
    done = subprocess.run(["git", "--git-dir", str(repo), "cat-file", "-p", spec], capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout:
        pytest.skip(f"{spec} absent from {repo}")
    out.write_bytes(done.stdout)
    return out


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("ios")
    return {
        "sdks": build.sdk_app(where / "fixture_sdks.ipa"),
        "encrypted": build.encrypted_app(where / "fixture_encrypted.ipa"),
    }


def _pairs(result: object) -> set[tuple[str, str | None]]:
    return {(f.rule, f.subject) for f in result.findings}  # type: ignore[attr-defined]


def test_fixture_gives_every_expected_finding_and_no_other(fixtures: dict[str, Path]) -> None:
    result = scan(fixtures["sdks"])
    assert result.errors == []
    assert result.app is not None and result.app.platform == "ios"
    assert result.package == "org.example.fixture" and result.title == "Fixture SDKs"
    expected = {
        ("TV301", "jpush"),  # class JPUSHService in the main binary
        ("TV301", "amap"),  # class AMapLocationManager and AMap.bundle
        ("TV301", "bugly"),  # Bugly.framework
        ("TV304", "Mystery"),  # a framework no catalogue names
        ("TV205", "location"),
        ("TV206", "camera"),  # purpose string alone: tentative
        ("TV204", "installed_apps"),
        ("TV221", "vendor_id"),
        ("TV222", "advertising_id"),
        ("TV502", "root-detection"),
        ("TV504", "anti-debug"),
        ("TV106", "cleartext"),
        ("TV109", None),
        ("TV401", "log.fixture-tracker.cn"),
        ("TV401", "collect.mysterysdk.cn"),
        ("TV402", "restapi.amap.com"),
        ("TV402", "rqd.uu.qq.com"),
        # screening of what was found: vendors and owners on the bundled restriction lists
        ("TV602", "Alibaba (AutoNavi)"),
        ("TV602", "Tencent"),
        ("TV605", "AutoNavi (Amap)"),
        ("TV605", "Tencent Holdings Ltd."),
    }
    assert _pairs(result) == expected
    by = {(f.rule, f.subject): f for f in result.findings}
    assert by[("TV205", "location")].confidence == "certain"
    assert by[("TV206", "camera")].confidence == "tentative"
    assert by[("TV222", "advertising_id")].confidence == "firm"  # no NSUserTrackingUsageDescription
    assert by[("TV401", "log.fixture-tracker.cn")].extra["ats_permits"] is True
    assert by[("TV401", "collect.mysterysdk.cn")].extra["ats_permits"] is False
    assert by[("TV304", "Mystery")].extra["hosts"] == ["collect.mysterysdk.cn"]
    assert by[("TV109", None)].extra["team_id"] == "FIXTURE12"
    assert [c.subject for c in result.app.certificates] == [
        "Common Name: iPhone Distribution: Fixture Maker Co, Organizational Unit: FIXTURE12, "
        "Organization: Fixture Maker Co, Country: US"
    ]
    assert result.judge()["verdict"] == "fail"


def test_reader_facts_of_the_fixture(fixtures: dict[str, Path]) -> None:
    app = read_ios_app(fixtures["sdks"])
    assert app.ios is not None
    main = app.ios.main
    assert main is not None and main.archs == ["arm64"] and main.min_os == "15.0"
    assert main.classes == ["AppDelegate", "JPUSHService", "AMapLocationManager"]
    assert "_ptrace" in main.imports and "canOpenURL:" in main.selectors
    assert app.ios.entitlements == {"application-identifier": "FIXTURE12.org.example.fixture", "get-task-allow": False}
    assert sorted(b.name for b in app.ios.binaries) == ["Alamofire", "Bugly", "Fixture", "FixtureCore", "Mystery"]
    assert [b.role for b in app.ios.binaries] == ["main"] + ["framework"] * 4
    assert app.ios.bundles == ["AMap.bundle"]
    assert app.ios.profile is not None and app.ios.profile.provisions_all_devices


def test_encrypted_binary_reports_what_it_could_not_see(fixtures: dict[str, Path]) -> None:
    result = scan(fixtures["encrypted"])
    assert _pairs(result) == {("TV508", "fairplay"), ("TV205", "location")}
    assert result.app is not None and result.app.ios is not None
    main = result.app.ios.main
    assert main is not None and main.encrypted and main.archs == ["armv7", "arm64"]
    assert main.classes == [] and main.strings == []  # the class JPUSHService and the URL are encrypted
    assert any("FairPlay-encrypted" in n for n in result.app.notes)
    verdict = result.judge()
    assert verdict["verdict"] != "pass"
    assert any(d["line"] == "INCOMPLETE" and "FairPlay" in d["why"] for d in verdict["decided_by"])


def test_every_output_takes_an_ipa(fixtures: dict[str, Path], tmp_path: Path) -> None:
    import jsonschema

    for fmt in ("json", "sarif", "md", "html", "text"):
        out = tmp_path / f"out.{fmt}"
        done = subprocess.run(
            [sys.executable, "-m", "techvet", "scan", "--format", fmt, str(fixtures["sdks"]), "-o", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        text = out.read_text()
        assert fmt == "sarif" or "org.example.fixture" in text or "Fixture SDKs" in text, fmt
    doc = json.loads((tmp_path / "out.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["app"]["platform"] == "ios" and doc["ios"]["profile"]["team_id"] == "FIXTURE12"
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"TV301", "TV205", "TV106"}
    assert "<script>" not in (tmp_path / "out.html").read_text().split("</head>")[1].replace("<script>", "", 0)


def test_diff_and_bulk_take_ipas(fixtures: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "apps"
    folder.mkdir()
    for name, path in fixtures.items():
        (folder / f"{name}.ipa").write_bytes(path.read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "techvet", "scan", "--format", "json", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [json.loads(x) for x in done.stdout.splitlines() if x.strip()]
    assert sorted(d["app"]["package"] for d in lines) == ["org.example.encrypted", "org.example.fixture"]
    done = subprocess.run(
        [sys.executable, "-m", "techvet", "diff", str(fixtures["encrypted"]), str(fixtures["sdks"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    assert "TV301" in done.stdout and "jpush" in done.stdout.lower()


def test_bare_app_folder_reads_as_the_ipa(fixtures: dict[str, Path], tmp_path: Path) -> None:
    with zipfile.ZipFile(fixtures["sdks"]) as z:
        z.extractall(tmp_path)
    folder = tmp_path / "Payload" / "Fixture.app"
    os.symlink("/etc/passwd", folder / "leak")  # a link is never followed
    from_folder = scan(folder)
    assert _pairs(from_folder) == _pairs(scan(fixtures["sdks"]))
    assert from_folder.app is not None and "leak" not in from_folder.app.entries


def test_swift_names_are_decoded_only_in_plain_forms() -> None:
    assert swift_type_name("_TtC7Tracker8Uploader") == "Tracker.Uploader"
    assert swift_type_name("_$s7Tracker8UploaderCMn") == "Tracker.Uploader"
    assert swift_type_name("_$s7Tracker0A8UploaderCMn") is None  # a substitution: not guessed
    assert swift_type_name("UIViewController") is None


# ------------------------------------------------------------------ real data (fetched repositories)
@pytest.mark.parametrize("name", sorted(WEIBO_IPAS))
def test_weibo_demo_ipa_shows_sdk_hosts_ats_and_maker(name: str, tmp_path: Path) -> None:
    path = _git_blob(WEIBO, f"{WEIBO_IPAS[name]}:{name}", tmp_path / name)
    result = scan(path)
    assert result.errors == []
    assert result.package == "com.sina.weibo.SNWeiboSDKDemo"
    weibo = result.by_rule("TV301")
    assert [f.subject for f in weibo] == ["weibo"] and weibo[0].confidence == "certain"
    hosts = {f.subject: f for f in result.findings if f.rule in ("TV401", "TV402")}
    assert hosts["api.weibo.com"].party == "Sina Corporation (Weibo)"
    assert hosts["api.weibo.com"].country == "CN"
    assert "open.weibo.cn" in hosts
    ats = result.by_rule("TV103")
    assert len(ats) == 1 and "iphoneos7.0" in ats[0].title  # built before ATS existed
    profile = result.by_rule("TV109")
    assert profile and profile[0].extra["team_name"] == "Sina.Com Technology (China) Co., Ltd."
    assert "Sina.Com Technology (China) Co., Ltd." in result.app.certificates[0].subject  # type: ignore[union-attr]


def test_tencent_framework_shows_qq_connect_and_mta(tmp_path: Path) -> None:
    binary = _git_blob(TENCENT, "HEAD:TencentOpenAPI.framework/TencentOpenAPI", tmp_path / "TencentOpenAPI")
    path = build.ipa(
        tmp_path / "tencent.ipa",
        "Share",
        build.info("org.example.share", "Share", "Share"),
        {
            "Share": build.macho(build.MachOSpec(classes={"AppDelegate": []})),
            "Frameworks/TencentOpenAPI.framework/TencentOpenAPI": binary.read_bytes(),
        },
    )
    result = scan(path)
    assert result.errors == []
    assert {f.subject for f in result.by_rule("TV301")} == {"tencent-qq-connect", "tencent-mta"}
    framework = result.app.ios.binaries[1]  # type: ignore[union-attr]
    assert framework.archs == ["armv7", "armv7s", "i386"] and framework.file_type == "object"


# ------------------------------------------------------------------ hostile IPAs
def _hostile(tmp_path: Path) -> dict[str, Path]:
    ok = build.macho(build.MachOSpec(classes={"A": ["m"]}))
    plist = build.info("org.example.hostile", "Hostile", "Hostile")
    out = {}
    bomb = tmp_path / "bomb.ipa"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Payload/Hostile.app/Info.plist", __import__("plistlib").dumps(plist))
        z.writestr("Payload/Hostile.app/Hostile", b"\0" * (300 * 1024 * 1024))
    out["zip bomb"] = bomb
    out["fat 10000"] = build.ipa(
        tmp_path / "fat.ipa", "Hostile", plist, {"Hostile": build.fat((0x0100000C, 0, ok), claimed=10_000)}
    )
    truncated = bytearray(ok)
    struct.pack_into("<I", truncated, 20, len(ok) * 4)  # sizeofcmds past the end of the file
    out["load commands past the end"] = build.ipa(tmp_path / "lc.ipa", "Hostile", plist, {"Hostile": bytes(truncated)})
    big = tmp_path / "plist.ipa"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Payload/Hostile.app/Info.plist", b"<plist><dict>" + b" " * (100 * 1024 * 1024) + b"</dict></plist>")
        z.writestr("Payload/Hostile.app/Hostile", ok)
    out["100 MB plist"] = big
    out["../ names"] = build.ipa(
        tmp_path / "dots.ipa", "Hostile", plist, {"../../../etc/cron.d/x": b"x", "Hostile": ok}
    )
    return out


def test_hostile_ipas_get_one_line_and_exit_2(tmp_path: Path) -> None:
    for what, path in _hostile(tmp_path).items():
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "techvet", "scan", str(path)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 2, (what, done.stdout, done.stderr)
        lines = [x for x in done.stderr.splitlines() if x.strip() and "lists are older" not in x]
        assert len(lines) == 1 and "Traceback" not in done.stderr, (what, done.stderr)
        assert time.perf_counter() - started < 20, what


def test_looping_and_huge_objc_lists_are_bounded() -> None:
    spec = build.MachOSpec(
        classes={f"C{i}": ["a", "b"] for i in range(50)}, class_isa_self=True, method_count=2**32 - 1
    )
    started = time.perf_counter()
    binary = read_binary(build.macho(spec), "hostile")
    classes = objc_classes(binary.images[0])
    assert time.perf_counter() - started < 2
    assert set(classes) == {f"C{i}" for i in range(50)}


def test_mutated_mach_o_never_raises_anything_but_input_errors() -> None:
    """A mutation run over the Mach-O reader: 3,000 files of 1 to 8 random byte changes (headers
    and load commands most often), read as the scan reads them."""
    seed = build.macho(
        build.MachOSpec(
            classes={"A": ["x", "y"], "B": []},
            strings=["http://a.example.cn"],
            imports=["_ptrace"],
            libraries=["/usr/lib/libz.dylib"],
            entitlements={"get-task-allow": True},
        )
    )
    fat = build.fat((12, 9, seed), (0x0100000C, 0, seed))
    rng = random.Random(18)
    for original in (seed, fat):
        for _ in range(1500):
            data = bytearray(original)
            for _ in range(rng.randint(1, 8)):
                at = rng.randrange(0, 0x400) if rng.random() < 0.7 else rng.randrange(len(data))
                data[at] = rng.randrange(256)
            try:
                binary = read_binary(bytes(data), "mutant")
            except InputError:
                continue
            for image in binary.images:
                objc_classes(image)


def test_limits_are_input_errors() -> None:
    with pytest.raises(LimitExceededError, match="10000 architectures"):
        read_binary(build.fat((0x0100000C, 0, build.macho(build.MachOSpec())), claimed=10_000), "x")


def test_fleet_takes_an_ipa_as_the_companion_app(fixtures: dict[str, Path], tmp_path: Path) -> None:
    """The iPad in the pilot's hands: an IPA in the apps folder is linked to its device by bundle
    id, scanned and judged under the app policy, as an APK is."""
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "pilot.ipa").write_bytes(fixtures["sdks"].read_bytes())
    inventory = tmp_path / "fleet.csv"
    inventory.write_text("make,model,companion app\nSkydio,X10D,org.example.fixture\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "techvet", "fleet", str(inventory), "--apps", str(apps), "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    device = json.loads(done.stdout)["devices"][0]
    assert device["decision"] == "restrict", done.stderr
    assert device["app_verdicts"][0]["app"] == "org.example.fixture" and device["app_verdicts"][0]["verdict"] == "fail"
    assert any(f["rule"] == "TV301" and "JPush" in f["title"] for f in device["app_findings"]), device["app_findings"]


def test_committed_sample_is_what_the_builder_builds(fixtures: dict[str, Path]) -> None:
    """samples/ios_fixture.ipa (the demo's) is tests/ios_build.sdk_app's output: the same findings."""
    sample = Path(__file__).resolve().parents[1] / "samples" / "ios_fixture.ipa"
    assert _pairs(scan(sample)) == _pairs(scan(fixtures["sdks"]))


def test_an_ipa_without_its_name_reads_as_the_service_stores_it(fixtures: dict[str, Path], tmp_path: Path) -> None:
    """The service keeps uploads under their digest, without a suffix; an APK named .ipa reads too."""
    blob = tmp_path / "0f3c9a"
    blob.write_bytes(fixtures["sdks"].read_bytes())
    assert scan(blob).package == "org.example.fixture"
    renamed = tmp_path / "companion.ipa"
    renamed.write_bytes((Path(__file__).parent / "fixtures" / "apps" / "drone_companion.apk").read_bytes())
    result = scan(renamed)
    assert result.package == "com.skyfleet.pilot" and result.app is not None and result.app.platform == "android"


def test_a_bundle_nested_in_another_is_said_not_read(tmp_path: Path) -> None:
    import plistlib

    def framework(name: str) -> bytes:
        return plistlib.dumps(build.info(f"org.example.{name}", name, name))

    lib = build.macho(build.MachOSpec(file_type=6, cryptid=None))
    path = build.ipa(
        tmp_path / "nested.ipa",
        "N",
        build.info("org.example.n", "N", "N"),
        {
            "N": build.macho(build.MachOSpec()),
            "Frameworks/A.framework/Info.plist": framework("A"),
            "Frameworks/A.framework/A": lib,
            "Frameworks/A.framework/Frameworks/B.framework/Info.plist": framework("B"),
            "Frameworks/A.framework/Frameworks/B.framework/B": lib,
        },
    )
    app = read_ios_app(path)
    assert app.ios is not None and [b.name for b in app.ios.binaries] == ["N", "A"]
    nested = "Payload/N.app/Frameworks/A.framework/Frameworks/B.framework/Info.plist"
    assert app.notes == [f"{nested}: a bundle nested in another; its code was not read"]
