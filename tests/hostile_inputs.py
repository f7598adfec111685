"""Builders of hostile inputs, made at test time so their contents are known exactly."""

from __future__ import annotations

import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from tests.conftest import fixture_app


def axml_nested(depth: int) -> bytes:
    """A binary manifest whose elements nest ``depth`` levels deep."""
    name = "a".encode("utf-16-le")
    string_data = struct.pack("<H", 1) + name + b"\x00\x00"
    string_data += b"\x00" * (-len(string_data) % 4)
    pool_header = struct.pack("<HHIIIIII", 0x0001, 28, 28 + 4 + len(string_data), 1, 0, 0, 28 + 4, 0)
    pool = pool_header + struct.pack("<I", 0) + string_data
    start = struct.pack("<HHIII", 0x0102, 16, 36, 1, 0xFFFFFFFF) + struct.pack(
        "<IIHHHHHH", 0xFFFFFFFF, 0, 20, 20, 0, 0, 0, 0
    )
    end = struct.pack("<HHIII", 0x0103, 16, 24, 1, 0xFFFFFFFF) + struct.pack("<II", 0xFFFFFFFF, 0)
    body = pool + start * depth + end * depth
    return struct.pack("<HHI", 0x0003, 8, 8 + len(body)) + body


def dex_with_absurd_counts() -> bytes:
    """A DEX header that claims two billion strings in a 112-byte file."""
    header = bytearray(0x70)
    header[0:8] = b"dex\n035\x00"
    struct.pack_into("<I", header, 0x20, 0x70)  # file_size
    struct.pack_into("<I", header, 0x24, 0x70)  # header_size
    struct.pack_into("<I", header, 0x28, 0x12345678)
    struct.pack_into("<II", header, 0x38, 0x7FFFFFFF, 0x70)  # string_ids_size, string_ids_off
    return bytes(header)


def make_zip(path: Path, entries: dict[str, bytes], compress: bool = True) -> Path:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def build_all(tmp: Path) -> dict[str, Path]:
    """Every hostile input the scan issue names, by a short name."""
    good = fixture_app("clean_app.apk").read_bytes()
    files: dict[str, Path] = {}
    (tmp / "empty.apk").write_bytes(b"")
    files["zero-byte"] = tmp / "empty.apk"
    (tmp / "truncated.apk").write_bytes(good[: len(good) // 2])
    files["truncated"] = tmp / "truncated.apk"
    (tmp / "notzip.apk").write_bytes(b"This is a text file pretending to be an app.\n" * 20)
    files["non-zip"] = tmp / "notzip.apk"
    with zipfile.ZipFile(good_path := fixture_app("clean_app.apk")) as src:
        manifest = src.read("AndroidManifest.xml")
    del good_path
    files["zip-bomb"] = make_zip(
        tmp / "bomb.apk",
        {"AndroidManifest.xml": manifest, "classes.dex": b"dex\n035\x00" + b"\x00" * (64 * 1024 * 1024)},
    )
    files["zip-slip"] = make_zip(
        tmp / "slip.apk",
        {"AndroidManifest.xml": manifest, "../../../../tmp/techvet-zip-slip.dex": dex_with_absurd_counts()},
    )
    files["absurd-dex"] = make_zip(
        tmp / "absurd.apk", {"AndroidManifest.xml": manifest, "classes.dex": dex_with_absurd_counts()}
    )
    files["deep-manifest"] = make_zip(tmp / "deep.apk", {"AndroidManifest.xml": axml_nested(10_000)})
    return files


_CHILD = """
import atexit, resource, sys

def peak() -> None:
    # VmHWM is this process's own high-water mark: ru_maxrss would also count the parent's, which
    # Linux hands down to a child through exec (pytest's own size, not techvet's)
    with open("/proc/self/status") as fh:
        own = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stdout.write(f"\\nPEAK_KB {max(own, workers)}\\n")

atexit.register(peak)
from techvet.cli import main
sys.argv = ["techvet", *sys.argv[1:]]
main()
"""


def run_cli_measured(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """The CLI in a child process: its result, wall seconds and its own peak RSS in MiB (VmHWM, and
    its workers'; not pytest's RUSAGE_CHILDREN, which holds the largest child of the whole session,
    servers and fuzzers included, and failed this bound once the service's tests ran first)."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - started
    marker = proc.stdout.rfind("\nPEAK_KB ")
    assert marker >= 0, proc.stderr
    peak = int(proc.stdout[marker + 9 :].split()[0]) // 1024
    proc.stdout = proc.stdout[:marker]  # the command's own output, as a user sees it
    return proc, elapsed, peak
