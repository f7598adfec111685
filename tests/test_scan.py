"""The scan orchestration: detector isolation, folders, bundles."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import techvet
from techvet.app.reader import App
from techvet.detect import DETECTORS
from techvet.findings import Finding
from techvet.knowledge import Knowledge
from tests.conftest import fixture_app


def test_a_failing_detector_is_reported_and_the_rest_still_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(app: App, kb: Knowledge) -> list[Finding]:
        raise RuntimeError("boom")

    monkeypatch.setitem(DETECTORS, "broken", broken)
    result = techvet.scan(fixture_app("drone_companion.apk"))
    assert result.errors == ["detector broken failed: RuntimeError: boom"]
    assert result.by_rule("TV218")  # the other detectors ran


def test_xapk_bundle_with_named_base(tmp_path: Path) -> None:
    target = tmp_path / "pilot.xapk"
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("manifest.json", '{"package_name": "com.skyfleet.pilot"}')
        zf.writestr("com.skyfleet.pilot.apk", fixture_app("drone_companion.apk").read_bytes())
    result = techvet.scan(target)
    assert result.app is not None and result.app.package == "com.skyfleet.pilot"
    assert result.app.splits == ["com.skyfleet.pilot.apk"]
    assert result.by_rule("TV218")


def test_bare_dex_file(tmp_path: Path) -> None:
    with zipfile.ZipFile(fixture_app("drone_companion.apk")) as zf:
        (tmp_path / "classes.dex").write_bytes(zf.read("classes.dex"))
    result = techvet.scan(tmp_path / "classes.dex")
    assert result.app is not None and result.app.manifest is None
    assert {f.subject for f in result.findings if f.rule == "TV301"} == {"mobtech", "weibo"}


def test_folder_is_scanned_recursively(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.apk").write_bytes(fixture_app("clean_app.apk").read_bytes())
    (tmp_path / "notes.txt").write_text("not an app, and not picked up: only app suffixes are")
    results = list(techvet.iter_scan([str(tmp_path)]))
    assert [Path(r.path).name for r in results] == ["x.apk"] and results[0].ok


def test_face_recognition_sdk_found_by_its_native_library(tmp_path: Path) -> None:
    target = tmp_path / "face.apk"
    with zipfile.ZipFile(fixture_app("clean_app.apk")) as src, zipfile.ZipFile(target, "w") as out:
        for item in src.infolist():
            out.writestr(item, src.read(item))
        out.writestr("lib/arm64-v8a/libarcsoft_face_engine.so", b"\x7fELF\x02\x01\x01\x00stand-in")
    result = techvet.scan(target)
    natives = result.by_rule("TV302")
    assert [(f.subject, f.country, f.party) for f in natives] == [("arcsoft-face", "CN", "ArcSoft")]
    assert [e.file for e in natives[0].evidence] == ["lib/arm64-v8a/libarcsoft_face_engine.so"]
