"""Property lists (binary or XML) read with ``plistlib``, then bounded.

``plistlib`` refuses XML entity declarations (so no entity expansion) and reads binary plists by
object reference, caching each object once: a crafted binary plist can therefore hand back a list
that contains itself, or a few hundred shared objects that stand for billions when walked. Every
plist is copied once into plain values with a node budget and a depth limit, cutting cycles,
before anything else looks at it, so no later walk can loop or explode.
"""

from __future__ import annotations

import datetime
import plistlib
from typing import Any

from techvet.errors import LimitExceededError, MalformedAppError

MAX_PLIST_BYTES = 8 * 1024 * 1024  # Info.plist files run to tens of KB; the largest seen ~1 MB
MAX_NODES = 200_000
MAX_DEPTH = 64


def read_plist(data: bytes, label: str, budget: list[int] | None = None) -> dict[str, Any]:
    """A dictionary plist as plain, bounded values; raises MalformedAppError or LimitExceededError.
    ``budget``: values still allowed, shared by the plists of one app (each alone: MAX_NODES)."""
    if len(data) > MAX_PLIST_BYTES:
        raise LimitExceededError(f"{label}: property list of {len(data)} bytes (bound {MAX_PLIST_BYTES})")
    try:
        value = plistlib.loads(data)
    except RecursionError:
        raise LimitExceededError(f"{label}: property list nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - plistlib raises many types on damaged input
        raise MalformedAppError(f"{label}: not a readable property list ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise MalformedAppError(f"{label}: property list is not a dictionary")
    nodes = budget if budget is not None else [MAX_NODES]
    copied = _bounded(value, label, nodes, 0, set())
    assert isinstance(copied, dict)
    return copied


def _bounded(value: Any, label: str, budget: list[int], depth: int, path: set[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise LimitExceededError(f"{label}: property lists hold more than {MAX_NODES} values")
    if depth > MAX_DEPTH:
        raise LimitExceededError(f"{label}: property list nested deeper than {MAX_DEPTH}")
    if isinstance(value, dict | list):
        if id(value) in path:  # a binary plist's object that contains itself
            raise MalformedAppError(f"{label}: property list contains itself")
        path.add(id(value))
        try:
            if isinstance(value, dict):
                return {str(k): _bounded(v, label, budget, depth + 1, path) for k, v in value.items()}
            return [_bounded(v, label, budget, depth + 1, path) for v in value]
        finally:
            path.discard(id(value))
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, plistlib.UID):
        return int(value.data)
    return value
