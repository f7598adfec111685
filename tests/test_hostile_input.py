"""Hostile input: one clear line, a non-zero exit, bounded time and memory, never a traceback."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import techvet
from techvet.app.axml import parse_axml
from techvet.app.dex import Dex
from techvet.errors import InputError, LimitExceededError, MalformedAppError, NotAnAppError
from tests.conftest import fixture_app
from tests.hostile_inputs import axml_nested, build_all, dex_with_absurd_counts
from tests.hostile_inputs import run_cli_measured as _run_cli

EXPECTED_ERROR = {
    "zero-byte": NotAnAppError,
    "truncated": InputError,
    "non-zip": NotAnAppError,
    "zip-bomb": LimitExceededError,
    "absurd-dex": MalformedAppError,
    "deep-manifest": LimitExceededError,
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_all(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("name", sorted(EXPECTED_ERROR))
def test_cli_gives_one_line_and_exit_2(hostile: dict[str, Path], name: str) -> None:
    proc, elapsed, peak_mib = _run_cli("scan", str(hostile[name]))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"techvet: {hostile[name]}"), proc.stderr
    assert elapsed < 20
    assert peak_mib < 400


@pytest.mark.parametrize("name", sorted(EXPECTED_ERROR))
def test_library_raises_typed_error(hostile: dict[str, Path], name: str) -> None:
    with pytest.raises(EXPECTED_ERROR[name]):
        techvet.scan(hostile[name])


def test_zip_slip_names_are_only_strings(hostile: dict[str, Path], tmp_path: Path) -> None:
    target = Path("/tmp/techvet-zip-slip.dex")
    target.unlink(missing_ok=True)
    result = techvet.scan(hostile["zip-slip"])
    assert not target.exists()
    assert result.app is not None
    assert any(e.startswith("../../") for e in result.app.entries)
    assert any("string_ids table" in n for n in result.app.notes)


def test_absurd_dex_counts_are_refused_without_allocating() -> None:
    with pytest.raises(MalformedAppError, match="outside the file"):
        Dex(dex_with_absurd_counts())


def test_deep_xml_is_refused() -> None:
    with pytest.raises(LimitExceededError, match="deeper than"):
        parse_axml(axml_nested(10_000))
    assert parse_axml(axml_nested(50)).tag == "a"


def test_directory_scan_reports_bad_files_and_goes_on(hostile: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.apk").write_bytes(fixture_app("clean_app.apk").read_bytes())
    (folder / "bad.apk").write_bytes(hostile["non-zip"].read_bytes())
    proc, _, _ = _run_cli("scan", str(folder), "--format", "json")
    assert proc.returncode == 2
    assert len(proc.stdout.strip().splitlines()) == 1  # the good app's JSON line
    assert "bad.apk" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_file() -> None:
    proc, _, _ = _run_cli("scan", "/nonexistent/app.apk")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def test_huge_central_directory_is_refused_before_parsing(tmp_path: Path) -> None:
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 100 * 1024 * 1024, 30, 0)
    target = tmp_path / "directory.apk"
    target.write_bytes(b"PK\x03\x04" + b"\x00" * 26 + eocd)
    with pytest.raises(LimitExceededError, match="central directory"):
        techvet.scan(target)


def test_mutated_apps_never_raise_anything_but_input_errors(tmp_path: Path) -> None:
    """Random byte damage to the code, the manifest and a nested jar: a typed error or a report."""
    import io
    import random
    import zipfile

    with zipfile.ZipFile(fixture_app("drone_companion.apk")) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    rng = random.Random(20261127)
    target_path = tmp_path / "mutant.apk"
    outcomes = {"report": 0, "error": 0}
    for _ in range(60):
        target = rng.choice(["classes.dex", "AndroidManifest.xml", "assets/plugins/ext.jar"])
        data = bytearray(files[target])
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as out:
            for name, content in files.items():
                out.writestr(name, bytes(data) if name == target else content)
        target_path.write_bytes(buffer.getvalue())
        try:
            result = techvet.scan(target_path)
        except InputError:
            outcomes["error"] += 1
        else:
            assert all("failed:" not in e for e in result.errors), result.errors  # no detector bug
            outcomes["report"] += 1
    assert outcomes["report"] and outcomes["error"]


def test_entry_that_inflates_past_its_declared_size_is_refused() -> None:
    """Android refuses an entry whose inflated size differs from the directory's (issue 13: read
    anyway, twelve such entries cost 1.6 GB); only one byte past the declared size is inflated."""
    import io
    import zipfile

    from techvet.app.archive import Archive

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.bin", b"x" * 100_000)
    archive = Archive(buffer.getvalue(), "lying.zip")
    archive._infos["a.bin"].file_size = 1000  # the directory lies about the size
    with pytest.raises(MalformedAppError, match="inflates past the 1000 bytes it declares"):
        archive.read("a.bin")
    assert archive.budget.spent == 0
