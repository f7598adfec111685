"""What could not be examined is never judged as if it had been, and facts are not borrowed from a
neighbour: incomplete scans and captures, companion apps that cannot be read, saved results judged
under another policy, a host at several addresses, a maker guessed from a word it shares."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import techvet
from techvet.detect import DETECTORS
from techvet.fleet import Device, Policy, vet
from techvet.traffic import analyze
from techvet.verdict import INCOMPLETE_LINE, AppPolicy, decide
from tests.capture_builder import http_capture
from tests.conftest import fixture_app

ROOT = Path(__file__).resolve().parents[1]


def techvet_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techvet", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_an_incomplete_scan_is_never_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(app: object, kb: object) -> list[object]:
        raise RuntimeError("boom")

    for name in list(DETECTORS):
        monkeypatch.setitem(DETECTORS, name, broken)
    result = techvet.scan(fixture_app("clean_app.apk"))
    assert result.errors and result.verdict is not None
    assert result.verdict["verdict"] == "warn"
    assert [d["line"] for d in result.verdict["decided_by"]] == [INCOMPLETE_LINE]


def test_a_companion_app_that_cannot_be_examined_sends_the_aircraft_to_review(tmp_path: Path) -> None:
    junk = tmp_path / "companion.apk"
    junk.write_bytes(b"not an app at all")
    for app in (str(junk), str(tmp_path / "missing.apk")):
        verdict = vet(Device(1, make="Skydio", model="X10D", app=app), Policy.load())
        assert verdict.decision == "review", app  # it was "allow": the app was never looked at
        assert "FLEET-APP-UNEXAMINED" in {r["rule"] for r in verdict.reasons}


def test_diff_judges_a_saved_result_under_the_policy_of_the_run(tmp_path: Path) -> None:
    lax = tmp_path / "lax.yaml"
    lax.write_text(
        'kind: app-policy\nsource: t\nas_of: "2026-12-01"\nid: lax\n'
        "warn:\n  - {id: ONLY-CRITICAL, min_severity: critical}\n",
        encoding="utf-8",
    )
    app = str(fixture_app("drone_companion.apk"))
    saved = tmp_path / "lax.json"
    assert techvet_cli("scan", app, "--policy", str(lax), "-f", "json", "-o", str(saved)).returncode == 0
    assert json.loads(saved.read_text())["verdict"]["verdict"] == "warn"  # saved under the lax policy
    run = techvet_cli("diff", app, str(saved), "--fail-on", "fail", "-f", "json")
    changes = json.loads(run.stdout)
    assert changes["verdict"]["new"]["verdict"] == "fail"  # judged again under the default policy
    assert run.returncode == 1
    under_lax = json.loads(techvet_cli("diff", app, str(saved), "--policy", str(lax), "-f", "json").stdout)
    assert under_lax["verdict"]["old"] == under_lax["verdict"]["new"]


def test_a_saved_result_judged_again_keeps_what_its_scan_could_not_examine(tmp_path: Path) -> None:
    """diff judges a saved result again under the run's policy: a bare DEX and an incomplete scan
    stay at least warn there, as they were when scanned, and a saved part of the wrong shape is one
    error line."""
    import zipfile

    dex = tmp_path / "classes.dex"
    with zipfile.ZipFile(fixture_app("clean_app.apk")) as apk:
        dex.write_bytes(apk.read("classes.dex"))
    saved = tmp_path / "dex.json"
    assert techvet_cli("scan", str(dex), "-q", "-f", "json", "-o", str(saved)).returncode == 0
    doc = json.loads(saved.read_text())
    assert doc["verdict"]["verdict"] == "warn"
    changes = json.loads(techvet_cli("diff", str(saved), str(saved), "-q", "-f", "json").stdout)
    assert changes["verdict"]["old"]["verdict"] == changes["verdict"]["new"]["verdict"] == "warn"

    clean = tmp_path / "clean.json"
    assert techvet_cli("scan", str(fixture_app("clean_app.apk")), "-q", "-f", "json", "-o", str(clean)).returncode == 0
    incomplete = json.loads(clean.read_text())
    assert incomplete["verdict"]["verdict"] == "pass"
    incomplete["errors"] = ["detector sdks failed: RuntimeError"]
    (tmp_path / "incomplete.json").write_text(json.dumps(incomplete), encoding="utf-8")
    changes = json.loads(techvet_cli("diff", str(clean), str(tmp_path / "incomplete.json"), "-f", "json").stdout)
    assert changes["verdict"]["old"]["verdict"] == "pass" and changes["verdict"]["new"]["verdict"] == "warn"

    incomplete["certificates"] = 7
    (tmp_path / "bad.json").write_text(json.dumps(incomplete), encoding="utf-8")
    run = techvet_cli("diff", str(clean), str(tmp_path / "bad.json"))
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "cannot be read back" in run.stderr, run.stderr


def test_a_host_at_several_addresses_meets_a_network_line_when_any_does(tmp_path: Path) -> None:
    host = "video.smallsite-example.com"
    capture = http_capture(
        tmp_path / "two.pcap",
        [("8.8.8.8", host, "/big" + "x" * 400), ("47.88.1.1", host, "/small")],  # most bytes to the US address
    )
    result = analyze(str(capture))
    (cleartext,) = [f for f in result.findings if f.rule == "TV701"]
    assert len(cleartext.extra["destinations"]) == 2
    lines = {d["line"] for d in decide(result.findings, None, [], AppPolicy.load()).decided_by}
    assert "APP-CLEARTEXT-CN-NETWORK" in lines


@pytest.mark.parametrize(
    ("make", "model"),
    [("Shenzhen Foo Robotics", "Q1"), ("Harris Corporation", "H6"), ("Quantum Leap Drones", "Q-7")],
)
def test_a_maker_is_not_guessed_from_a_word_it_shares(make: str, model: str) -> None:
    """The first word of a legal name ("Shenzhen", "Harris", "Quantum") names no company."""
    verdict = vet(Device(1, make=make, model=model), Policy.load())
    assert verdict.brand is None and verdict.country is None and verdict.decision == "review"


def test_a_maker_in_han_script_is_a_maker_and_the_model_says_whose_it_is(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.csv"
    inventory.write_text("make,model\n大疆,Mini 2\nDJI Enterprise,Mavic 3E\n", encoding="utf-8")
    text = techvet_cli("fleet", str(inventory)).stdout
    assert "names no maker" not in text
    assert "(from the model; the row says '大疆')" in text
    assert "the row says 'DJI Enterprise'" not in text  # the row's own maker word is DJI's


def test_a_register_without_one_device_row_is_nothing_to_analyse_in_python_too(tmp_path: Path) -> None:
    """Rows that are no device (no make, no model) are not a fleet that may fly: the Python API
    refuses such a register as the command does, rather than return a report of no devices."""
    register = tmp_path / "inventory.csv"
    register.write_text("make,model,serial\n,,SN1\n,,SN2\n", encoding="utf-8")
    with pytest.raises(techvet.NothingToAnalyseError, match="no device rows"):
        techvet.fleet(register)
    run = techvet_cli("fleet", "-q", str(register))
    assert run.returncode == 2 and "no device rows (a header and 2 unusable rows)" in run.stderr


def test_a_packed_app_is_judged_incomplete_saying_what_the_packer_hides() -> None:
    result = techvet.scan(fixture_app("legu_like.apk"))
    assert result.by_rule("TV501")
    [line] = [d for d in result.verdict["decided_by"] if d["line"] == "INCOMPLETE"]
    assert "packed by" in line["why"] and "not examined" in line["why"]
    clean = techvet.scan(fixture_app("clean_app.apk"))
    assert not any(d["line"] == "INCOMPLETE" for d in clean.verdict["decided_by"])
