"""The command line: formats, exit codes, rules and explanations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from techvet.knowledge import load
from tests.conftest import fixture_app

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "json-schema.json").read_text())


def techvet(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from techvet.cli import main; sys.argv = ['techvet', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("app", ["drone_companion.apk", "clean_app.apk", "legu_like.apk", "drone_companion.apks"])
def test_json_output_follows_the_documented_schema(app: str) -> None:
    proc = techvet("scan", str(fixture_app(app)), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    jsonschema.validate(doc, SCHEMA)
    assert doc["ok"] is True and doc["app"]["sha256"]


def test_folder_scan_prints_one_json_object_per_app(tmp_path: Path) -> None:
    for name in ("drone_companion.apk", "clean_app.apk"):
        (tmp_path / name).write_bytes(fixture_app(name).read_bytes())
    proc = techvet("scan", str(tmp_path), "--format", "json")
    assert proc.returncode == 0
    packages = [json.loads(line)["app"]["package"] for line in proc.stdout.splitlines()]
    assert packages == ["org.techvet.fixture.clean", "com.skyfleet.pilot"]


def test_fail_on_sets_exit_code() -> None:
    assert techvet("scan", str(fixture_app("drone_companion.apk")), "--fail-on", "critical").returncode == 1
    assert techvet("scan", str(fixture_app("clean_app.apk")), "--fail-on", "low").returncode == 0
    bad = techvet("scan", str(fixture_app("clean_app.apk")), "--fail-on", "severe")
    assert bad.returncode == 2 and "unknown severity" in bad.stderr


def test_text_report_shows_summary_and_evidence() -> None:
    proc = techvet("scan", "-v", str(fixture_app("drone_companion.apk")))
    assert proc.returncode == 0
    out = proc.stdout
    assert (
        out.index("SkyFleet Pilot") < out.index("Embedded SDKs") < out.index("What it can do") < out.index("Evidence")
    )
    assert "com.mob.tools.utils.DeviceHelper.getIMEI" in out


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    proc = techvet("scan", str(fixture_app("clean_app.apk")), "--format", "json", "-o", str(target))
    assert proc.returncode == 0 and proc.stdout == ""
    assert json.loads(target.read_text())["app"]["package"] == "org.techvet.fixture.clean"


def test_rules_lists_every_rule_and_policy_line() -> None:
    import yaml

    from techvet.knowledge import DATA_DIR

    proc = techvet("rules")
    rules, lines = proc.stdout.split("\n\n")
    assert [line.split()[0] for line in rules.splitlines()] == list(load().rules)
    app = yaml.safe_load((DATA_DIR / "app_policy.yaml").read_text(encoding="utf-8"))
    fleet = yaml.safe_load((DATA_DIR / "fleet_policy.yaml").read_text(encoding="utf-8"))
    ids = [x["id"] for x in app["block"] + app["warn"] + fleet["rules"]]
    assert [line.split()[0] for line in lines.splitlines()[1:]] == ids


def test_explain_a_policy_line() -> None:
    proc = techvet("explain", "fleet-app-verdict")
    assert proc.returncode == 0 and proc.stdout.startswith("FLEET-APP-VERDICT: the companion app fails")
    assert "app_verdict_in: fail" in proc.stdout and "effect: restrict" in proc.stdout
    assert "TV201, TV218" in techvet("explain", "APP-SIDELOAD").stdout


def test_explain_prints_what_and_why() -> None:
    proc = techvet("explain", "tv201")
    assert proc.returncode == 0
    assert "What it catches" in proc.stdout and "Why it matters" in proc.stdout and "DJI GO 4" in proc.stdout


def test_explain_unknown_rule() -> None:
    proc = techvet("explain", "TV999")
    assert proc.returncode == 2 and proc.stderr.startswith("techvet: no rule")


def test_usage_error_is_one_line() -> None:
    proc = techvet("scan", "--format", "xml", str(fixture_app("clean_app.apk")))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_text_evidence_names_the_sdk() -> None:
    proc = techvet("scan", "-v", str(fixture_app("drone_companion.apk")))
    assert (
        "com.mob.tools.utils.DeviceHelper.getIMEI: calls Landroid/telephony/TelephonyManager;->getDeviceId [mobtech]"
        in (proc.stdout)
    )


def test_parallel_and_sequential_folder_scans_agree(tmp_path: Path) -> None:
    for name in ("drone_companion.apk", "clean_app.apk", "legu_like.apk", "drone_companion.apks"):
        (tmp_path / name).write_bytes(fixture_app(name).read_bytes())
    outputs = []
    for jobs in ("1", "2"):
        proc = techvet("scan", str(tmp_path), "--format", "json", "--jobs", jobs)
        assert proc.returncode == 0, proc.stderr
        outputs.append(
            [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in proc.stdout.splitlines()]
        )
    assert outputs[0] == outputs[1] and len(outputs[0]) == 4
