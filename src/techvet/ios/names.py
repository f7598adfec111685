"""Objective-C class names and Swift type names, from one Mach-O image.

Classes come from ``__objc_classlist``: each entry points at a ``class_t``, whose read-only data
names the class. Nothing else is followed: superclass and metaclass links could loop, and the
methods a class defines say nothing the selectors of ``__objc_methname`` (every method the binary
calls or defines) do not; reading them tripled the cost of a large app's class list. The list's
length is bounded by its section and :data:`MAX_CLASSES`, and each class is read once. Names that
cannot be reached this way (a class list
in an encrypted range, a stripped or unusual layout) are still in ``__objc_classname``, which the
reader keeps as the names this image defines.

Swift types are named two ways: an Objective-C-visible Swift class carries its mangled name
(``_TtC7MyModule9Uploader``), and a symbol table that was not stripped holds nominal type
descriptors (``_$s7MyModule8UploaderCMn``). Only these plain forms are decoded; a name that uses
the mangler's substitutions is left out rather than guessed.
"""

from __future__ import annotations

import re
import struct
from itertools import accumulate

from techvet.ios.macho import MAX_NAME_SECTION, MAX_STRING, AddressMap, Image

MAX_CLASSES = 200_000
MAX_NAME_CHARS = 8 * 1024 * 1024  # characters of class names read by pointer, per image
_FAST_DATA_MASK = 0x0000_7FFF_FFFF_FFF8


def _names_by_address(image: Image, name: str) -> dict[int, str]:
    """Every string of a name section by its address: a class points at one, and a dict lookup per
    class is what makes a class list of 30,000 cost milliseconds rather than a pointer walk each."""
    section = image.section("__TEXT", name)
    if section is None or not image.readable(section):
        return {}
    blob = bytes(image.section_bytes(section)[:MAX_NAME_SECTION])
    if blob.isascii():  # nearly always: decode once, a character is a byte, and the loops are in C
        texts = blob.decode("ascii").split("\0", MAX_CLASSES)[:MAX_CLASSES]
        starts = accumulate((len(t) + 1 for t in texts[:-1]), initial=section.addr)
        return {a: t if len(t) <= MAX_STRING else t[:MAX_STRING] for a, t in zip(starts, texts, strict=True)}
    out = {}
    addr = section.addr
    for raw in blob.split(b"\0", MAX_CLASSES)[:MAX_CLASSES]:
        out[addr] = raw[:MAX_STRING].decode("utf-8", "replace")
        addr += len(raw) + 1
    return out


def objc_classes(image: Image) -> list[str]:
    """The names of the classes ``__objc_classlist`` defines (bounded; never raises on damage: what
    cannot be followed is skipped)."""
    section = image.section("__DATA", "__objc_classlist") or image.section("__DATA_CONST", "__objc_classlist")
    if section is None or not image.readable(section):
        return []
    mapper = AddressMap(image)
    known = _names_by_address(image, "__objc_classname")
    data, order, wide = image.data, image.little, image.is64
    step = 8 if wide else 4
    word = "Q" if wide else "I"
    fields = 16 if wide else 12  # class_ro_t: flags, instanceStart, instanceSize (, reserved)
    count = min(section.size // step, MAX_CLASSES)
    seen: set[int] = set()
    budget = [MAX_NAME_CHARS]  # characters of names read outside __objc_classname
    out = []
    for raw in struct.unpack_from(f"{order}{count}{word}", data, section.offset):
        at = mapper.pointer_target(raw)
        if at is None or at in seen or at + 5 * step > len(data):  # a class listed twice is read once
            continue
        seen.add(at)
        (ro_raw,) = struct.unpack_from(order + word, data, at + 4 * step)  # isa, super, cache, vtable, data
        ro = mapper.pointer_target(ro_raw & _FAST_DATA_MASK if wide else ro_raw & ~3)
        if ro is None or ro + fields + 2 * step > len(data):
            continue
        (name_ptr,) = struct.unpack_from(order + word, data, ro + fields + step)  # after ivarLayout
        name = known.get(name_ptr)
        if name is None:
            name = _string(mapper, name_ptr, budget)
            known[name_ptr] = name or ""  # many classes may point at one name: read it once
        if name:
            out.append(name)
    return out


def _string(mapper: AddressMap, raw: int, budget: list[int]) -> str | None:
    at = mapper.pointer_target(raw)
    if at is None or _encrypted(mapper.image, at) or budget[0] <= 0:
        return None
    found = mapper.cstring_at(at)
    budget[0] -= len(found or "")
    return found


def _encrypted(image: Image, offset: int) -> bool:
    if not image.encrypted or image.crypt_range is None:
        return False
    start, size = image.crypt_range
    return start <= offset < start + size


_IDENT = re.compile(r"(\d{1,4})")  # a name of 10,000 characters or more is not a type name


def _lengths(text: str, at: int, limit: int = 8) -> tuple[list[str], int]:
    """Length-prefixed identifiers from ``at`` (``7MyModule8Uploader``), and where they stop."""
    parts: list[str] = []
    while at < len(text) and text[at].isdigit() and len(parts) < limit:
        m = _IDENT.match(text, at)
        if m is None:
            break
        n, at = int(m.group(1)), m.end()
        if n == 0 or at + n > len(text):
            return [], at
        parts.append(text[at : at + n])
        at += n
    return parts, at


def swift_type_name(mangled: str) -> str | None:
    """``Module.Type`` for an Objective-C-visible Swift class name or a nominal type descriptor
    symbol; None for anything else (the forms that need the demangler's substitutions included)."""
    if mangled.startswith(("_TtC", "_TtP")):
        rest = mangled[4:]
        while rest[:1] == "C":  # nested classes: _TtCC6Module5Outer5Inner
            rest = rest[1:]
        parts, end = _lengths(rest, 0)
        return ".".join(parts) if len(parts) >= 2 and end == len(rest.rstrip("_")) else None
    for prefix in ("_$s", "$s"):
        if mangled.startswith(prefix):
            body = mangled[len(prefix) :]
            if not body.endswith(("CMn", "VMn", "OMn")):
                return None
            parts, end = _lengths(body, 0)
            return ".".join(parts) if len(parts) >= 2 and end == len(body) - 3 else None
    return None
