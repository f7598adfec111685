"""Flows and what their first bytes say: TLS hellos and certificates, HTTP/1.x requests, DNS.

Only the start of each direction of a TCP connection is kept (64 KiB), put in sequence order (a
retransmitted or overlapping segment is not copied twice, an early one waits for the gap to
fill): handshakes and request headers live there, and a giant body cannot exhaust memory. Every
parser is bounds-checked: a malformed record ends that parse, and the flow keeps what was read.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import Any

STREAM_CAP = 64 << 10
WELL_KNOWN = {53, 80, 443, 853, 8080, 8443, 8000, 8888, 3128, 5222, 5228, 993, 995, 465, 587, 25, 110, 143, 21, 22}
_REQUEST = re.compile(rb"(?:^|\r\n)(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT) (\S{1,8192}) HTTP/1\.[01]\r\n")


@dataclass
class Direction:
    data: bytearray = field(default_factory=bytearray)
    next_seq: int | None = None
    pending: dict[int, bytes] = field(default_factory=dict)
    truncated: bool = False

    def add(self, seq: int, payload: bytes, syn: bool) -> None:
        if syn:
            self.next_seq = (seq + 1) & 0xFFFFFFFF
            return
        if not payload or self.truncated:
            return
        if self.next_seq is None:  # the capture began mid-connection: take it from here
            self.next_seq = seq
        offset = (seq - self.next_seq) & 0xFFFFFFFF
        if offset >= 0x80000000:  # before what we have: a retransmission, keep only the new tail
            overlap = (self.next_seq - seq) & 0xFFFFFFFF
            if overlap >= len(payload):
                return
            payload, seq, offset = payload[overlap:], self.next_seq, 0
        if offset:
            if len(self.pending) < 256:
                self.pending.setdefault(seq, payload)
            return
        self._append(payload)
        while self.next_seq in self.pending:
            self._append(self.pending.pop(self.next_seq))

    def _append(self, payload: bytes) -> None:
        room = STREAM_CAP - len(self.data)
        self.data += payload[:room]
        if len(payload) > room:
            self.truncated = True
        self.next_seq = ((self.next_seq or 0) + len(payload)) & 0xFFFFFFFF


@dataclass
class Flow:
    id: int
    proto: str  # tcp | udp
    client: str
    client_port: int
    server: str
    server_port: int
    first: float
    last: float
    packets: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    up: Direction = field(default_factory=Direction)
    down: Direction = field(default_factory=Direction)
    host: str | None = None
    host_from: str | None = None  # sni | http | dns
    sni: str | None = None
    alpn: list[str] = field(default_factory=list)
    tls: dict[str, Any] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    app: str | None = None  # PCAPdroid's app name, where the capture carries it
    personal: list[dict[str, Any]] = field(default_factory=list)  # masked sightings of personal data
    datagrams: list[bytes] = field(default_factory=list)  # a UDP flow's first client datagrams, whole

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "proto": self.proto,
            "client": f"{self.client}:{self.client_port}",
            "server": self.server,
            "server_port": self.server_port,
            "host": self.host,
            "host_from": self.host_from,
            "app": self.app,
            "protocol": self.protocol,
            "first": round(self.first, 6),
            "last": round(self.last, 6),
            "packets": self.packets,
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
            "tls": {k: v for k, v in self.tls.items() if k != "cert_der"} or None,
            # what was sent is masked (findings say which field held what); the request line keeps
            # its path and the names of its parameters only
            "personal_data": self.personal,
            "http_requests": [
                {k: v for k, v in r.items() if k not in ("target", "_headers", "_body")} for r in self.requests[:20]
            ],
        }

    @property
    def protocol(self) -> str:
        if self.tls:
            return "tls"
        if self.requests:
            return "http"
        if self.proto == "udp" and 53 in (self.server_port, self.client_port):
            return "dns"
        return self.proto


def client_side(sport: int, dport: int, syn_only: bool) -> bool:
    """Whether the sender of a flow's first seen packet is the client."""
    if syn_only:
        return True
    if dport in WELL_KNOWN and sport not in WELL_KNOWN:
        return True
    if sport in WELL_KNOWN and dport not in WELL_KNOWN:
        return False
    return sport >= dport


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_text(text: str) -> str:
    """A name from the wire, fit to print: control characters (a terminal escape in an SNI) become
    "?". The capture is attacker-controlled; every report prints these."""
    return _UNPRINTABLE.sub("?", text)[:512]


# --- TLS ------------------------------------------------------------------------------------------


def handshakes(stream: bytes) -> list[tuple[int, bytes]]:
    """Handshake messages (type, body) from the TLS records at the start of a stream, up to the
    first non-handshake record (after ChangeCipherSpec the rest is encrypted)."""
    data = bytearray()
    i = 0
    while i + 5 <= len(stream):
        kind, _version, length = stream[i], stream[i + 1 : i + 3], struct.unpack_from("!H", stream, i + 3)[0]
        if kind != 22 or length > 18432:
            break
        data += stream[i + 5 : i + 5 + length]
        i += 5 + length
    out = []
    j = 0
    while j + 4 <= len(data):
        kind = data[j]
        length = int.from_bytes(data[j + 1 : j + 4], "big")
        if j + 4 + length > len(data):
            out.append((kind, bytes(data[j + 4 :])))  # cut short: parsers take what is there
            break
        out.append((kind, bytes(data[j + 4 : j + 4 + length])))
        j += 4 + length
    return out


def parse_client_hello(body: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        out["client_version"] = f"0x{struct.unpack_from('!H', body, 0)[0]:04x}"
        i = 34
        i += 1 + body[i]
        (n,) = struct.unpack_from("!H", body, i)
        out["offered_suites"] = [
            struct.unpack_from("!H", body, i + 2 + k)[0] for k in range(0, min(n, len(body) - i - 2), 2)
        ]
        i += 2 + n
        i += 1 + body[i]
        (ext_len,) = struct.unpack_from("!H", body, i)
        i += 2
        end = min(len(body), i + ext_len)
        while i + 4 <= end:
            ext, length = struct.unpack_from("!HH", body, i)
            value = body[i + 4 : i + 4 + length]
            if ext == 0 and len(value) > 5 and value[2] == 0:
                name_len = struct.unpack_from("!H", value, 3)[0]
                out["sni"] = safe_text(value[5 : 5 + name_len].decode("ascii", "replace").lower())
            elif ext == 16 and len(value) > 2:
                names, k = [], 2
                while k < len(value):
                    names.append(safe_text(value[k + 1 : k + 1 + value[k]].decode("ascii", "replace")))
                    k += 1 + value[k]
                out["alpn"] = names
            elif ext == 43 and value:
                out["offered_versions"] = [
                    f"0x{struct.unpack_from('!H', value, 1 + k)[0]:04x}" for k in range(0, value[0] - 1, 2)
                ]
            i += 4 + length
    except (struct.error, IndexError):
        out["malformed"] = True
    return out


def parse_server_hello(body: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        version = struct.unpack_from("!H", body, 0)[0]
        i = 34
        i += 1 + body[i]
        out["cipher_suite"] = struct.unpack_from("!H", body, i)[0]
        i += 3
        if i + 2 <= len(body):
            (ext_len,) = struct.unpack_from("!H", body, i)
            i += 2
            end = min(len(body), i + ext_len)
            while i + 4 <= end:
                ext, length = struct.unpack_from("!HH", body, i)
                if ext == 43 and length == 2:
                    version = struct.unpack_from("!H", body, i + 4)[0]
                i += 4 + length
        out["version"] = f"0x{version:04x}"
    except (struct.error, IndexError):
        out["malformed"] = True
    return out


def first_certificate(body: bytes) -> bytes | None:
    """The server's own certificate (DER) from a TLS 1.2 Certificate message."""
    if len(body) < 6:
        return None
    length = int.from_bytes(body[3:6], "big")
    der = body[6 : 6 + length]
    return der if len(der) == length and length else None


# --- HTTP -----------------------------------------------------------------------------------------


def http_requests(stream: bytes, limit: int = 50) -> list[dict[str, Any]]:
    """HTTP/1.x requests in a client stream: method, target, Host and the header block."""
    out: list[dict[str, Any]] = []
    for m in _REQUEST.finditer(stream):
        start = m.end()
        end = stream.find(b"\r\n\r\n", start)
        block = stream[start : end if end != -1 else min(len(stream), start + 8192)]
        headers = {}
        for line in block.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if sep and name:
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        body = b""
        length = headers.get("content-length", "")
        if end != -1 and length.isdigit():
            body = stream[end + 4 : end + 4 + min(int(length), 1 << 20)]
        out.append(
            request_record(m.group(1).decode(), m.group(2).decode("latin-1"), headers.get("host", ""), headers, body)
        )
        if len(out) >= limit:
            break
    return out


def request_record(
    method: str, target: str, host: str, headers: dict[str, str], body: bytes, scheme: str | None = None
) -> dict[str, Any]:
    """One HTTP request as every reader gives it (the wire, HAR, mitmproxy): what reports print is
    made fit to print (``safe_text``); the target, headers and body are kept whole, for the
    personal-data search only. ``scheme``: "https" when a proxy read the request decrypted."""
    path, _, query = target.partition("?")
    record: dict[str, Any] = {
        "method": method,
        "target": target,
        "path": safe_text(path[:300]),
        "query_keys": sorted({p.split("=", 1)[0] for p in query.split("&") if p})[:50],
        "host": safe_text(host),
        "user_agent": safe_text(headers.get("user-agent", "")),
        "_headers": headers,
        "_body": body,
    }
    if scheme is not None:
        record["scheme"] = scheme
    return record


def http_body(stream: bytes) -> bytes:
    """The body after the first header block of a response stream (for HTTPDNS answers)."""
    end = stream.find(b"\r\n\r\n")
    return stream[end + 4 :] if end != -1 else b""


__all__ = [
    "Direction",
    "Flow",
    "client_side",
    "first_certificate",
    "handshakes",
    "http_body",
    "request_record",
    "http_requests",
    "parse_client_hello",
    "parse_server_hello",
]
