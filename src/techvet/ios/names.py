"""Objective-C classes and their methods, and Swift type names, from one Mach-O image.

Classes come from ``__objc_classlist``: each entry points at a ``class_t``, whose read-only data
names the class and lists its instance methods. Superclass and metaclass links are never followed
(class methods are among the selectors of ``__objc_methname`` all the same, and walking metaclasses
doubled the cost), so a list that loops back on itself costs nothing; every class is read once,
and counts are bounded, so a method list that claims four billion entries is cut at
:data:`MAX_METHODS`. Names that cannot be reached this way (a class list
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
from dataclasses import dataclass
from itertools import accumulate

from techvet.ios.macho import MAX_STRING, AddressMap, Image

MAX_CLASSES = 200_000
MAX_METHODS = 1_000_000  # across one image
_RELATIVE_METHODS = 0x80000000
_FAST_DATA_MASK = 0x0000_7FFF_FFFF_FFF8


@dataclass(frozen=True, slots=True)
class ObjcClass:
    name: str
    methods: tuple[str, ...]  # instance methods (class methods are among every selector the binary names)


def _selectors_by_address(image: Image, name: str) -> dict[int, str]:
    """Every name of a name section (``__objc_methname``, ``__objc_classname``) by its address: a
    method or class points at one, and a dict lookup per method is what makes a class list of
    200,000 methods cost milliseconds rather than a pointer walk each."""
    section = image.section("__TEXT", name)
    if section is None or not image.readable(section):
        return {}
    blob = image.section_bytes(section)
    if blob.isascii():  # nearly always: decode once, a character is a byte, and the loop is in C
        texts = blob.decode("ascii").split("\0")
        starts = accumulate((len(t) + 1 for t in texts[:-1]), initial=section.addr)
        return {a: t if len(t) <= MAX_STRING else t[:MAX_STRING] for a, t in zip(starts, texts, strict=True) if t}
    out = {}
    addr = section.addr
    for raw in blob.split(b"\0"):
        if raw:
            out[addr] = raw[:MAX_STRING].decode("utf-8", "replace")
        addr += len(raw) + 1
    return out


def objc_classes(image: Image) -> list[ObjcClass]:
    """The classes ``__objc_classlist`` defines, with their method names (bounded; never raises on
    damage: what cannot be followed is skipped)."""
    section = image.section("__DATA", "__objc_classlist") or image.section("__DATA_CONST", "__objc_classlist")
    if section is None or not image.readable(section):
        return []
    mapper = AddressMap(image)
    mapper.selectors = _selectors_by_address(image, "__objc_methname") | _selectors_by_address(
        image, "__objc_classname"
    )
    step = 8 if image.is64 else 4
    count = min(section.size // step, MAX_CLASSES)
    pointers = struct.unpack_from(f"{image.little}{count}{'Q' if image.is64 else 'I'}", image.data, section.offset)
    seen: set[int] = set()
    budget = [MAX_METHODS]
    out = []
    for raw in pointers:
        at = mapper.pointer_target(raw)
        if at is None or at in seen:  # a class listed twice is read once
            continue
        seen.add(at)
        found = _read_only(mapper, at, budget)
        if found is not None:
            out.append(ObjcClass(found[0], tuple(found[1])))
    return out


def _read_only(mapper: AddressMap, class_at: int, budget: list[int]) -> tuple[str, list[str]] | None:
    """(name, method names) from a class_t's class_ro_t (two unpacks: a class list of 30,000
    classes is read as often as the app is scanned)."""
    image = mapper.image
    data, wide = image.data, image.is64
    step = 8 if wide else 4
    at = class_at + 4 * step  # isa, superclass, cache, vtable, then data
    if at + step > len(data):
        return None
    (raw,) = struct.unpack_from(image.little + ("Q" if wide else "I"), data, at)
    ro = mapper.pointer_target(raw & _FAST_DATA_MASK if wide else raw & ~3)
    fields = 16 if wide else 12  # flags, instanceStart, instanceSize (, reserved)
    if ro is None or ro + fields + 3 * step > len(data):
        return None
    _, name_ptr, methods_ptr = struct.unpack_from(image.little + ("3Q" if wide else "3I"), data, ro + fields)
    name = mapper.selectors.get(name_ptr) or _string(mapper, name_ptr)  # after ivarLayout
    if not name:
        return None
    return name, _methods(mapper, methods_ptr, budget)


def _string(mapper: AddressMap, raw: int | None) -> str | None:
    if raw is None:
        return None
    at = mapper.pointer_target(raw)
    if at is None or _encrypted(mapper.image, at):
        return None
    return mapper.cstring_at(at)


def _encrypted(image: Image, offset: int) -> bool:
    if not image.encrypted or image.crypt_range is None:
        return False
    start, size = image.crypt_range
    return start <= offset < start + size


def _methods(mapper: AddressMap, raw: int | None, budget: list[int]) -> list[str]:
    """Method names of a method_list_t: pointer entries, or iOS 14's relative ones (12 bytes each,
    whose name is a 32-bit offset to a selector reference)."""
    if not raw:
        return []
    at = mapper.pointer_target(raw)
    image = mapper.image
    step = 8 if image.is64 else 4
    if at is None or at + 8 > len(image.data):
        return []
    flags, count = struct.unpack_from(image.little + "II", image.data, at)
    relative = bool(flags & _RELATIVE_METHODS)
    entsize = flags & 0xFFFC
    if entsize == 0:
        return []
    count = min(count, budget[0], (len(image.data) - at - 8) // entsize)
    budget[0] -= count
    if not relative and entsize == 3 * step:  # name, types, implementation: the names in one unpack
        fmt = f"{image.little}{3 * count}{'Q' if image.is64 else 'I'}"
        names = mapper.selectors
        found = [names.get(p) for p in struct.unpack_from(fmt, image.data, at + 8)[0::3]]
        if all(found):  # plain pointers into __objc_methname (chained ones take the slow path)
            return [n for n in found if n]
    out = []
    for i in range(count):
        entry = at + 8 + i * entsize
        if relative:
            (delta,) = struct.unpack_from(image.little + "i", image.data, entry)
            selref = entry + delta
            name = _string(mapper, mapper.read_pointer(selref)) if 0 <= selref < len(image.data) else None
        else:
            name = _string(mapper, mapper.read_pointer(entry))
        if name:
            out.append(name)
    return out


_IDENT = re.compile(r"(\d+)")


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
