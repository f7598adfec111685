"""Known surveillance tools (issue 17): the indicator index, the STIX reader, matches in scans and
captures, the verdict, the reports, ``techvet iocs show|update``, and hostile indicator files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests import stix_build
from tests.capture_builder import dns_capture, http_capture
from tests.conftest import CORPUS, FIXTURES, fixture_app, needs_corpus

SHARED_IOCS = Path(__file__).resolve().parents[2] / "shared" / "knowledge" / "iocs"
BUNDLE = Path(__file__).parent / "fixtures" / "iocs" / "fixture_family.stix2"
FIXTURE_KEY_SHA1 = "3d7f861a948c571d55be5845e71ff37e8de27634"  # keys/techvet-ioc.jks, which signs ioc_certificate


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techvet", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def _tools(result: Any) -> dict[str, Any]:
    """Family -> TV607 finding of a scan or capture result."""
    return {f.subject: f for f in result.findings if f.rule == "TV607"}


def _bundle(tmp_path: Path, patterns: list[str], name: str = "Extra", file: str = "extra.stix2") -> Path:
    text = stix_build.bundle(patterns, name, ["spyware"])
    path = tmp_path / file
    path.write_text(text, encoding="utf-8")
    return path


# --- the bundled index ---------------------------------------------------------------------------


def test_the_bundled_index_keeps_family_source_licence_date_and_reports_per_indicator() -> None:
    from techvet.iocs import installed_document, installed_index
    from techvet.knowledge import DATA_DIR

    index = installed_index()
    doc = installed_document()
    assert doc["source"] and doc["as_of"]
    names = {f.name for f in index.families}
    assert {"WyrmSpy_DragonEgg", "EagleMsgSpy", "Predator", "TheTruthSpy"} <= names
    for family in index.families:
        assert family.source in ("mvt-indicators", "stalkerware-indicators")
        assert family.licence in ("MIT", "CC-BY-4.0") and family.date[:2] == "20" and family.refs
    for source in index.sources:  # the licence notice of each source ships with the data
        assert (DATA_DIR / source["notice"]).is_file() and source["commit"] and source["licence"]
    lookout = next(f for f in index.families if f.name == "WyrmSpy_DragonEgg")
    assert any("lookout.com" in r for r in lookout.refs)
    # exact application ids: the short, generic ones Echap lists are there, to be matched exactly
    assert "com.fone" in index.tables["app_id"] and "com.adobe.flash.jni" in index.tables["app_id"]
    # certificates are kept lower-case whatever case the source writes them in
    assert all(v == v.lower() and len(v) == 40 for v in index.tables["cert_sha1"])
    # device-only indicators are counted as not checked, never silently dropped
    triangulation = next(n for n, f in enumerate(index.families) if f.name == "OperationTriangulation")
    assert index.not_checked[triangulation]["email-addr:value"] == 36


@pytest.mark.skipif(not SHARED_IOCS.is_dir(), reason="../shared/knowledge/iocs not beside the clone")
def test_the_bundled_index_is_what_the_build_makes_of_the_sources(tmp_path: Path) -> None:
    from techvet.knowledge import DATA_DIR

    out = tmp_path / "iocs.json"
    build = [sys.executable, "tools/build_iocs.py", "--from", str(SHARED_IOCS), "--out", str(out)]
    subprocess.run(build, check=True, capture_output=True, cwd=Path(__file__).parents[1])
    assert json.loads(out.read_text()) == json.loads((DATA_DIR / "iocs.json").read_text())


def test_an_index_read_back_from_its_document_matches_the_same() -> None:
    from techvet.iocs import IndicatorIndex, installed_index

    index = installed_index()
    again = IndicatorIndex.from_doc(json.loads(json.dumps(index.to_doc())))
    assert again.to_doc() == index.to_doc()


def test_a_damaged_index_is_one_knowledge_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from techvet.iocs.installed import INDEX_FILE
    from techvet.knowledge import indicators_dir

    monkeypatch.setenv("TECHVET_DATA_DIR", str(tmp_path))
    current = indicators_dir() / "current"
    current.mkdir(parents=True)
    (current / INDEX_FILE).write_text(json.dumps({"source": "x", "as_of": "2026-12-04", "families": [{"name": 1}]}))
    run = _cli("scan", str(fixture_app("clean_app.apk")), "-q", env={"TECHVET_DATA_DIR": str(tmp_path)})
    assert run.returncode == 2, run.stderr
    assert "detector iocs failed" not in run.stderr and "not an indicator index" in run.stderr, run.stderr


# --- matching apps -------------------------------------------------------------------------------


def test_a_package_name_of_a_known_tool_is_flagged_with_its_family() -> None:
    import techvet

    result = techvet.scan(fixture_app("ioc_package.apk"))
    tools = _tools(result)
    assert list(tools) == ["WyrmSpy_DragonEgg"]
    found = tools["WyrmSpy_DragonEgg"]
    assert found.severity.name == "CRITICAL" and found.confidence == "certain"
    assert found.extra["indicators"] == [
        {"kind": "app_id", "seen": "com.adobe.flash.jni", "indicator": "com.adobe.flash.jni",
         "id": "indicator--22942a8b-61b3-4064-a60f-432bee5421c0"}
    ]  # fmt: skip
    assert found.extra["family"]["source"] == "mvt-indicators" and found.extra["family"]["licence"] == "MIT"
    assert "WyrmSpy_DragonEgg" in found.title and "com.adobe.flash.jni" in found.title
    assert result.verdict is not None and result.verdict["verdict"] == "fail"
    lines = {d["line"] for d in result.verdict["decided_by"]}
    assert "APP-SURVEILLANCE-TOOL" in lines


def test_hosts_and_addresses_of_a_known_tool_named_in_code_are_flagged() -> None:
    import techvet

    tools = _tools(techvet.scan(fixture_app("ioc_hosts.apk")))
    assert list(tools) == ["EagleMsgSpy"]
    seen = {(i["kind"], i["seen"]) for i in tools["EagleMsgSpy"].extra["indicators"]}
    assert seen == {("domain", "efence.demo.tzsafe.com"), ("ip", "47.112.137.199")}
    assert tools["EagleMsgSpy"].confidence == "firm"  # named in code: strong evidence, not proof
    where = {e.method for e in tools["EagleMsgSpy"].evidence}
    assert where == {"uploadUrl", "fallbackUrl"}  # the code that names them


def test_a_certificate_named_by_a_users_bundle_is_flagged_for_that_run_only() -> None:
    import techvet
    from techvet.iocs import with_bundles

    app = fixture_app("ioc_certificate.apk")
    assert _tools(techvet.scan(app)) == {}  # not a bundled family
    result = techvet.scan(app, indicators=with_bundles([str(BUNDLE)]))
    tools = _tools(result)
    assert list(tools) == ["FixtureSpy"]
    assert tools["FixtureSpy"].extra["indicators"][0]["kind"] == "cert_sha1"
    assert tools["FixtureSpy"].extra["indicators"][0]["indicator"] == FIXTURE_KEY_SHA1
    assert tools["FixtureSpy"].extra["family"]["reports"] == ["https://example.org/fixturespy-report"]
    assert "signed with that tool's signing certificate" in tools["FixtureSpy"].title
    assert _tools(techvet.scan(app)) == {}  # the next run, without the bundle, is as before


def test_three_fixture_apps_give_three_families_through_the_command_line() -> None:
    apps = [str(fixture_app(n)) for n in ("ioc_package.apk", "ioc_hosts.apk", "ioc_certificate.apk")]
    run = _cli("scan", *apps, "-f", "json", "--iocs", str(BUNDLE), "-q", "-j", "2")
    assert run.returncode == 0, run.stderr
    families = {}
    for line in run.stdout.splitlines():
        doc = json.loads(line)
        families[Path(doc["path"]).name] = [f["subject"] for f in doc["findings"] if f["rule"] == "TV607"]
        assert doc["verdict"]["verdict"] == "fail"
    assert families == {
        "ioc_package.apk": ["WyrmSpy_DragonEgg"],
        "ioc_hosts.apk": ["EagleMsgSpy"],
        "ioc_certificate.apk": ["FixtureSpy"],
    }


def test_a_package_that_only_starts_with_a_listed_id_is_not_flagged() -> None:
    import techvet

    result = techvet.scan(fixture_app("ioc_prefix.apk"))
    assert result.package == "com.fone.weather"
    assert _tools(result) == {}
    assert result.verdict is not None and result.verdict["verdict"] == "pass"


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir() if not p.name.startswith("ioc_")))
def test_the_other_fixture_apps_match_no_known_tool(name: str) -> None:
    import techvet

    assert _tools(techvet.scan(FIXTURES / name)) == {}


@needs_corpus
def test_no_corpus_app_matches_a_known_tool() -> None:
    """The real apps are SDK demos, vulnerable-by-design apps and packer samples: none is a known
    surveillance tool, so any match here is a false one."""
    import techvet

    matched = {}
    for app in sorted(CORPUS.glob("*.apk")):
        try:
            tools = _tools(techvet.scan(app))
        except techvet.TechvetError:
            continue
        if tools:
            matched[app.name] = sorted(tools)
    assert matched == {}


def test_matching_rules_hosts_by_parent_domain_never_by_a_child_or_a_suffix(tmp_path: Path) -> None:
    from techvet.iocs import read_bundle

    bundle = _bundle(
        tmp_path,
        ["[domain-name:value = 'c2.example.org']", "[domain-name:value = 'appspot.com']",
         "[ipv4-addr:value = '47.252.23.0/24']", "[ipv4-addr:value = '8.0.0.0/8']",
         "[ipv4-addr:value = '192.168.1.1' OR ipv4-addr:value = '10.0.0.0/16' OR ipv4-addr:value = '127.0.0.1']",
         "[ipv6-addr:value = '2a03:2880:f10c:83:face:b00c:0:25de']",
         "[domain-name:value = 'Sub.Host-1.example.net.']"],
    )  # fmt: skip
    index = read_bundle(str(bundle))
    assert [m.indicator for m in index.match_host("deep.c2.example.org")] == ["c2.example.org"]
    assert list(index.match_host("example.org")) == []  # a parent of an indicator is not it
    assert list(index.match_host("xc2.example.org")) == [] and list(index.match_host("c2.example.org.evil")) == []
    assert list(index.match_host("x.appspot.com")) == []  # a public suffix is never an indicator
    assert [m.indicator for m in index.match_host("47.252.23.77")] == ["47.252.23.0/24"]
    assert list(index.match_host("8.8.8.8")) == []  # a /8 would match unrelated servers
    assert list(index.match_host("192.168.1.1")) == [] and list(index.match_host("10.0.3.4")) == []
    assert [m.value for m in index.match_host("2A03:2880:F10C:83:FACE:B00C:0:25DE")] == [
        "2a03:2880:f10c:83:face:b00c:0:25de"
    ]
    assert [m.indicator for m in index.match_host("sub.host-1.example.net")] == ["sub.host-1.example.net"]
    assert index.not_checked[0] == {
        "domain-name:value (a public suffix)": 1,
        "ipv4-addr:value (a network too wide)": 1,
        "ipv4-addr:value (a private or reserved address)": 3,
    }


def test_patterns_are_read_into_exact_comparisons() -> None:
    from techvet.iocs.pattern import PatternError, parse_pattern

    assert parse_pattern("[domain-name:value = 'a.example' OR ipv4-addr:value='192.0.2.1']") == [
        [("domain-name:value", "a.example")],
        [("ipv4-addr:value", "192.0.2.1")],
    ]
    assert parse_pattern("[app:id = 'x.y' AND (app:cert.sha1 = 'aa' OR app:cert.sha1 = 'bb')]") == [
        [("app:id", "x.y"), ("app:cert.sha1", "aa")],
        [("app:id", "x.y"), ("app:cert.sha1", "bb")],
    ]
    assert parse_pattern(r"[file:name = 'it\'s']") == [[("file:name", "it's")]]
    assert parse_pattern("[file:hashes.'SHA-256' = 'ab'] OR [app:id = 'z']") == [
        [("file:hashes.'SHA-256'", "ab")],
        [("app:id", "z")],
    ]
    for pattern, why in (
        ("[domain-name:value MATCHES '^(a+)+$']", "MATCHES"),
        ("[domain-name:value LIKE '%.example']", "LIKE"),
        ("[domain-name:value IN ('a', 'b')]", "IN"),
        ("[a:b = 'x'] FOLLOWEDBY [a:b = 'y']", "FOLLOWEDBY"),
        ("[a:b = 'x'] REPEATS 5 TIMES", "REPEATS"),
        ("[a:b != 'x']", "exact values"),
        ("[a:b = t'2020-01-01T00:00:00Z']", "quoted text"),
        ("(" * 40 + "[a:b = 'x']" + ")" * 40, "nested deeper"),
        ("[" + " AND ".join(f"(a:b = '{i}' OR a:b = 'y{i}')" for i in range(13)) + "]", "once expanded"),
        ("[" + " AND ".join(f"a:b='{i % 10}'" for i in range(17_000)) + "]", "comparisons once expanded"),
        ("[a:b = 'x'", "ends early"),
    ):
        with pytest.raises(PatternError, match=why):
            parse_pattern(pattern)


def test_combined_and_unobservable_indicators(tmp_path: Path) -> None:
    import techvet
    from techvet.iocs import read_bundle

    app = fixture_app("ioc_certificate.apk")
    bundle = _bundle(
        tmp_path,
        [f"[app:id = 'org.techvet.fixture.signed' AND app:cert.sha1 = '{FIXTURE_KEY_SHA1}']",
         "[app:id = 'org.techvet.fixture.signed' AND app:cert.sha1 = '" + "0" * 40 + "']",
         "[file:path = '/private/var/tmp/x'] OR [process:name = 'x']",
         "[file:name = 'x.apk' AND file:hashes.MD5 = 'aa']"],
    )  # fmt: skip
    index = read_bundle(str(bundle))
    assert len(index.together) == 2
    assert index.not_checked[0] == {"file:path": 1, "process:name": 1, "file:name": 1}
    from techvet.iocs import installed_index

    found = _tools(techvet.scan(app, indicators=installed_index().merged(index)))["Extra"]
    assert [i["kind"] for i in found.extra["indicators"]] == ["combined"]  # the one whose parts all hold
    assert found.extra["matched"] == 1 and found.confidence == "certain"
    assert found.title == (
        "Known spyware Extra: its application id org.techvet.fixture.signed and signing certificate SHA-1 "
        f"{FIXTURE_KEY_SHA1} are, together, one of that tool's indicators"
    )
    assert [e.file for e in found.evidence] == ["AndroidManifest.xml", "signature"]  # where each fact shows


def test_a_payload_dex_and_a_nested_apk_are_matched_by_their_digests(tmp_path: Path) -> None:
    """A known tool's DEX or APK carried inside another app keeps its file digest. The app's own
    classesN.dex is not hashed (indicators name samples, matched by the app's digest, and payloads)."""
    import hashlib
    import zipfile

    import techvet
    from techvet.iocs import installed_index, read_bundle
    from tests.dex_builder import app_naming, strings_dex

    payload = strings_dex(["https://payload.example.org/cmd"])
    carrier = app_naming(tmp_path / "carrier.apk", "org.techvet.carrier", ["hello"])
    inner = fixture_app("clean_app.apk").read_bytes()
    with zipfile.ZipFile(carrier, "a") as apk:
        apk.writestr("assets/module.bin", payload)
        apk.writestr("assets/update.apk", inner)
    wanted = {hashlib.sha256(payload).hexdigest(), hashlib.sha256(inner).hexdigest()}
    patterns = [f"[file:hashes.'SHA-256' = '{d}']" for d in sorted(wanted)]
    index = installed_index().merged(read_bundle(str(_bundle(tmp_path, patterns))))
    found = _tools(techvet.scan(carrier, indicators=index))["Extra"]
    assert {e.file for e in found.evidence} == {"assets/module.bin", "assets/update.apk"}
    assert {i["seen"] for i in found.extra["indicators"]} == wanted and found.confidence == "certain"
    from techvet.app.reader import read_app

    assert "classes.dex" not in read_app(carrier).digests  # the app's own code


# --- matching captures ---------------------------------------------------------------------------


def test_a_capture_that_looks_up_or_contacts_a_listed_c2_is_flagged(tmp_path: Path) -> None:
    import techvet

    dead = dns_capture(
        tmp_path / "dns.pcap", ["efence.demo.tzsafe.com", "www.example.org"], {"www.example.org": "93.184.215.14"}
    )
    result = techvet.traffic(dead)
    found = _tools(result)["EagleMsgSpy"]
    assert "looks up efence.demo.tzsafe.com" in found.title  # no answer came: the query counts
    assert result.verdict is not None and result.verdict["verdict"] == "fail"
    contact = http_capture(tmp_path / "http.pcap", [("47.112.137.199", "47.112.137.199", "/report")])
    found = _tools(techvet.traffic(contact))["EagleMsgSpy"]
    assert "contacts 47.112.137.199" in found.title
    benign = dns_capture(tmp_path / "benign.pcap", ["www.example.org"], {"www.example.org": "93.184.215.14"})
    assert _tools(techvet.traffic(benign)) == {}


def test_a_users_bundle_adds_a_family_to_a_capture_for_one_run(tmp_path: Path) -> None:
    capture = http_capture(tmp_path / "c.pcap", [("47.252.23.9", "collect.fixturespy.example", "/up")])
    plain = _cli("traffic", str(capture), "-f", "json", "-q")
    assert [f for f in json.loads(plain.stdout)["findings"] if f["rule"] == "TV607"] == []
    run = _cli("traffic", str(capture), "-f", "json", "-q", "--iocs", str(BUNDLE), "--fail-on", "fail")
    assert run.returncode == 1, run.stderr
    tools = [f for f in json.loads(run.stdout)["findings"] if f["rule"] == "TV607"]
    assert [t["subject"] for t in tools] == ["FixtureSpy"]
    assert {i["seen"] for i in tools[0]["extra"]["indicators"]} == {"collect.fixturespy.example", "47.252.23.9"}


# --- reports -------------------------------------------------------------------------------------


def test_text_html_and_sarif_say_which_tool_and_why(tmp_path: Path) -> None:
    app = str(fixture_app("ioc_package.apk"))
    text = _cli("scan", app, "-q", "-v").stdout
    assert "TV607 Known surveillance tool WyrmSpy_DragonEgg: its package name com.adobe.flash.jni" in text
    assert "report: https://www.lookout.com/" in text and "APP-SURVEILLANCE-TOOL" in text
    sarif = json.loads(_cli("scan", app, "-q", "-f", "sarif").stdout)
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "TV607"]
    assert result["level"] == "error" and "WyrmSpy_DragonEgg" in result["message"]["text"]
    assert result["properties"]["family"] == "WyrmSpy_DragonEgg" and result["properties"]["reports"]
    html = _cli("scan", app, "-q", "-f", "html").stdout
    assert "<h2>Known surveillance tool</h2>" in html and "WyrmSpy_DragonEgg" in html
    assert "report: https://www.lookout.com/" in html
    explain = _cli("explain", "TV607").stdout
    assert "known-surveillance-tool" in explain and "never a prefix" in explain


def test_a_family_name_from_a_bundle_is_escaped_in_html(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, [f"[app:cert.sha1 = '{FIXTURE_KEY_SHA1}']"], name="<script>alert(1)</script>")
    html = _cli("scan", str(fixture_app("ioc_certificate.apk")), "-q", "-f", "html", "--iocs", str(bundle)).stdout
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_dataset_holds_the_matches_of_a_runs_bundles(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    out = tmp_path / "ds"
    apps = [str(fixture_app(n)) for n in ("ioc_certificate.apk", "ioc_prefix.apk")]
    run = _cli("scan", *apps, "-f", "parquet", "-o", str(out), "-q", "-j", "2", "--iocs", str(BUNDLE))
    assert run.returncode == 0, run.stderr
    query = _cli("query", str(out), "select subject from findings where rule = 'TV607'", "-f", "json")
    assert json.loads(query.stdout) == [{"subject": "FixtureSpy"}]


# --- techvet iocs show / update ------------------------------------------------------------------


def test_iocs_show_lists_sources_families_counts_and_what_is_not_checked() -> None:
    text = _cli("iocs", "show").stdout
    assert "mvt-indicators at e035f4fbdb8a" in text and "licence CC-BY-4.0" in text
    assert "EagleMsgSpy" in text and "not checked: 36 email-addr:value" in text
    doc = json.loads(_cli("iocs", "show", "-f", "json").stdout)
    wyrm = next(r for r in doc["families"] if r["family"] == "WyrmSpy_DragonEgg")
    assert wyrm["indicators"] == {"app_id": 7, "file_sha256": 34, "domain": 7, "ip": 5}
    with_bundle = json.loads(_cli("iocs", "show", "-f", "json", "--iocs", str(BUNDLE)).stdout)
    assert [r["family"] for r in with_bundle["families"]][-1] == "FixtureSpy"
    csv = _cli("iocs", "show", "-f", "csv").stdout.splitlines()
    assert csv[0].startswith("family,kind,source,date,licence,app_id") and len(csv) == len(doc["families"]) + 1


def _sources_served(shrink: str | None = None, broken: str | None = None) -> Any:
    """A download function serving ../shared's copies (or the committed index's families rebuilt)
    from the configured URLs; ``shrink``: that source's files come back nearly empty."""
    from techvet.knowledge import DATA_DIR, _read

    config = _read(DATA_DIR, "ioc_sources.yaml")["sources"]

    def download(url: str) -> bytes:
        for source_id, source in config.items():
            if url.startswith(source["raw"]):
                name = url[len(source["raw"]) :]
                if source_id == broken:
                    raise OSError("connection refused")
                data = (SHARED_IOCS / source_id / name).read_bytes()
                if source_id == shrink and name != source.get("list"):
                    data = b"[]" if name.endswith(".yaml") else b'{"type": "bundle", "id": "bundle--x", "objects": []}'
                return data
        raise AssertionError(f"unexpected URL {url}")

    return download


@pytest.mark.skipif(not SHARED_IOCS.is_dir(), reason="../shared/knowledge/iocs not beside the clone")
def test_iocs_update_installs_good_sources_and_keeps_shrunken_or_failed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    from techvet.iocs import installed_index
    from techvet.iocs.installed import index_folder
    from techvet.iocs.update import update_iocs

    monkeypatch.setenv("TECHVET_DATA_DIR", str(tmp_path))
    bundled = installed_index()
    report = update_iocs(_sources_served(shrink="stalkerware-indicators"), today=date(2026, 12, 5))
    assert list(report.updated) == ["mvt-indicators"]
    assert "the new copy has 0 indicators" in report.kept["stalkerware-indicators"]
    assert report.folder is not None and index_folder() == report.folder.resolve()
    assert (report.folder / "ECHAP-STALKERWARE-LICENSE.md").is_file()
    updated = installed_index()
    assert updated.to_doc()["indicators"] == bundled.to_doc()["indicators"]  # same data, kept or fetched
    sources = {s["id"]: s for s in updated.sources}
    assert sources["mvt-indicators"]["commit"] == "main as of 2026-12-05"
    assert sources["stalkerware-indicators"]["commit"] == bundled.sources[1]["commit"]
    again = update_iocs(_sources_served(broken="mvt-indicators", shrink="stalkerware-indicators"))
    assert again.updated == {} and again.folder is None and "connection refused" in again.kept["mvt-indicators"]
    assert index_folder() == report.folder.resolve()  # a failed update leaves the index in use
    show = _cli("iocs", "show", env={"TECHVET_DATA_DIR": str(tmp_path)}).stdout
    assert str(report.folder.resolve()) in show and "techvet iocs update of 2026-12-05" in show


def test_iocs_update_offline_exits_2_and_keeps_the_bundled_index(tmp_path: Path) -> None:
    env = {"TECHVET_DATA_DIR": str(tmp_path), "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    run = _cli("iocs", "update", env=env, timeout=200)
    assert run.returncode == 2
    assert "mvt-indicators: not updated" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "iocs" / "current").exists()


# --- hostile indicator files ---------------------------------------------------------------------


def _hostile(tmp_path: Path) -> dict[str, Path]:
    big = tmp_path / "big.stix2"
    with big.open("wb") as handle:
        handle.truncate(100 << 20)  # 100 MB of nothing
    deep = tmp_path / "deep.stix2"
    deep.write_text('{"type": "bundle", "objects": ' + "[" * 10_000 + "]" * 10_000 + "}")
    regex = _bundle(tmp_path, ["[domain-name:value MATCHES '^(a|a)*(a|a)*(a|a)*b$']"], file="regex.stix2")
    binary = tmp_path / "binary.stix2"
    binary.write_bytes(b'{"type": "bundle", "objects": [{"name": "\xff\xfe\x00caf\xe9"}]}')
    listing = tmp_path / "list.stix2"
    listing.write_text("[1, 2, 3]")
    wide = _bundle(
        tmp_path,
        ["[" + " OR ".join(f"(app:id = 'a{i}' AND app:id = 'b{i}')" for i in range(5000)) + "]"],
        file="wide.stix2",
    )
    return {"100 MB": big, "10,000 deep": deep, "catastrophic regex": regex, "non-UTF-8": binary,
            "not a bundle": listing, "5,000 alternatives": wide, "missing": tmp_path / "nowhere.stix2"}  # fmt: skip


@pytest.mark.parametrize(
    "kind",
    ["100 MB", "10,000 deep", "catastrophic regex", "non-UTF-8", "not a bundle", "5,000 alternatives", "missing"],
)
def test_a_hostile_bundle_is_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    path = _hostile(tmp_path)[kind]
    started = time.monotonic()
    run = _cli("scan", str(fixture_app("clean_app.apk")), "--iocs", str(path))
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"techvet: {path}") and "Traceback" not in run.stderr, lines
    assert run.stdout == ""  # refused before any app is scanned
    assert time.monotonic() - started < 20
    for command in (
        ["traffic", str(http_capture(tmp_path / "c.pcap", [("192.0.2.1", "a.example", "/")]))],
        ["iocs", "show"],
    ):
        other = _cli(*command, "--iocs", str(path))
        assert other.returncode == 2 and len(other.stderr.strip().splitlines()) == 1, other.stderr


def test_serve_refuses_a_hostile_bundle_before_it_starts(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    bad = _hostile(tmp_path)["catastrophic regex"]
    run = _cli("serve", "--data", str(tmp_path / "data"), "--port", "1", "--iocs", str(bad), timeout=60)
    assert run.returncode == 2 and "MATCHES" in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_shared_services_a_source_lists_are_left_out(tmp_path: Path) -> None:
    """Echap's Cocospy lists Umeng's log endpoint and 360 Jiagu's hosts as C2, and iKeyMonitor's
    Cloudflare addresses: matched, they would flag every app that embeds Umeng or is packed by
    360, and every capture reaching a Cloudflare site. A tool's own hosts on a platform stay."""
    import techvet
    from techvet.iocs import installed_index
    from tests.dex_builder import app_naming

    index = installed_index()
    assert list(index.match_host("alog.umeng.com")) == [] and list(index.match_host("b.appjiagu.com")) == []
    assert list(index.match_host("104.18.54.129")) == []  # Cloudflare's edge
    assert {index.families[m.entry.family].name for m in index.match_host("spyzie-a.firebaseio.com")} == {"Cocospy"}
    cocospy = next(n for n, f in enumerate(index.families) if f.name == "Cocospy")
    assert index.not_checked[cocospy]["domain (a shared service)"] == 10
    app = app_naming(
        tmp_path / "umeng.apk", "org.techvet.umeng", ["https://alog.umeng.com/app_logs", "http://b.appjiagu.com/x"]
    )
    assert _tools(techvet.scan(app)) == {}
    capture = http_capture(tmp_path / "cf.pcap", [("104.18.54.129", "www.example.org", "/")])
    assert _tools(techvet.traffic(capture)) == {}


def test_serve_matches_uploads_with_its_own_bundles(tmp_path: Path) -> None:
    """`techvet serve --iocs`: the workers match every upload with the service's bundle too."""
    pytest.importorskip("fastapi")
    import httpx

    from tests.service_helpers import Server

    env = {**os.environ, "TECHVET_DATA_DIR": str(tmp_path / "data")}
    env.pop("TECHVET_DATABASE_URL", None)
    server = Server(tmp_path / "data", env)
    auth = {"Authorization": f"Bearer {server.token('ana', 'analyst')}"}
    try:
        server.start("--iocs", str(BUNDLE))
        files = {"file": ("ioc_certificate.apk", fixture_app("ioc_certificate.apk").read_bytes())}
        job = httpx.post(server.url("/api/v1/apps"), headers=auth, files=files, timeout=30).json()["job"]
        deadline = time.monotonic() + 90
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = httpx.get(server.url(f"/api/v1/jobs/{job}"), headers=auth, timeout=10).json()
            if state["state"] in ("done", "failed"):
                break
            time.sleep(0.1)
        assert state.get("state") == "done", state
        item = httpx.get(server.url(state["result"]), headers=auth, timeout=10).json()
        tools = [f["subject"] for f in item["result"]["findings"] if f["rule"] == "TV607"]
        assert tools == ["FixtureSpy"] and item["verdict"] == "fail", item["verdict"]
    finally:
        server.stop()


def test_the_largest_bundle_techvet_reads_stays_bounded_in_memory(tmp_path: Path) -> None:
    """16 MiB of the smallest objects a bundle may hold (just under the container bound): read,
    ignored (no indicator), and the process stays under 300 MB; past the bound it is refused."""
    from techvet.iocs.stix import MAX_BUNDLE_BYTES, MAX_CONTAINERS, MAX_OBJECTS
    from tests.hostile_inputs import run_cli_measured

    count = min(MAX_CONTAINERS, MAX_OBJECTS) - 10
    pad = (MAX_BUNDLE_BYTES - 200) // count
    one = '{"type":"x","id":"' + "y" * (pad - 24) + '"},'
    body = one * count
    big = tmp_path / "big.stix2"
    big.write_text('{"type": "bundle", "id": "bundle--1", "objects": [' + body.rstrip(",") + "]}")
    assert big.stat().st_size <= MAX_BUNDLE_BYTES
    run, seconds, peak = run_cli_measured("iocs", "show", "-f", "csv", "--iocs", str(big))
    assert run.returncode == 0, run.stderr
    assert peak < 300, peak
    over = tmp_path / "over.stix2"
    over.write_text('{"type": "bundle", "id": "bundle--1", "objects": [' + ("{}," * MAX_CONTAINERS) + "{}]}")
    run, seconds, peak = run_cli_measured("iocs", "show", "--iocs", str(over))
    assert run.returncode == 2 and "JSON objects and lists" in run.stderr and peak < 300


def test_a_sales_site_named_alone_warns_rather_than_blocks(tmp_path: Path) -> None:
    """A stalkerware's sales site in an app's strings is weak evidence (an article or a security
    app's block list names it too): high and tentative, so the default policy warns."""
    import techvet
    from techvet.iocs import installed_index
    from tests.dex_builder import app_naming

    index = installed_index()
    site = next(
        host for host, entries in sorted(index.tables["domain"].items())
        if entries and all(e.role == "website" for e in entries) and "." in host
    )  # fmt: skip
    result = techvet.scan(app_naming(tmp_path / "site.apk", "org.techvet.article", [f"https://{site}/pricing"]))
    (found,) = _tools(result).values()
    assert found.severity.name == "HIGH" and found.confidence == "tentative" and "its sales site" in found.title
    assert result.verdict is not None and result.verdict["verdict"] == "warn"
    assert "APP-SURVEILLANCE-TOOL" not in {d["line"] for d in result.verdict["decided_by"]}


def _raw_bundle(objects: list[Any]) -> bytes:
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects}).encode()


def test_crafted_bundles_are_refused_or_read_never_crash() -> None:
    """Shapes a hostile bundle may take: each is read (what is usable kept) or refused with
    IndicatorFileError, never another exception, and fast."""
    from techvet.iocs import IndicatorFileError
    from techvet.iocs.stix import bundle_index

    malware = {"type": "malware", "id": "malware--1", "name": "Evil\ud800\u2028name", "external_references": 5}
    indicator = {"type": "indicator", "id": "indicator--1", "pattern": "[domain-name:value = 'c2.evil.example']"}
    relation = {"type": "relationship", "id": "r--1", "relationship_type": "indicates",
                "source_ref": "indicator--1", "target_ref": "malware--1"}  # fmt: skip
    wide = "[" + " OR ".join(f"domain-name:value = 'h{i}.evil.example'" for i in range(4000)) + "]"
    cases: dict[str, list[Any]] = {
        "names with surrogates, references not a list": [malware, indicator, relation],
        "report refs not a list": [{"type": "report", "id": "report--1", "object_refs": 5}, indicator],
        "a family with no name": [
            {"type": "malware", "id": "malware--\ud800x"},
            indicator,
            {**relation, "target_ref": "malware--\ud800x"},
        ],
        "revoked": [{**indicator, "revoked": True}],
        "unsupported operator on a phone's process": [{**indicator, "pattern": "[process:name MATCHES '^(a+)+$']"}],
        "4000 values x 60 families": [
            *({"type": "malware", "id": f"malware--{n}", "name": f"F{n}"} for n in range(60)),
            {**indicator, "pattern": wide},
            *({**relation, "id": f"r--{n}", "target_ref": f"malware--{n}"} for n in range(60)),
        ],
        "one family indicated 1,000 times": [malware, {**indicator, "pattern": wide}, *([relation] * 1000)],
    }
    outcomes = {}
    for name, objects in cases.items():
        started = time.monotonic()
        try:
            index = bundle_index(_raw_bundle(objects), "x.stix2")
            outcomes[name] = f"read {index.size()}"
            for family in index.families:
                family.name.encode("utf-8")  # what reports write must be writable
        except IndicatorFileError as exc:
            outcomes[name] = f"refused: {exc}"
        assert time.monotonic() - started < 10, name
    assert outcomes["names with surrogates, references not a list"] == "read 1"
    assert outcomes["report refs not a list"] == "read 1" and outcomes["a family with no name"] == "read 1"
    assert outcomes["revoked"] == "read 0" and outcomes["unsupported operator on a phone's process"] == "read 0"
    assert "more than 200000 indicator values" in outcomes["4000 values x 60 families"]
    assert outcomes["one family indicated 1,000 times"] == "read 4000"  # one family, however often it is named


def test_crafted_yaml_lists_are_refused(tmp_path: Path) -> None:
    from techvet.iocs import IndicatorFileError, IndicatorIndex
    from techvet.iocs.echap import echap_index

    bomb = (
        "p: &pk ["
        + ", ".join(f"com.x{i}" for i in range(100))
        + "]\nlist:\n"
        + "".join(f"- name: N{i}\n  packages: *pk\n" for i in range(2000))
    )
    for data, why in (
        (bomb.encode(), "aliases"),
        (b"- name: x\n  packages: [2020-13-45]\n", "not readable YAML"),
        (b"- name: x\n  packages: [" + b"9" * 5000 + b"]\n", "not readable YAML"),
        (b"[1, 2]", "not a list of products"),
        (b"\xff\xfe", "not readable YAML"),
    ):
        with pytest.raises(IndicatorFileError, match=why):
            echap_index(data, "ioc.yaml", IndicatorIndex(), "s", "l", "2026-12-04", "https://example.org")
    index = echap_index(b"- name: X\n  packages: [true, com.ok, 7]\n", "ioc.yaml", IndicatorIndex(), "s", "l", "d", "h")
    assert sorted(index.tables["app_id"]) == ["7", "com.ok"]  # YAML's true is no application id


def test_a_name_resolved_then_contacted_reads_as_contacted(tmp_path: Path) -> None:
    import dpkt

    import techvet

    dns = dns_capture(tmp_path / "dns.pcap", ["efence.demo.tzsafe.com"], {"efence.demo.tzsafe.com": "47.112.137.198"})
    http = http_capture(tmp_path / "http.pcap", [("47.112.137.198", "efence.demo.tzsafe.com", "/upload")])
    both = tmp_path / "both.pcap"
    with both.open("wb") as out:
        writer = dpkt.pcap.Writer(out)
        for part in (dns, http):
            for ts, packet in dpkt.pcap.Reader(part.open("rb")):
                writer.writepkt(packet, ts=ts)
    found = _tools(techvet.traffic(both))["EagleMsgSpy"]
    assert "it contacts efence.demo.tzsafe.com" in found.title
    assert found.evidence[0].detail.startswith("flow ")  # the flow, before the lookup that preceded it


def _synthetic_sources(tmp_path: Path, alpha_hosts: int, beta_packages: int) -> tuple[dict[str, Any], Any]:
    """Two made-up sources (a STIX repository and an Echap-style list) and a download function
    serving them from ``tmp_path``: the update's rules, without ../shared or the network."""
    alpha = _bundle(tmp_path, [f"[domain-name:value = 'h{i}.alpha-c2.example']" for i in range(alpha_hosts)], "Alpha")
    beta = tmp_path / "ioc.yaml"
    beta.write_text("- name: Beta\n  packages: [" + ", ".join(f"com.beta.p{i}" for i in range(beta_packages)) + "]\n")
    config = {
        "sources": {
            "alpha": {"title": "A", "home": "https://example.org/alpha", "raw": "https://example.org/alpha/",
                      "branch": "main", "commit": "1" * 40, "date": "2026-01-01", "licence": "MIT",
                      "notice": "MVT-INDICATORS-LICENSE.txt", "format": "stix", "files": ["extra.stix2"]},
            "beta": {"title": "B", "home": "https://example.org/beta", "raw": "https://example.org/beta/",
                     "branch": "master", "commit": "2" * 40, "date": "2026-01-01", "licence": "CC-BY-4.0",
                     "notice": "ECHAP-STALKERWARE-LICENSE.md", "format": "echap", "files": ["ioc.yaml"]},
        }
    }  # fmt: skip
    files = {"https://example.org/alpha/extra.stix2": alpha, "https://example.org/beta/ioc.yaml": beta}

    def download(url: str) -> bytes:
        if url not in files:
            raise OSError(f"404 {url}")
        return files[url].read_bytes()

    return config, download


def test_an_update_keeps_what_shrank_repairs_a_damaged_copy_and_yields_to_a_newer_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    from techvet.iocs import installed_index
    from techvet.iocs.installed import INDEX_FILE, bundled_folder, index_folder
    from techvet.iocs.update import update_iocs
    from techvet.knowledge import identity, indicators_dir

    monkeypatch.setenv("TECHVET_DATA_DIR", str(tmp_path / "data"))
    config, download = _synthetic_sources(tmp_path, alpha_hosts=10, beta_packages=6)
    known = identity()
    first = update_iocs(download, date(2026, 12, 5), config)
    assert identity() != known  # what the service compares to scan its stored apps again
    assert first.updated == {"alpha": (0, 10), "beta": (0, 6)} and first.folder is not None
    index = installed_index()
    assert {f.name for f in index.families} == {"Alpha", "Beta"} and index_folder() == first.folder.resolve()
    assert [m.entry.role for m in index.match_host("x.h3.alpha-c2.example")] == [""]
    # a source that now gives under half its indicators keeps them; the other is updated
    config, download = _synthetic_sources(tmp_path, alpha_hosts=4, beta_packages=7)
    second = update_iocs(download, date(2026, 12, 6), config)
    assert "the new copy has 4 indicators against 10 in use" in second.kept["alpha"] and second.updated == {
        "beta": (6, 7)
    }
    index = installed_index()
    assert len(index.tables["domain"]) == 10 and len(index.tables["app_id"]) == 7
    assert (
        "beta fetched; alpha kept as installed before"
        in _cli("iocs", "show", env={"TECHVET_DATA_DIR": str(tmp_path / "data")}).stdout
    )
    # a source whose download fails keeps its indicators; nothing is installed when none passed
    third = update_iocs(lambda url: (_ for _ in ()).throw(TypeError("a broken source")), date(2026, 12, 7), config)
    assert third.folder is None and "TypeError: a broken source" in third.kept["alpha"]
    assert index_folder() == second.folder.resolve()  # type: ignore[union-attr]
    assert len(list(indicators_dir().glob("index-*"))) == 2  # this index and the one before it
    # a damaged installed copy: scans refuse it with one line, and an update replaces it
    (index_folder() / INDEX_FILE).write_text('{"source": "x", "as_of": "2026-12-08", "families": 5}')
    run = _cli("scan", str(fixture_app("clean_app.apk")), "-q", env={"TECHVET_DATA_DIR": str(tmp_path / "data")})
    assert run.returncode == 2 and "not an indicator index" in run.stderr and len(run.stderr.splitlines()) == 1
    config, download = _synthetic_sources(tmp_path, alpha_hosts=10, beta_packages=7)
    fourth = update_iocs(download, date(2026, 12, 9), config)
    assert fourth.folder is not None and set(fourth.updated) == {"alpha", "beta"}
    # a release whose bundled index is newer than the installed copy wins over it
    fifth = update_iocs(download, date(2020, 1, 1), config)
    assert fifth.folder is not None and index_folder() == bundled_folder()


def test_a_large_bundle_reads_in_linear_time() -> None:
    """50,000 host indicators (5 MB): every check on them is per value, none per index size."""
    from techvet.iocs.stix import bundle_index

    objects: list[Any] = [{"type": "malware", "id": "malware--1", "name": "Big"}]
    objects += [
        {"type": "indicator", "id": f"indicator--{i}", "pattern": f"[domain-name:value='h{i}.big-c2.example']"}
        for i in range(50_000)
    ]
    started = time.monotonic()
    index = bundle_index(_raw_bundle(objects), "big.stix2")
    assert index.size() == 50_000 and time.monotonic() - started < 15
