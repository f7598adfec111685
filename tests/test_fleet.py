"""The fleet register: model matching, decisions under the default and another policy, the command."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from techvet.fleet import Device, Policy, vet
from techvet.fleet.inventory import read_inventory
from techvet.knowledge import load
from tests.conftest import fixture_app

INVENTORY = Path(__file__).parent / "data" / "fleet_inventory.csv"
EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "docs" / "examples" / "fleet-policy-australia-defence.yaml"


def test_synthetic_inventory_gets_the_expected_models_and_decisions() -> None:
    rows = list(csv.DictReader(INVENTORY.open(encoding="utf-8")))
    assert len(rows) >= 200
    policy = Policy.load()
    devices = list(read_inventory(str(INVENTORY)))
    assert len(devices) == len(rows)
    wrong = []
    for row, device in zip(rows, devices, strict=True):
        if row["variant"] == "empty":
            assert device.error == "no make and no model"
            continue
        verdict = vet(device, policy)
        model = verdict.match.model["id"] if verdict.match and verdict.match.model else "unknown"
        if (model, verdict.decision) != (row["expected_model"], row["expected_decision"]):
            wrong.append((row["Make"], row["Model"], row["expected_model"], model, verdict.decision))
    assert wrong == []


@pytest.mark.parametrize(
    ("make", "model", "expected"),
    [
        ("DJI", "Mavic 3E", "Mavic 3 Enterprise"),
        ("", "M3E", "Mavic 3 Enterprise"),
        ("", "DJI Mavic 3 Enterprise", "Mavic 3 Enterprise"),
        ("DJI", "WM160", "Mavic Mini"),
        ("Autel", "EVO II Pro", "EVO II Pro"),
        ("Autel Robotics", "EVO 2 Pro", "EVO II Pro"),
        ("Autel", "Evo II Pro V3", "EVO II Pro V3"),
        ("Skydio", "X10D", "X10D"),
        ("Parrot", "ANAFI USA", "ANAFI USA"),
        ("DJI", "M300 RTK", "Matrice 300 RTK"),
        ("DJI", "Mavik 3 Pro", "Mavic 3 Pro"),
        ("DJI", "Sprak", "Spark"),
        ("Anzu", "Raptor T", "Raptor T"),
    ],
)
def test_model_spellings(make: str, model: str, expected: str) -> None:
    verdict = vet(Device(1, make=make, model=model), Policy.load())
    assert verdict.model_name is not None and verdict.model_name.endswith(expected), verdict.match


@pytest.mark.parametrize(
    ("make", "model"),
    [("Homebuilt", "F450 frame quad"), ("DJI", "Phantom X9"), ("DJI", "Mini 6"), ("", "Custom 5-inch quad")],
)
def test_unknown_models_are_never_guessed(make: str, model: str) -> None:
    verdict = vet(Device(1, make=make, model=model), Policy.load())
    assert verdict.match is not None and verdict.match.model is None and verdict.match.how == "unknown"
    assert "FLEET-UNKNOWN" in {r["rule"] for r in verdict.reasons}


def test_decisions_and_reasons() -> None:
    policy = Policy.load()

    def decide(**kw: object) -> tuple[str, set[str]]:
        v = vet(Device(1, **kw), policy)  # type: ignore[arg-type]
        return v.decision, {r["rule"] for r in v.reasons}

    assert decide(make="DJI", model="Mavic 3E") == (
        "ground",
        {"FLEET-ASDA", "FLEET-ASDA-PARENT", "FLEET-LISTED-MAKER", "FLEET-FCC-FOREIGN"},
    )
    assert decide(make="Anzu", model="Raptor") == ("ground", {"FLEET-1709"})  # US company, DJI design
    assert decide(make="Skydio", model="X10D") == ("allow", {"FLEET-BLUE-UAS"})
    assert decide(make="Skydio", model="X10") == ("allow", {"default"})  # US-made, not cleared: no rule
    # foreign-made, and on the Blue UAS list: the FCC entry applies and the Blue UAS rule lifts it
    assert decide(make="Parrot", model="ANAFI USA") == ("allow", {"FLEET-FCC-FOREIGN", "FLEET-BLUE-UAS"})
    assert decide(make="Parrot", model="Anafi") == ("restrict", {"FLEET-FCC-FOREIGN"})
    camera = {"camera": {"maker": "Hikvision", "country": "CN"}}
    assert decide(make="Teal", model="Teal 2", components=camera)[0] == "ground"
    radio = {"radio": {"maker": "DJI"}}  # a DJI radio: its country comes from the catalogue
    assert decide(make="Freefly", model="Alta X", components=radio)[0] == "ground"


def test_reasons_carry_their_evidence() -> None:
    reasons = {r["rule"]: r["evidence"] for r in vet(Device(1, make="DJI", model="Mini 2"), Policy.load()).reasons}
    assert "on us-fcc-covered: SZ DJI Technology Co., Ltd., since 2025-12-22" in reasons["FLEET-LISTED-MAKER"]
    assert reasons["FLEET-FCC-FOREIGN"] == "made in CN"
    teal = vet(Device(1, make="Teal", model="Teal 2", components={"radio": {"maker": "DJI"}}), Policy.load())
    assert {r["rule"]: r["evidence"] for r in teal.reasons}["FLEET-848-COMPONENT"].startswith("radio: DJI (CN")


def test_model_companion_apps_stand_in_when_the_row_has_none() -> None:
    verdict = vet(Device(1, make="DJI", model="Mavic 3E"), Policy.load())
    assert verdict.companion_apps == ["com.dji.industry.pilot"]
    assert vet(Device(1, make="DJI", model="Mini 2"), Policy.load()).companion_apps == ["dji.go.v5"]


def test_bad_rows_are_reported_and_the_rest_decided(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    # a UTF-8 file (its unit column is Chinese) with one damaged row: that row is reported, not the file
    path.write_bytes(
        "make,model,unit\nDJI,Mini 2,测绘队\n".encode() + b"Bad\xff,Mini 2,\n" + b"x" * 600 + b",y,\nSkydio,X10D,\n"
    )
    result = run("fleet", str(path), "-f", "json")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    rows = {d["row"]: d for d in json.loads(result.stdout)["devices"]}
    assert rows[2]["decision"] == "ground" and rows[5]["decision"] == "allow"
    assert "not valid UTF-8" in rows[3]["error"] and "longer than 500" in rows[4]["error"]


def test_doi_order_3379_example() -> None:
    policy = Policy.load(str(EXAMPLE_POLICY.with_name("fleet-policy-doi-3379.yaml")))
    assert vet(Device(1, make="Parrot", model="ANAFI USA"), policy).decision == "ground"  # foreign-made, cleared or not
    assert vet(Device(1, make="Skydio", model="X10D"), policy).decision == "allow"


def test_another_regime_is_a_policy_file() -> None:
    policy = Policy.load(str(EXAMPLE_POLICY))
    assert vet(Device(1, make="DJI", model="Mini 2"), policy).decision == "ground"
    assert vet(Device(1, make="Parrot", model="Anafi"), policy).decision == "allow"  # no foreign-made rule there


def test_bad_policy_is_an_error(tmp_path: Path) -> None:
    from techvet.errors import TechvetError

    bad = tmp_path / "p.yaml"
    bad.write_text(
        'kind: fleet-policy\nsource: x\nas_of: "2026"\n'
        "rules:\n  - {id: X, decision: ground, when: {made_on_mars: true}}\n"
    )
    with pytest.raises(TechvetError, match="rules\\[0\\].when: unknown key 'made_on_mars'"):
        Policy.load(str(bad))


def test_a_condition_value_of_the_wrong_kind_is_a_policy_error(tmp_path: Path) -> None:
    from techvet.errors import TechvetError

    for when, said in (
        ("{app_finding_at_least: huge}", "unknown severity 'huge'"),
        ("{maker_country_in: CN}", "maker_country_in must be a list, got text 'CN'"),
        ("{blue_uas: maybe}", "blue_uas must be true or false"),
    ):
        bad = tmp_path / "p.yaml"
        bad.write_text(
            f'kind: fleet-policy\nsource: x\nas_of: "2026"\nrules:\n  - {{id: X, decision: ground, when: {when}}}\n'
        )
        with pytest.raises(TechvetError, match=said):
            Policy.load(str(bad))


def test_companion_app_scanned_and_banned_package() -> None:
    policy = Policy.load()
    scanned = vet(Device(1, make="Skydio", model="X10D", app=str(fixture_app("drone_companion.apk"))), policy)
    reason = next(r for r in scanned.reasons if r["rule"] == "FLEET-APP-VERDICT")
    assert scanned.decision == "restrict" and "com.skyfleet.pilot: fail (risk 96" in reason["evidence"]
    assert "APP-SIDELOAD" in reason["evidence"] and scanned.app_verdicts[0]["verdict"] == "fail"
    assert any(f["rule"] == "TV201" for f in scanned.app_findings)
    banned = vet(Device(1, make="Skydio", model="X10D", app="com.zhiliaoapp.musically"), policy)
    assert "FLEET-APP-BANNED" in {r["rule"] for r in banned.reasons}


def test_the_app_policy_decides_for_the_companion_app(tmp_path: Path) -> None:
    """One app policy for scans and fleets: allow-listing the app there lifts the fleet restriction."""
    from techvet.verdict import AppPolicy

    mine = tmp_path / "apps.yaml"
    mine.write_text(
        'kind: app-policy\nsource: test\nas_of: "2026-11-27"\nid: mine\nblock:\n  - {id: ANY, min_severity: high}\n'
        "allow:\n  packages: [com.skyfleet.pilot]\n",
        encoding="utf-8",
    )
    device = Device(1, make="Skydio", model="X10D", app=str(fixture_app("drone_companion.apk")))
    allowed = vet(device, Policy.load(), app_policy=AppPolicy.load(str(mine)))
    assert allowed.decision == "allow" and allowed.app_verdicts[0] == {
        "app": "com.skyfleet.pilot",
        "verdict": "pass",
        "score": 0,
        "policy": "mine",
        "decided_by": [],
    }
    run_cli = run("fleet", str(_inventory(tmp_path, device.app)), "--app-policy", str(mine), "-f", "json")
    assert json.loads(run_cli.stdout)["devices"][0]["decision"] == "allow", run_cli.stderr


def test_fleet_html_page_counts_and_is_inert(tmp_path: Path) -> None:
    from tests.test_html import PAYLOAD, inert, parse

    inventory = tmp_path / "fleet.csv"
    with inventory.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Make", "Model", "Serial", "Unit"])
        writer.writerow(["DJI", "Mavic 3E", "S1", PAYLOAD])
        writer.writerow(["Skydio", "X10D", "S2", "Wildfire"])
        writer.writerow([PAYLOAD, PAYLOAD, "S3", "Lab"])
    run_cli = run("fleet", str(inventory), "-f", "html", "-o", str(tmp_path / "fleet.html"))
    assert run_cli.returncode == 1, run_cli.stderr
    html = (tmp_path / "fleet.html").read_text(encoding="utf-8")
    markup = parse(html)
    inert(markup)
    text = " ".join(markup.text)
    assert PAYLOAD in text and "FLEET-ASDA" in text and "FLEET-BLUE-UAS" in text
    counts = dict(re.findall(r'<div class="d-(\w+)"><b>(\d+)</b>', html))
    assert counts == {"ground": "1", "restrict": "0", "review": "1", "allow": "1"}


def _inventory(tmp_path: Path, app: str) -> Path:
    path = tmp_path / "fleet.csv"
    path.write_text(f"Make,Model,Serial,Companion app\nSkydio,X10D,S1,{app}\n", encoding="utf-8")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "techvet.cli", *args], capture_output=True, text=True, timeout=120)


def test_fleet_command_json_and_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "fleet.csv"
    path.write_text(
        "Brand,Aircraft,Serial Number,Owner Unit\nDJI,Mavic 3E,1581F1,Fire\n,,,Parks\nSkydio,X10D,S1,Police\n",
        encoding="utf-8",
    )
    result = run("fleet", str(path), "--columns", "make=Brand,model=Aircraft", "-f", "json")
    assert result.returncode == 2 and "row 3: no make and no model" in result.stderr
    doc = json.loads(result.stdout)
    devices = {d["row"]: d for d in doc["devices"]}
    assert devices[2]["decision"] == "ground" and devices[2]["country"] == "CN"
    for key in ("input", "manufacturer", "parent", "country", "decision", "reasons", "app_findings"):
        assert key in devices[2]
    assert devices[4]["decision"] == "allow"
    assert doc["summary"]["by_decision"] == {"ground": 1, "restrict": 0, "review": 0, "allow": 1}
    assert doc["summary"]["unreadable_rows"] == 1
    ok = tmp_path / "ok.csv"
    ok.write_text("make,model\nSkydio,X10D\n", encoding="utf-8")
    assert run("fleet", str(ok)).returncode == 0
    csv_out = run("fleet", str(path), "--columns", "make=Brand,model=Aircraft", "-f", "csv").stdout.splitlines()
    assert csv_out[0].startswith("row,make,model") and ",ground," in csv_out[1]
    bad = run("fleet", str(path), "--columns", "model=Nope")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no column 'Nope'" in bad.stderr


def test_fleet_apps_folder_links_scans_by_package(tmp_path: Path) -> None:
    import shutil

    apps = tmp_path / "apps"
    apps.mkdir()
    shutil.copy(fixture_app("drone_companion.apk"), apps / "companion.apk")
    inventory = tmp_path / "f.csv"
    inventory.write_text("make,model,companion app\nSkydio,X10D,com.skyfleet.pilot\n", encoding="utf-8")
    doc = json.loads(run("fleet", str(inventory), "--apps", str(apps), "-f", "json").stdout)
    device = doc["devices"][0]
    assert device["decision"] == "restrict" and any(f["rule"] == "TV218" for f in device["app_findings"])


def test_knowledge_has_sources() -> None:
    kb = load()
    assert kb.drone_catalogue.models and "drones.json" in kb.sources


def test_a_rule_lifts_only_the_rules_it_names(tmp_path: Path) -> None:
    policy_file = tmp_path / "p.yaml"
    policy_file.write_text(
        'kind: fleet-policy\nsource: test\nas_of: "2026-11-27"\nid: t\ndefault: allow\nrules:\n'
        "  - {id: FOREIGN, decision: restrict, when: {foreign_to: [US]}}\n"
        "  - {id: UNKNOWN, decision: review, when: {model_known: false}}\n"
        "  - {id: BLUE, decision: allow, when: {blue_uas: true}, lifts: [FOREIGN]}\n"
    )
    policy = Policy.load(str(policy_file))
    cleared = vet(Device(1, make="Parrot", model="ANAFI USA"), policy)
    assert cleared.decision == "allow"
    assert {r["rule"]: r.get("lifted_by") for r in cleared.reasons} == {"FOREIGN": "BLUE", "BLUE": None}
    assert vet(Device(1, make="Parrot", model="Anafi"), policy).decision == "restrict"


@pytest.mark.parametrize("placeholder", ["-", "?", "???", "!!!@@@", "N/A", "unknown"])
@pytest.mark.parametrize("model", ["X1", "X2", "Q9", "2"])
def test_a_placeholder_maker_is_no_maker(placeholder: str, model: str) -> None:
    """Issue 11 item 2: a maker cell that names nobody is not a catalogue maker (it used to read as
    "? (SkyRover)", a DJI look-alike, and ground the row) and a bare short model name does not
    stand for one maker's model: unknown stays unknown, and the row goes to a person."""
    verdict = vet(Device(1, make=placeholder, model=model), Policy.load())
    assert verdict.brand is None and verdict.country is None and verdict.match and verdict.match.model is None
    assert verdict.decision == "review"
    assert [r["rule"] for r in verdict.reasons] == ["FLEET-UNKNOWN"]


def test_a_placeholder_maker_is_shown_as_not_given(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.csv"
    inventory.write_text("Make,Model\n?,X1\nSkyRover,X1\n?,Mavic 3E\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "techvet.cli", "fleet", str(inventory), "-f", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    devices = json.loads(run.stdout)["devices"]
    assert [d["decision"] for d in devices] == ["review", "ground", "ground"]
    # the maker's name in the row decides for SkyRover; the model alone names DJI's Mavic 3E
    assert devices[1]["brand"] == "SkyRover" and devices[1]["manufacturer"] is None  # the source doubts it
    assert devices[2]["brand"] == "DJI"
    text = subprocess.run(
        [sys.executable, "-m", "techvet.cli", "fleet", str(inventory)], capture_output=True, text=True, timeout=60
    ).stdout
    assert "maker not given ('?' names no maker)" in text and "maker SkyRover (manufacturer not known) (CN)" in text
