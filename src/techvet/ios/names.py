"""Objective-C classes and their methods, and Swift type names, from one Mach-O image.

Classes come from ``__objc_classlist``: each entry points at a ``class_t``, whose read-only data
names the class and lists its instance methods (its metaclass's list holds the class methods).
Superclass links are never followed, so a list that loops back on itself costs nothing; every
pointer is followed at most once, and counts are bounded, so a method list that claims four
billion entries is cut at :data:`MAX_METHODS`. Names that cannot be reached this way (a class list
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

from techvet.ios.macho import AddressMap, Image

MAX_CLASSES = 200_000
MAX_METHODS = 1_000_000  # across one image
_RELATIVE_METHODS = 0x80000000
_FAST_DATA_MASK = 0x0000_7FFF_FFFF_FFF8


@dataclass(frozen=True, slots=True)
class ObjcClass:
    name: str
    methods: tuple[str, ...]  # instance methods, then class methods prefixed "+"


def objc_classes(image: Image) -> list[ObjcClass]:
    """The classes ``__objc_classlist`` defines, with their method names (bounded; never raises on
    damage: what cannot be followed is skipped)."""
    section = image.section("__DATA", "__objc_classlist") or image.section("__DATA_CONST", "__objc_classlist")
    if section is None or not image.readable(section):
        return []
    mapper = AddressMap(image)
    step = 8 if image.is64 else 4
    seen: set[int] = set()
    budget = [MAX_METHODS]
    out = []
    for i in range(min(section.size // step, MAX_CLASSES)):
        raw = mapper.read_pointer(section.offset + i * step)
        at = mapper.pointer_target(raw) if raw is not None else None
        if at is None or at in seen:
            continue
        seen.add(at)
        found = _class(mapper, at, seen, budget)
        if found is not None:
            out.append(found)
    return out


def _class(mapper: AddressMap, at: int, seen: set[int], budget: list[int]) -> ObjcClass | None:
    image = mapper.image
    step = 8 if image.is64 else 4
    name_and_methods = _read_only(mapper, at, budget)
    if name_and_methods is None:
        return None
    name, methods = name_and_methods
    isa = mapper.read_pointer(at)
    meta = mapper.pointer_target(isa) if isa is not None else None
    class_methods: list[str] = []
    if meta is not None and meta not in seen and meta + 5 * step <= len(image.data):
        seen.add(meta)
        read = _read_only(mapper, meta, budget)
        class_methods = [f"+{m}" for m in read[1]] if read else []
    return ObjcClass(name, tuple(methods + class_methods))


def _read_only(mapper: AddressMap, class_at: int, budget: list[int]) -> tuple[str, list[str]] | None:
    """(name, method names) from a class_t's class_ro_t."""
    image = mapper.image
    step = 8 if image.is64 else 4
    raw = mapper.read_pointer(class_at + 4 * step)  # isa, superclass, cache, vtable, data
    if raw is None:
        return None
    ro = mapper.pointer_target(raw & _FAST_DATA_MASK if image.is64 else raw & ~3)
    if ro is None:
        return None
    fields = 16 if image.is64 else 12  # flags, instanceStart, instanceSize (, reserved)
    name_ptr = mapper.read_pointer(ro + fields + step)  # after ivarLayout
    methods_ptr = mapper.read_pointer(ro + fields + 2 * step)
    name = _string(mapper, name_ptr)
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
    if at is None or at + 8 > len(image.data):
        return []
    flags, count = struct.unpack_from(image.little + "II", image.data, at)
    relative = bool(flags & _RELATIVE_METHODS)
    entsize = flags & 0xFFFC
    if entsize == 0:
        return []
    count = min(count, budget[0], (len(image.data) - at - 8) // entsize)
    budget[0] -= count
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
