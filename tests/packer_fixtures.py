"""Packed-app fixtures built in the test itself: an APK whose archive holds a packer's files, whose
DEX defines its stub classes and names its strings, and whose manifest names its application class.

Nothing here runs or decrypts anything: a fixture carries the names a packer leaves in a package
(what ``unzip -l``, ``dexdump`` and ``aapt dump xmltree`` show), which is all TV501 reads.
"""

from __future__ import annotations

import hashlib
import re._constants as sre_constants  # the public sre_* aliases are deprecated since 3.11
import re._parser as sre_parse
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.axml_builder import build_axml
from tests.dex_builder import uleb128

_HEADER = 0x70
_NO_INDEX = 0xFFFFFFFF


def classes_dex(classes: Iterable[str], strings: Iterable[str] = ()) -> bytes:
    """A valid DEX 035 image that defines ``classes`` (descriptors, no superclass, no code) and holds
    ``strings`` in its string table, with a map list, checksum and signature."""
    defined = sorted(set(classes), key=lambda s: s.encode("utf-8"))
    ordered = sorted(set(defined) | set(strings), key=lambda s: s.encode("utf-8"))
    index = {s: n for n, s in enumerate(ordered)}
    type_strings = sorted(index[c] for c in defined)  # type_ids are sorted by string index
    type_of = {ordered[sidx]: t for t, sidx in enumerate(type_strings)}
    string_ids_off = _HEADER
    type_ids_off = string_ids_off + 4 * len(ordered)
    class_defs_off = type_ids_off + 4 * len(type_strings)
    data_off = class_defs_off + 32 * len(defined)
    data = bytearray()
    offsets = []
    for text in ordered:
        offsets.append(data_off + len(data))
        data += uleb128(len(text)) + text.encode("utf-8") + b"\0"
    while len(data) % 4:
        data += b"\0"
    map_off = data_off + len(data)
    items = [(0x0000, 1, 0), (0x0001, len(ordered), string_ids_off)]
    if type_strings:
        items += [(0x0002, len(type_strings), type_ids_off), (0x0006, len(defined), class_defs_off)]
    items += [(0x2002, len(ordered), data_off), (0x1000, 1, map_off)]
    map_list = struct.pack("<I", len(items)) + b"".join(struct.pack("<HHII", t, 0, n, off) for t, n, off in items)
    size = map_off + len(map_list)
    header = bytearray(_HEADER)
    header[0:8] = b"dex\n035\0"
    struct.pack_into("<III", header, 0x20, size, _HEADER, 0x12345678)
    struct.pack_into("<I", header, 0x34, map_off)
    struct.pack_into("<II", header, 0x38, len(ordered), string_ids_off)
    struct.pack_into("<II", header, 0x40, len(type_strings), type_ids_off if type_strings else 0)
    struct.pack_into("<II", header, 0x60, len(defined), class_defs_off if defined else 0)
    struct.pack_into("<II", header, 0x68, size - data_off, data_off)
    body = bytearray(header)
    body += b"".join(struct.pack("<I", o) for o in offsets)
    body += b"".join(struct.pack("<I", s) for s in type_strings)
    for cls in defined:  # class_idx, access (public), superclass, interfaces, source file, annotations, data, values
        body += struct.pack("<8I", type_of[cls], 1, _NO_INDEX, 0, _NO_INDEX, 0, 0, 0)
    body += bytes(data) + map_list
    signed = bytes(body[:12]) + hashlib.sha1(bytes(body[32:])).digest() + bytes(body[32:])
    return signed[:8] + struct.pack("<I", zlib.adler32(signed[12:])) + signed[12:]


def packed_apk(
    path: Path,
    files: Iterable[str] = (),
    classes: Iterable[str] = (),
    strings: Iterable[str] = (),
    application: str | None = None,
    package: str = "org.example.packed",
) -> Path:
    """An APK with a manifest (naming ``application`` if given), a ``classes.dex`` that defines
    ``classes`` and holds ``strings``, and an entry of a few bytes for each of ``files``."""
    attrs = {"name": application} if application else {}
    manifest = build_axml(("manifest", {"package": package}, [("application", attrs, [], "")], ""))
    with zipfile.ZipFile(path, "w") as apk:
        apk.writestr("AndroidManifest.xml", manifest)
        apk.writestr("classes.dex", classes_dex(classes, strings))
        for name in dict.fromkeys(files):
            apk.writestr(name, b"\x7fELF packed" if name.endswith(".so") else b"packed payload")
    return path


def example_of(pattern: str) -> str:
    """A shortest name ``pattern`` matches, spelled out from the regex itself (first branch of an
    alternation, fewest repeats, the first allowed character of a class)."""
    return _spell(sre_parse.parse(pattern))


def _spell(tree: Any) -> str:
    out = []
    for op, arg in tree:
        if op is sre_constants.LITERAL:
            out.append(chr(arg))
        elif op is sre_constants.IN:
            out.append(_first_of(arg))
        elif op in (sre_constants.ANY, sre_constants.NOT_LITERAL):
            out.append("x" if op is sre_constants.ANY or arg != ord("x") else "y")
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, _, sub = arg
            out.append(_spell(sub) * low)
        elif op is sre_constants.SUBPATTERN:
            out.append(_spell(arg[-1]))
        elif op is sre_constants.BRANCH:
            out.append(_spell(arg[1][0]))
        elif op is sre_constants.AT:
            continue
        else:
            raise ValueError(f"cannot spell {op} in a file pattern")
    return "".join(out)


def _first_of(items: Any) -> str:
    negate = any(op is sre_constants.NEGATE for op, _ in items)
    if negate:
        return "x"
    op, arg = items[0]
    if op is sre_constants.LITERAL:
        return chr(arg)
    if op is sre_constants.RANGE:
        return chr(arg[0])
    if op is sre_constants.CATEGORY:
        return "0" if arg is sre_constants.CATEGORY_DIGIT else "a"
    raise ValueError(f"cannot spell {op} in a character class")


def entry_for(pattern: str) -> str:
    """An archive entry name a file signature matches: a library's name under lib/, any other name
    under assets/, a pattern anchored at the path's start as it is."""
    name = example_of(pattern)
    if pattern.startswith("^"):
        return name.rstrip("/") + "/x" if name.endswith("/") else name
    if name.endswith("/"):
        name += "x"
    return f"lib/arm64-v8a/{name}" if name.endswith(".so") and "/" not in name else f"assets/{name}"
