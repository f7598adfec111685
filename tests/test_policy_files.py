"""A policy file says what it is; a file of the wrong kind, of no kind, or that decides nothing is
refused with one line and exit 2 before anything is judged by it (issue 11, item 1: fail closed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from techvet.errors import TechvetError
from techvet.fleet import Policy
from techvet.verdict import AppPolicy
from tests.conftest import fixture_app

ROOT = Path(__file__).resolve().parents[1]
GROUND = "kind: fleet-policy\ndefault: allow\nrules:\n  - {id: X, decision: ground, when: {"
APP_POLICY = ROOT / "docs" / "examples" / "app-policy-enterprise.yaml"
FLEET_POLICY = ROOT / "docs" / "examples" / "fleet-policy-doi-3379.yaml"
CAPTURE = ROOT / "tests" / "fixtures" / "captures" / "personal_data.pcap"


def techvet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techvet.cli", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def refused(run: subprocess.CompletedProcess[str], said: str) -> bool:
    return run.returncode == 2 and run.stdout == "" and run.stderr.count("\n") == 1 and said in run.stderr


def test_an_app_policy_given_to_fleet_is_refused() -> None:
    run = techvet("fleet", "samples/fleet.csv", "--policy", str(APP_POLICY))
    assert refused(run, "is an app policy"), run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("scan", str(fixture_app("drone_companion.apk"))),
        ("traffic", str(CAPTURE)),
        ("diff", str(fixture_app("clean_app.apk")), str(fixture_app("clean_app_v2.apk"))),
    ],
)
def test_a_fleet_policy_given_where_an_app_policy_belongs_is_refused(args: tuple[str, ...]) -> None:
    run = techvet(*args, "--policy", str(FLEET_POLICY))
    assert refused(run, "is a fleet policy"), run.stderr


def test_a_fleet_policy_given_as_the_companion_apps_policy_is_refused() -> None:
    run = techvet("fleet", "samples/fleet.csv", "--app-policy", str(FLEET_POLICY))
    assert refused(run, "is a fleet policy"), run.stderr


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text('source: test\nas_of: "2026-12-01"\nid: t\n' + text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("block:\n  - {id: X, rules: [TV201]}\n", "does not say what it is: add 'kind: app-policy'"),
        ("kind: app-policy\n", "has no block or warn line"),
        ("kind: app-policy\nblock: []\nwarn: []\naccept: []\n", "has no block or warn line"),
        ("kind: app-policy\nrules:\n  - {id: X, decision: ground}\n", "unknown section ['rules']"),
        ("kind: app-policy\nblock: {id: X}\n", "block must be a list"),
        ("kind: app-policy\nblock:\n  - TV201\n", "block[0] must be a mapping, got text 'TV201'"),
        ("kind: app-policy\nblock:\n  - {id: X, rules: TV201}\n", "rules must be a list"),
        # lines that could never match: a policy that silently allows
        ("kind: app-policy\nblock:\n  - {id: X, rules: [TV9999]}\n", "no rule 'TV9999'"),
        ("kind: app-policy\nblock:\n  - {id: X, rules: [TV601], lists: [us-bis-entitylist]}\n", "no list"),
        ("kind: app-policy\nblock:\n  - {id: X, rules: [TV401], owner_countries: [China]}\n", "not a country code"),
        ("kind: app-policy\nblock:\n  - {id: X, rules: []}\n", "not empty"),
        ("kind: app-policy\nwarn:\n  - {id: X}\naccept:\n  - {rules: [TV2O1], reason: typo}\n", "no rule 'TV2O1'"),
        ("kind: app-policy\nwarn:\n  - {id: X}\naccept:\n  - {rules: [TV201]}\n", "accept[0] needs reason"),
        ("kind: app-policy\nwarn:\n  - {id: X}\nallow:\n  apps: [a.b]\n", "allow: unknown key 'apps' (known:"),
        ("kind: security-policy\nwarn:\n  - {id: X}\n", "unknown kind 'security-policy'"),
    ],
)
def test_an_app_policy_that_cannot_decide_is_an_error(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(TechvetError) as caught:
        AppPolicy.load(write(tmp_path, text))
    assert said in str(caught.value)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("default: allow\nrules:\n  - {id: X, decision: ground}\n", "add 'kind: fleet-policy'"),
        ("kind: fleet-policy\ndefault: allow\n", "has no rules"),
        ("kind: fleet-policy\ndefault: allow\nrules: []\n", "has no rules"),
        ("kind: fleet-policy\nblock:\n  - {id: X}\nrules:\n  - {id: X, decision: ground}\n", "unknown section"),
        ("kind: fleet-policy\nrules:\n  - {id: X, decision: ground, when: [cn]}\n", "when must be a mapping"),
        (
            GROUND + "dji_design: true}}\n  - {id: Z, decision: allow, lifts: [Y]}\n",
            "lifts ['Y']",
        ),
        ("kind: fleet-policy\nrules:\n  - {id: X, decision: fly}\n", "rules[0].decision: 'fly' is not one of ground"),
        ("kind: fleet-policy\ndefault: allow\nrules:\n  - {id: X, decision: allow}\n", "no rule that grounds"),
        ("kind: fleet-policy\nrules:\n  - {id: X, decision: ground, when: {dji_design: true}}\n", "default: allow or"),
        (
            GROUND + "maker_on_lists: [us-fcc-coverd]}}\n",
            "no list 'us-fcc-coverd'",
        ),
        (
            GROUND + "maker_country_in: [PRC]}}\n",
            "not a country code",
        ),
        (
            GROUND + "app_verdict_in: [bad]}}\n",
            "expected verdicts",
        ),
    ],
)
def test_a_fleet_policy_that_cannot_decide_is_an_error(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(TechvetError) as caught:
        Policy.load(write(tmp_path, text))
    assert said in str(caught.value)


def test_every_bundled_and_example_policy_says_its_kind() -> None:
    from techvet.knowledge import DATA_DIR

    for path in [DATA_DIR / "app_policy.yaml", *ROOT.glob("docs/examples/app-policy-*.yaml")]:
        assert AppPolicy.load(str(path)).block
    for path in [DATA_DIR / "fleet_policy.yaml", *ROOT.glob("docs/examples/fleet-policy-*.yaml")]:
        assert Policy.load(str(path)).rules


def test_country_codes_are_taken_in_either_case(tmp_path: Path) -> None:
    """ "cn" in a hand-written policy means CN: it matches, where it used to match nothing."""
    app = AppPolicy.load(
        write(tmp_path, "kind: app-policy\nblock:\n  - {id: X, rules: [TV401], owner_countries: [cn]}\n")
    )
    assert app.block[0]["owner_countries"] == ["CN"]
    fleet = Policy.load(
        write(
            tmp_path,
            GROUND + "maker_country_in: [cn]}}\n",
        )
    )
    from techvet.fleet import Device, vet

    assert vet(Device(1, make="DJI", model="Mavic 3E"), fleet).decision == "ground"
