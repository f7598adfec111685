"""A short run of the fuzzing harness on every reader (issue 13, item 5): `make fuzz` runs it for
real; this keeps the harness working and catches the first crashes of a new reader in CI.

Seeded from the fixtures only: the shared reproducers have regression tests of their own."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None, reason="atheris not installed (pip install -e '.[test]')"
)
def test_every_reader_survives_a_short_fuzzing_run(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "fuzz.py"), "--all", "--runs", "300", "--max-time", "3",
         "--no-reproducers", "--crashes", str(tmp_path), "--scratch", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert run.returncode == 0 and not crashes, (crashes, run.stdout[-2000:], run.stderr[-3000:])
    assert run.stdout.count("== ") >= 17  # every reader ran


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
def test_instrumented_code_computes_what_the_plain_code_does() -> None:
    """atheris 2.3.0 rewrote the bytecode of dex._uleb128 wrongly under Python 3.11 (it reported every
    multi-byte LEB128 as truncated, and crashed the process in malloc after a few dozen inputs): a
    fuzzer that changes what the code does finds crashes that are not there and misses those that
    are. Pinned to 3.0.0, which instruments it faithfully; this keeps a downgrade from passing."""
    import atheris

    from techvet.app import dex

    instrumented = atheris.instrument_func(dex._uleb128)
    for data in (b"\x81\x01", b"\xff\xff\xff\xff\x0f", b"\x7f", b"\xe5\x8e\x26"):
        assert instrumented(data, 0) == dex._uleb128(data, 0)
