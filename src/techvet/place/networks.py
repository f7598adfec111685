"""IP address -> autonomous system (AS number and the organisation that registered it), offline.

The table (``ip_asn.npz``, built by tools/build_asn.py from RouteViews, the registries and DB-IP's
ASN Lite names) is sorted range starts with the AS number announcing each range, so a lookup is a
binary search. It is written here rather than read through ``pyasn`` (the field's radix-tree
lookup) because a capture or a corpus brings its addresses in bulk: one ``numpy.searchsorted`` over
a whole batch beats one library call per address (bench/place.py measures both in the same run), and
pyasn must parse a text table of prefixes on every start. Each part of the table (IPv4, IPv6, names)
is read on its first use: a scan with no IP address in it never pays for it.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np


class NetworkTable:
    """Which AS announces an address, and the AS's registered organisation name."""

    def __init__(self, path: Path) -> None:
        self._archive: Any = np.load(path, allow_pickle=False)  # members are read on access

    @cached_property
    def _v4(self) -> tuple[np.ndarray, np.ndarray]:
        starts = np.cumsum(self._archive["v4_delta"], dtype=np.uint32)
        return starts, self._archive["v4_asn"]

    @cached_property
    def _v6(self) -> tuple[list[int], np.ndarray]:
        # IPv6 starts do not fit a numpy integer: Python ints and bisect (IPv6 lookups are few)
        hi, lo = self._archive["v6_hi"].tolist(), self._archive["v6_lo"].tolist()
        return [(h << 64) | low for h, low in zip(hi, lo, strict=True)], self._archive["v6_asn"]

    @cached_property
    def _names(self) -> tuple[np.ndarray, np.ndarray, bytes]:
        return self._archive["name_asn"], self._archive["name_end"], self._archive["name_blob"].tobytes()

    def asn(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int | None:
        """The AS number announcing ``address``, or None where no source covers it."""
        if address.version == 4:
            starts, asns = self._v4
            # a numpy scalar of the table's own type: a Python int would make numpy cast the whole
            # table to int64 on every call (33 us instead of 1 us)
            found = int(asns[int(np.searchsorted(starts, np.uint32(int(address)), side="right")) - 1])
        else:
            import bisect

            starts6, asns6 = self._v6
            found = int(asns6[bisect.bisect_right(starts6, int(address)) - 1])
        return found or None

    def asns_v4(self, addresses: list[str]) -> list[int | None]:
        """AS numbers of many dotted-quad IPv4 addresses in one search (None: not covered or not a
        valid address)."""
        packed = bytearray()
        valid = []
        for text in addresses:
            try:
                packed += socket.inet_pton(socket.AF_INET, text)  # strict: no "1.2.3" shorthand
                valid.append(True)
            except (OSError, TypeError):
                packed += b"\0\0\0\0"  # 0.0.0.0 lies in the leading gap: no AS
                valid.append(False)
        starts, asns = self._v4
        numbers = np.frombuffer(bytes(packed), dtype=">u4").astype(np.uint32)
        found = asns[np.searchsorted(starts, numbers, side="right") - 1].tolist()
        return [asn if ok and asn else None for asn, ok in zip(found, valid, strict=True)]

    def name(self, asn: int) -> str | None:
        """The organisation name registered for ``asn``."""
        numbers, ends, blob = self._names
        i = int(np.searchsorted(numbers, np.uint32(asn)))
        if i >= len(numbers) or int(numbers[i]) != asn:
            return None
        start = int(ends[i - 1]) if i else 0
        return blob[start : int(ends[i])].decode("utf-8")


__all__ = ["NetworkTable"]
