"""`techvet lists update`: recorded responses in, a new snapshot out; a broken or partial download
never replaces the lists in use. No test touches the network: the fetcher is replaced."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from techvet.knowledge import DATA_DIR, _load, load
from techvet.screen import screen

CSL_COLUMNS = (
    "_id", "source", "entity_number", "type", "programs", "name", "title", "addresses",
    "federal_register_notice", "start_date", "end_date", "standard_order", "license_requirement",
    "license_policy", "call_sign", "vessel_type", "gross_tonnage", "gross_registered_tonnage", "vessel_flag",
    "vessel_owner", "remarks", "source_list_url", "alt_names", "citizenships", "dates_of_birth",
    "nationalities", "places_of_birth", "source_information_url", "ids",
)  # fmt: skip
CSL_SOURCE = {
    "us-bis-entity-list": "Entity List (EL) - Bureau of Industry and Security",
    "us-bis-meu": "Military End User (MEU) List - Bureau of Industry and Security",
    "us-ofac-sdn": "Specially Designated Nationals (SDN) - Treasury Department",
    "us-ofac-ns-cmic": "Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department",
}
NEW_NAME = "Brand New Test Robotics Co., Ltd."


def recorded_csl(extra: bool = True, keep: float = 1.0) -> bytes:
    """A consolidated.csv in the trade.gov layout, written from the bundled parties (the machine has
    no network to record the real one), plus one entry the bundled lists do not have."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSL_COLUMNS)
    writer.writeheader()
    parties = [p for p in load().restriction_lists["parties"] if p["list"] in CSL_SOURCE]
    for i, p in enumerate(parties[: int(len(parties) * keep)]):
        writer.writerow(
            {
                "_id": str(i),
                "source": CSL_SOURCE[p["list"]],
                "entity_number": p["id"].split(":")[1],
                "type": "Individual" if p["type"] == "person" else "Entity",
                "programs": p.get("program") or "",
                "name": p["name"],
                "addresses": f"Some Road 1, Shenzhen, {p.get('country') or 'CN'}",
                "start_date": p.get("listed_on") or "",
                "alt_names": "; ".join(a for a in p["aliases"]),
                "ids": "",
            }
        )
    if extra:
        writer.writerow(
            {
                "_id": "new",
                "source": CSL_SOURCE["us-bis-entity-list"],
                "type": "Entity",
                "name": NEW_NAME,
                "addresses": "1 Test Road, Shenzhen, Guangdong, CN",
                "start_date": "2026-11-20",
                "alt_names": "Test Robotics",
                "ids": "Unified Social Credit Code (USCC), 91440300TEST00001X, CN",
            }
        )
    return out.getvalue().encode("utf-8")


def recorded_uflpa() -> bytes:
    names = [p["name"] for p in load().restriction_lists["parties"] if p["list"] == "us-dhs-uflpa"]
    rows = "".join(f"<tr><td>{n}</td><td>06/09/2023</td></tr>" for n in names)
    return f"<html><table><tr><th>Entity Name</th><th>Effective Date</th></tr>{rows}</table></html>".encode()


def recorded_fcc() -> bytes:
    parties = [p for p in load().restriction_lists["parties"] if p["list"] == "us-fcc-covered"]
    rows = "".join(
        f"<tr><td>Telecommunications equipment produced by {p['name']}, including subsidiaries</td>"
        f"<td>{p.get('listed_on') or '2021-03-12'}</td></tr>"
        for p in parties
    )
    return f"<table><tr><th>Covered Equipment or Services</th><th>Date</th></tr>{rows}</table>".encode()


def fetcher(responses: dict[str, bytes | Exception]):  # type: ignore[no-untyped-def]
    def fetch(url: str) -> bytes:
        for key, value in responses.items():
            if key in url:
                if isinstance(value, Exception):
                    raise value
                return value
        raise OSError(f"no recorded response for {url}")

    return fetch


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TECHVET_DATA_DIR", str(tmp_path))
    return tmp_path


def test_update_installs_a_new_snapshot(data_dir: Path) -> None:
    from techvet.screen.update import update_lists

    fetch = fetcher({"trade.gov": recorded_csl(), "dhs.gov": recorded_uflpa(), "fcc.gov": recorded_fcc()})
    report = update_lists(fetch, today=date(2026, 11, 27), kb=_load(DATA_DIR))
    assert set(report.updated) == {
        "us-bis-entity-list",
        "us-bis-meu",
        "us-ofac-sdn",
        "us-ofac-ns-cmic",
        "us-dhs-uflpa",
        "us-fcc-covered",
    }
    assert report.kept == {}
    assert (data_dir / "lists" / "current").resolve() == report.snapshot
    fresh = _load(DATA_DIR)  # a later run reads the installed snapshot
    assert fresh.lists_folder == report.snapshot
    meta = fresh.restriction_lists["lists"]
    assert meta["us-bis-entity-list"]["as_of"] == "2026-11-27" and meta["us-bis-entity-list"]["downloaded"]
    assert meta["us-dod-1260h"]["as_of"] == load().restriction_lists["lists"]["us-dod-1260h"]["as_of"]  # kept
    found = screen("Test Robotics", kb=fresh)
    assert [(m.list, m.name, m.listed_on) for m in found] == [("us-bis-entity-list", NEW_NAME, "2026-11-20")]
    assert screen("x", identifiers=["91440300TEST00001X"], kb=fresh)[0].via == "identifier"
    # curated Chinese names survive the update, and scans see the new entry too
    assert screen("合肥宝龙达信息技术有限公司", kb=fresh)[0].list == "us-dhs-uflpa"
    # and Han names one list gives reach the lists that give none (the FCC page names no Chinese name)
    assert "us-fcc-covered" in {m.list for m in screen("杭州海康威视数字技术股份有限公司", kb=fresh)}
    from techvet.detect.parties import _listed

    assert [p["name"] for p in _listed("Test Robotics Ltd", fresh.name_words, fresh)] == [NEW_NAME]
    assert screen("Test Robotics") == []  # the bundled knowledge in this process is unchanged


def test_partial_download_keeps_the_lists_in_use(data_dir: Path) -> None:
    from techvet.screen.update import update_lists

    truncated = recorded_csl(extra=True, keep=0.2)  # a download cut off at a fifth
    fetch = fetcher({"trade.gov": truncated, "dhs.gov": OSError("connection reset"), "fcc.gov": b"<html></html>"})
    report = update_lists(fetch, today=date(2026, 11, 27), kb=_load(DATA_DIR))
    assert report.updated == {} and report.snapshot is None
    assert "kept the copy in use" in report.kept["us-bis-entity-list"]
    assert "connection reset" in report.kept["us-dhs-uflpa"]
    assert "0 entries" in report.kept["us-fcc-covered"]
    assert not (data_dir / "lists" / "current").exists()
    assert _load(DATA_DIR).lists_folder == DATA_DIR  # still the bundled snapshot


def test_a_later_failure_keeps_the_last_good_update(data_dir: Path) -> None:
    from techvet.screen.update import update_lists

    good = fetcher({"trade.gov": recorded_csl(), "dhs.gov": recorded_uflpa(), "fcc.gov": recorded_fcc()})
    first = update_lists(good, today=date(2026, 11, 27), kb=_load(DATA_DIR))
    bad = fetcher({"trade.gov": b"not,a,csl\n1,2,3\n", "dhs.gov": recorded_uflpa(), "fcc.gov": recorded_fcc()})
    second = update_lists(bad, today=date(2026, 11, 28), kb=_load(DATA_DIR))
    assert "not the Consolidated Screening List" in second.kept["us-bis-entity-list"]
    fresh = _load(DATA_DIR)
    assert fresh.lists_folder == second.snapshot != first.snapshot
    assert screen("Test Robotics", kb=fresh)  # the EL entry of the first update is still there
    assert fresh.restriction_lists["lists"]["us-dhs-uflpa"]["as_of"] == "2026-11-28"


def test_update_command_reports_and_exits_non_zero(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from techvet.screen import command, update

    monkeypatch.setattr(update, "fetch_url", fetcher({}))  # every source fails: offline
    monkeypatch.setattr(update.update_lists, "__defaults__", (update.fetch_url, None, None))
    assert command.update() == 2


def test_fetch_refuses_plain_http() -> None:
    from techvet.errors import TechvetError
    from techvet.screen.update import fetch_url

    with pytest.raises(TechvetError):
        fetch_url("http://example.org/list.csv")
