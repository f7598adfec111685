"""A small, bounded reader of DEX tables and of the few method bodies detectors ask about.

Why not androguard: ``AnalyzeAPK`` decodes every method and builds full cross-references, which
takes seconds per app; techvet needs a handful of questions answered ("is
``TelephonyManager.getDeviceId`` referenced, and from which class?") for thousands of apps. The DEX
format makes those questions cheap: string, type and method tables are sorted, so a name is found
by binary search, and an instruction that references table entry N has a fixed shape (an opcode
in the low byte of a 16-bit code unit, N in the next unit), so two numpy table lookups over every
code unit find the candidates. Each candidate is then confirmed by decoding only the method that
holds it, from its first instruction, so operands and payload data that merely look like an
instruction are never counted.

Every count and offset in the header is checked against the file size before use, so a DEX with
absurd counts is refused with :class:`MalformedAppError` instead of allocating or looping.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from techvet.errors import MalformedAppError

DEX_MAGIC_PREFIX = b"dex\n"
_HEADER_SIZE = 0x70
_NO_INDEX = 0xFFFFFFFF

# Width in 16-bit code units of each opcode (Dalvik formats); payload pseudo-instructions behind
# opcode 0x00 are sized separately. Unused opcodes count as one unit, as the verifier would reject
# them anyway and a linear decode must still make progress.
_WIDTH = [1] * 256
for _op, _w in {
    0x02: 2,
    0x03: 3,
    0x05: 2,
    0x06: 3,
    0x08: 2,
    0x09: 3,
    0x13: 2,
    0x14: 3,
    0x15: 2,
    0x16: 2,
    0x17: 3,
    0x18: 5,
    0x19: 2,
    0x1A: 2,
    0x1B: 3,
    0x1C: 2,
    0x1F: 2,
    0x20: 2,
    0x22: 2,
    0x23: 2,
    0x24: 3,
    0x25: 3,
    0x26: 3,
    0x29: 2,
    0x2A: 3,
    0x2B: 3,
    0x2C: 3,
    0xFA: 4,
    0xFB: 4,
    0xFC: 3,
    0xFD: 3,
    0xFE: 2,
    0xFF: 2,
}.items():
    _WIDTH[_op] = _w
for _lo, _hi, _w in (
    (0x2D, 0x3D, 2),
    (0x44, 0x6D, 2),
    (0x6E, 0x72, 3),
    (0x74, 0x78, 3),
    (0x90, 0xAF, 2),
    (0xD0, 0xE2, 2),
):
    for _op in range(_lo, _hi + 1):
        _WIDTH[_op] = _w

# Opcodes of the instructions whose first operand word is a table index (formats 21c, 35c, 3rc).
_KIND_OPS = {
    "invoke": frozenset([*range(0x6E, 0x73), *range(0x74, 0x79)]),
    "sget": frozenset(range(0x60, 0x67)),
    "new_instance": frozenset([0x22]),
    "const_string": frozenset([0x1A]),
}
_OP_KIND = {op: kind for kind, ops in _KIND_OPS.items() for op in ops}
_CONST_STRING_JUMBO = 0x1B
_WINDOW_UNITS = 4 * 1024 * 1024  # 8 MiB of code per numpy pass


@dataclass(frozen=True, slots=True)
class CodeSite:
    """One instruction that references a table entry: which class and method holds it."""

    class_name: str
    method_name: str
    offset: int  # of the instruction, in the DEX image
    body: int  # offset of the enclosing method's first instruction


@dataclass(slots=True)
class _CodeMap:
    """Method bodies of one DEX, as numpy arrays.

    ``code_offsets``, ``owners`` (class_def index) and ``method_idxs`` are in class_data order;
    ``ranges`` maps a class_def index to its slice of them; ``sorted_offsets`` with ``order``
    (index into the arrays) finds the method that holds a byte offset.
    """

    sorted_offsets: Any
    order: Any
    code_offsets: Any
    ranges: dict[int, tuple[int, int]]
    owners: Any
    method_idxs: Any


def _uleb128(data: bytes, pos: int) -> tuple[int, int]:
    """Decode an unsigned LEB128 at ``pos``; return (value, next position)."""
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise MalformedAppError("DEX: truncated LEB128 value")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 35:
            raise MalformedAppError("DEX: LEB128 value too long")


def instructions(code: bytes) -> list[tuple[int, int]]:
    """(opcode, byte position) of each instruction of one method body; payload tables end it.

    An instruction cut off by the end of the body ends it too, so every operand of a listed
    instruction lies inside ``code``: callers read operands without checking (a hostile body's
    declared size may stop mid-instruction).
    """
    out = []
    pc = 0
    n = len(code)
    while pc + 1 < n:
        op = code[pc]
        if op == 0 and code[pc + 1] in (1, 2, 3):
            break  # switch and array payloads follow the last instruction
        step = 2 * _WIDTH[op]
        if pc + step > n:
            break
        out.append((op, pc))
        pc += step
    return out


def _run_of_class(words: memoryview, count: int, type_idx: int) -> range:
    """The run of method_ids or field_ids (two words each, class index in the low half of the
    first) that belong to class ``type_idx``: both tables are sorted by class, so binary search."""
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi) // 2
        if (words[2 * mid] & 0xFFFF) < type_idx:
            lo = mid + 1
        else:
            hi = mid
    end = lo
    while end < count and (words[2 * end] & 0xFFFF) == type_idx:
        end += 1
    return range(lo, end)


def java_name(descriptor: str) -> str:
    """``Lcom/example/Foo;`` -> ``com.example.Foo`` (other descriptors unchanged)."""
    if descriptor.startswith("L") and descriptor.endswith(";"):
        return descriptor[1:-1].replace("/", ".")
    return descriptor


class Dex:
    """Tables of one DEX image, decoded on demand.

    ``data`` is the whole image; ``name`` says where it came from inside the app (for evidence).
    """

    def __init__(self, data: bytes, name: str = "classes.dex") -> None:
        if len(data) < _HEADER_SIZE or not data.startswith(DEX_MAGIC_PREFIX):
            raise MalformedAppError(f"{name}: not a DEX file")
        self.name = name
        self.data = data
        fields = struct.unpack_from("<20I", data, 0x20)
        file_size = fields[0]
        if file_size > len(data):
            raise MalformedAppError(f"{name}: DEX header claims {file_size} bytes, file has {len(data)}")
        (
            self.string_ids_size,
            self._string_ids_off,
            self.type_ids_size,
            self._type_ids_off,
            self.proto_ids_size,
            self._proto_ids_off,
            self.field_ids_size,
            self._field_ids_off,
            self.method_ids_size,
            self._method_ids_off,
            self.class_defs_size,
            self._class_defs_off,
            self._data_size,
            self._data_off,
        ) = fields[6:20]
        self.size = file_size
        spans = []
        for what, count, off, width in (
            ("string_ids", self.string_ids_size, self._string_ids_off, 4),
            ("type_ids", self.type_ids_size, self._type_ids_off, 4),
            ("proto_ids", self.proto_ids_size, self._proto_ids_off, 12),
            ("field_ids", self.field_ids_size, self._field_ids_off, 8),
            ("method_ids", self.method_ids_size, self._method_ids_off, 8),
            ("class_defs", self.class_defs_size, self._class_defs_off, 32),
        ):
            if count and (off < _HEADER_SIZE or off + count * width > file_size):
                raise MalformedAppError(f"{name}: {what} table ({count} entries) lies outside the file")
            if count:
                spans.append((off, off + count * width, what))
        # tables that share bytes make one entry mean two things: no compiler writes that
        spans.sort()
        for (_, end, first), (start, _, second) in zip(spans, spans[1:], strict=False):
            if start < end:
                raise MalformedAppError(f"{name}: the {first} and {second} tables overlap")
        if self.type_ids_size > 65536 or self.method_ids_size > 65536 * 64:
            raise MalformedAppError(f"{name}: DEX table counts are out of range")
        view = memoryview(data)
        self._string_offs = view[self._string_ids_off : self._string_ids_off + 4 * self.string_ids_size].cast("I")
        self._type_strs = view[self._type_ids_off : self._type_ids_off + 4 * self.type_ids_size].cast("I")
        self._method_words = view[self._method_ids_off : self._method_ids_off + 8 * self.method_ids_size].cast("I")
        self._field_words = view[self._field_ids_off : self._field_ids_off + 8 * self.field_ids_size].cast("I")
        self._class_words = view[self._class_defs_off : self._class_defs_off + 32 * self.class_defs_size].cast("I")
        self._string_cache: dict[int, str] = {}
        self._type_cache: dict[int, str] = {}

    # ----------------------------------------------------------------- strings and names
    def string(self, idx: int) -> str:
        """The string at index ``idx`` (MUTF-8 decoded leniently)."""
        cached = self._string_cache.get(idx)
        if cached is not None:
            return cached
        if not 0 <= idx < self.string_ids_size:
            raise MalformedAppError(f"{self.name}: string index {idx} out of range")
        off = self._string_offs[idx]
        if off >= self.size:
            raise MalformedAppError(f"{self.name}: string data outside the file")
        # the length prefix is one byte for strings under 128 characters: skip the call then
        start = off + 1 if self.data[off] < 0x80 else _uleb128(self.data, off)[1]
        end = self.data.find(b"\x00", start)
        if end < 0:
            raise MalformedAppError(f"{self.name}: unterminated string")
        value = self.data[start:end].decode("utf-8", "replace")
        self._string_cache[idx] = value
        return value

    def _string_bytes(self, idx: int) -> bytes:
        off = self._string_offs[idx]
        if off >= self.size:
            raise MalformedAppError(f"{self.name}: string data outside the file")
        start = off + 1 if self.data[off] < 0x80 else _uleb128(self.data, off)[1]
        end = self.data.find(b"\x00", start)
        return self.data[start : end if end >= 0 else start]

    def _lower_bound(self, target: bytes) -> int:
        """First string index whose bytes are not below ``target`` (the table is sorted)."""
        lo, hi = 0, self.string_ids_size
        while lo < hi:
            mid = (lo + hi) // 2
            if self._string_bytes(mid) < target:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def find_string(self, value: str) -> int | None:
        """Index of ``value`` in the sorted string table, by binary search; None when absent.

        The table is sorted by UTF-16 code units; for the ASCII names detectors ask about, byte
        order of the MUTF-8 form is the same order.
        """
        target = value.encode("utf-8")
        lo = self._lower_bound(target)
        if lo < self.string_ids_size and self._string_bytes(lo) == target:
            return lo
        return None

    def strings_with_prefix(self, prefix: str, limit: int | None = None) -> range:
        """Indices of every string that starts with ``prefix`` (a contiguous run of the table), or
        of the first ``limit`` of them (a caller that needs only a few need not walk a long run)."""
        target = prefix.encode("utf-8")
        lo = end = self._lower_bound(target)
        stop = self.string_ids_size if limit is None else min(self.string_ids_size, lo + limit)
        while end < stop and self._string_bytes(end).startswith(target):
            end += 1
        return range(lo, end)

    @cached_property
    def string_data_span(self) -> tuple[int, int]:
        """(start, end) of the string data section: where every string's bytes lie."""
        if not self.string_ids_size:
            return 0, 0
        start = min(self._string_offs)
        return start, self._section_end(start)

    def string_containing(self, offset: int) -> str:
        """The whole string whose bytes include ``offset`` (inside the string data section).

        Strings are stored as a LEB128 length, MUTF-8 bytes with no NUL, and a NUL; so the string
        starts after the previous NUL and its length prefix.
        """
        data = self.data
        lo, _ = self.string_data_span
        pos = data.rfind(b"\x00", lo, offset) + 1 if offset > lo else lo
        pos = max(pos, lo)
        while pos < offset and data[pos] & 0x80:
            pos += 1
        pos += 1
        end = data.find(b"\x00", offset)
        return data[pos : end if end >= 0 else offset].decode("utf-8", "replace")

    def _decode_types(self, type_indices: list[int]) -> list[str]:
        """Descriptors of many types in one pass (a method call per name costs twice as much)."""
        data = self.data
        string_offs = self._string_offs
        type_strs = self._type_strs
        n_types, n_strings = self.type_ids_size, self.string_ids_size
        cache = self._type_cache
        names = []
        for tidx in type_indices:
            name = cache.get(tidx)
            if name is None:
                if tidx >= n_types or type_strs[tidx] >= n_strings:
                    raise MalformedAppError(f"{self.name}: type index {tidx} out of range")
                off = string_offs[type_strs[tidx]]
                end = data.find(b"\x00", off + 1) if off < self.size and data[off] < 0x80 else -1
                name = data[off + 1 : end].decode("utf-8", "replace") if end >= 0 else self.string(type_strs[tidx])
                cache[tidx] = name
            names.append(name)
        return names

    def type_name(self, type_idx: int) -> str:
        """Descriptor of type ``type_idx`` (``Lcom/example/Foo;``)."""
        cached = self._type_cache.get(type_idx)
        if cached is not None:
            return cached
        if not 0 <= type_idx < self.type_ids_size:
            raise MalformedAppError(f"{self.name}: type index {type_idx} out of range")
        return self._decode_types([type_idx])[0]

    def find_type(self, descriptor: str) -> int | None:
        """Index of the type with ``descriptor``; type_ids are sorted by string index."""
        sidx = self.find_string(descriptor)
        if sidx is None:
            return None
        pos = bisect.bisect_left(self._type_strs, sidx)
        if pos < self.type_ids_size and self._type_strs[pos] == sidx:
            return pos
        return None

    # ----------------------------------------------------------------- classes
    @cached_property
    def class_defs(self) -> list[tuple[str, str | None, int, int]]:
        """(descriptor, superclass descriptor, interfaces_off, class_data_off) of defined classes."""
        words = self._class_words.tolist()
        classes = self._decode_types(words[0::8])
        supers = self._decode_types([w for w in words[2::8] if w != _NO_INDEX])
        out = []
        k = 0
        for i, name in enumerate(classes):
            if words[8 * i + 2] != _NO_INDEX:
                sup: str | None = supers[k]
                k += 1
            else:
                sup = None
            out.append((name, sup, words[8 * i + 3], words[8 * i + 6]))
        return out

    @cached_property
    def defined_classes(self) -> list[str]:
        """Descriptors of every class this DEX defines (has a class_def for)."""
        return [c[0] for c in self.class_defs]

    def classes_listing_interfaces(self, type_indices: set[int]) -> list[str]:
        """Descriptors of defined classes whose own interface list names one of ``type_indices``."""
        words = self._class_words
        data = self.data
        out = []
        for i in range(0, 8 * self.class_defs_size, 8):
            off = words[i + 3]
            if not off or off + 4 > self.size:
                continue
            (count,) = struct.unpack_from("<I", data, off)
            if off + 4 + 2 * count > self.size:
                continue
            if not type_indices.isdisjoint(struct.unpack_from(f"<{count}H", data, off + 4)):
                out.append(self.type_name(words[i]))
        return out

    def interfaces(self, interfaces_off: int) -> list[str]:
        """Descriptors of a type_list (the interfaces a class implements)."""
        if not interfaces_off:
            return []
        if interfaces_off + 4 > self.size:
            raise MalformedAppError(f"{self.name}: interface list outside the file")
        (count,) = struct.unpack_from("<I", self.data, interfaces_off)
        if interfaces_off + 4 + 2 * count > self.size:
            raise MalformedAppError(f"{self.name}: interface list outside the file")
        idxs = struct.unpack_from(f"<{count}H", self.data, interfaces_off + 4)
        return [self.type_name(i) for i in idxs]

    # ----------------------------------------------------------------- methods and fields
    def method_ref(self, idx: int) -> tuple[str, str]:
        """(class descriptor, method name) of method_id ``idx``; ``("", "")`` past the table.

        The index comes from an instruction operand, which a hostile body sets at will; such a
        call names no method (the verifier rejects its class), and raising here would lose the
        whole detector that asked, so the call reads as a call to nothing.
        """
        if not 0 <= idx < self.method_ids_size:
            return "", ""
        w = self._method_words
        return self.type_name(w[2 * idx] & 0xFFFF), self.string(w[2 * idx + 1])

    def methods_of_type(self, type_idx: int) -> range:
        """Indices of method_ids whose class is ``type_idx`` (method_ids are sorted by class)."""
        return _run_of_class(self._method_words, self.method_ids_size, type_idx)

    def find_methods(self, descriptor: str, names: Iterable[str]) -> dict[int, str]:
        """method_id indices of ``descriptor``'s methods named in ``names`` -> name."""
        tidx = self.find_type(descriptor)
        if tidx is None:
            return {}
        wanted = set(names)
        out = {}
        for m in self.methods_of_type(tidx):
            name = self.string(self._method_words[2 * m + 1])
            if name in wanted:
                out[m] = name
        return out

    def fields_of_type(self, type_idx: int) -> range:
        """Indices of field_ids whose class is ``type_idx`` (field_ids are sorted by class)."""
        return _run_of_class(self._field_words, self.field_ids_size, type_idx)

    def field_ref(self, idx: int) -> tuple[str, str, str]:
        """(class descriptor, field type descriptor, field name) of field_id ``idx``."""
        if not 0 <= idx < self.field_ids_size:
            raise MalformedAppError(f"{self.name}: field index {idx} out of range")
        w = self._field_words
        return (self.type_name(w[2 * idx] & 0xFFFF), self.type_name(w[2 * idx] >> 16), self.string(w[2 * idx + 1]))

    # ----------------------------------------------------------------- code
    @cached_property
    def _code_map(self) -> _CodeMap:
        """Where every method body is, and whose it is.

        Needed only when a detector asks *where* a reference is. The class_data section is a
        run of LEB128 numbers; decoding them one by one in Python costs tens of milliseconds per
        app, so every number in the section is decoded at once with numpy (a LEB128 ends at the
        first byte below 0x80), and only the per-class walk over the decoded list stays in Python,
        with list slices rather than a loop per method.
        """
        import numpy as np

        class_data = np.frombuffer(self._class_words, dtype=np.uint32).reshape(-1, 8)[:, 6]
        with_data = np.flatnonzero(class_data)
        none = np.zeros(0, dtype=np.int64)
        empty = _CodeMap(none, none, none, {}, none, none)
        if not len(with_data):
            return empty
        cdos = class_data[with_data].astype(np.int64)
        lo = int(cdos.min())
        hi = self._section_end(lo)
        if lo >= hi or int(cdos.max()) >= hi:
            raise MalformedAppError(f"{self.name}: class data outside its section")
        raw = np.frombuffer(self.data, dtype=np.uint8, count=hi - lo, offset=lo)
        ends = np.flatnonzero(raw < 0x80)
        if not len(ends):
            raise MalformedAppError(f"{self.name}: truncated class data")
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        lengths = np.minimum(ends - starts + 1, 5)
        values = np.zeros(len(ends), dtype=np.int64)
        for k in range(5):
            sel = lengths > k
            values[sel] |= (raw[starts[sel] + k] & 0x7F).astype(np.int64) << (7 * k)
        positions = np.searchsorted(starts, cdos - lo)
        if (positions >= len(starts)).any() or (starts[np.minimum(positions, len(starts) - 1)] != cdos - lo).any():
            raise MalformedAppError(f"{self.name}: class data does not start on a LEB128 boundary")
        # Every class_data_item: 4 counts, 2 numbers per field, then (method_idx_diff, access,
        # code_off) per method in a direct and a virtual list whose method indices restart.
        n = len(values)
        if (positions + 4 > n).any():
            raise MalformedAppError(f"{self.name}: truncated class data")
        sf, inf, dm, vm = (values[positions + k] for k in range(4))
        if (sf + inf + dm + vm > self.size).any():
            raise MalformedAppError(f"{self.name}: class data counts are out of range")
        direct_at = positions + 4 + 2 * (sf + inf)
        seg_start = np.stack([direct_at, direct_at + 3 * dm], axis=1).ravel()
        seg_count = np.stack([dm, vm], axis=1).ravel()
        seg_class = np.repeat(with_data, 2)
        total = int(seg_count.sum())
        # each method takes three numbers of the section; more in all means classes share class
        # data (a crafted file: 100 classes on one list made 2.5 GB of arrays from 1 MB)
        if 3 * total > n:
            raise MalformedAppError(f"{self.name}: class data lists more methods than its section holds")
        seg_first = np.cumsum(seg_count) - seg_count
        within = np.arange(total, dtype=np.int64) - np.repeat(seg_first, seg_count)
        triple_at = np.repeat(seg_start, seg_count) + 3 * within
        if total and int(triple_at.max()) + 2 >= n:
            raise MalformedAppError(f"{self.name}: class data counts are out of range")
        diffs = values[triple_at]
        running = np.cumsum(diffs)
        # method indices restart in each list: subtract the running sum before the list's first entry
        # (empty lists are repeated zero times, so their clamped lookup is never used)
        first_of = np.minimum(seg_first, max(total - 1, 0))
        before = running[first_of] - diffs[first_of] if total else np.zeros_like(seg_first)
        method_idx = running - np.repeat(before, seg_count)
        code_off = values[triple_at + 2]
        class_first = seg_first[0::2].tolist()
        class_end = (seg_first[1::2] + seg_count[1::2]).tolist()
        ranges = dict(zip(with_data.tolist(), zip(class_first, class_end, strict=True), strict=True))
        order = np.argsort(code_off, kind="stable")
        sorted_offs = code_off[order]
        keep = sorted_offs > 0
        # numpy arrays, not lists: only a few hundred entries are ever looked at
        return _CodeMap(sorted_offs[keep], order[keep], code_off, ranges, np.repeat(seg_class, seg_count), method_idx)

    @cached_property
    def code_span(self) -> tuple[int, int]:
        """(start, end) of the code_item section, 4-aligned; the whole data area if the map lacks it."""
        start = self._map_offset(0x2001)
        if start is None:
            start = self._data_off if _HEADER_SIZE <= self._data_off < self.size else _HEADER_SIZE
            return start & ~3, self.size & ~1
        return start & ~3, self._section_end(start) & ~1

    def _map_offset(self, item_type: int) -> int | None:
        """Offset of the map_list section of ``item_type``, or None."""
        (map_off,) = struct.unpack_from("<I", self.data, 0x34)
        if not 0 < map_off <= self.size - 4:
            return None
        (count,) = struct.unpack_from("<I", self.data, map_off)
        for k in range(min(count, (self.size - map_off - 4) // 12)):
            kind, _, _, off = struct.unpack_from("<HHII", self.data, map_off + 4 + 12 * k)
            if kind == item_type and _HEADER_SIZE <= off < self.size:
                return off
        return None

    def body(self, site: CodeSite) -> bytes:
        """Instruction bytes of the method that holds ``site``."""
        (insns_size,) = struct.unpack_from("<I", self.data, site.body - 4)
        return self.data[site.body : site.body + 2 * insns_size]

    def methods_named(self, name: str) -> list[int]:
        """method_id indices of every method called ``name``, whatever its class."""
        import numpy as np

        sidx = self.find_string(name)
        if sidx is None:
            return []
        names = np.frombuffer(self._method_words, dtype=np.uint32)[1::2]
        return np.flatnonzero(names == sidx).tolist()

    def method_params(self, midx: int) -> list[str]:
        """Parameter type descriptors of method_id ``midx`` (from its proto); none past the table,
        as for :meth:`method_ref`."""
        if not 0 <= midx < self.method_ids_size:
            return []
        proto = self._method_words[2 * midx] >> 16
        if proto >= self.proto_ids_size:
            raise MalformedAppError(f"{self.name}: proto index out of range")
        (params_off,) = struct.unpack_from("<I", self.data, self._proto_ids_off + 12 * proto + 8)
        return self.interfaces(params_off)  # a proto's parameters are a type_list too

    def _section_end(self, start: int) -> int:
        """End of the map section that begins at ``start`` (the next section's offset)."""
        (map_off,) = struct.unpack_from("<I", self.data, 0x34)
        end = self.size
        if map_off > 0 and map_off + 4 <= self.size:
            (count,) = struct.unpack_from("<I", self.data, map_off)
            count = min(count, (self.size - map_off - 4) // 12)
            for k in range(count):
                _, _, _, off = struct.unpack_from("<HHII", self.data, map_off + 4 + 12 * k)
                if start < off < end:
                    end = off
        return end

    def _site_for(self, offset: int) -> CodeSite | None:
        """The method whose instruction stream has an instruction starting exactly at ``offset``."""
        cmap = self._code_map
        pos = int(cmap.sorted_offsets.searchsorted(offset, side="right")) - 1
        if pos < 0:
            return None
        code_off = int(cmap.sorted_offsets[pos])
        if code_off + 16 > self.size:
            return None
        (insns_size,) = struct.unpack_from("<I", self.data, code_off + 12)
        insns = code_off + 16
        end = insns + 2 * insns_size
        if not insns <= offset < end or end > self.size:
            return None
        if not self._is_instruction_start(insns, end, offset):
            return None
        entry = int(cmap.order[pos])
        ci, midx = int(cmap.owners[entry]), int(cmap.method_idxs[entry])
        cls = self.class_defs[ci][0]
        if not 0 <= midx < self.method_ids_size:
            return None
        return CodeSite(cls, self.string(self._method_words[2 * midx + 1]), offset, insns)

    def _is_instruction_start(self, start: int, end: int, target: int) -> bool:
        """Decode from the method's first instruction to see whether one starts at ``target``."""
        data = self.data
        pc = start
        while pc < target:
            op = data[pc]
            if op == 0 and pc + 1 < end and data[pc + 1] in (1, 2, 3):
                kind = data[pc + 1]
                if pc + 8 > end:
                    return False
                if kind == 1:
                    (size,) = struct.unpack_from("<H", data, pc + 2)
                    units = size * 2 + 4
                elif kind == 2:
                    (size,) = struct.unpack_from("<H", data, pc + 2)
                    units = size * 4 + 2
                else:
                    width, size = struct.unpack_from("<HI", data, pc + 2)
                    units = (width * size + 1) // 2 + 4
                pc += 2 * units
            else:
                pc += 2 * _WIDTH[op]
        return pc == target

    def find_sites(
        self,
        invoke: Iterable[int] = (),
        sget: Iterable[int] = (),
        new_instance: Iterable[int] = (),
        const_string: Iterable[int] = (),
    ) -> dict[tuple[str, int], list[CodeSite]]:
        """Where code references the given table entries, keyed by (kind, index).

        Kinds: ``invoke`` (method_id, any invoke-* and /range form), ``sget`` (field_id, static
        reads), ``new_instance`` (type_id) and ``const_string`` (string_id). Instructions start on
        16-bit boundaries, so the code is viewed as 16-bit units and two table lookups over all of
        them at once (numpy, in C) mark every unit whose low byte is an opcode of a wanted kind and
        whose next unit is a wanted index. Each candidate is kept only if a decode of the enclosing
        method, from its first instruction, lands on it: operands and payload data that merely look
        like an instruction are dropped. A Python loop over the units would take seconds per app.
        """
        import numpy as np  # imported here: reading tables needs no numpy, only code searches do

        kind_bit = {"invoke": 1, "sget": 2, "new_instance": 4, "const_string": 8}
        wanted = np.zeros(65536, dtype=np.uint8)
        jumbo: set[int] = set()
        for kind, indices in (
            ("invoke", invoke),
            ("sget", sget),
            ("new_instance", new_instance),
            ("const_string", const_string),
        ):
            for i in indices:
                if i > 0xFFFF:
                    jumbo.add(i)
                else:
                    wanted[i] |= kind_bit[kind]
        out: dict[tuple[str, int], list[CodeSite]] = {}
        data = self.data
        if wanted.any():
            op_bits = np.zeros(256, dtype=np.uint8)
            for op, kind in _OP_KIND.items():
                op_bits[op] = kind_bit[kind]
            lo, hi = self.code_span
            first, last = lo // 2, hi // 2
            units = np.frombuffer(data, dtype="<u2", count=last - first, offset=2 * first)
            candidates: set[int] = set()
            # windows bound the temporary arrays (a few bytes per unit) for very large DEX files;
            # they overlap by two units so an instruction on a boundary is seen whole
            for start in range(0, max(len(units) - 1, 0), _WINDOW_UNITS):
                window = units[start : start + _WINDOW_UNITS + 2]
                opcodes = window[:-1].astype(np.uint8)  # the low byte of each unit (little-endian)
                operands = window[1:]
                hits = np.flatnonzero(op_bits[opcodes] & wanted[operands])
                # const-string/jumbo has a 32-bit index; dx in jumbo mode emits it for small ones too
                jumbo_at = np.flatnonzero(opcodes[:-1] == _CONST_STRING_JUMBO)
                jumbo_at = jumbo_at[
                    ((wanted[operands[jumbo_at]] & kind_bit["const_string"]) != 0) & (operands[jumbo_at + 1] == 0)
                ]
                candidates.update((hits + start).tolist())
                candidates.update((jumbo_at + start).tolist())
            for unit in sorted(candidates):
                offset = 2 * (unit + first)
                if offset + 4 > self.size:
                    continue
                site = self._site_for(offset)
                if site is not None:
                    op = data[offset]
                    idx = data[offset + 2] | (data[offset + 3] << 8)
                    kind = "const_string" if op == _CONST_STRING_JUMBO else _OP_KIND[op]
                    out.setdefault((kind, idx), []).append(site)
        for i in jumbo:
            needle = struct.pack("<I", i)
            pos = _HEADER_SIZE
            while (at := data.find(needle, pos, self.size)) >= 0:
                pos = at + 1
                if not at & 1 and data[at - 2] == _CONST_STRING_JUMBO:
                    site = self._site_for(at - 2)
                    if site is not None:
                        out.setdefault(("const_string", i), []).append(site)
        return out

    @cached_property
    def _class_index(self) -> dict[str, int]:
        return {c[0]: ci for ci, c in enumerate(self.class_defs)}

    def methods_of(self, class_descriptor: str) -> list[tuple[int, int]]:
        """(name string index, code_item offset) of the methods with code of a defined class."""
        ci = self._class_index.get(class_descriptor)
        cmap = self._code_map
        if ci is None or ci not in cmap.ranges:
            return []
        first, end = cmap.ranges[ci]
        words = self._method_words
        out = []
        for midx, code_off in zip(
            cmap.method_idxs[first:end].tolist(), cmap.code_offsets[first:end].tolist(), strict=True
        ):
            if code_off and 0 <= midx < self.method_ids_size:
                out.append((words[2 * midx + 1], code_off))
        return out

    def code_at(self, code_off: int) -> bytes:
        """Instruction bytes of the code_item at ``code_off``."""
        if code_off + 16 > self.size:
            raise MalformedAppError(f"{self.name}: code item outside the file")
        (insns_size,) = struct.unpack_from("<I", self.data, code_off + 12)
        return self.data[code_off + 16 : min(code_off + 16 + 2 * insns_size, self.size)]

    def method_code(self, class_descriptor: str, method_name: str) -> list[bytes]:
        """Instruction bytes of every method ``method_name`` defined by ``class_descriptor``."""
        name_idx = self.find_string(method_name)
        return [self.code_at(off) for sidx, off in self.methods_of(class_descriptor) if sidx == name_idx]

    def defined_method_names(self, class_descriptor: str) -> set[str]:
        """Names of the methods with code that a defined class has."""
        return {self.string(sidx) for sidx, _ in self.methods_of(class_descriptor)}

    def validate(self) -> None:
        """Decode the class table and the method map now, so structural damage shows at read time
        (as :class:`MalformedAppError`) rather than in the middle of a detector."""
        import numpy as np

        def over(view: memoryview, step: int, column: int, mask: int, bound: int) -> bool:
            values = np.frombuffer(view, dtype=np.uint32)[column::step] & mask
            return bool(len(values)) and int(values.max()) >= bound

        n_types, n_strings = self.type_ids_size, self.string_ids_size
        if over(self._string_offs, 1, 0, 0xFFFFFFFF, self.size):
            raise MalformedAppError(f"{self.name}: string data outside the file")
        if self.string_ids_size and int(np.frombuffer(self._string_offs, dtype=np.uint32).min()) < _HEADER_SIZE:
            raise MalformedAppError(f"{self.name}: string data inside the header")
        if over(self._type_strs, 1, 0, 0xFFFFFFFF, n_strings):
            raise MalformedAppError(f"{self.name}: a type names a string index out of range")
        for what, words in (("method", self._method_words), ("field", self._field_words)):
            if over(words, 2, 0, 0xFFFF, n_types) or over(words, 2, 1, 0xFFFFFFFF, n_strings):
                raise MalformedAppError(f"{self.name}: a {what} reference is out of range")
        if over(self._field_words, 2, 0, 0xFFFF0000, n_types << 16):
            raise MalformedAppError(f"{self.name}: a field has a type index out of range")
        if over(self._method_words, 2, 0, 0xFFFF0000, self.proto_ids_size << 16):
            raise MalformedAppError(f"{self.name}: a method names a prototype out of range")
        _ = self.class_defs, self._code_map, self.code_span, self.string_data_span

    def appended_image(self) -> bytes | None:
        """A complete DEX image appended after this one's declared end (a packer's hiding place)."""
        rest = self.data[self.size :]
        pos = rest.find(DEX_MAGIC_PREFIX)
        if pos < 0 or len(rest) - pos < _HEADER_SIZE:
            return None
        candidate = rest[pos:]
        (declared,) = struct.unpack_from("<I", candidate, 0x20)
        if _HEADER_SIZE <= declared <= len(candidate):
            return candidate[:declared]
        return None
