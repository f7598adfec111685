"""Screening names against the bundled lists: the matcher, the party-file command and the lists."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from techvet.knowledge import load
from techvet.screen import DEFAULT_THRESHOLD, screen
from techvet.screen.names import name_forms


def lists_of(name: str, **kw: object) -> set[str]:
    return {m.list for m in screen(name, **kw)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Hefei Bitland Information Technology", {"us-dhs-uflpa"}),
        ("合肥宝龙达信息技术有限公司", {"us-dhs-uflpa"}),  # the registered Chinese name, added with its source
        ("DJI", {"us-bis-entity-list", "us-dod-1260h", "us-fcc-covered", "us-ofac-ns-cmic"}),
        ("大疆创新", {"us-bis-entity-list", "us-dod-1260h", "us-fcc-covered"}),
        ("SZ DJI Technology Co., Ltd.", {"us-bis-entity-list", "us-dod-1260h", "us-fcc-covered", "us-ofac-ns-cmic"}),
        ("Hikvision", {"us-bis-entity-list", "us-dod-1260h", "us-fcc-covered", "us-ofac-ns-cmic"}),
        ("海康威视", {"us-bis-entity-list"}),
        ("Tencent", {"us-dod-1260h"}),
        ("Tanyuan Technology Co., Ltd.", {"us-bis-entity-list", "us-dhs-uflpa"}),
    ],
)
def test_named_companies_match_their_lists(name: str, expected: set[str]) -> None:
    assert expected <= lists_of(name)


@pytest.mark.parametrize(
    "name",
    [
        "Shenzhen Technology Co., Ltd.",
        "Hangzhou Digital Technology Co., Ltd.",  # shares every word but "hikvision" with Hikvision
        "Beijing Information Technology Co., Ltd.",
        "Tencent Music Entertainment",  # a different company sharing the brand word
        "Acme Robotics Inc.",
    ],
)
def test_generic_and_unrelated_names_match_nothing(name: str) -> None:
    assert screen(name) == []


def test_traditional_script_and_simplified_meet() -> None:
    traditional = {(m.list, m.name) for m in screen("華為技術有限公司")}
    simplified = {(m.list, m.name) for m in screen("华为技术有限公司")}
    assert traditional == simplified and any("Huawei Technologies" in n for _, n in simplified)


def test_misspelt_name_still_matches_with_a_lower_score() -> None:
    exact = screen("Hangzhou Hikvision Digital Technology")[0].score
    typo = screen("Hangzhou Hikvison Digital Technology")
    assert typo and typo[0].score < exact and "hikvison~hikvision" in typo[0].why


def test_explanation_names_the_alias_and_the_words() -> None:
    match = screen("合肥宝龙达信息技术有限公司")[0]
    assert match.matched_alias == "合肥宝龙达信息技术有限公司" and match.name.startswith("Hefei Bitland")
    assert "baolongda" in match.why and match.score == pytest.approx(1.0)


def test_identifier_matches_exactly() -> None:
    matches = screen("Some Unrelated Name", identifiers=["9111000071093019X7"])
    assert [(m.list, m.via) for m in matches] == [("us-ofac-ns-cmic", "identifier")]
    assert "TELECOM" in matches[0].name


def test_parent_company_flags_the_row() -> None:
    matches = screen("Quiet Subsidiary Trading Ltd.", parent="Hikvision")
    assert matches and all(m.via == "parent" and m.why.startswith("through its parent") for m in matches)


def test_people_only_on_request() -> None:
    assert not any(m.type == "person" for m in screen("WONG, Moon Chi"))
    assert any(m.type == "person" for m in screen("WONG, Moon Chi", include_people=True))


def test_country_mismatch_lowers_the_score() -> None:
    home = screen("Hefei Bitland Information Technology", country="CN")[0].score
    abroad = screen("Hefei Bitland Information Technology", country="US", threshold=0.5)[0]
    assert abroad.score < home and "given US" in abroad.why


def test_threshold_is_a_floor() -> None:
    assert all(m.score >= 0.95 for m in screen("Hikvison Digital Technology", threshold=0.95))
    assert all(m.score >= DEFAULT_THRESHOLD for m in screen("Huawei Device"))


def test_stored_name_forms_match_the_tokenizer() -> None:
    """restriction_lists.json.gz carries each name's tokens; a change to name_words.yaml or the
    tokenizer needs `python tools/build_lists.py` (this test says so by failing)."""
    kb = load()
    for party in kb.restriction_lists["parties"]:
        for name in [party["name"], *party["aliases"]]:
            stored = sorted(form for text, form in party["forms"] if text == name)
            assert stored == sorted(" ".join(f) for f in name_forms(name, kb.name_words)), name


def test_manifest_names_inputs_with_hashes() -> None:
    doc = load().restriction_lists
    shared = Path(__file__).resolve().parents[2] / "shared" / "lists"
    for list_id, meta in doc["lists"].items():
        assert meta["count"] > 0 and meta["as_of"] and meta["url"].startswith("https://"), list_id
        for name, digest in meta["inputs"].items():
            assert len(digest) == 64
            if shared.is_dir():  # the CI layout has shared/ beside the clone: check the snapshot's provenance
                import hashlib

                assert hashlib.sha256((shared / name).read_bytes()).hexdigest() == digest, name


# --- the command ------------------------------------------------------------------------------


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techvet.cli", *args], capture_output=True, text=True, input=stdin, timeout=120
    )


def test_screen_csv_goes_on_past_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "suppliers.csv"
    path.write_bytes(
        b"name,country,address,uscc,parent\n"
        + b"Hefei Bitland Information Technology Co. Ltd,CN,,,\n"
        + b",CN,,,\n"  # no name
        + b"Bad \xff\xfe bytes Ltd,CN,,,\n"  # not UTF-8
        + ("x" * 600 + ",CN,,,\n").encode()  # too long to be a name
        + b'Small Widget Co,CN,"No. 5 Road, Shihezi, 832000",,\n'
        + b"Acme Robotics,US,,,\n"
        + "Zürcher Präzisions AG,CH,,,\n".encode()  # the file is UTF-8: one damaged row does not change that
    )
    result = run("screen", str(path), "--format", "json")
    assert result.returncode == 2  # some rows were unreadable: the file was still screened
    rows = json.loads(result.stdout)
    assert [r["row"] for r in rows] == [2, 3, 4, 5, 6, 7, 8]
    assert rows[0]["matches"][0]["list"] == "us-dhs-uflpa"
    assert {r["row"]: r["error"] for r in rows if r["error"]} == {
        3: "no name",
        4: "not valid UTF-8",
        5: "name longer than 500 characters",
    }
    assert rows[4]["xinjiang_exposure"][0]["place"].startswith("石河子")
    assert rows[5]["matches"] == [] and rows[5]["xinjiang_exposure"] == []
    for line in ("row 3: no name", "row 4: not valid UTF-8"):
        assert line in result.stderr
    assert "Traceback" not in result.stderr
    keys = {"list", "name", "matched_alias", "score", "program", "listed_on", "why"}
    assert keys <= set(rows[0]["matches"][0])


def test_screen_exit_codes_and_formats(tmp_path: Path) -> None:
    clean = run("screen", "--name", "Acme Robotics Inc.")
    assert clean.returncode == 0 and "0 with possible matches" in clean.stdout
    assert "older than 90 days" in clean.stderr  # the bundled snapshot is stale after 2026-11-16
    hit = run("screen", "--name", "Hikvision", "--format", "csv")
    assert hit.returncode == 1
    lines = hit.stdout.splitlines()
    assert lines[0].startswith("row,name,list") and any(",us-fcc-covered," in line for line in lines[1:])
    assert run("screen").returncode == 2  # neither a file nor --name
    assert run("screen", str(tmp_path / "missing.csv")).returncode == 2
    nameless = tmp_path / "nameless.csv"
    nameless.write_text("colour,size\nred,2\n")
    result = run("screen", str(nameless))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "no name column" in result.stderr


def test_screen_xlsx_and_json(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Company Name", "Country"])
    sheet.append(["大疆创新", "CN"])
    sheet.append([None, None])
    sheet.append(["Acme Robotics", "US"])
    book.save(tmp_path / "suppliers.xlsx")
    rows = json.loads(run("screen", str(tmp_path / "suppliers.xlsx"), "-f", "json").stdout)
    assert [r["row"] for r in rows] == [2, 4] and rows[0]["matches"] and not rows[1]["matches"]
    (tmp_path / "p.json").write_text(json.dumps({"parties": [{"name": "Tencent", "identifiers": []}, 42]}))
    result = run("screen", str(tmp_path / "p.json"), "-f", "json")
    rows = json.loads(result.stdout)
    assert rows[0]["matches"][0]["list"] == "us-dod-1260h" and rows[1]["error"] == "not an object"
    assert result.returncode == 2


def test_screen_refuses_an_xlsx_bomb(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 << 20))
    result = run("screen", str(tmp_path / "bomb.xlsx"))
    assert result.returncode == 2 and "zip bomb" in result.stderr and "Traceback" not in result.stderr


def test_lists_show_dates_and_staleness() -> None:
    result = run("lists", "show")
    assert result.returncode == 0
    for list_id in ("us-bis-entity-list", "us-dhs-uflpa", "us-dod-1260h", "us-fcc-covered", "in-meity-69a"):
        assert list_id in result.stdout
    assert "older than 90 days" in result.stderr  # the bundled snapshot is, on 2026-11-27 and after


def test_lists_show_fresh_lists_do_not_warn(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date

    from techvet.screen.command import show_lists

    assert show_lists(today=date(2026, 9, 1)) == 0
    out = capsys.readouterr()
    assert "STALE" in out.out  # the 2024 SDN copy is old even then
    assert "us-fcc-covered" in out.out and "us-fcc-covered" not in out.err.split("days:")[-1]


def test_scan_table_agrees_with_the_snapshot() -> None:
    """restriction_scan.json is derived from the snapshot by tools/build_lists.py: every listed
    company's name forms lead back to it, people are not in it, banned packages are."""
    kb = load()
    table = kb.restriction_forms
    ids = table.columns["id"]
    for party in kb.restriction_lists["parties"]:
        kind = party.get("type", "entity")
        if kind == "entity":
            for _, form in party["forms"]:
                assert party["id"] in {ids[n] for n in table.by_form(form)}, (party["id"], form)
        elif kind == "person":
            assert party["id"] not in ids
        if party.get("package"):
            assert party["id"] in {ids[n] for n in table.by_package[party["package"]]}
    assert table.by_form("no such company at all") == []
