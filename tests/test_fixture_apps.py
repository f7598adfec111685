"""Exact findings on the fixture apps: every expected finding, and no other."""

from __future__ import annotations

import pytest

import techvet
from tests.conftest import fixture_app

DRONE_EXPECTED = {
    ("TV102", None),
    ("TV103", None),
    ("TV104", "com.skyfleet.pilot.update.UpdateService"),
    ("TV105", None),
    ("TV201", "install_packages"),
    ("TV202", "dynamic_code_loading"),
    ("TV203", "device_identifiers"),
    ("TV204", "installed_apps"),
    ("TV205", "location"),
    ("TV210", "wifi_scan"),
    ("TV212", "shell_exec"),
    ("TV215", "webview_js_bridge"),
    ("TV216", "trust_all_tls"),
    ("TV217", "webview_ssl_proceed"),
    ("TV218", "remote_install_command"),
    ("TV301", "jpush"),
    ("TV301", "mobtech"),
    ("TV301", "weibo"),
    ("TV302", "bugly"),  # LibChecker's "Bugly" by Tencent is the catalogue's Tencent Bugly
    ("TV602", "Tencent"),  # Bugly's vendor, on the DoD 1260H list
    ("TV410", "weak-cipher"),
    ("TV411", "hardcoded-key"),
    ("TV401", "api.skyfleet-demo.cn"),
    ("TV401", "devs.data.mob.com"),
    ("TV402", "service-adhoc.skyfleet-demo.cn"),
    ("TV402", "log.skyfleet-demo.cn"),
    ("TV402", "203.0.113.7"),
    ("TV502", "root-detection"),
    ("TV504", "anti-debug"),
    ("TV506", "string-decryption"),
}


def pairs(result: techvet.ScanResult) -> set[tuple[str, str | None]]:
    return {(f.rule, f.subject) for f in result.findings}


@pytest.fixture(scope="module")
def drone() -> techvet.ScanResult:
    return techvet.scan(fixture_app("drone_companion.apk"))


def test_drone_companion_exact_findings(drone: techvet.ScanResult) -> None:
    assert drone.errors == []
    assert pairs(drone) == DRONE_EXPECTED


def test_drone_companion_identity(drone: techvet.ScanResult) -> None:
    m = drone.app.manifest if drone.app else None
    assert m is not None
    assert (m.package, m.version_name, m.version_code, m.label) == (
        "com.skyfleet.pilot",
        "4.1.22",
        412,
        "SkyFleet Pilot",
    )
    assert (m.min_sdk, m.target_sdk) == (21, 28)
    assert m.application_class == "com.skyfleet.pilot.PilotApp"
    assert "android.permission.REQUEST_INSTALL_PACKAGES" in m.permissions
    cert = drone.app.certificates[0] if drone.app else None
    assert cert is not None and "techvet fixture" in cert.subject
    assert set(cert.schemes) >= {"v1", "v2"}
    assert sorted(lib.name for lib in drone.app.native_libraries) == ["libBugly.so", "libflightlog.so"]


def test_evidence_names_the_sdk_that_holds_the_code(drone: techvet.ScanResult) -> None:
    (ids,) = drone.by_rule("TV203")
    assert {e.sdk for e in ids.evidence} == {"mobtech"}
    assert {e.method for e in ids.evidence} == {"getIMEI", "getIMSI"}
    (install,) = drone.by_rule("TV201")
    holders = {(e.class_name, e.sdk) for e in install.evidence}
    assert ("com.skyfleet.pilot.update.SelfUpdater", None) in holders
    assert ("com.sina.weibo.sdk.cmd.AppInstallCmdExecutor", "weibo") in holders


def test_call_through_app_subclass_resolves_to_framework(drone: techvet.ScanResult) -> None:
    (bridge,) = drone.by_rule("TV215")
    assert [(e.class_name, e.method) for e in bridge.evidence] == [("com.skyfleet.pilot.web.FleetWebView", "expose")]


def test_trust_checks_that_check_are_not_reported(drone: techvet.ScanResult) -> None:
    (tls,) = drone.by_rule("TV216")
    assert sorted((e.class_name, e.method) for e in tls.evidence) == [
        ("com.skyfleet.pilot.net.LambdaVerifier", "verify"),  # forwards to a lambda that returns true
        ("com.skyfleet.pilot.net.TrustEveryone", "checkServerTrusted"),
    ]


def test_nested_jar_code_is_scanned(drone: techvet.ScanResult) -> None:
    assert drone.app is not None
    assert "assets/plugins/ext.jar!classes.dex" in drone.app.dex_names
    (apps,) = drone.by_rule("TV204")
    assert any(e.file == "assets/plugins/ext.jar!classes.dex" and e.sdk == "jpush" for e in apps.evidence)


def test_namespaces_and_placeholders_are_not_endpoints(drone: techvet.ScanResult) -> None:
    hosts = {f.subject for f in drone.findings if f.rule in ("TV401", "TV402")}
    assert not hosts & {
        "schemas.android.com",
        "www.example.com",
        "localhost",
        "4.1.22.1",
        "com.skyfleet.pilot",
        "java.io",
    }


def test_bare_host_evidence_names_the_class(drone: techvet.ScanResult) -> None:
    (host,) = [f for f in drone.findings if f.subject == "log.skyfleet-demo.cn"]
    assert [(e.class_name, e.method) for e in host.evidence] == [
        ("com.skyfleet.pilot.net.ConfigClient", "telemetryHosts")
    ]


def test_clean_app_reports_only_what_it_has() -> None:
    result = techvet.scan(fixture_app("clean_app.apk"))
    assert pairs(result) == {("TV402", "developer.android.com")}


def test_packer_signatures() -> None:
    result = techvet.scan(fixture_app("legu_like.apk"))
    assert pairs(result) == {("TV501", "tencent-legu")}
    (packer,) = result.findings
    details = {e.detail for e in packer.evidence}
    assert "packer file" in details
    assert any("com.tencent.StubShell.TxAppEntry" in d for d in details)


def test_split_bundle_is_one_app(drone: techvet.ScanResult) -> None:
    bundle = techvet.scan(fixture_app("drone_companion.apks"))
    assert bundle.app is not None and bundle.app.manifest is not None
    assert bundle.app.manifest.package == "com.skyfleet.pilot"
    assert sorted(bundle.app.splits) == ["base.apk", "split_config.x86_64.apk"]
    assert {(lib.abi, lib.name) for lib in bundle.app.native_libraries} == {
        ("arm64-v8a", "libBugly.so"),
        ("arm64-v8a", "libflightlog.so"),
        ("x86_64", "libflightlog.so"),
    }
    assert pairs(bundle) == pairs(drone)


def test_create_package_context_counts_only_with_include_code(drone: techvet.ScanResult) -> None:
    (loading,) = drone.by_rule("TV202")
    methods = {(e.class_name, e.method) for e in loading.evidence}
    assert ("com.skyfleet.pilot.plugin.ForeignCode", "loadForeign") in methods
    assert ("com.skyfleet.pilot.plugin.ForeignCode", "resourcesOf") not in methods


def test_launcher_query_counts_only_unrestricted(drone: techvet.ScanResult) -> None:
    (apps,) = drone.by_rule("TV204")
    methods = {(e.class_name, e.method) for e in apps.evidence}
    assert ("com.skyfleet.pilot.plugin.ForeignCode", "launchers") in methods
    assert ("com.skyfleet.pilot.plugin.ForeignCode", "ownLaunchers") not in methods


def test_code_index_for_notebooks(drone: techvet.ScanResult) -> None:
    assert drone.app is not None
    code = drone.app.code
    assert "Lcom/mob/tools/utils/DeviceHelper;" in code.class_names
    calls = code.framework_calls()
    assert "Landroid/telephony/TelephonyManager;->getDeviceId" in calls["Lcom/mob/tools/utils/DeviceHelper;"]
    assert "Ldalvik/system/DexClassLoader;-><init>" in calls["Lcom/skyfleet/pilot/plugin/PluginLoader;"]
    holders = code.holders_of(["top -d 0 -n 1"])
    assert [(r.class_name, r.method) for r in holders["top -d 0 -n 1"]] == [
        ("Lcom/skyfleet/pilot/plugin/PluginLoader;", "processes")
    ]
    assert "http://devs.data.mob.com/v2/upload" in code.strings()


def test_destinations_say_who_owns_each_host(drone: techvet.ScanResult) -> None:
    rows = {r["host"]: r for r in drone.destinations()}
    assert set(rows) == {
        "api.skyfleet-demo.cn",
        "devs.data.mob.com",
        "service-adhoc.skyfleet-demo.cn",
        "log.skyfleet-demo.cn",
        "203.0.113.7",
    }
    mob = rows["devs.data.mob.com"]
    assert (mob["cleartext"], mob["owner_country"], mob["named_by_sdks"]) == (True, "CN", ["mobtech"])
    assert mob["owner"].startswith("MobTech")
    fleet = rows["api.skyfleet-demo.cn"]
    # the .cn registry is a fact about the name, not an owner: the company is unknown
    assert (fleet["owner"], fleet["owner_country"], fleet["registry_country"]) == (None, None, "CN")
    assert fleet["first_evidence"]["class_name"] == "com.skyfleet.pilot.net.ConfigClient"


def test_weak_crypto_points_at_the_method(drone: techvet.ScanResult) -> None:
    (weak,) = drone.by_rule("TV410")
    assert [(e.class_name, e.method, e.detail) for e in weak.evidence] == [
        ("com.skyfleet.pilot.util.Crypto", "seal", 'Cipher.getInstance("AES/ECB/PKCS5Padding")')
    ]
    (key,) = drone.by_rule("TV411")
    assert [(e.class_name, e.method) for e in key.evidence] == [("com.skyfleet.pilot.util.Crypto", "seal")]
