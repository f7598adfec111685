"""mitmproxy flow dumps (``mitmdump -w FILE``, the ``.mitm`` files of mitmproxy's "save flows").

Like a HAR, a dump holds what the proxy saw in clear: each HTTP request with its URL, headers and
body, and each server connection with its address, TLS version, cipher and certificate, so personal
data inside HTTPS is found (TV710) and broken TLS towards the server is reported (TV702-TV706).

The file is a sequence of tnetstrings (``LENGTH:DATA`` and a type character; mitmproxy adds ``;``
for text), one per flow. Read by hand rather than with the ``mitmproxy`` package: that package is a
whole proxy with dozens of pinned dependencies, and reading its dump format needs forty lines. The
layout of a flow changed over mitmproxy's versions (0.18 wraps addresses as ``{"address": [host,
port]}``, 7+ writes ``[host, port]``); the fields read here exist in all of them. Every length is
checked against what is left of the file and nesting is bounded, so a hostile dump fails cleanly;
numbers are range-checked where they are read (an integer of more than 20 digits is no number
mitmproxy writes) and where they are used (ports, timestamps: techvet.traffic.fields), so a
flow with an absurd one is skipped with a warning and the rest of the dump is read.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from techvet.errors import InputError, refuse_if_larger
from techvet.traffic.fields import address as server_address
from techvet.traffic.fields import port as checked_port
from techvet.traffic.fields import timestamp
from techvet.traffic.packets import ReadStats
from techvet.traffic.streams import Flow, request_record, safe_text

MAX_MITM_BYTES = 256 << 20
MAX_DEPTH = 32
MAX_DIGITS = 20  # a 64-bit integer; longer ones read as None (Python refuses to parse 4,300 digits)
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


class _Malformed(ValueError):
    pass


def looks_like_mitm(head: bytes) -> bool:
    """A dump starts with a tnetstring dictionary: digits, a colon, and a key such as ``6:marked;``."""
    match = re.match(rb"(\d{1,12}):(\d{1,4}):", head)
    return bool(match)


def parse_tnetstring(data: bytes, at: int = 0, limit: int | None = None, depth: int = 0) -> tuple[Any, int]:
    """One value from ``data`` at ``at``, which must end by ``limit`` (the end of the enclosing
    value): the value and where the next one starts."""
    limit = len(data) if limit is None else limit
    if depth > MAX_DEPTH:
        raise _Malformed("nested too deeply")
    colon = data.find(b":", at, min(at + 13, limit))
    if colon <= at or not data[at:colon].isdigit():
        raise _Malformed(f"no length at byte {at}")
    start = colon + 1
    end = start + int(data[at:colon])
    if end >= limit:
        raise _Malformed(f"a value at byte {at} runs past the end of what holds it")
    kind, body = data[end : end + 1], data[start:end]
    value: Any
    if kind == b",":
        value = body
    elif kind == b";":
        value = body.decode("utf-8", "replace")
    elif kind == b"#":
        digits = body.lstrip(b"-")
        value = int(body) if digits.isdigit() and len(digits) <= MAX_DIGITS else None
    elif kind == b"^":
        try:
            value = float(body[:64])
        except ValueError:
            value = None
    elif kind == b"!":
        value = body == b"true"
    elif kind == b"~":
        value = None
    elif kind == b"]":
        value, i = [], start
        while i < end:
            item, i = parse_tnetstring(data, i, end, depth + 1)
            value.append(item)
    elif kind == b"}":
        value, i = {}, start
        while i < end:
            key, i = parse_tnetstring(data, i, end, depth + 1)
            if i >= end:
                raise _Malformed(f"a key at byte {i} has no value")
            item, i = parse_tnetstring(data, i, end, depth + 1)
            value[key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)] = item
    else:
        raise _Malformed(f"unknown value type {kind!r} at byte {end}")
    return value, end + 1


def read_mitm(path: str, stats: ReadStats, tls_versions: dict[str, str]) -> list[Flow]:
    """The HTTP flows of a dump; ``tls_versions`` maps mitmproxy's names (``TLSv1.1``) to the
    protocol numbers the findings use (``0x0302``)."""
    p = Path(path)
    refuse_if_larger(path, MAX_MITM_BYTES)
    data = p.read_bytes()
    flows: list[Flow] = []
    at, number = 0, 0
    while at < len(data):
        try:
            state, at = parse_tnetstring(data, at)
        except _Malformed as exc:
            if not flows:
                raise InputError(f"{path}: not a mitmproxy flow dump ({exc})") from None
            stats.warnings.append(f"mitmproxy dump damaged after flow {number}: {exc}; the rest is not read")
            break
        number += 1
        stats.packets += 1
        if not isinstance(state, dict) or state.get("type", "http") not in ("http", "tcp", "udp"):
            continue  # DNS flows (mitmproxy 10+) name no server of the app's own
        try:
            flows.append(_flow(number, state, tls_versions))
            stats.decoded += 1
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError):
            stats.warn_each("mitmproxy flow", number, "malformed, skipped")
    return flows


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def _address(value: Any) -> tuple[str, int] | None:
    """(host, port) of a connection's address field in any mitmproxy version; a port outside
    0-65535 raises ValueError (the flow is skipped: its server is unknown)."""
    if isinstance(value, dict):  # mitmproxy 0.x: {"address": [host, port], "use_ipv6": ...}
        value = value.get("address")
    if isinstance(value, list | tuple) and len(value) >= 2:
        return server_address(value[0]), checked_port(value[1])
    return None


def _flow(number: int, state: dict[str, Any], tls_versions: dict[str, str]) -> Flow:
    """A flow from one dumped flow's state: an HTTP exchange, or a TCP or UDP connection the proxy
    relayed without reading (then only its server is known)."""
    request = state.get("request") or {}
    response = state.get("response") or {}
    server = state.get("server_conn") or {}
    client = state.get("client_conn") or {}
    address = _address(server.get("address"))
    scheme = _text(request.get("scheme")) or ("http" if request else "")
    host = server_address(request.get("host") or request.get("authority"))
    if not request:
        if address is None:
            raise ValueError("a connection without a server")
        host = address[0]
    port = checked_port(request.get("port")) or (address[1] if address else 0) or (443 if scheme == "https" else 80)
    target = _text(request.get("path")) or "/"
    headers: dict[str, str] = {}
    for pair in request.get("headers") or []:
        name, value = _text(pair[0]).lower(), _text(pair[1])
        headers[name] = f"{headers[name]}; {value}" if name == "cookie" and name in headers else value
    body = request.get("content") or b""
    body = body if isinstance(body, bytes) else _text(body).encode("utf-8")
    peer = _address(server.get("ip_address") or server.get("peername")) or address
    try:
        me = _address(client.get("address") or client.get("peername")) or ("proxy", 0)
    except ValueError:  # a client port of "inf" says nothing of the server: the flow still counts
        me = ("proxy", 0)
    started = timestamp(request.get("timestamp_start") or server.get("timestamp_start"))
    ended = timestamp(response.get("timestamp_end") or request.get("timestamp_end")) or started
    proto = "udp" if state.get("type") == "udp" else "tcp"
    server_name = peer[0] if peer else host
    flow = Flow(number, proto, safe_text(me[0]), me[1], server_name, port, started, ended)
    flow.host, flow.host_from = safe_text(host) or None, "mitmproxy"
    flow.packets = 1
    flow.bytes_up = len(body)
    content = response.get("content")
    flow.bytes_down = len(content) if isinstance(content, bytes) else 0
    sni = server.get("sni")
    if isinstance(sni, str | bytes) and _text(sni):
        flow.sni = safe_text(_text(sni).lower())
    if request:
        method = _text(request.get("method")) or "GET"
        shown_host = host if port in (80, 443) else f"{host}:{port}"
        flow.requests = [request_record(method, target[:2000], shown_host, headers, body[: 1 << 20], scheme)]
    if scheme == "https" or server.get("tls_established") or server.get("ssl_established"):
        # the proxy read the requests decrypted; the TLS facts are those of its own connection
        # to the server, which carried the same requests
        flow.tls = {"decrypted": True}
        version = tls_versions.get(_text(server.get("tls_version")))
        if version:
            flow.tls["version"] = version
        if server.get("cipher_name"):
            flow.tls["cipher_suite_name"] = safe_text(_text(server["cipher_name"]))
        alpn = server.get("alpn")
        if alpn:
            flow.alpn = [safe_text(_text(alpn))]
        pems = server.get("certificate_list") or ([server["cert"]] if server.get("cert") else [])
        der = _first_der(pems[0]) if pems else None
        if der:
            flow.tls["cert_der"] = der
    return flow


def _first_der(pem: Any) -> bytes | None:
    match = _PEM.search(pem if isinstance(pem, bytes) else _text(pem).encode())
    if not match:
        return None
    try:
        return base64.b64decode(b"".join(match.group(1).split()), validate=True)
    except ValueError:
        return None


__all__ = ["looks_like_mitm", "parse_tnetstring", "read_mitm"]
