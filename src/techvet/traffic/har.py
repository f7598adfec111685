"""HAR 1.2 files (browser and proxy exports): each entry as a flow with its decrypted request.

A HAR holds what an HTTPS proxy or a browser saw in clear: URL, headers, cookies and the body, so
personal data in HTTPS requests is found here (TV710), while only ``http://`` entries are
cleartext on the wire (TV701, TV711). Loaded whole, so the file size is capped.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from techvet.errors import InputError, refuse_if_larger
from techvet.traffic.packets import ReadStats
from techvet.traffic.streams import Flow, request_record, safe_text

MAX_HAR_BYTES = 256 << 20


def read_har(path: str, stats: ReadStats) -> list[Flow]:
    p = Path(path)
    refuse_if_larger(path, MAX_HAR_BYTES)
    try:
        doc = json.loads(p.read_bytes())
        entries = doc["log"]["entries"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InputError(f"{path}: not a HAR file ({type(exc).__name__})") from None
    flows = []
    if not isinstance(entries, list):  # not an empty capture: not a HAR at all
        raise InputError(f"{path}: not a HAR file (log.entries is not a list)")
    for number, entry in enumerate(entries, 1):
        stats.packets += 1
        try:
            flows.append(_flow(number, entry))
            stats.decoded += 1
        except (KeyError, TypeError, ValueError, AttributeError):
            stats.warnings.append(f"HAR entry {number} is malformed: skipped")
    return flows


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
        _address(entry.get("serverIPAddress")),
        port,
        started,
        started,
    )
    flow.host, flow.host_from = safe_text((url.hostname or "").lower()) or None, "har"
    flow.packets = 1
    flow.bytes_up = len(body)
    flow.bytes_down = max(0, int((entry.get("response") or {}).get("bodySize") or 0))
    method = str(request.get("method", "GET"))
    flow.requests = [request_record(method, target, url.netloc, headers, body, url.scheme)]
    if url.scheme == "https":
        flow.tls = {"decrypted": True}
    return flow


def _address(value: Any) -> str:
    """The server's IP address as the HAR gives it, or "" when it gives none (a blocked or cached
    request): the host name is the host, never the address."""
    text = str(value or "").strip().strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


def _epoch(text: Any) -> float:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


__all__ = ["read_har"]
