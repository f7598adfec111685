"""Capability rules of issue 12 on fixture apps whose code is known (tests/fixtures/src/).

- behaviours: every new pattern in the app's own code (Android ID, DexFile loading, a MAC address
  read, cell towers, SMS read by a receiver), with the permissions they need, and the AppCompat and
  androidx compat wrappers that then count too.
- compat: the same compat wrappers (one renamed as R8 leaves it) and near misses, with no location
  or phone permission: nothing may be reported.
- dormant: the app's own code reads the location, and its manifest subscribes to SMS_RECEIVED, without
  the permissions: reported, and the findings say so.
"""

from __future__ import annotations

import io

import pytest

import techvet
from techvet.knowledge import load
from techvet.report.html import render as render_html
from techvet.report.text import render as render_text
from tests.conftest import fixture_app

LOCATION_PERMISSIONS = ["android.permission.ACCESS_FINE_LOCATION", "android.permission.ACCESS_COARSE_LOCATION"]


def capabilities(result: techvet.ScanResult) -> set[tuple[str, str | None]]:
    """The capability findings (TV2xx) as (rule, subject): other detectors have their own tests."""
    return {(f.rule, f.subject) for f in result.findings if f.rule.startswith("TV2")}


def details(result: techvet.ScanResult, rule: str) -> set[tuple[str | None, str]]:
    (found,) = result.by_rule(rule)
    return {(e.class_name, e.detail) for e in found.evidence}


@pytest.fixture(scope="module")
def behaviours() -> techvet.ScanResult:
    return techvet.scan(fixture_app("behaviours.apk"))


@pytest.fixture(scope="module")
def compat() -> techvet.ScanResult:
    return techvet.scan(fixture_app("compat.apk"))


def test_behaviours_exact_capabilities(behaviours: techvet.ScanResult) -> None:
    assert behaviours.errors == []
    assert capabilities(behaviours) == {
        ("TV202", "dynamic_code_loading"),
        ("TV203", "device_identifiers"),
        ("TV205", "location"),
        ("TV209", "sms"),
        ("TV219", "android_id"),
    }
    assert "android_id" in behaviours.capabilities


def test_each_new_pattern_is_evidence(behaviours: techvet.ScanResult) -> None:
    main = "org.techvet.fixture.behaviours.Main"
    receiver = "org.techvet.fixture.behaviours.SmsReceiver"
    assert details(behaviours, "TV219") == {(main, "calls Landroid/provider/Settings$Secure;->getString")}
    assert details(behaviours, "TV202") == {
        (main, "calls Ldalvik/system/DexFile;->loadDex"),
        (main, "calls Ldalvik/system/DexFile;->loadClass"),
    }
    assert (main, "calls Ljava/net/NetworkInterface;->getHardwareAddress") in details(behaviours, "TV203")
    assert {
        (main, "calls Landroid/telephony/TelephonyManager;->getCellLocation"),
        (main, "calls Landroid/telephony/gsm/GsmCellLocation;->getCid"),
    } <= details(behaviours, "TV205")
    assert details(behaviours, "TV209") == {
        (receiver, "<receiver> for android.provider.Telephony.SMS_RECEIVED"),
        (receiver, "references Landroid/telephony/SmsMessage;->createFromPdu"),
        (receiver, "references Landroid/provider/Telephony$Sms$Intents;->getMessagesFromIntent"),
    }
    for rule in ("TV202", "TV203", "TV205", "TV209", "TV219"):
        (found,) = behaviours.by_rule(rule)
        assert found.extra["in_app_code"] and "permission_not_requested" not in found.extra


def test_compat_code_counts_when_the_app_requests_the_permission(behaviours: techvet.ScanResult) -> None:
    """The app requests a location and the phone permission: the compat wrappers act for it."""
    assert (
        "androidx.appcompat.app.TwilightManager",
        "calls Landroid/location/LocationManager;->getLastKnownLocation",
    ) in details(behaviours, "TV205")
    assert (
        "androidx.core.telephony.TelephonyManagerCompat",
        "calls Landroid/telephony/TelephonyManager;->getImei",
    ) in details(behaviours, "TV203")


def test_compat_code_and_near_misses_report_nothing(compat: techvet.ScanResult) -> None:
    """AppCompat's TwilightManager (also renamed), TelephonyManagerCompat without their permissions;
    "android_id" as a request key; a settings read of another key; a DEX opened only to list its
    classes; MultiDex opening the APK's own DEX files."""
    assert compat.errors == []
    assert capabilities(compat) == set()


def test_app_code_without_the_permission_is_reported_and_says_so() -> None:
    dormant = techvet.scan(fixture_app("dormant.apk"))
    assert capabilities(dormant) == {("TV205", "location"), ("TV209", "sms")}
    (location,) = dormant.by_rule("TV205")
    assert location.extra["permission_not_requested"] == LOCATION_PERMISSIONS
    # the bundled TwilightManager is not evidence: only the app's own call is
    assert {e.class_name for e in location.evidence} == {"org.techvet.fixture.dormant.Main"}
    (sms,) = dormant.by_rule("TV209")
    assert [e.detail for e in sms.evidence] == ["<receiver> for android.provider.Telephony.SMS_RECEIVED"]
    assert sms.extra["permission_not_requested"] == [
        "android.permission.SEND_SMS",
        "android.permission.READ_SMS",
        "android.permission.RECEIVE_SMS",
    ]
    text = io.StringIO()
    render_text(dormant, text, color=False)
    assert "Reads the device location  (app code, the app requests none of its permissions)" in text.getvalue()
    assert "Reads the device location (the app requests none of its permissions)" in render_html(dormant)


def test_explain_says_which_permissions_a_gated_rule_needs() -> None:
    """`techvet explain` prints `what`: it must name every permission of the rule's gate."""
    gated = {r.id: r for r in load().rules.values() if "permission_gate" in r.match}
    assert {"TV203", "TV205", "TV206", "TV207", "TV208", "TV209", "TV210", "TV211"} <= set(gated)
    for rule in gated.values():
        for permission in rule.match["permission_gate"]["any_of"]:
            assert permission.removeprefix("android.permission.") in rule.what, (rule.id, permission)
        assert "compat library" in rule.what, rule.id
