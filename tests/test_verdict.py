"""Verdicts under the default and user policies, exceptions and their expiry, SARIF and Markdown."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import jsonschema
import pytest

import techvet
from techvet.verdict import AppPolicy, decide
from tests.axml_builder import manifest_only_apk
from tests.conftest import fixture_app

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def verdict_of(app: str, policy: AppPolicy, today: date | None = None) -> dict:  # type: ignore[type-arg]
    result = techvet.scan(fixture_app(app))
    assert result.app is not None
    certs = [c.sha256 for c in result.app.certificates]
    return decide(result.findings, result.app.package, certs, policy, today).to_dict()


def test_default_policy_on_the_fixtures() -> None:
    drone = verdict_of("drone_companion.apk", AppPolicy.load())
    assert drone["verdict"] == "fail"
    assert {"APP-SIDELOAD", "APP-LISTED-VENDOR", "APP-CLEARTEXT-CN"} <= {d["line"] for d in drone["decided_by"]}
    assert 90 <= drone["score"] <= 100
    clean = verdict_of("clean_app.apk", AppPolicy.load())
    assert (clean["verdict"], clean["score"], clean["decided_by"]) == ("pass", 0, [])
    packed = verdict_of("legu_like.apk", AppPolicy.load())
    assert packed["verdict"] in ("warn", "fail") and "APP-PACKED" in {d["line"] for d in packed["decided_by"]}


def policy_file(tmp_path: Path, text: str) -> AppPolicy:
    path = tmp_path / "policy.yaml"
    path.write_text('kind: app-policy\nsource: test\nas_of: "2026-11-27"\nid: test\n' + text, encoding="utf-8")
    return AppPolicy.load(str(path))


def test_exceptions_and_their_expiry(tmp_path: Path) -> None:
    text = (
        "block:\n  - {id: SIDELOAD, rules: [TV201, TV218], why: sideloading}\n"
        "accept:\n  - {rules: [TV201, TV218], packages: [com.skyfleet.pilot],\n"
        "     reason: vendor fix due, expires: '2026-12-31'}\n"
    )
    policy = policy_file(tmp_path, text)
    before = verdict_of("drone_companion.apk", policy, date(2026, 12, 1))
    assert before["verdict"] == "pass" and {a["rule"] for a in before["accepted"]} == {"TV201", "TV218"}
    after = verdict_of("drone_companion.apk", policy, date(2027, 1, 1))
    assert after["verdict"] == "fail" and after["expired_exceptions"][0]["expired"] == "2026-12-31"
    assert after["score"] > before["score"]  # accepted findings do not count towards the score


def test_allow_lists(tmp_path: Path) -> None:
    sdk = policy_file(tmp_path, "warn:\n  - {id: ANY, min_severity: medium}\nallow:\n  sdks: [mobtech, weibo, jpush]\n")
    verdict = verdict_of("drone_companion.apk", sdk)
    assert any(a["reason"] == "its SDK or host is allow-listed" for a in verdict["accepted"])
    app = policy_file(
        tmp_path,
        "block:\n  - {id: ANY, min_severity: low}\n"
        "allow:\n  packages: [{id: com.skyfleet.pilot, expires: '2030-01-01'}]\n",
    )
    assert verdict_of("drone_companion.apk", app)["verdict"] == "pass"


def test_bad_values_in_a_policy_are_one_line_before_any_scan(tmp_path: Path) -> None:
    for text, said in (
        ("block:\n  - {id: X, min_severity: huge}\n", "block line X: unknown severity 'huge'"),
        ("accept:\n  - {rules: [TV201], reason: r, expires: soon}\n", "expires 'soon' is not a date"),
        ("allow:\n  packages: [{id: a.b, expires: '2026-13-01'}]\n", "expires '2026-13-01' is not a date"),
    ):
        (tmp_path / "p.yaml").write_text('kind: app-policy\nsource: x\nas_of: "1"\nid: t\n' + text, encoding="utf-8")
        run = cli("scan", str(fixture_app("clean_app.apk")), "--policy", str(tmp_path / "p.yaml"))
        assert run.returncode == 2 and run.stderr.count("\n") == 1 and said in run.stderr, run.stderr


def test_an_expired_exception_is_reported_once(tmp_path: Path) -> None:
    text = (
        "block:\n  - {id: SIDELOAD, rules: [TV201, TV218]}\n"
        "accept:\n  - {rules: [TV201, TV218], reason: old, expires: '2020-01-01'}\n"
        "allow:\n  certificates: [{id: abc, expires: '2020-01-01'}]\n"
    )
    verdict = verdict_of("drone_companion.apk", policy_file(tmp_path, text))
    assert len(verdict["expired_exceptions"]) == 2 and verdict["accepted"] == []


EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def test_example_policies_for_other_regimes(tmp_path: Path) -> None:
    """The shipped examples load, and their different lines decide: the lists and countries are the
    policy's parameters."""
    india = AppPolicy.load(str(EXAMPLES / "app-policy-india-69a.yaml"))
    drone = verdict_of("drone_companion.apk", india)
    assert drone["verdict"] == "fail" and "IN-CN-DESTINATION" in {d["line"] for d in drone["decided_by"]}
    assert verdict_of("clean_app.apk", india)["verdict"] == "pass"
    result = techvet.scan(manifest_only_apk(tmp_path / "banned.apk", "com.zhiliaoapp.musically"))
    under_india = decide(result.findings, "com.zhiliaoapp.musically", [], india).to_dict()
    assert under_india["verdict"] == "fail" and under_india["decided_by"][0]["line"] == "IN-BAN-ORDER"
    enterprise = AppPolicy.load(str(EXAMPLES / "app-policy-enterprise.yaml"))
    packed = verdict_of("legu_like.apk", enterprise)
    assert (packed["verdict"], [d["line"] for d in packed["decided_by"]]) == ("warn", ["ENT-PACKED"])
    assert verdict_of("drone_companion.apk", enterprise)["verdict"] == "fail"


def test_bad_policy_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text('kind: app-policy\nsource: x\nas_of: "1"\nblock:\n  - {id: X, made_up: 1}\n')
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "techvet.cli",
            "scan",
            str(fixture_app("clean_app.apk")),
            "--policy",
            str(tmp_path / "bad.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "unknown key" in run.stderr


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "techvet.cli", *args], capture_output=True, text=True, timeout=120)


def test_fail_on_verdict_levels() -> None:
    drone, clean = str(fixture_app("drone_companion.apk")), str(fixture_app("clean_app.apk"))
    assert cli("scan", drone, "--fail-on", "fail", "-f", "json").returncode == 1
    assert cli("scan", clean, "--fail-on", "warn", "-f", "json").returncode == 0
    assert cli("scan", clean, "--fail-on", "sometimes").returncode == 2


def test_sarif_validates_against_the_oasis_schema() -> None:
    run = cli("scan", str(fixture_app("drone_companion.apk")), str(fixture_app("clean_app.apk")), "-f", "sarif")
    log = json.loads(run.stdout)
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    drone = log["runs"][0]
    assert drone["properties"]["verdict"] == "fail"
    rules = {r["id"]: r for r in drone["tool"]["driver"]["rules"]}
    assert "Why it matters" in rules["TV201"]["help"]["text"]
    assert (
        rules["TV218"]["properties"]["security-severity"] == "9.5"
        and "security" in rules["TV201"]["properties"]["tags"]
    )
    located = [r for r in drone["results"] if r["ruleId"] == "TV218"][0]
    assert located["level"] == "error"
    assert located["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "drone_companion.apk!/classes.dex"
    assert located["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith("com.sina.weibo.sdk.cmd")


@pytest.fixture
def hostile_app(tmp_path: Path) -> Path:
    label = '<script>alert(1)</script>"><img src=x onerror=alert(2)>](javascript:alert(3))'
    return manifest_only_apk(tmp_path / "hostile.apk", "org.example.hostile", label)


def test_markdown_escapes_what_the_app_says(hostile_app: Path) -> None:
    run = cli("scan", str(hostile_app), "-f", "md")
    assert run.returncode == 0 and "## techvet:" in run.stdout
    import re

    assert re.search(r"(?<!\\)[<>]", run.stdout) is None  # every angle bracket is escaped: no markup
    assert "](javascript" not in run.stdout
    assert "\\<script\\>" in run.stdout  # shown, as text
