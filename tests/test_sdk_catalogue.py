"""The SDK catalogue built from maintained sources, and code no catalogue names (issue 12).

A vetting tool is judged by its misses: an SDK nobody catalogued must show as unidentified
third-party code with its hosts, never as "no SDK"; and a bigger catalogue must not buy coverage with
precision (no entry may claim the platform's or an open-source library's package).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import techvet
from techvet.detect.components import top_package, unidentified
from techvet.knowledge import DATA_DIR, load
from techvet.knowledge.catalogue import summary
from techvet.report import html, text
from tests.conftest import fixture_app

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "knowledge"
PACKAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def test_the_catalogue_names_a_maker_for_hundreds_of_sdks_and_every_chinese_one() -> None:
    kb = load()
    counts = summary(kb)
    assert counts["with_vendor"] >= 400
    assert counts["by_country"].get("CN", 0) >= 150
    assert {"Exodus Privacy (ODbL)", "LibChecker-Rules (Apache-2.0)", "LibRadar (Apache-2.0)"} <= set(
        counts["by_source"]
    )
    assert any(name.startswith("third-party SDK disclosure list") for name in counts["by_source"])
    for sdk in kb.sdks.values():
        assert sdk.source, sdk.id
        if sdk.country:  # a country without a maker would be a guess
            assert sdk.vendor, sdk.id
    for licence in ("EXODUS-LICENSE.md", "LIBCHECKER-LICENSE.txt", "LIBRADAR-LICENSE.txt"):
        assert (DATA_DIR / licence).is_file()


def test_no_entry_claims_the_platform_or_an_open_source_library() -> None:
    kb = load()
    libraries = kb.library_by_prefix
    assert {"android", "androidx", "java", "kotlin", "okhttp3", "com.google.gson", "com.bumptech.glide"} <= set(
        libraries
    )
    for sdk in kb.sdks.values():
        for prefix in sdk.prefixes:
            assert PACKAGE.match(prefix), (sdk.id, prefix)
            parts = prefix.split(".")
            inside = [".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in libraries]
            assert not inside, f"{sdk.id} claims {prefix}, inside {inside[0]} ({libraries[inside[0]]})"
    for lib in libraries:  # a library under an SDK vendor's namespace stays the library's
        assert kb.package_owner(lib + ".zzprobe") == ("library", libraries[lib])
        assert kb.sdk_for_class("L" + lib.replace(".", "/") + "/Inner;") is None


@pytest.mark.parametrize(
    ("descriptor", "sdk"),
    [
        ("Lcom/loc/Cgic;", "amap"),  # Amap's legacy location module, outside com.amap (disclosure list)
        ("Lcom/efs/sdk/base/EfsReporter;", "umeng"),  # Umeng's EFS module (disclosure list)
        ("Lcom/zui/opendeviceidlibrary/OpenDeviceId;", "msa-oaid"),  # Lenovo's OAID helper in MSA
        ("Lcom/tencent/tbs/one/TBSOneManager;", "tencent-x5"),
        ("Lcom/facebook/fresco/Fresco;", None),  # Fresco is open source, even under com.facebook
        ("Lcom/facebook/login/LoginManager;", "facebook"),
        ("Lcom/google/android/gms/ads/AdView;", "google-ads"),
        ("Lcom/google/android/gms/common/GoogleApiAvailability;", "google-play-services"),
        ("Lcom/meizu/cloud/pushsdk/PushManager;", "lc:com.meizu.cloud.pushsdk"),
        ("Lcom/hihonor/push/sdk/HonorPushClient;", "lc:com.hihonor.push.sdk"),
        ("Lcom/meizu/cloud/pushsdkx/Other;", None),  # whole segments only
    ],
)
def test_built_entries_match_whole_package_segments(descriptor: str, sdk: str | None) -> None:
    assert load().sdk_for_class(descriptor) == sdk


def test_catch_all_vendor_namespace_leaves_specific_trackers_their_own_ids() -> None:
    kb = load()
    measured = kb.sdk_for_class("Lcom/google/android/gms/measurement/AppMeasurement;")
    assert measured not in (None, "google-play-services")


def test_chinese_sdks_from_each_source_have_maker_and_country() -> None:
    kb = load()
    for sdk_id, vendor in [
        ("lc:com.sobot.chat", "Sobot"),  # LibChecker's team 智齿科技, researched
        ("lc:com.hihonor.push.sdk", "Honor"),
        ("disclosed:com.g.elogin", "Getui"),
    ]:
        sdk = kb.sdks[sdk_id]
        assert sdk.country == "CN" and vendor.casefold() in (sdk.vendor or "").casefold(), sdk
    radar_cn = [s for s in kb.sdks.values() if s.source.startswith("LibRadar") and s.country == "CN"]
    assert len(radar_cn) >= 20


@pytest.mark.skipif(
    not (SHARED / "libradar" / "tag_rules.csv").is_file(), reason="shared/knowledge not beside the checkout"
)
def test_the_committed_catalogue_is_what_the_build_tool_makes() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_sdk_catalogue
    finally:
        sys.path.remove(str(ROOT / "tools"))
    built = build_sdk_catalogue.build(SHARED)
    committed = json.loads((DATA_DIR / "sdk_catalogue.json").read_text(encoding="utf-8"))
    for key in ("sdks", "components", "extensions", "libraries", "exodus_vendors"):
        assert built[key] == committed[key], f"{key} differs: run tools/build_sdk_catalogue.py"


def test_an_uncatalogued_sdk_is_an_unidentified_component_with_its_hosts_and_capabilities() -> None:
    result = techvet.scan(fixture_app("unknown_sdk.apk"))
    assert not result.errors
    [component] = result.by_rule("TV304")
    facts = component.extra
    assert component.subject == "net.adpulse"
    assert facts["classes"] == 3 and set(facts["packages"]) == {"net.adpulse.sdk", "net.adpulse.sdk.net"}
    assert facts["hosts"] == ["stat.adpulse-example.net", "report.qq.com"]  # cleartext first
    assert facts["cleartext_hosts"] == ["stat.adpulse-example.net"]
    assert facts["capabilities"] == ["device_identifiers"]
    assert [d["owner_country"] for d in facts["destinations"]] == [None, "CN"]
    assert "Tencent" in component.title
    # the capability reads as the component's, not the app's own
    [identifiers] = result.by_rule("TV203")
    assert identifiers.extra["in_sdks"] == ["net.adpulse (unidentified)"] and not identifiers.extra["in_app_code"]
    # and the default policy acts on it: unidentified code talking to a CN company's host
    assert "APP-UNIDENTIFIED-SDK-CN" in [d["line"] for d in result.verdict["decided_by"]]
    assert result.verdict["verdict"] in ("warn", "fail")


def test_a_manifest_component_names_its_sdk_when_the_code_is_renamed() -> None:
    result = techvet.scan(fixture_app("unknown_sdk.apk"))
    [getui] = [f for f in result.by_rule("TV301") if f.subject == "getui"]
    assert getui.country == "CN" and getui.extra["components"] == 1
    assert getui.evidence[0].file == "AndroidManifest.xml"
    assert getui.evidence[0].class_name == "com.igexin.sdk.PushService"


def test_reports_list_unidentified_components_with_the_sdks() -> None:
    result = techvet.scan(fixture_app("unknown_sdk.apk"))
    import io

    buffer = io.StringIO()
    text.render(result, buffer, color=False)
    shown = buffer.getvalue()
    assert "net.adpulse (3 classes)" in shown and "unidentified" in shown
    assert "(net.adpulse (unidentified))" in shown  # in what it can do
    page = html.render(result)
    assert "net.adpulse (3 classes)" in page and "unidentified" in page


def test_own_code_platform_libraries_and_catalogued_sdks_are_not_unidentified() -> None:
    for name in ("clean_app.apk", "drone_companion.apk"):
        result = techvet.scan(fixture_app(name))
        assert not result.by_rule("TV304"), [f.title for f in result.by_rule("TV304")]


@pytest.mark.parametrize(
    ("package", "top"),
    [
        ("net.adpulse.sdk.net", "net.adpulse"),
        ("cn.com.chinatelecom.account", "cn.com.chinatelecom"),
        ("io.github.x.y", "io.github.x"),
    ],
)
def test_components_are_reported_under_their_top_package(package: str, top: str) -> None:
    assert top_package(package) == top


def test_renamed_code_is_not_a_component(tmp_path: Path) -> None:
    from techvet.app.reader import read_app

    app = read_app(fixture_app("legu_like.apk"))
    assert not any(top.split(".")[-1].__len__() <= 2 for top in unidentified(app, load()))


def test_rules_sdks_lists_the_catalogue_with_counts_and_licences() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "techvet", "rules", "--sdks"], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    head = run.stdout.splitlines()[0]
    assert re.match(r"\d+ SDKs, \d+ with a known maker", head)
    assert "Apache License 2.0" in run.stdout and "Open Database License" in run.stdout
    as_json = subprocess.run(
        [sys.executable, "-m", "techvet", "rules", "--sdks", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    doc = json.loads(as_json.stdout)
    assert doc["summary"]["with_vendor"] >= 400
    assert {"id": "amap"}.items() <= next(r for r in doc["sdks"] if r["id"] == "amap").items()


def _repackaged(tmp_path: Path, package: str, launcher: str) -> Path:
    """unknown_sdk.apk's code under a manifest of our own: ``package`` and one launcher activity."""
    import zipfile

    from tests.axml_builder import build_axml

    main = ("category", {"name": "android.intent.category.LAUNCHER"}, [], "")
    intent = ("intent-filter", {}, [("action", {"name": "android.intent.action.MAIN"}, [], ""), main], "")
    app = ("application", {}, [("activity", {"name": launcher}, [intent], "")], "")
    path = tmp_path / "repackaged.apk"
    with zipfile.ZipFile(fixture_app("unknown_sdk.apk")) as src, zipfile.ZipFile(path, "w") as out:
        out.writestr("AndroidManifest.xml", build_axml(("manifest", {"package": package}, [app], "")))
        out.writestr("classes.dex", src.read("classes.dex"))
    return path


@pytest.mark.parametrize(
    ("package", "launcher"),
    [
        ("org.techvet.fixture.unknownsdk", "net.Hide"),  # a launcher in a bare top-level domain
        ("net", "org.techvet.Main"),  # a package that is only a top-level domain
        ("net.adpulse", "net.adpulse.Main"),  # the app may call the code its own: then it is the app's
    ],
)
def test_an_app_cannot_declare_a_whole_namespace_its_own(tmp_path: Path, package: str, launcher: str) -> None:
    result = techvet.scan(_repackaged(tmp_path, package, launcher))
    tops = [f.subject for f in result.by_rule("TV304")]
    if package == "net.adpulse":
        assert "net.adpulse" not in tops  # its own package: the maker's code (its package is in the report)
    else:
        assert "net.adpulse" in tops, tops


def test_a_bare_dex_has_no_components_to_report(tmp_path: Path) -> None:
    import zipfile

    dex = tmp_path / "classes.dex"
    with zipfile.ZipFile(fixture_app("unknown_sdk.apk")) as src:
        dex.write_bytes(src.read("classes.dex"))
    result = techvet.scan(dex)
    assert not result.by_rule("TV304")
    assert result.verdict["verdict"] != "pass"  # a bare DEX is judged incomplete, never clean


def test_every_manifest_component_belongs_to_the_sdk_whose_package_holds_it() -> None:
    kb = load()
    for component, sdk_id in kb.sdk_by_component.items():
        owner = kb.package_owner(component.rpartition(".")[0])
        if owner is not None and owner[0] == "sdk":
            assert owner[1] == sdk_id, (component, sdk_id, owner)


@pytest.mark.parametrize(
    ("package", "sdk"),
    [
        ("com.lody.virtual.client.stub", "virtualapp"),  # plugin frameworks are SDKs TV303 sees
        ("com.ryg.dynamicload.internal", "dl-apk"),
        ("com.tencent.matrix.trace", None),  # Tencent's open-source libraries are not Tencent SDKs
        ("com.facebook.rebound", None),
        ("u.aly", "umeng"),  # legacy and renamed packages of one SDK are that SDK
        ("com.xiaomi.xmpush.thrift", "xiaomi-push"),
        ("com.tencent.open.utils", "tencent-qq-connect"),
    ],
)
def test_plugin_frameworks_open_source_and_legacy_packages(package: str, sdk: str | None) -> None:
    owner = load().package_owner(package)
    assert (owner[1] if owner and owner[0] == "sdk" else None) == sdk


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(components=["a"]), "'components' must be a mapping"),
        (lambda d: d.update(components={}), "'components' is empty"),
        (lambda d: d.pop("libraries"), "'libraries' must be a mapping"),
        (lambda d: d["libraries"].update({"net": "everything"}), "whole domain"),
        (lambda d: d["extensions"].update({"no-such-sdk": {"prefixes": ["com.x.y"], "sources": []}}), "unknown SDK"),
        (lambda d: d["sdks"][0].update(prefixes=["net"]), "at least 2 segments"),
    ],
)
def test_a_malformed_catalogue_stops_the_load_naming_the_file(tmp_path: Path, change: object, message: str) -> None:
    import shutil

    from techvet.errors import KnowledgeError
    from techvet.knowledge import _load

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    doc = json.loads((data / "sdk_catalogue.json").read_text(encoding="utf-8"))
    change(doc)  # type: ignore[operator]
    (data / "sdk_catalogue.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="sdk_catalogue.json") as caught:
        _load(data)
    assert message in str(caught.value)


def test_renamed_packages_are_not_components_but_short_real_names_are() -> None:
    from techvet.detect.components import _renamed

    assert _renamed("o", ["Lo/hr;", "Lo/Code;"])  # DexGuard's one-letter package
    assert _renamed("com.a.b", ["Lcom/a/b/c;", "Lcom/a/b/dd;"])
    assert not _renamed("com.qq.e", ["Lcom/qq/e/BannerView;"])  # a real SDK with short segments
