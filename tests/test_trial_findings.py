"""What a second trial as a new user found, each kept from coming back: facts not borrowed from a
neighbour (a cloud for its customer, a part's maker left unscreened), input read as it is written
(countries in words, placeholders, mixed JSON rows, unknown headers), and nothing read as a pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import techvet
from techvet.countries import country_code
from techvet.fleet import Device, Policy, vet
from techvet.place import attribute
from techvet.screen import screen
from tests.capture_builder import http_capture
from tests.conftest import fixture_app

ROOT = Path(__file__).resolve().parents[1]
SHARED_TRAFFIC = ROOT.parent / "shared" / "traffic"


def techvet_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techvet", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.mark.parametrize(
    ("written", "code"),
    [("China", "CN"), ("PRC", "CN"), ("P.R. China", "CN"), ("中国", "CN"), ("cn", "CN"), ("CHN", "CN"),
     ("China, People's Republic of", "CN"), ("Hong Kong", "HK"), ("UK", "GB"), ("Narnia", None), ("", None)],
)  # fmt: skip
def test_countries_as_people_write_them(written: str, code: str | None) -> None:
    assert country_code(written) == code


@pytest.mark.parametrize(
    "part", [{"maker": "Hikvision"}, {"maker": "Huawei"}, {"maker": "DJI", "country": "China"}, {"country": "PRC"}]
)
def test_a_part_from_a_listed_or_chinese_maker_grounds_the_aircraft(part: dict[str, str]) -> None:
    """A camera by Hikvision or a radio by Huawei is a part from China, though the row gives no
    country or writes it in words (it was allowed as a Blue UAS aircraft)."""
    verdict = vet(Device(1, make="Skydio", model="X10D", components={"camera": part}), Policy.load())
    assert verdict.decision == "ground" and "FLEET-848-COMPONENT" in {r["rule"] for r in verdict.reasons}


def test_an_inventory_names_its_apps_relative_to_itself(tmp_path: Path) -> None:
    """The sample fleet's companion APK is found from any folder the command is run in."""
    run = techvet_cli("fleet", str(ROOT / "samples" / "fleet.csv"), "-f", "json", cwd=tmp_path)
    skyfleet = next(d for d in json.loads(run.stdout)["devices"] if d["input"]["Make"] == "SkyFleet")
    assert skyfleet["decision"] == "restrict" and skyfleet["app_verdicts"][0]["verdict"] == "fail"


def test_a_maker_the_catalogue_does_not_know_is_shown_by_name(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.csv"
    inventory.write_text("Make,Model,Tail No.\nHikvision,Unknown Quad 9000,N123\n", encoding="utf-8")
    text = techvet_cli("fleet", str(inventory)).stdout
    assert "maker Hikvision (not in the drone catalogue" in text and "maker unknown" not in text
    device = json.loads(techvet_cli("fleet", str(inventory), "-f", "json").stdout)["devices"][0]
    assert "FLEET-LISTED-MAKER" in {r["rule"] for r in device["reasons"]}


def test_a_supplier_country_written_in_words_is_not_a_mismatch() -> None:
    by_code = {m.party_id: m.score for m in screen("Hikvison", country="CN")}
    by_word = {m.party_id: m.score for m in screen("Hikvison", country="China")}
    assert by_code and by_word == by_code  # "China" used to lower every score as another country


def test_placeholder_names_are_rows_without_a_name(tmp_path: Path) -> None:
    path = tmp_path / "suppliers.csv"
    path.write_text("name\nN/A\n-\nTBD\n#REF!\nDJI\n", encoding="utf-8")
    run = techvet_cli("screen", str(path), "-f", "json")
    rows = json.loads(run.stdout)
    assert run.returncode == 2 and [r["error"] is not None for r in rows] == [True, True, True, True, False]
    assert rows[4]["matches"]  # the real row is still screened


def test_json_rows_may_name_their_company_under_different_keys(tmp_path: Path) -> None:
    path = tmp_path / "parties.json"
    path.write_text(json.dumps([{"name": "Huawei Technologies"}, {"company": "SZ DJI Technology"}]), encoding="utf-8")
    rows = json.loads(techvet_cli("screen", str(path), "-f", "json").stdout)
    assert all(r["error"] is None and r["matches"] for r in rows)


def test_more_header_names_and_columns_for_the_rest(tmp_path: Path) -> None:
    vendor = tmp_path / "vendors.csv"
    vendor.write_text("Vendor Name,Land\nDJI,China\n", encoding="utf-8")
    assert techvet_cli("screen", str(vendor)).returncode == 1
    german = tmp_path / "lieferanten.csv"
    german.write_text("Firmenname;Sitz\nDJI;China\n", encoding="utf-8")
    refused = techvet_cli("screen", str(german))
    assert refused.returncode == 2 and "--columns name=HEADER" in refused.stderr and str(german) in refused.stderr
    assert techvet_cli("screen", str(german), "--columns", "name=Firmenname,country=Sitz").returncode == 1


def test_a_customers_name_on_a_cloud_is_not_the_clouds() -> None:
    for host, cloud in [
        ("someone.github.io", "Microsoft"),
        ("xuexiangjys.oss-cn-shanghai.aliyuncs.com", "Alibaba"),
        ("d111111abcdef8.cloudfront.net", "Amazon"),
    ]:
        place = attribute(host)
        assert place.owner is None and place.network_owner and cloud in place.network_owner, host
    assert attribute("oss-cn-hangzhou.aliyuncs.com").owner  # the cloud's own endpoint is the cloud's


def test_scan_with_a_capture_weighs_what_the_capture_shows(tmp_path: Path) -> None:
    capture = http_capture(tmp_path / "c.pcap", [("203.0.113.9", "weixin.qq.com", "/mmtls")])
    app = str(fixture_app("clean_app.apk"))
    alone = json.loads(techvet_cli("scan", app, "-f", "json").stdout)
    seen = json.loads(techvet_cli("scan", app, "--traffic", str(capture), "-f", "json").stdout)
    assert alone["verdict"]["verdict"] == "pass" and seen["verdict"]["verdict"] == "fail"
    assert {"TV701", "TV605"} <= {f["rule"] for f in seen["findings"]}
    folder = tmp_path / "apps"
    folder.mkdir()
    for name in ("clean_app.apk", "clean_app_v2.apk"):
        (folder / name).write_bytes(fixture_app(name).read_bytes())
    many = techvet_cli("scan", str(folder), "--traffic", str(capture))
    assert many.returncode == 2 and "--traffic goes with one app" in many.stderr


@pytest.mark.skipif(not (SHARED_TRAFFIC / "ndpi_weibo.pcap").is_file(), reason="shared captures not present")
def test_a_damaged_capture_says_so_in_its_report(tmp_path: Path) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes((SHARED_TRAFFIC / "ndpi_weibo.pcap").read_bytes()[:50_000])
    run = techvet_cli("traffic", str(cut))
    assert run.returncode == 2 and "not read whole" in run.stdout and "INCOMPLETE" in run.stdout


def test_a_har_entry_without_an_address_or_a_host(tmp_path: Path) -> None:
    har = tmp_path / "odd.har"
    entries = [
        {"request": {"method": "GET", "url": "http://example.org/a", "headers": []}, "response": {}},
        {"request": {"method": "GET", "url": "not a url", "headers": []}, "response": {}},
    ]
    har.write_text(json.dumps({"log": {"entries": entries}}), encoding="utf-8")
    doc = json.loads(techvet_cli("traffic", str(har), "-f", "json").stdout)
    assert [(d["host"], d["ip"]) for d in doc["destinations"]] == [("example.org", "")]
    assert all(f["subject"] for f in doc["findings"])  # no finding about an empty host


def test_diff_of_two_different_apps_says_so() -> None:
    run = techvet_cli("diff", str(fixture_app("clean_app.apk")), str(fixture_app("drone_companion.apk")))
    assert "two different apps" in run.stdout.splitlines()[1]


def test_a_bare_dex_is_not_a_pass(tmp_path: Path) -> None:
    import zipfile

    dex = tmp_path / "classes.dex"
    with zipfile.ZipFile(fixture_app("clean_app.apk")) as apk:
        dex.write_bytes(apk.read("classes.dex"))
    result = techvet.scan(dex)
    assert result.verdict is not None and result.verdict["verdict"] == "warn"
    assert "a bare DEX" in techvet_cli("scan", str(dex)).stdout


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"\xff\xfe\x00b\x00a", "not UTF-8 text"),
        (b"", "empty, or not a mapping"),
        (b"kind: app-policy\n", "source:, as_of:"),
        (b"a: [\n  b", "not valid YAML"),
    ],
)
def test_a_policy_file_that_is_no_policy_is_one_line(tmp_path: Path, content: bytes, said: str) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_bytes(content)
    run = techvet_cli("scan", str(fixture_app("clean_app.apk")), "--policy", str(policy))
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and said in run.stderr, run.stderr


def test_output_that_cannot_be_written_is_one_line() -> None:
    run = techvet_cli("scan", str(fixture_app("clean_app.apk")), "-o", "/proc/version")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


def test_whois_masks_passwords_and_refuses_networks() -> None:
    run = techvet_cli("whois", "http://user:secret@example.com/x", "1.1.1.0/24", "-f", "csv")
    assert "secret" not in run.stdout + run.stderr and "***@example.com" in run.stdout
    assert run.returncode == 2 and "a network (address/prefix)" in run.stderr
    nothing = techvet_cli("whois", "junk!!")
    assert nothing.stdout == "" and nothing.returncode == 2


def test_screen_text_starts_with_a_row_and_tables_come_as_csv() -> None:
    assert techvet_cli("screen", "-n", "DJI").stdout.startswith("row 1: DJI")
    assert techvet_cli("rules", "-f", "csv").stdout.startswith("id,kind,")
    assert techvet_cli("lists", "show", "-f", "csv").stdout.startswith("id,title,")


def test_the_python_api_takes_one_name_as_a_name() -> None:
    assert len(techvet.screen(names="DJI")) == 1
    with pytest.raises(techvet.UsageError):
        techvet.screen(names=[])


def test_a_street_named_after_xinjiang_is_not_xinjiang() -> None:
    from techvet.screen.regions import xinjiang_exposure

    assert xinjiang_exposure({"address": "No. 8 Xinjiang Road, Shanghai"}, "CN") == []
    assert xinjiang_exposure({"address": "上海市新疆路8号"}, "CN") == []
    assert xinjiang_exposure({"address": "Urumqi, Xinjiang"}, "CN")


@pytest.mark.parametrize(
    ("branch", "listed"),
    [("Hikvision UK Ltd", "Hikvision"), ("DJI Europe B.V.", "DJI"), ("Huawei Technologies Japan K.K.", "Huawei")],
)
def test_a_listed_companys_branch_abroad_still_meets_it(branch: str, listed: str) -> None:
    """A country or region in a name ("UK", "Europe") says where a branch is, not whose it is, and
    dotted legal forms ("B.V.", "K.K.") are legal forms: the listed company is still met."""
    found = screen(branch)
    assert found and listed.lower() in found[0].name.lower() and found[0].score >= 0.9


def test_excel_separator_line_and_a_second_sheet(tmp_path: Path) -> None:
    declared = tmp_path / "excel.csv"
    declared.write_bytes(b"sep=;\r\nname;country\r\nDJI;CN\r\n")
    assert techvet_cli("screen", str(declared)).stdout.startswith("row 3: DJI")
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["name"])
    book.active.append(["Acme Widgets"])
    second = book.create_sheet("More suppliers")
    second.append(["name"])
    second.append(["Zhejiang Dahua Technology"])
    path = tmp_path / "suppliers.xlsx"
    book.save(path)
    run = techvet_cli("screen", str(path))
    assert run.returncode == 2 and "sheet 'More suppliers' not read" in run.stderr  # not a clean file
