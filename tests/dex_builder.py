"""Small apps with known contents, built in the test itself: a DEX holding only a string table, in an
APK with a manifest. Enough for the detectors that read strings (hosts, URLs), so a test can say
exactly which hosts an app names without committing a new fixture app."""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from tests.axml_builder import manifest_only_apk

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


def strings_dex(strings: list[str]) -> bytes:
    """A valid DEX 035 image with these strings (sorted, as the format requires), no types or
    classes, a map list, and a correct checksum and signature."""
    return classes_dex([], strings)


def app_naming(path: Path, package: str, strings: list[str]) -> Path:
    """An APK with a manifest for ``package`` and a classes.dex holding ``strings``."""
    manifest_only_apk(path, package)
    with zipfile.ZipFile(path, "a") as apk:
        apk.writestr("classes.dex", strings_dex(strings))
    return path


def uleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
