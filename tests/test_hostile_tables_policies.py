"""Issue 13, policy files, tables and spreadsheet output: every hostile input the fuzzing campaign
found here is one line and exit 2 (never exit 3 or a traceback) in bounded time and memory, and no
CSV output carries a cell a spreadsheet would run as a formula.

The reproducers live outside the repository (``../shared/fuzz/reproducers``); tests that use them
are skipped when that folder is absent, and the large cases are built at test time."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from pathlib import Path

import pytest

from techvet.errors import TechvetError
from techvet.fleet import Policy
from techvet.fleet.policy import POLICY_SCHEMA
from techvet.policy_file import MAX_EXPANDED_VALUES
from techvet.spreadsheet import FORMULA_STARTS, safe_cell
from techvet.tables import read_table
from techvet.verdict import APP_POLICY_SCHEMA, AppPolicy
from tests.conftest import REPRODUCERS, fixture_app, needs_reproducers
from tests.hostile_inputs import run_cli_measured

ROOT = Path(__file__).resolve().parents[1]

FLEET_POLICIES = [
    "policy_latin1.yaml",
    "policy_rules_mapping.yaml",
    "policy_rule_scalar.yaml",
    "policy_deep.yaml",
    "policy_no_source_key.yaml",
    "policy_python_tag.yaml",
    "policy_laughs_title.yaml",
    "policy_laughs_condition.yaml",
    "policy_laughs_unused.yaml",
]
APP_POLICIES = [
    "apppolicy_block_int.yaml",
    "apppolicy_allow_list.yaml",
    "apppolicy_block_scalars.yaml",
    "apppolicy_accept_scalar.yaml",
    "apppolicy_laughs_id.yaml",
    "apppolicy_laughs_expires.yaml",
]
LIMIT_SECONDS = 20
LIMIT_KB = 500 * 1024


def techvet(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "techvet.cli", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    return run, time.monotonic() - start


def one_clean_line(run: subprocess.CompletedProcess[str]) -> bool:
    """Exit 2 with one problem line: no traceback, no "internal error" (exit 3)."""
    lines = [x for x in run.stderr.splitlines() if "lists are older than" not in x]
    return run.returncode == 2 and len(lines) == 1 and "internal error" not in run.stderr


def kinded(tmp_path: Path, name: str, kind: str) -> str:
    """The reproducer with ``kind:`` first: the campaign's files predate the kind check (issue 11),
    which now refuses them before any field is read; with it, they reach the field checks again."""
    source = (REPRODUCERS / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(f"kind: {kind}\n".encode() + source)
    return str(path)


@needs_reproducers
@pytest.mark.parametrize("name", FLEET_POLICIES)
def test_a_hostile_fleet_policy_is_refused_fast(tmp_path: Path, name: str) -> None:
    for path in (str(REPRODUCERS / name), kinded(tmp_path, name, "fleet-policy")):
        start = time.monotonic()
        with pytest.raises(TechvetError):
            Policy.load(path)
        assert time.monotonic() - start < 2


@needs_reproducers
@pytest.mark.parametrize("name", APP_POLICIES)
def test_a_hostile_app_policy_is_refused_at_load(tmp_path: Path, name: str) -> None:
    """apppolicy_accept_scalar.yaml used to load and then crash in ``decide``, losing a whole
    folder's results: every one is now refused when read, before any app is judged."""
    for path in (str(REPRODUCERS / name), kinded(tmp_path, name, "app-policy")):
        start = time.monotonic()
        with pytest.raises(TechvetError):
            AppPolicy.load(path)
        assert time.monotonic() - start < 2


@needs_reproducers
@pytest.mark.parametrize(
    ("command", "name", "kind"),
    [
        ("fleet", "policy_laughs_title.yaml", "fleet-policy"),
        ("fleet", "policy_laughs_condition.yaml", "fleet-policy"),
        ("scan", "apppolicy_laughs_id.yaml", "app-policy"),
        ("scan", "apppolicy_accept_scalar.yaml", "app-policy"),
    ],
)
def test_hostile_policies_on_the_command_line(tmp_path: Path, command: str, name: str, kind: str) -> None:
    target = str(ROOT / "samples" / "fleet.csv") if command == "fleet" else str(fixture_app("clean_app.apk"))
    # the child's own peak (VmHWM): pytest's RUSAGE_CHILDREN holds the largest child of the session
    run, seconds, peak_mib = run_cli_measured(command, target, "--policy", kinded(tmp_path, name, kind))
    assert one_clean_line(run) and "policy" in run.stderr, run.stderr
    assert seconds < LIMIT_SECONDS
    assert peak_mib * 1024 < LIMIT_KB


LAUGHS = (
    "["
    + ", ".join(
        ["&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        + [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    )
    + "]"
)
HEAD = "source: test\nas_of: '2026-12-01'\nid: t\n"
FLEET_RULE = "default: allow\nrules:\n  - {id: R, decision: ground, when: {dji_design: true}}\n"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # aliases defined inside a field that is used: no unknown section gives them away
        (f"kind: fleet-policy\n{HEAD}title: {LAUGHS}\n{FLEET_RULE}", "aliases expand it"),
        (f"kind: app-policy\n{HEAD}block:\n  - {{id: B, rules: [TV201], why: {LAUGHS}}}\n", "aliases expand it"),
        (f"kind: fleet-policy\n{HEAD}title: &a [*a]\n{FLEET_RULE}", "refers to a value that contains it"),
        # types that passed the hand-written checks and crashed later, in decide or in vetting
        (f"kind: app-policy\n{HEAD}block: [{{id: B, rules: [TV201]}}]\naccept:\n"
         "  - {rules: [TV201], reason: r, packages: 5}\n", "accept[0].packages must be a list"),
        (f"kind: fleet-policy\n{HEAD}{FLEET_RULE}  - {{id: L, decision: allow, lifts: [[R]]}}\n",
         "lifts[0] must be text"),
        (f"kind: fleet-policy\n{HEAD}rules:\n  - {{id: [R], decision: ground}}\ndefault: allow\n",
         "rules[0].id must be text"),
        (f"kind: app-policy\n{HEAD}block:\n  - {{id: B, why: {{a: 1}}}}\n", "block[0].why must be text"),
        (f"kind: app-policy\n{HEAD}block:\n  - {{id: B}}\nallow:\n  hosts: [{{expires: '2030-01-01'}}]\n", "hosts[0]"),
    ],
)  # fmt: skip
def test_policy_fields_are_typed_and_aliases_bounded(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    loader = Policy.load if "fleet-policy" in text else AppPolicy.load
    start = time.monotonic()
    with pytest.raises(TechvetError) as caught:
        loader(str(path))
    assert time.monotonic() - start < 2
    message = str(caught.value)
    assert said in message and "\n" not in message and len(message) < 600, message


def test_aliases_that_repeat_a_list_are_still_a_policy(tmp_path: Path) -> None:
    """Aliases are not refused as such: naming a country list once and reusing it is a fair use."""
    path = tmp_path / "p.yaml"
    path.write_text(
        f"kind: fleet-policy\n{HEAD}default: allow\nrules:\n"
        "  - {id: A, decision: ground, when: {maker_country_in: &adversaries [CN, RU, IR]}}\n"
        "  - {id: B, decision: restrict, when: {component_country_in: *adversaries}}\n",
        encoding="utf-8",
    )
    assert Policy.load(str(path)).rules[1]["when"]["component_country_in"] == ["CN", "RU", "IR"]
    assert MAX_EXPANDED_VALUES >= 10_000


def test_the_schemas_are_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(APP_POLICY_SCHEMA)
    Draft202012Validator.check_schema(POLICY_SCHEMA)


@needs_reproducers
def test_an_xlsx_with_a_bad_utf8_entry_name_is_one_error() -> None:
    with pytest.raises(TechvetError, match="not an XLSX file"):
        read_table(str(REPRODUCERS / "xlsx_bad_utf8_name.xlsx"), "devices")


@needs_reproducers
def test_an_xlsx_whose_sheet_expat_refuses_is_a_row_error() -> None:
    _, rows = read_table(str(REPRODUCERS / "xlsx_billion_laughs.xlsx"), "devices")
    records = list(rows)
    assert records and records[-1].cells is None and "sheet unreadable" in (records[-1].error or "")


@needs_reproducers
@pytest.mark.parametrize(
    ("command", "name"),
    [
        ("fleet", "xlsx_bad_utf8_name.xlsx"),
        ("screen", "xlsx_bad_utf8_name.xlsx"),
        ("fleet", "xlsx_billion_laughs.xlsx"),
        ("screen", "xlsx_billion_laughs.xlsx"),
        ("screen", "screen_1mb_header.csv"),
    ],
)
def test_hostile_tables_on_the_command_line(command: str, name: str) -> None:
    run, seconds = techvet(command, str(REPRODUCERS / name))
    assert run.returncode == 2 and "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert seconds < LIMIT_SECONDS


@needs_reproducers
@pytest.mark.parametrize(("name", "key"), [("fleet_1mb_cells.csv", "devices"), ("screen_1mb_cells.csv", "suppliers")])
def test_megabyte_cells_are_row_errors(name: str, key: str) -> None:
    _, rows = read_table(str(REPRODUCERS / name), key)
    assert any("field larger than field limit" in (r.error or "") for r in rows)


def test_a_json_inventory_of_millions_of_lists_is_refused_before_parsing(tmp_path: Path) -> None:
    """63 MB of ``[],[],...`` once took 1.6 GB and 15-28 s to parse and walk."""
    path = tmp_path / "inventory.json"
    count = (63 << 20) // 3
    path.write_bytes(b"[" + b"[]," * (count - 1) + b"[]]")
    start = time.monotonic()
    with pytest.raises(TechvetError, match="JSON values"):
        read_table(str(path), "devices")
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+SUM(1+1)", "'+SUM(1+1)"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-Huawei Technologies", "'-Huawei Technologies"),
        ("-12.5", "-12.5"),
        ("+3", "+3"),
        ("-1e3", "-1e3"),
        ("DJI", "DJI"),
        ("a=b", "a=b"),
        (-12.5, -12.5),
        (7, 7),
        (None, None),
    ],
)
def test_safe_cell(cell: object, written: object) -> None:
    assert safe_cell(cell) == written


@needs_reproducers
@pytest.mark.parametrize(("command", "name"), [("fleet", "fleet_formula.csv"), ("screen", "screen_formula.csv")])
def test_csv_output_carries_no_formula(command: str, name: str) -> None:
    run, _ = techvet(command, str(REPRODUCERS / name), "-f", "csv")
    assert run.returncode in (0, 1, 2) and "internal error" not in run.stderr, run.stderr
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert len(rows) > 3
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS) and safe_cell(c) != c]
    assert any(c.startswith("'=cmd|") for c in cells)  # the payload is kept, as text


def test_an_xlsx_whose_zip_version_zipfile_lacks_is_one_line() -> None:
    """Found by `make fuzz` (87 bytes): zipfile raises NotImplementedError for zip version 19.5."""
    import subprocess
    import sys

    path = Path(__file__).parent / "data" / "fuzz" / "xlsx_zip_version_19_5.xlsx"
    run = subprocess.run(
        [sys.executable, "-m", "techvet", "fleet", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 2 and "internal error" not in run.stderr and run.stderr.count("\n") == 1, run.stderr


def test_a_companion_app_cell_too_long_for_a_path_is_an_app_not_found() -> None:
    """Found by `make fuzz`: a companion-app cell of 300 characters made Path.exists() raise
    OSError (file name too long); the device is now decided, its app reported as not found."""
    import subprocess
    import sys

    path = Path(__file__).parent / "data" / "fuzz" / "fleet_app_path_too_long.csv"
    run = subprocess.run(
        [sys.executable, "-m", "techvet", "fleet", str(path), "-f", "json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode in (0, 1) and "internal error" not in run.stderr, run.stderr
    import json

    devices = json.loads(run.stdout)["devices"]
    assert any("no such file" in json.dumps(d) and "яяя" in json.dumps(d, ensure_ascii=False) for d in devices)


def test_a_utf16_csv_cut_mid_character_is_one_line_or_one_bad_row(tmp_path: Path) -> None:
    """Found by `make fuzz` (3 bytes: a UTF-16 BOM and half a character): the decoder raises
    'truncated data' whatever its error handler, at the header or at the end of the rows."""
    import subprocess
    import sys

    from techvet.tables import read_table

    cut_header = Path(__file__).parent / "data" / "fuzz" / "csv_utf16_cut_mid_character.csv"
    command = [sys.executable, "-m", "techvet", "fleet", str(cut_header)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "utf-16" in run.stderr, run.stderr
    cut_rows = tmp_path / "suppliers.csv"
    cut_rows.write_bytes("name,country\nDJI,CN\nAcme,US\n".encode("utf-16") + b"\x41")  # one byte too many
    header, records = read_table(str(cut_rows), "parties")
    rows = list(records)
    assert header == ["name", "country"] and [r.cells for r in rows[:2]] == [
        {"name": "DJI", "country": "CN"}, {"name": "Acme", "country": "US"}
    ]  # fmt: skip
    assert rows[-1].cells is None and "unreadable end of file" in str(rows[-1].error)
