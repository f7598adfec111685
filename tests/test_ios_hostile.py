"""Issue 18: hostile iOS apps, each shape a review found, bounded in time and memory: a clear line
and exit 2 where the app cannot be read, a bounded read (with what was not read said) where it can."""

from __future__ import annotations

import io
import json
import os
import plistlib
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import ios_build as build

SECONDS = 10  # each input, the whole CLI process included
MIB = 500  # the process's peak resident memory


def _segment(name: str, vmaddr: int, fileoff: int, filesize: int, sections: list[bytes]) -> bytes:
    body = b"".join(sections)
    return (
        struct.pack("<II16sQQQQiiII", 0x19, 72 + len(body), name.encode(), vmaddr, filesize, fileoff, filesize, 5, 5,
                    len(sections), 0)
        + body
    )  # fmt: skip


def _thin(commands: list[bytes], size: int, fill: dict[int, bytes]) -> bytes:
    joined = b"".join(commands)
    header = struct.pack("<IiiIIIII", 0xFEEDFACF, 0x0100000C, 0, 2, len(commands), len(joined), 0, 0)
    out = bytearray(max(size, len(header) + len(joined)))
    out[: len(header) + len(joined)] = header + joined
    for at, data in fill.items():
        out[at : at + len(data)] = data
    return bytes(out)


def _ipa(path: Path, files: dict[str, bytes], info: dict[str, object] | None = None) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Payload/X.app/Info.plist", plistlib.dumps(info or build.info("org.example.x", "X", "X")))
        for name, data in files.items():
            z.writestr(f"Payload/X.app/{name}", data)
    path.write_bytes(buffer.getvalue())
    return path


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = (
        bytes([n])
        if n < 128
        else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    )
    return bytes([tag]) + length + body


def _signature_bomb(path: Path) -> Path:
    """A code signature whose 64 index entries all name one CMS blob of 150,000 empty certificates."""
    data_type = _der(0x30, _der(0x06, bytes.fromhex("2a864886f70d010701")))
    certificates = _der(0xA0, b"\xa3\x00" * 150_000)
    signed = _der(0x30, _der(0x02, b"\x01") + _der(0x31, b"") + data_type + certificates + _der(0x31, b""))
    cms = _der(0x30, _der(0x06, bytes.fromhex("2a864886f70d010702")) + _der(0xA0, signed))
    blob = struct.pack(">II", 0xFADE0B01, 8 + len(cms)) + cms
    index = b"".join(struct.pack(">II", 0x10000, 12 + 8 * 64) for _ in range(64))
    superblob = struct.pack(">III", 0xFADE0CC0, 12 + len(index) + len(blob), 64) + index + blob
    binary = _thin(
        [struct.pack("<IIII", 0x1D, 16, 0x1000, len(superblob))], 0x1000 + len(superblob), {0x1000: superblob}
    )
    return _ipa(path, {"X": binary})


def _overlapping_sections(path: Path) -> Path:
    """1,000 C-string sections that all cover the same MiB."""
    at, size = 0x1000, 1 << 20
    sections = [build._section(f"s{i}", "__TEXT", 0x1_0000_0000 + at, size, at, 0x2) for i in range(1000)]
    binary = _thin(
        [_segment("__TEXT", 0x1_0000_0000, 0, at + size, sections)],
        at + size,
        {at: b"abcdefghijklmno\0" * (size // 16)},
    )
    return _ipa(path, {"X": binary})


def _unmappable_classes(path: Path) -> Path:
    """4,000 one-byte segments and a class list of 200,000 pointers that lead nowhere."""
    at, count = 0x80000, 200_000
    classlist = build._section("__objc_classlist", "__DATA", 0x5000_0000, count * 8, at, 0)
    commands = [_segment("__DATA", 0x5000_0000, at, count * 8, [classlist])]
    commands += [_segment(f"S{i}", 0x7000_0000 + i * 0x10, 0, 1, []) for i in range(4000)]
    return _ipa(path, {"X": _thin(commands, at + count * 8, {at: struct.pack("<Q", 0x1234) * count})})


def _shared_symbol_names(path: Path) -> Path:
    """250,000 imported symbols that all name one string of 4,095 characters."""
    count, strtab = 250_000, b"x" * 4095 + b"\0"
    symoff, stroff = 0x1000, 0x1000 + 16 * count
    nlist = struct.pack("<IBBHQ", 0, 0x01, 0, 0, 0) * count
    command = struct.pack("<IIIIII", 0x2, 24, symoff, count, stroff, len(strtab))
    return _ipa(path, {"X": _thin([command], stroff + len(strtab), {symoff: nlist, stroff: strtab})})


def _framework_plist_bombs(path: Path) -> Path:
    """600 frameworks, each Info.plist a binary plist of 131,071 values from 133 bytes."""
    node: object = "x"
    for _ in range(16):
        node = [node, node]
    bomb = plistlib.dumps({"CFBundleExecutable": "F", "Bomb": node}, fmt=plistlib.FMT_BINARY)
    files = {"X": build.macho(build.MachOSpec())}
    files.update({f"Frameworks/F{i}.framework/Info.plist": bomb for i in range(600)})
    return _ipa(path, files)


HOSTILE = {
    "signature bomb": (_signature_bomb, {0}),
    "overlapping sections": (_overlapping_sections, {0}),
    "unmappable class pointers": (_unmappable_classes, {0}),
    "shared symbol names": (_shared_symbol_names, {0}),
    "framework plist bombs": (_framework_plist_bombs, {2}),
}

_MEASURED = """
import resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print(done.returncode, round(time.perf_counter() - started, 2), peak)
sys.stderr.write(done.stderr)
"""


def _scan(path: Path, *args: str) -> tuple[int, float, int, str]:
    cli = [sys.executable, "-m", "techvet", "scan", str(path), "-q", *args]
    done = subprocess.run([sys.executable, "-c", _MEASURED, *cli], capture_output=True, text=True, check=False)
    code, seconds, peak = done.stdout.split()
    return int(code), float(seconds), int(peak), done.stderr


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_hostile_ipa_is_bounded(what: str, tmp_path: Path) -> None:
    make, codes = HOSTILE[what]
    code, seconds, peak, stderr = _scan(make(tmp_path / "hostile.ipa"), "-f", "json", "-o", os.devnull)
    assert code in codes, (what, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert seconds < SECONDS and peak < MIB, (what, seconds, peak)
    if code == 2:
        assert len(stderr.strip().splitlines()) == 1, stderr


def test_missing_or_foreign_main_binary_is_never_a_pass(tmp_path: Path) -> None:
    """The code the bundle names could not be read: the scan says so (exit 2, report written)."""
    for files in ({}, {"X": b"#!/bin/sh\necho not a Mach-O\n"}):
        path = _ipa(tmp_path / "x.ipa", files)
        out = tmp_path / "x.json"
        code, _, _, stderr = _scan(path, "-f", "json", "-o", str(out))
        doc = json.loads(out.read_text())
        assert code == 2 and "not examined" in stderr
        assert doc["verdict"]["verdict"] != "pass" and any("not examined" in e for e in doc["errors"])


def test_data_in_ats_settings_still_writes_json(tmp_path: Path) -> None:
    info = build.info(
        "org.example.x", "X", "X", NSAppTransportSecurity={"NSAllowsArbitraryLoads": False, "Note": b"\x01"}
    )
    path = _ipa(tmp_path / "x.ipa", {"X": build.macho(build.MachOSpec())}, info)
    out = tmp_path / "x.json"
    code, _, _, stderr = _scan(path, "-f", "json", "-o", str(out))
    assert code == 0, stderr
    assert json.loads(out.read_text())["ios"]["app_transport_security"]["Note"] == "<1 bytes of data>"


def test_hostile_app_folders(tmp_path: Path) -> None:
    """A folder nested deeper than the bound (100; the walk is iterative, so Python's stack is not
    the limit), and a sparse file of 20 GiB: refused in one line, quickly."""
    deep = tmp_path / "deep.app"
    deep.mkdir()
    (deep / "Info.plist").write_bytes(plistlib.dumps(build.info("org.example.x", "X", "X")))
    (deep / "X").write_bytes(build.macho(build.MachOSpec()))
    inner = deep
    for _ in range(100):
        inner = inner / "d"
    inner.mkdir(parents=True)
    sparse = tmp_path / "sparse.app"
    sparse.mkdir()
    (sparse / "Info.plist").write_bytes(plistlib.dumps(build.info("org.example.x", "X", "X")))
    (sparse / "X").write_bytes(build.macho(build.MachOSpec()))
    with open(sparse / "resource.dat", "wb") as fh:
        fh.truncate(20 * 2**30)
    for folder, said in ((deep, "nested deeper"), (sparse, "over the")):
        code, seconds, _, stderr = _scan(folder)
        assert code == 2 and said in stderr and len(stderr.strip().splitlines()) == 1, stderr
        assert seconds < SECONDS
