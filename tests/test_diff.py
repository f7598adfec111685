"""techvet diff: two fixture versions whose changes are known (clean_app -> clean_app_v2 adds the
Umeng SDK, a self-updater with its permission, and the SDK's host; nothing else)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from techvet.diff import diff, load_side
from tests.conftest import fixture_app


def test_diff_lists_exactly_the_changes_made() -> None:
    changes = diff(load_side(str(fixture_app("clean_app.apk"))), load_side(str(fixture_app("clean_app_v2.apk"))))
    assert [(s["id"], s["vendor"], s["country"]) for s in changes["sdks_added"]] == [("umeng", "Alibaba (Umeng)", "CN")]
    assert changes["capabilities_gained"] == ["install_packages"]
    assert changes["permissions_added"] == ["android.permission.REQUEST_INSTALL_PACKAGES"]
    assert [d["host"] for d in changes["destinations_added"]] == ["alog.umeng.com"]
    assert changes["destinations_added"][0]["owner_country"] == "CN"
    for key in (
        "sdks_removed",
        "capabilities_lost",
        "permissions_removed",
        "destinations_removed",
        "packers_added",
        "packers_removed",
        "findings_removed",
    ):
        assert changes[key] == [], key
    assert changes["verdict"] == {"old": {"verdict": "pass", "score": 0}, "new": {"verdict": "fail", "score": 52}}
    assert (changes["old"]["version"], changes["new"]["version"]) == ("1.0", "2.0")


def test_saved_json_results_give_the_same_diff(tmp_path: Path) -> None:
    sides = []
    for name in ("clean_app.apk", "clean_app_v2.apk"):
        out = tmp_path / f"{name}.json"
        subprocess.run(
            [sys.executable, "-m", "techvet.cli", "scan", str(fixture_app(name)), "-f", "json", "-o", str(out)],
            check=False,
            timeout=60,
        )
        sides.append(str(out))
    from_json = diff(load_side(sides[0]), load_side(sides[1]))
    from_apps = diff(load_side(str(fixture_app("clean_app.apk"))), load_side(str(fixture_app("clean_app_v2.apk"))))
    for key in (
        "sdks_added",
        "capabilities_gained",
        "permissions_added",
        "destinations_added",
        "findings_added",
        "verdict",
    ):
        assert from_json[key] == from_apps[key], key


def test_same_app_no_changes_and_bad_input() -> None:
    same = diff(load_side(str(fixture_app("drone_companion.apk"))), load_side(str(fixture_app("drone_companion.apk"))))
    assert all(not v for k, v in same.items() if k not in ("old", "new", "verdict"))
    run = techvet_diff(str(fixture_app("clean_app.apk")), "/nonexistent.apk", "-f", "json")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "no such file" in run.stderr
    versions = (str(fixture_app("clean_app.apk")), str(fixture_app("clean_app_v2.apk")))
    text = techvet_diff(*versions).stdout
    assert "SDKs added: umeng (Alibaba (Umeng), CN)" in text and "capabilities gained: install_packages" in text
    assert json.loads(techvet_diff(*versions, "-f", "json").stdout)["capabilities_gained"] == ["install_packages"]


def techvet_diff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techvet.cli", "diff", *args], capture_output=True, text=True, timeout=60
    )


def test_diff_html_is_inert_and_sarif_marks_baseline_state(tmp_path: Path) -> None:
    """A saved result is as hostile as an app: every string in it reaches the HTML as text. SARIF
    carries each finding's baselineState (new, unchanged, absent) and validates."""
    import copy

    import jsonschema

    from tests.test_html import PAYLOAD, inert, parse

    old = load_side(str(fixture_app("clean_app.apk")))
    new = copy.deepcopy(load_side(str(fixture_app("clean_app_v2.apk"))))
    new["app"]["package"] = PAYLOAD
    new["destinations"].append({"host": PAYLOAD, "owner": PAYLOAD, "owner_country": "CN", "cleartext": True})
    new["findings"].append({**new["findings"][0], "title": PAYLOAD, "subject": PAYLOAD})
    sides = []
    for name, doc in (("old.json", old), ("new.json", new)):
        (tmp_path / name).write_text(json.dumps(doc), encoding="utf-8")
        sides.append(str(tmp_path / name))

    def run(fmt: str) -> str:
        done = techvet_diff(*sides, "-f", fmt, "-o", str(tmp_path / f"out.{fmt}"))
        assert done.returncode == 0 and done.stdout == "", done.stderr
        return (tmp_path / f"out.{fmt}").read_text(encoding="utf-8")

    markup = parse(run("html"))
    inert(markup)
    text = "".join(markup.text)
    assert text.count(PAYLOAD) >= 3 and "Umeng" in text and "was pass (0)" in text
    sarif = json.loads(run("sarif"))
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validate(sarif, schema)
    states = {(r["ruleId"], r["baselineState"]) for r in sarif["runs"][0]["results"]}
    assert {("TV201", "new"), ("TV301", "new")} <= states
    assert {s for _, s in states} == {"new", "unchanged"}
    back = json.loads(techvet_diff(sides[1], sides[0], "-f", "sarif").stdout)
    assert ("TV201", "absent") in {(r["ruleId"], r["baselineState"]) for r in back["runs"][0]["results"]}
