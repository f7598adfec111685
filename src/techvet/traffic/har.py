"""HAR 1.2 files (browser and proxy exports): each entry as a flow with its decrypted request.

A HAR holds what an HTTPS proxy or a browser saw in clear: URL, headers, cookies and the body, so
personal data in HTTPS requests is found here (TV710), while only ``http://`` entries are
cleartext on the wire (TV701, TV711). Loaded whole, so the file size is capped, and so is the
number of JSON values in it: Python spends 50 to 150 bytes on each, so 120 MB of ``[],`` would
need 4 GB. They are counted (outside strings) before anything is built, and a HAR of too many is
refused in one line. Numbers are range-checked (techvet.traffic.fields), and a malformed entry is
skipped, counted in one warning line however many there are.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from techvet.errors import InputError, refuse_if_larger
from techvet.traffic.fields import count, ip_address, timestamp
from techvet.traffic.packets import ReadStats
from techvet.traffic.streams import Flow, request_record, safe_text

MAX_HAR_BYTES = 256 << 20
MAX_HAR_VALUES = 3_000_000  # about 450 MB of Python objects at worst (header-like objects); some 10,000 entries
MAX_ENTRIES = 200_000  # as many as the flows a packet capture follows (techvet.traffic.analysis)
_CHUNK = 8 << 20  # bytes counted at a time: the count's memory stays near 50 MB whatever the file
_STRUCTURE = (b",", b":", b"[", b"{")  # one per value or container: what the count counts


def read_har(path: str, stats: ReadStats) -> list[Flow]:
    """The flows of a HAR file, one per entry (up to ``MAX_ENTRIES``); a malformed entry is
    skipped with a warning, a file that is no HAR or holds too many values is an InputError."""
    p = Path(path)
    refuse_if_larger(path, MAX_HAR_BYTES)
    data = p.read_bytes()
    if json_values(data, MAX_HAR_VALUES) > MAX_HAR_VALUES:
        raise InputError(
            f"{path}: refused: more than {MAX_HAR_VALUES:,} JSON values, more memory than a HAR may take "
            "(export fewer entries, or split the file)"
        )
    try:
        doc = json.loads(data)
        del data
        entries = doc["log"]["entries"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InputError(f"{path}: not a HAR file ({type(exc).__name__})") from None
    flows = []
    if not isinstance(entries, list):  # not an empty capture: not a HAR at all
        raise InputError(f"{path}: not a HAR file (log.entries is not a list)")
    for number, entry in enumerate(entries, 1):
        if number > MAX_ENTRIES:
            rest = len(entries) - MAX_ENTRIES
            stats.warnings.append(f"more than {MAX_ENTRIES:,} entries: the other {rest:,} are not read")
            break
        stats.packets += 1
        try:
            flows.append(_flow(number, entry))
            stats.decoded += 1
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            stats.warn_each("HAR entry", number, "malformed, skipped", "HAR entries")
    return flows


def json_values(data: bytes, enough: int) -> int:
    """How many values and containers a JSON text holds, counted as its commas, colons and opening
    brackets outside strings; counting stops past ``enough``. Done on bytes with numpy, 8 MiB at a
    time, so a file is judged in about a second in bounded memory before ``json.loads`` builds
    anything. A quick count that includes strings comes first: most files stop there."""
    quick = sum(data.count(c) for c in _STRUCTURE)
    if quick <= enough:
        return quick
    import numpy as np

    total, inside, start = 0, False, 0
    while start < len(data) and total <= enough:
        end = min(len(data), start + _CHUNK)
        while end < len(data) and data[end - 1] == 0x5C:  # never split an escape between chunks
            end += 1
        # with escaped backslashes gone, a quote after a backslash is an escaped quote
        chunk = np.frombuffer(data[start:end].replace(b"\\\\", b""), dtype=np.uint8)
        quotes = chunk == 0x22
        quotes[1:] &= chunk[:-1] != 0x5C
        in_string = np.bitwise_xor.accumulate(quotes.view(np.uint8)) ^ np.uint8(inside)
        structure = (chunk == 0x2C) | (chunk == 0x3A) | (chunk == 0x5B) | (chunk == 0x7B)
        total += int(np.count_nonzero(structure & (in_string == 0)))
        inside = bool(in_string[-1]) if len(in_string) else inside
        start = end
    return total


def _flow(number: int, entry: dict[str, Any]) -> Flow:
    request = entry["request"]
    url = urlsplit(str(request["url"]))
    if not url.hostname:  # "not a url": a request to nowhere is no evidence of anything
        raise ValueError("a request without a host")
    headers = {str(h["name"]).lower(): str(h["value"]) for h in request.get("headers", []) if isinstance(h, dict)}
    cookies = [f"{c['name']}={c.get('value', '')}" for c in request.get("cookies", []) if isinstance(c, dict)]
    if cookies and "cookie" not in headers:
        headers["cookie"] = "; ".join(cookies)
    body = str((request.get("postData") or {}).get("text") or "").encode("utf-8", "replace")[: 1 << 20]
    if "postData" in request and "content-type" not in headers:
        headers["content-type"] = str(request["postData"].get("mimeType", ""))
    started = _epoch(entry.get("startedDateTime"))
    port = url.port or (443 if url.scheme == "https" else 80)
    target = url.path + (f"?{url.query}" if url.query else "")
    flow = Flow(
        number,
        "tcp",
        "har",
        0,
        ip_address(entry.get("serverIPAddress")),  # "" when it holds no address (a blocked or cached request)
        port,
        started,
        started,
    )
    flow.host, flow.host_from = safe_text((url.hostname or "").lower()) or None, "har"
    flow.packets = 1
    flow.bytes_up = len(body)
    flow.bytes_down = count((entry.get("response") or {}).get("bodySize"))  # 1e999 and -1 say nothing
    method = str(request.get("method", "GET"))
    flow.requests = [request_record(method, target, url.netloc, headers, body, url.scheme)]
    if url.scheme == "https":
        flow.tls = {"decrypted": True}
    return flow


def _epoch(text: Any) -> float:
    """``startedDateTime`` in seconds, 0.0 when absent, unreadable or outside 1970-9999."""
    try:
        return timestamp(datetime.fromisoformat(str(text)[:64].replace("Z", "+00:00")).timestamp())
    except (ValueError, OverflowError, OSError):
        return 0.0


__all__ = ["read_har"]
