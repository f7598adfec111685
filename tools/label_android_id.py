#!/usr/bin/env python3
"""Label which corpus APKs read the Android ID, independently of techvet's own detectors.

    python3 tools/label_android_id.py --corpus ~/.cache/techvet-corpus --truth ../shared/corpus/TRUTH.tsv

Why: TRUTH.tsv has no Android ID column, and a detector cannot be scored against labels it made
itself. So this script uses only Debian's ``dexdump -d`` disassembly and the standard library. It
does not use anything under src/techvet.

Criterion v1. ``android_id=true`` when at least one method in the APK's clear DEX code
  (a) invokes a settings getter, and
  (b) contains ``const-string``/``const-string/jumbo "android_id"`` in the same method body.

The settings getters are:
  * ``Landroid/provider/Settings$Secure;->getString``. ``Settings.Secure.ANDROID_ID`` is documented
    there.
  * ``Settings$Secure;->getStringForUser``. This is the hidden per-user variant of that call.
  * ``Landroid/provider/Settings$System;->getString``. ``Settings.System.ANDROID_ID`` was deprecated
    in API 3 ("moved to Settings.Secure"). The platform still serves a read of a moved key by
    forwarding it to Secure (``MOVED_TO_SECURE``), so old code that uses it does get the ID.
  * ``Settings$System;->getStringForUser``. The System counterpart of the hidden per-user call.
``Settings$Global`` is left out because ``android_id`` was never a Global setting and Global does
not forward it, so such a read gets no ID.

Why a constant string: ``Settings.Secure.ANDROID_ID`` is a compile-time constant, so javac, kotlinc
and d8 inline it as the literal "android_id".

The rule is co-occurrence in one method, as stated above. As a diagnostic, the script also tracks
registers linearly. It reports methods where the literal is not the key register of any getter
call, and getter calls whose key register was not set by a ``const-string`` in the same method
("parametric getters", i.e. helpers such as ``get(cr, key)``).

Decision on helpers: a method that loads "android_id" and invokes a parametric getter defined in
the same APK counts too, but only one level deep. Its evidence is written
``Lcaller;->m via Lhelper;->h``. In this corpus (2026-08) no getter takes its key from a parameter:
every one of the 57 ``getString`` calls has a literal key in its own method. So this branch labels
nothing. Methods that load "android_id" without calling a getter also occur, and they are not
counted:
  * Umeng ``idtracking.b.<init>`` passes the name to its tracker base class;
  * Umeng ``SocializeRequest.getBaseQuery`` uses it as a request key.
Both live in APKs that also have a direct read.

Not counted (documented limits):
  * keys built at run time or decrypted, e.g. DexGuard/Amap string encryption;
  * reflection;
  * ``ContentResolver.query`` on ``content://settings/secure`` (no such string in the corpus);
  * a call through an app subclass of ``Settings.System``;
  * encrypted packer payloads.

What "clear DEX code" covers, following LABELS.md section 0:
  * every archive entry whose bytes start with ``dex\\n``, whatever its name. This includes
    ``classes*.dex``, ``lib/armeabi/mix.dex`` and ``assets/**.jar!classes.dex``;
  * nested zip/jar/apk entries, opened recursively up to 4 levels;
  * a complete DEX image appended after a DEX's data section ("carved"; only in
    ``diypacked_zjjiagu_stubapp``).
Each image is written to a temporary directory and disassembled with ``dexdump -i -d``.

The time limit is per app (``--timeout``, default 300 s) and covers all of that app's DEX images.
An app that runs out of time, or has a dexdump failure, is written as ``android_id=unknown`` and
the script exits with status 1.

Origin: a hit is ``own`` when its class is under the manifest package from TRUTH.tsv (whole package
segments), otherwise ``third-party``. The ``origin`` column summarises an app as own, third-party
or both.

Output: tests/data/android_id_labels.tsv with the columns
``file, android_id, evidence, method, origin``. ``evidence`` holds up to 3 ``Lclass;->method``
items separated by ``;``, own-package hits first, then sorted. Descriptors end in ``;`` too, so split
the cell with ``re.findall(r"L[^;]+;->[^;]+", cell)`` (method names cannot contain ``;``).
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/data/android_id_labels.tsv"
CRITERION = "criterion v1"
KEY = "android_id"
GETTERS = frozenset(
    {
        ("Landroid/provider/Settings$Secure;", "getString"),
        ("Landroid/provider/Settings$Secure;", "getStringForUser"),
        ("Landroid/provider/Settings$System;", "getString"),
        ("Landroid/provider/Settings$System;", "getStringForUser"),
    }
)
MAX_DEPTH = 4
MAX_EVIDENCE = 3

METHOD_HEAD = re.compile(r"^\s+#\d+\s+: \(in (L[^;]+;)\)$")
NAME = re.compile(r"^\s+name\s+: '(.*)'$")
INSN = re.compile(r"\|[0-9a-f]{4}: ([a-z0-9/-]+)(?: (.*))?$")
CONST_STRING = re.compile(r'^(v\d+), "(.*)" // string@[0-9a-f]+$')
INVOKE = re.compile(r"^\{([^}]*)\}, (L[^;]+;)\.([^:]+):(\S+) // method@[0-9a-f]+$")
FIRST_REG = re.compile(r"^(v\d+)(?:,|$)")
# Opcodes whose first operand is read, not written (or that have no destination register).
NO_DEST = ("invoke", "if-", "goto", "return", "throw", "packed-switch", "sparse-switch", "iput", "sput", "aput")
NO_DEST_EXACT = {"monitor-enter", "monitor-exit", "check-cast", "fill-array-data", "nop", "fill-array-data-payload"}


@dataclass
class Method:
    cls: str
    name: str
    strings: set[str] = field(default_factory=set)
    getter_calls: int = 0
    literal_key_read: bool = False  # a getter whose key register holds "android_id"
    parametric_getter: bool = False  # a getter whose key register was not set by const-string here
    callees: set[tuple[str, str, str]] = field(default_factory=set)

    @property
    def ref(self) -> str:
        return f"{self.cls}->{self.name}"


@dataclass
class AppResult:
    file: str
    status: str  # "true" | "false" | "unknown"
    evidence: list[str]
    origin: str
    notes: list[str]


def dex_images(data: bytes, name: str, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """Every DEX in a zip archive (by magic), recursing into nested archives, plus carved images."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return
    for info in archive.infolist():
        try:
            blob = archive.read(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            print(f"{name}!{info.filename}: unreadable ({exc})", file=sys.stderr)
            continue
        entry = f"{name}!{info.filename}"
        if blob[:4] == b"dex\n":
            yield entry, blob
            yield from carved(blob, entry)
        elif blob[:2] == b"PK" and depth < MAX_DEPTH:
            yield from dex_images(blob, entry, depth + 1)


def carved(blob: bytes, entry: str) -> Iterator[tuple[str, bytes]]:
    """A complete DEX image appended after the data section of ``blob`` (LABELS.md section 0)."""
    if len(blob) < 0x70:
        return
    data_size, data_off = struct.unpack_from("<II", blob, 0x68)
    end = data_off + data_size
    pos = blob.find(b"dex\n", end) if 0 < end < len(blob) else -1
    if pos < 0 or pos + 0x70 > len(blob):
        return
    size = struct.unpack_from("<I", blob, pos + 0x20)[0]
    if 0x70 <= size <= len(blob) - pos:
        yield f"{entry}#appended@{pos}", blob[pos : pos + size]


def dest_register(opcode: str, operands: str) -> str | None:
    if opcode.startswith(NO_DEST) or opcode in NO_DEST_EXACT:
        return None
    m = FIRST_REG.match(operands)
    return m.group(1) if m else None


def invoke_registers(regs: str) -> list[str]:
    """Argument registers of an invoke, expanding ``vA .. vB`` ranges."""
    regs = regs.strip()
    if ".." in regs:
        lo, hi = (int(r.strip()[1:]) for r in regs.split(".."))
        return [f"v{i}" for i in range(lo, hi + 1)]
    return [r.strip() for r in regs.split(",") if r.strip()]


def scan_dexdump(lines: Iterator[str], deadline: float) -> Iterator[Method]:
    """Parse ``dexdump -d`` output into methods with their strings, getter calls and callees."""
    cls: str | None = None
    current: Method | None = None
    regs: dict[str, str] = {}
    for line in lines:
        if time.monotonic() > deadline:
            raise TimeoutError
        head = METHOD_HEAD.match(line)
        if head:
            if current is not None:
                yield current
            cls, current, regs = head.group(1), None, {}
            continue
        if cls is not None and current is None:
            m = NAME.match(line)
            if m:
                current = Method(cls, m.group(1))
            continue
        if current is None:
            continue
        insn = INSN.search(line)
        if not insn:
            continue
        opcode, operands = insn.group(1), insn.group(2) or ""
        if opcode.startswith("const-string"):
            cs = CONST_STRING.match(operands)
            if cs:
                current.strings.add(cs.group(2))
                regs[cs.group(1)] = cs.group(2)
                continue
        if opcode.startswith("invoke"):
            inv = INVOKE.match(operands)
            if inv:
                args = invoke_registers(inv.group(1))
                callee = (inv.group(2), inv.group(3), inv.group(4))
                current.callees.add(callee)
                if (callee[0], callee[1]) in GETTERS:
                    current.getter_calls += 1
                    key = regs.get(args[1]) if len(args) > 1 else None
                    if key == KEY:
                        current.literal_key_read = True
                    elif key is None:
                        current.parametric_getter = True
            continue
        if opcode.startswith("move-object") or opcode in ("move", "move/from16", "move/16"):
            parts = [p.strip() for p in operands.split(",")]
            if len(parts) == 2:
                if parts[1] in regs:
                    regs[parts[0]] = regs[parts[1]]
                else:
                    regs.pop(parts[0], None)
                continue
        dest = dest_register(opcode, operands)
        if dest is not None:
            regs.pop(dest, None)
            if "wide" in opcode:
                regs.pop(f"v{int(dest[1:]) + 1}", None)
    if current is not None:
        yield current


def run_dexdump(dex: Path, deadline: float) -> list[Method]:
    """Disassemble one DEX with a watchdog that kills dexdump at the app's deadline."""
    proc = subprocess.Popen(
        ["dexdump", "-i", "-d", str(dex)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        errors="replace",
    )
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        methods = list(scan_dexdump(proc.stdout, deadline))
        rc = proc.wait()
    except TimeoutError:
        proc.kill()
        proc.wait()
        raise
    finally:
        watchdog.cancel()
    if time.monotonic() > deadline:
        raise TimeoutError
    if rc != 0:
        raise RuntimeError(f"dexdump exited {rc} on {dex.name}")
    return methods


def is_own(cls: str, package: str) -> bool:
    if not package or package == "n/a":
        return False
    prefix = "L" + package.replace(".", "/") + "/"
    return cls.startswith(prefix)


def label_app(apk: Path, package: str, timeout: float) -> AppResult:
    deadline = time.monotonic() + timeout
    notes: list[str] = []
    methods: list[Method] = []
    try:
        with tempfile.TemporaryDirectory(prefix="aid-") as tmp:
            for i, (entry, blob) in enumerate(dex_images(apk.read_bytes(), apk.name)):
                dex = Path(tmp) / f"{i}.dex"
                dex.write_bytes(blob)
                try:
                    methods.extend(run_dexdump(dex, deadline))
                except RuntimeError as exc:
                    raise RuntimeError(f"{entry}: {exc}") from exc
                dex.unlink()
    except TimeoutError:
        return AppResult(apk.name, "unknown", [], "", [f"timeout after {timeout:.0f}s"])
    except RuntimeError as exc:
        return AppResult(apk.name, "unknown", [], "", [str(exc)])

    helpers = {(m.cls, m.name) for m in methods if m.parametric_getter}
    hits: list[tuple[bool, str]] = []
    for m in methods:
        if KEY not in m.strings:
            continue
        if m.getter_calls:
            hits.append((is_own(m.cls, package), m.ref))
            if not m.literal_key_read:
                notes.append(f"co-occurrence without key dataflow: {m.ref}")
            continue
        via = sorted(f"{c}->{n}" for c, n, _ in m.callees if (c, n) in helpers)
        if via:
            hits.append((is_own(m.cls, package), f"{m.ref} via {via[0]}"))
        else:
            notes.append(f"loads {KEY!r} without a getter: {m.ref}")
    if helpers:
        notes.append(f"{len(helpers)} parametric getter(s): " + ", ".join(sorted(f"{c}->{n}" for c, n in helpers)))
    unique = sorted(set(hits), key=lambda h: (not h[0], h[1]))
    origins = {own for own, _ in unique}
    origin = "both" if len(origins) == 2 else ("own" if True in origins else ("third-party" if origins else ""))
    evidence = [ref for _, ref in unique[:MAX_EVIDENCE]]
    return AppResult(apk.name, "true" if unique else "false", evidence, origin, notes)


def dexdump_version() -> str:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "dexdump"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def read_truth(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [(row["file"], row.get("package") or "") for row in csv.DictReader(fh, delimiter="\t")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, required=True, help="directory holding the corpus APKs")
    parser.add_argument("--truth", type=Path, required=True, help="TRUTH.tsv (its file and package columns)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per app (all its DEX images)")
    args = parser.parse_args(argv)

    method = f"dexdump {dexdump_version()}; {CRITERION}"
    results: list[AppResult] = []
    for name, package in read_truth(args.truth):
        apk = args.corpus.expanduser() / name
        if not apk.is_file():
            result = AppResult(name, "unknown", [], "", ["missing"])
        else:
            result = label_app(apk, package, args.timeout)
        results.append(result)
        for note in result.notes:
            print(f"{name}: {note}", file=sys.stderr)
        print(f"{name}\t{result.status}\t{result.evidence[0] if result.evidence else ''}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["file", "android_id", "evidence", "method", "origin"])
        for r in results:
            writer.writerow([r.file, r.status, ";".join(r.evidence), method, r.origin])
    counts = {s: sum(r.status == s for r in results) for s in ("true", "false", "unknown")}
    print(f"{counts} -> {args.out}", file=sys.stderr)
    return 1 if counts["unknown"] else 0


if __name__ == "__main__":
    sys.exit(main())
