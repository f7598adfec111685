"""What a new user met in the first hour (issue 11, items 6, 8, 9 and 11): ordinary input read as it
is meant, nothing-to-analyse never read as a pass, and the small rough edges, each through the
command line as the user typed it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.capture_builder import header_only_pcap
from tests.conftest import CORPUS, fixture_app

ROOT = Path(__file__).resolve().parents[1]


def techvet(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techvet", *args], capture_output=True, text=True, input=stdin, timeout=120, cwd=cwd
    )


# --- item 6: whois takes URLs and host:port apart; what names no host is an error per input ------


@pytest.mark.parametrize(
    ("given", "host", "domain"),
    [
        ("https://api.weibo.cn/2/foo", "api.weibo.cn", "weibo.cn"),
        ("api.weibo.cn:443", "api.weibo.cn", "weibo.cn"),
        ("api.weibo.cn/2/foo", "api.weibo.cn", "weibo.cn"),
        ("47.88.1.1:80", "47.88.1.1", None),
        ("[2001:db8::1]:443", "2001:db8::1", None),
        ("HTTP://user@Example.COM:8080/x", "example.com", "example.com"),
    ],
)
def test_whois_reads_urls_and_host_port(given: str, host: str, domain: str | None) -> None:
    run = techvet("whois", given, "-f", "json")
    assert run.returncode == 0, run.stderr
    (doc,) = json.loads(run.stdout)
    assert (doc["input"], doc["registrable_domain"]) == (host, domain)


def test_whois_refuses_what_names_no_host_and_answers_the_rest() -> None:
    run = techvet("whois", "999.1.1.1", "not a host!!", "", "api.weibo.cn", "-f", "json")
    assert run.returncode == 2
    docs = json.loads(run.stdout)
    assert [d.get("error", "") != "" for d in docs] == [True, True, True, False]
    assert docs[3]["owner"].startswith("Sina")
    assert run.stderr.count("\n") == 3 and "not an IP address" in run.stderr


def test_whois_reads_many_inputs_from_a_file_or_standard_input(tmp_path: Path) -> None:
    listing = tmp_path / "hosts.txt"
    listing.write_text("# hosts seen\napi.weibo.cn\n\n8.8.8.8\n", encoding="utf-8")
    from_file = techvet("whois", "--from", str(listing), "-f", "csv")
    from_stdin = techvet("whois", "-", "-f", "csv", stdin=listing.read_text())
    assert from_file.returncode == from_stdin.returncode == 0
    assert from_file.stdout == from_stdin.stdout
    assert [line.split(",")[0] for line in from_file.stdout.splitlines()] == ["query", "api.weibo.cn", "8.8.8.8"]


# --- item 8: nothing to analyse is said (exit 2) and is not a pass -------------------------------


def test_scan_of_an_empty_folder_says_so_and_writes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    run = techvet("scan", str(empty))
    assert run.returncode == 2 and "no apps in this folder" in run.stderr and run.stdout == ""
    out = tmp_path / "out"
    run = techvet("scan", str(empty), "-f", "html", "-o", str(out))
    assert run.returncode == 2 and not out.exists()


def test_a_capture_with_nothing_in_it_is_not_a_pass(tmp_path: Path) -> None:
    pcap = header_only_pcap(tmp_path / "empty.pcap")
    run = techvet("traffic", str(pcap), "--fail-on", "warn")
    assert run.returncode == 2 and "nothing to analyse: it holds no packets" in run.stderr
    assert "PASS" not in run.stdout
    har = tmp_path / "odd.har"
    har.write_text(json.dumps({"log": {"entries": {"not": "a list"}}}), encoding="utf-8")
    run = techvet("traffic", str(har), "--fail-on", "warn", "-f", "json")
    assert run.returncode == 2 and "log.entries is not a list" in run.stderr and run.stdout == ""
    empty_har = tmp_path / "empty.har"
    empty_har.write_text(json.dumps({"log": {"entries": []}}), encoding="utf-8")
    assert "nothing to analyse" in techvet("traffic", str(empty_har)).stderr


def test_files_without_rows_are_nothing_to_screen_or_decide(tmp_path: Path) -> None:
    suppliers = tmp_path / "suppliers.csv"
    suppliers.write_text("name,country\n", encoding="utf-8")
    run = techvet("screen", str(suppliers), "-o", str(tmp_path / "out.json"), "-f", "json")
    assert run.returncode == 2 and "no rows to screen" in run.stderr and not (tmp_path / "out.json").exists()
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("make,model\n", encoding="utf-8")
    run = techvet("fleet", str(inventory))
    assert run.returncode == 2 and "no rows below the header" in run.stderr


# --- item 9: diff ----------------------------------------------------------------------------------


@pytest.mark.skipif(not (CORPUS / "legu_packed_game2048.apk").is_file(), reason="corpus apps not present")
def test_diff_against_the_packed_build_names_each_sdk_once_and_no_none() -> None:
    run = techvet("diff", str(CORPUS / "legu_unpacked_game2048.apk"), str(CORPUS / "legu_packed_game2048.apk"))
    assert run.returncode == 0, run.stderr
    assert "None" not in run.stdout
    sdk_lines = [line for line in run.stdout.splitlines() if line.startswith("SDKs added")]
    assert sdk_lines == ["SDKs added: bugly (Tencent, CN)"]


def test_diff_of_the_same_app_says_no_changes_and_reads_json_lines(tmp_path: Path) -> None:
    app = str(fixture_app("clean_app.apk"))
    same = techvet("diff", app, app)
    assert same.returncode == 0 and same.stdout.splitlines()[-1] == "no changes: the same file"
    saved = tmp_path / "results.jsonl"
    assert techvet("scan", app, "-f", "json", "-o", str(saved)).returncode == 0
    run = techvet("diff", str(saved), str(fixture_app("clean_app_v2.apk")))
    assert run.returncode == 0, run.stderr
    assert "SDKs added: umeng (Alibaba (Umeng), CN)" in run.stdout
    two = tmp_path / "two.jsonl"
    assert (
        techvet("scan", app, str(fixture_app("clean_app_v2.apk")), "-f", "json", "-o", str(two), "-j", "1").returncode
        == 0
    )
    run = techvet("diff", str(two), app)
    assert run.returncode == 2 and "holds 2 results" in run.stderr


def test_diff_fail_on_looks_at_what_the_update_adds() -> None:
    old, new = str(fixture_app("clean_app.apk")), str(fixture_app("clean_app_v2.apk"))
    assert techvet("diff", old, new, "--fail-on", "fail").returncode == 1  # the update fails the policy
    assert techvet("diff", new, new, "--fail-on", "info").returncode == 0  # nothing added


# --- item 11: the small ones --------------------------------------------------------------------


def test_a_folder_is_read_by_traffic_and_refused_by_screen_with_the_right_words(tmp_path: Path) -> None:
    folder = tmp_path / "captures"
    folder.mkdir()
    (folder / "a.pcap").write_bytes((ROOT / "tests/fixtures/captures/quic_initial.pcap").read_bytes())
    run = techvet("traffic", str(folder), "-f", "json")
    assert run.returncode == 0 and json.loads(run.stdout)["path"].endswith("a.pcap")
    run = techvet("screen", str(folder))
    assert run.returncode == 2 and "a folder, not a table" in run.stderr and "no such file" not in run.stderr


@pytest.mark.parametrize("command", ["screen", "fleet"])
def test_a_binary_file_is_one_readable_line(tmp_path: Path, command: str) -> None:
    junk = tmp_path / "photo.csv"
    junk.write_bytes(bytes(range(256)) * 8)
    run = techvet(command, str(junk))
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "binary content" in run.stderr and run.stderr.isprintable() is False  # only the newline
    assert all(ch.isprintable() for ch in run.stderr.strip())


@pytest.mark.parametrize("redirect", ["", "2>&1"])
def test_a_closed_pipe_keeps_the_exit_code(redirect: str) -> None:
    shell = f"{sys.executable} -m techvet screen -n DJI {redirect} | head -1 > /dev/null; echo ${{PIPESTATUS[0]}}"
    run = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.stdout.strip() == "1" and "Traceback" not in run.stderr and "Broken pipe" not in run.stderr


def test_a_drone_type_column_is_the_model_and_a_missing_one_is_said(tmp_path: Path) -> None:
    typed = tmp_path / "typed.csv"
    typed.write_text("Manufacturer,Drone Type,Serial\nDJI,Mavic 3E,1\n", encoding="utf-8")
    run = techvet("fleet", str(typed), "-f", "json")
    assert json.loads(run.stdout)["devices"][0]["model"]["id"]
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text("Manufacturer,Airframe,Serial\nDJI,Mavic 3E,1\n", encoding="utf-8")
    run = techvet("fleet", str(unnamed))
    assert "no model column among 'Manufacturer', 'Airframe', 'Serial'" in run.stderr
    assert run.stderr.count("no model column") == 1


@pytest.mark.parametrize(
    ("encoding", "delimiter"), [("gbk", ","), ("gbk", "\t"), ("utf-8", ";"), ("cp1252", ";"), ("utf-16", "\t")]
)
def test_supplier_files_in_the_encodings_and_delimiters_spreadsheets_export(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    rows = [["公司名称" if encoding == "gbk" else "Company", "Country"], ["合肥宝龙达信息技术有限公司", "CN"]]
    if encoding == "cp1252":
        rows[1] = ["Hefei Bitland Information Technology Co. Ltd", "CN"]
        rows.append(["Müller Präzision GmbH", "DE"])
    elif encoding != "gbk":
        rows.append(["Zürich Drohnen AG", "CH"])
    path = tmp_path / "suppliers.csv"
    path.write_bytes("".join(delimiter.join(r) + "\r\n" for r in rows).encode(encoding))
    run = techvet("screen", str(path), "-f", "json")
    assert run.returncode == 1, run.stderr  # the listed company is found
    docs = json.loads(run.stdout)
    assert docs[0]["matches"][0]["list"] == "us-dhs-uflpa"
    assert all(d["error"] is None for d in docs)
    if len(rows) > 2:
        assert docs[1]["input"]["name"] in ("Müller Präzision GmbH", "Zürich Drohnen AG")


def test_one_date_for_the_blue_uas_exception() -> None:
    """The fleet policy holds the date, once; the rule stops applying on it (fail closed)."""
    from datetime import date

    from techvet.fleet import Device, Policy
    from techvet.fleet.decide import vet

    policy = Policy.load()
    blue = next(r for r in policy.rules if r["id"] == "FLEET-BLUE-UAS")
    assert blue["until"] == "2027-01-01" and "2027" not in blue["why"] and "2028" not in blue["why"]
    assert all("2027" not in r["why"] for r in policy.rules)
    before = vet(Device(1, make="Parrot", model="ANAFI USA"), policy, today=date(2026, 12, 31))
    after = vet(Device(1, make="Parrot", model="ANAFI USA"), policy, today=date(2027, 1, 1))
    assert (before.decision, after.decision) == ("allow", "restrict")
    from techvet.knowledge import load

    programs = [p.get("program") or "" for p in load().restriction_lists["parties"] if p["list"] == "us-fcc-covered"]
    assert not [p for p in programs if "excepted until" in p]  # the lists do not restate the date


def test_closed_lists_are_not_stale() -> None:
    run = techvet("lists", "show", "-f", "json")
    lists = {x["id"]: x for x in json.loads(run.stdout)["lists"]}
    assert lists["in-meity-69a"]["closed"] and lists["in-meity-69a"]["stale"] is False
    assert "in-meity-69a" not in run.stderr


def test_product_output_names_no_development_folder() -> None:
    from techvet.knowledge import DATA_DIR, _read, load

    for path in DATA_DIR.iterdir():
        if path.suffix in (".yaml", ".json") and path.name != "restriction_scan.json":
            assert "shared/" not in str(_read(DATA_DIR, path.name)["source"]), path.name
    assert "shared/" not in load().restriction_lists["source"]
    for example in (ROOT / "docs" / "examples").glob("*.yaml"):  # their source is shown in fleet reports
        assert "shared/" not in example.read_text(encoding="utf-8"), example.name
    for args in (("explain", "FLEET-ASDA"), ("explain", "TV301"), ("lists", "show"), ("rules", "-v")):
        run = techvet(*args)
        assert "shared/" not in run.stdout + run.stderr, args
    scan = techvet("scan", str(fixture_app("drone_companion.apk")), "-f", "json")
    assert "shared/" not in scan.stdout
