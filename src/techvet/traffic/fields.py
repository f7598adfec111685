"""Numbers and addresses from a capture, range-checked in one place for every reader.

A capture comes from a device someone else controls, so each number in it may be anything its
format can hold: a pcapng timestamp in the year 55,911, a HAR ``bodySize`` of ``1e999``, a
mitmproxy port of ``inf`` or a 5,000-digit integer. Python turns those into OverflowError or
ValueError far from the reader (at a certificate's validity check, in a report), so every reader
passes what it takes from the file through these functions: a value out of range becomes
"unknown" (0) or refuses the one flow it belongs to, never the capture.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import UTC, datetime
from typing import Any

from techvet.traffic.streams import safe_text

LATEST = 253402300799.0  # 9999-12-31T23:59:59Z: the last second datetime can show
MAX_COUNT = (1 << 63) - 1  # bytes or packets: what a 64-bit counter holds


def timestamp(value: Any) -> float:
    """Seconds since 1970 as a float, or 0.0 (unknown) when ``value`` is no finite number between
    1970 and 9999: later code turns it into a date, which fails outside that range."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return seconds if math.isfinite(seconds) and 0.0 <= seconds <= LATEST else 0.0


def when(seconds: float) -> datetime | None:
    """The UTC time of a reader's timestamp, or None when the capture does not say (0.0)."""
    if not 0.0 < seconds <= LATEST:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def count(value: Any) -> int:
    """A byte or packet count: a whole number from 0 to 2**63-1, else 0 (the file does not say)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and 0 <= value <= MAX_COUNT else 0
    if isinstance(value, int):
        return value if 0 <= value <= MAX_COUNT else 0
    return 0


def port(value: Any) -> int:
    """A TCP or UDP port (0 when absent); anything outside 0-65535 raises ValueError, which the
    readers turn into "this flow is malformed: skipped"."""
    if value is None or value == "" or isinstance(value, bool):
        return 0
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"port {value!r} is no port")
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValueError(f"port {str(value)[:20]!r} is no port")
    return value


def address(value: Any) -> str:
    """The one form of a server's address that every reader gives and every table is keyed by:
    an IP address as ``ipaddress`` writes it (``2001:db8::1``, never ``[2001:DB8:0::1]``), or
    a name, lower-cased and fit to print. "" when there is none. Two spellings of one address
    are then one destination, and a lookup by the flow's server always finds its row."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
    text = text.strip().strip("[]").rstrip(".").lower()
    if not text:
        return ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return safe_text(text)


def ip_address(value: Any) -> str:
    """``address`` for a field that must hold an IP address (a HAR's ``serverIPAddress``): ""
    when it holds anything else, so a name is never taken for where the server is."""
    text = address(value)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return ""
    return text


__all__ = ["address", "count", "ip_address", "port", "timestamp", "when"]
