"""Resolve a handful of resource ids (the app label, the network security config file) from
``resources.arsc`` without building the whole resource table.

Why by hand: androguard's ARSCParser indexes every package, type and configuration up front, which
takes longer than the rest of a techvet scan; a manifest names at most a few resources, and each
is found by walking the type chunks of one type id.
"""

from __future__ import annotations

import struct

from techvet.app.axml import StringPool

_TABLE = 0x0002
_STRING_POOL = 0x0001
_PACKAGE = 0x0200
_TYPE = 0x0201
_MAX_CHUNKS = 200_000


class ResourceTable:
    """Lookups in one ``resources.arsc`` image; every lookup is bounded by the chunk count."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._pool: StringPool | None = None
        self._global_pool_at = -1
        self._packages: list[tuple[int, int, int]] = []  # (package id, chunk start, chunk end)
        if len(data) < 12 or struct.unpack_from("<H", data, 0)[0] != _TABLE:
            return
        (header_size,) = struct.unpack_from("<H", data, 2)
        pos = header_size
        for _ in range(_MAX_CHUNKS):
            if pos + 8 > len(data):
                break
            ctype, chead, csize = struct.unpack_from("<HHI", data, pos)
            if csize < 8:
                break
            if ctype == _STRING_POOL and self._global_pool_at < 0:
                self._global_pool_at = pos
            elif ctype == _PACKAGE and pos + 12 <= len(data):
                (pid,) = struct.unpack_from("<I", data, pos + 8)
                self._packages.append((pid, pos + chead, min(pos + csize, len(data))))
            pos += csize

    def string(self, idx: int) -> str | None:
        """Global string ``idx``: only the strings a lookup needs are decoded (the pool can be huge)."""
        if self._global_pool_at < 0:
            return None
        if self._pool is None:
            self._pool = StringPool(self.data, self._global_pool_at)
        return self._pool.get(idx) if idx < len(self._pool) else None

    def resolve(self, res_id: int, depth: int = 0) -> str | None:
        """The default-configuration value of ``res_id`` as text (a string or a file path)."""
        if depth > 4:
            return None
        pkg_id, type_id, entry = res_id >> 24, (res_id >> 16) & 0xFF, res_id & 0xFFFF
        data = self.data
        for pid, start, end in self._packages:
            if pid != pkg_id:
                continue
            pos = start
            best: tuple[int, int] | None = None
            for _ in range(_MAX_CHUNKS):
                if pos + 8 > end:
                    break
                ctype, chead, csize = struct.unpack_from("<HHI", data, pos)
                if csize < 8:
                    break
                if ctype == _TYPE and pos + 20 <= end and data[pos + 8] == type_id:
                    found = self._entry_value(pos, chead, csize, entry)
                    if found is not None:
                        is_default = not any(data[pos + 24 : pos + chead])
                        if is_default:
                            best = found
                            break
                        best = best or found
                pos += csize
            if best is not None:
                dtype, value = best
                if dtype == 0x03:
                    return self.string(value)
                if dtype == 0x01:
                    return self.resolve(value, depth + 1)
                return str(value)
        return None

    def _entry_value(self, pos: int, chead: int, csize: int, entry: int) -> tuple[int, int] | None:
        data = self.data
        flags = data[pos + 9]
        count, entries_start = struct.unpack_from("<II", data, pos + 12)
        offsets_at = pos + chead
        offset = None
        if flags & 0x01:  # sparse: (u16 index, u16 offset/4) pairs
            for i in range(min(count, (csize - chead) // 4)):
                idx, off4 = struct.unpack_from("<HH", data, offsets_at + 4 * i)
                if idx == entry:
                    offset = off4 * 4
                    break
        elif entry < count and offsets_at + 4 * entry + 4 <= pos + csize:
            (offset,) = struct.unpack_from("<I", data, offsets_at + 4 * entry)
            if offset == 0xFFFFFFFF:
                offset = None
        if offset is None:
            return None
        at = pos + entries_start + offset
        if at + 16 > pos + csize:
            return None
        size, eflags = struct.unpack_from("<HH", data, at)
        if eflags & 0x01:  # a bag (style, array): not a single value
            return None
        dtype, value = data[at + size + 3], struct.unpack_from("<I", data, at + size + 4)[0]
        return dtype, value
