"""The apps a dataset holds, as a compact set of SHA-256 digests a worker can test quickly.

Why a sorted NumPy array and not a Python set: a run resumed over a million-app dataset sends this
set to every worker; as 32-byte rows it is 32 MB, as a set of hex strings about 120 MB per worker.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class DoneSet:
    """SHA-256 digests (hex) held in a sorted array; ``in`` is a binary search."""

    def __init__(self, digests: Iterable[str]) -> None:
        raw = [bytes.fromhex(d) for d in digests if isinstance(d, str) and len(d) == 64]
        self._array = np.unique(np.array(raw, dtype="S32")) if raw else np.array([], dtype="S32")

    def __len__(self) -> int:
        return int(self._array.size)

    def __contains__(self, digest: object) -> bool:
        if not isinstance(digest, str) or len(digest) != 64 or not self._array.size:
            return False
        try:
            key = np.array([bytes.fromhex(digest)], dtype="S32")
        except ValueError:
            return False
        at = int(np.searchsorted(self._array, key)[0])
        return at < self._array.size and self._array[at] == key[0]
