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
from typing import TYPE_CHECKING

from techvet.ios.macho import MAX_NAME_SECTION, MAX_STRING, AddressMap, Image, Section

if TYPE_CHECKING:  # numpy is imported where used: an Android scan never pays its 40 ms
    import numpy as np

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
    budget = [MAX_NAME_CHARS]  # characters of names read outside __objc_classname
    walk = _name_pointers_64 if image.is64 else _name_pointers_32
    pointers = walk(image, section, mapper)
    out = []
    for name_ptr in pointers:
        name = known.get(name_ptr)
        if name is None:
            name = _string(mapper, name_ptr, budget)
            known[name_ptr] = name or ""  # many classes may point at one name: read it once
        if name:
            out.append(name)
    return out


def _name_pointers_64(image: Image, section: Section, mapper: AddressMap) -> list[int]:
    """The name pointer of each class in the list, in list order, a class listed twice once.

    With numpy over the whole list (a large app defines tens of thousands of classes; a pointer
    walk per class cost 100 ms of a 150 ms scan): the list's pointers, each class_t's data pointer,
    each class_ro_t's name pointer, gathered and mapped to file offsets as whole arrays."""
    import numpy as np

    count = min(section.size // 8, MAX_CLASSES)
    dtype = np.dtype(image.little + "u8")
    raws = np.frombuffer(image.data, dtype, count, section.offset)
    at = mapper.offsets(raws)
    order = np.unique(at, return_index=True)[1]  # first occurrence of each class
    at = at[np.sort(order)]
    at = at[(at >= 0) & (at + 40 <= len(image.data))]
    ro = mapper.offsets(_gather(image.data, at + 32, dtype) & np.uint64(_FAST_DATA_MASK))  # data after 4 pointers
    ro = ro[(ro >= 0) & (ro + 32 <= len(image.data))]
    return [int(p) for p in _gather(image.data, ro + 24, dtype)]  # flags..reserved (16), ivarLayout, name


def _gather(data: bytes, offsets: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The 8-byte words at ``offsets`` (any alignment)."""
    import numpy as np

    octets = np.frombuffer(data, np.uint8)
    picked = octets[offsets[:, None] + np.arange(8)]
    return picked.reshape(-1).view(dtype)


def _name_pointers_32(image: Image, section: Section, mapper: AddressMap) -> list[int]:
    """As :func:`_name_pointers_64`, for 32-bit images (armv7 apps are small: a loop will do)."""
    data, order = image.data, image.little
    count = min(section.size // 4, MAX_CLASSES)
    seen: set[int] = set()
    out = []
    for raw in struct.unpack_from(f"{order}{count}I", data, section.offset):
        at = mapper.pointer_target(raw)
        if at is None or at in seen or at + 20 > len(data):
            continue
        seen.add(at)
        (ro_raw,) = struct.unpack_from(order + "I", data, at + 16)  # isa, super, cache, vtable, data
        ro = mapper.pointer_target(ro_raw & ~3)
        if ro is None or ro + 20 > len(data):
            continue
        out.append(struct.unpack_from(order + "I", data, ro + 16)[0])  # flags..size (12), ivarLayout, name
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
