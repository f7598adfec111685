"""Personal data in what an app sent: identifiers in URLs, forms, JSON bodies, headers and cookies.

Every (place, key, value) of a request is looked at in its plain form, URL-decoded, and, where it
decodes to text, base64- and hex-decoded (one level: the ways SDKs wrap identifiers). A value is
an identifier when its shape and its field name agree (personal_data.yaml): a 15-digit number that
passes the Luhn check is an IMEI under ``imei`` or ``deviceid``, and an order number under
``order_no`` however well it checks; shapes that are unmistakable on their own (an e-mail
address, a MAC address, an ICCID, an E.164 phone number) count under any name. Placeholders
(Android's 02:00:00:00:00:00) never count. When the analyst gives the test device's own values
(``--device ids.yaml``), their MD5, SHA-1 and SHA-256 forms are found too.

Captures are the analyst's own test traffic; values are masked in every output, and nothing here
keeps them across captures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}$")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_CN_MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_DIGITS = re.compile(r"^\d+$")
_FLOAT = re.compile(r"^-?\d{1,3}\.\d{4,}$")
_PAIR = re.compile(r"^(-?\d{1,2}\.\d{4,})\s*,\s*(-?\d{1,3}\.\d{4,})$")
_PACKAGE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+){1,6}$")
_B64 = re.compile(r"^[A-Za-z0-9+/_-]{12,}={0,2}$")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2}){6,}$")
MAX_FIELDS = 2000  # per request
_WEAK_KINDS = frozenset({"ssid"})


@dataclass(frozen=True)
class Sighting:
    # imei, imsi, iccid, mac, bssid, ssid, android_id, advertising_id, phone, email, location, installed_apps
    kind: str
    place: str  # url | form | json | header | cookie
    key: str
    form: str  # plain | urlencoded | base64 | hex | md5 | sha1 | sha256
    masked: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "place": self.place, "key": self.key, "form": self.form, "value": self.masked}


class Detector:
    def __init__(self, doc: dict[str, Any], device: dict[str, str] | None = None) -> None:
        self.keys = {kind: [_norm(w) for w in words] for kind, words in doc["keys"].items()}
        self.unrelated = {_norm(k) for k in doc["unrelated_keys"]}
        self.placeholders = {kind: {v.lower() for v in values} for kind, values in doc["placeholders"].items()}
        self.mcc = {str(m) for m in doc["mcc"]}
        self.hashes: dict[str, tuple[str, str]] = {}  # hex digest -> (kind, algorithm)
        for kind, value in (device or {}).items():
            for variant in {str(value), str(value).lower(), str(value).upper()}:
                for algorithm in ("md5", "sha1", "sha256"):
                    self.hashes[hashlib.new(algorithm, variant.encode()).hexdigest()] = (kind, algorithm)

    def scan_request(self, target: str, headers: dict[str, str], body: bytes) -> list[Sighting]:
        out: list[Sighting] = []
        seen: set[tuple[str, str, str]] = set()
        for place, key, value in _fields(target, headers, body):
            for sighting in self.classify(place, key, value):
                mark = (sighting.kind, sighting.place, sighting.key)
                if mark not in seen:
                    seen.add(mark)
                    out.append(sighting)
            if len(seen) > MAX_FIELDS:
                break
        return out

    def classify(self, place: str, key: str, value: str) -> list[Sighting]:
        hashed = self.hashes.get(value.strip().lower())
        if hashed is not None:  # the test device's own identifier, hashed
            return [Sighting(hashed[0], place, key, hashed[1], mask(value.strip()))]
        # every decoding is tried; a name-only kind (an SSID is any short text under "ssid") loses to
        # a shape the value has once decoded
        weak = None
        for form, text in _forms(value):
            kind = self.kind_of(key, text)
            if kind is None:
                continue
            sighting = Sighting(kind, place, key, form, mask(text))
            if kind not in _WEAK_KINDS:
                return [sighting]
            if place != "cookie":  # a cookie named SSID is Google's session, not a Wi-Fi name
                weak = weak or sighting
        return [weak] if weak else []

    def kind_of(self, key: str, value: str) -> str | None:
        """The identifier ``value`` is under field ``key``, or None."""
        value = value.strip()
        k = _norm(re.sub(r"^x[-_]", "", key, flags=re.IGNORECASE))  # X-Imei is imei
        if not value or len(value) > 4096:
            return None
        if k in self.unrelated:
            return None
        named = {kind for kind, words in self.keys.items() if any(w == k or (len(w) > 3 and w in k) for w in words)}
        if "bssid" in named:
            named.discard("ssid")  # "bssid" holds "ssid"
        if _EMAIL.match(value):
            return "email"
        if _MAC.match(value):
            if value.lower() in self.placeholders["mac"]:
                return None
            return "bssid" if "bssid" in named else "mac"
        if _DIGITS.match(value):
            if len(value) in (19, 20) and value.startswith("89") and luhn(value):
                return "iccid"
            if len(value) == 15 and "imei" in named and luhn(value) and value not in self.placeholders["imei"]:
                return "imei"
            if len(value) == 15 and "imsi" in named and value[:3] in self.mcc:
                return "imsi"
            if "phone" in named and _CN_MOBILE.match(value):
                return "phone"
        if _E164.match(value) and ("phone" in named or len(value) >= 11):
            return "phone"
        if (
            "android_id" in named
            and _HEX16.match(value.lower())
            and value.lower() not in self.placeholders["android_id"]
        ):
            return "android_id"
        if "advertising_id" in named and _UUID.match(value) and value not in self.placeholders["advertising_id"]:
            return "advertising_id"
        if "ssid" in named and 0 < len(value) <= 32:
            return "ssid"
        if named & {"latitude", "longitude"} and _FLOAT.match(value) and abs(float(value)) <= 180:
            return "location"
        pair = _PAIR.match(value)
        if pair and "location" in named and abs(float(pair.group(1))) <= 90 and abs(float(pair.group(2))) <= 180:
            return "location"
        if "installed_apps" in named:
            parts = [p for p in re.split(r"[,;|\s]+", value) if p]
            if len(parts) >= 3 and sum(bool(_PACKAGE.match(p)) for p in parts) >= 3:
                return "installed_apps"
        return None


def luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mask(value: str) -> str:
    """Two characters at each end, the rest starred; an e-mail keeps its first letter and domain end."""
    if "@" in value:
        name, _, domain = value.partition("@")
        return f"{name[:1]}***@***{domain[-4:]}"
    if len(value) <= 6:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _forms(value: str) -> Iterator[tuple[str, str]]:
    yield "plain", value
    if "%" in value or "+" in value:
        decoded = unquote_plus(value)
        if decoded != value:
            yield "urlencoded", decoded
    if _B64.match(value) and not _DIGITS.match(value) and not _HEX.match(value):
        try:
            raw = base64.b64decode(
                value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value or "_" in value else None
            )
            text = raw.decode("utf-8")
            if text.isprintable():
                yield "base64", text
        except (binascii.Error, ValueError, UnicodeDecodeError):
            pass
    if _HEX.match(value):  # a hash's bytes are almost never all printable text: the check below tells
        try:
            text = bytes.fromhex(value).decode("utf-8")
            if text.isprintable():
                yield "hex", text
        except (ValueError, UnicodeDecodeError):
            pass


def _fields(target: str, headers: dict[str, str], body: bytes) -> Iterator[tuple[str, str, str]]:
    query = urlsplit(target).query if "?" in target else ""
    for key, value in parse_qsl(query, keep_blank_values=False)[:MAX_FIELDS]:
        yield "url", key, value
    for name, value in headers.items():
        if name == "cookie":
            for part in value.split(";"):
                key, sep, val = part.strip().partition("=")
                if sep:
                    yield "cookie", key, val
        elif name not in ("host", "content-length", "content-type", "accept", "accept-encoding", "connection"):
            yield "header", name, value
    if not body:
        return
    text = body[: 1 << 20].decode("utf-8", "replace")
    kind = headers.get("content-type", "")
    if "json" in kind or text.lstrip()[:1] in ("{", "["):
        try:
            yield from _json_fields(json.loads(text), "")
            return
        except (ValueError, RecursionError):
            pass
    if "=" in text:
        for key, value in parse_qsl(text, keep_blank_values=False)[:MAX_FIELDS]:
            yield "form", key, value


def _json_fields(node: Any, key: str, depth: int = 0) -> Iterator[tuple[str, str, str]]:
    if depth > 32:
        return
    if isinstance(node, dict):
        for k, v in list(node.items())[:MAX_FIELDS]:
            yield from _json_fields(v, str(k), depth + 1)
    elif isinstance(node, list):
        if node and all(isinstance(x, str) for x in node):
            yield "json", key, ",".join(node[:500])  # a list of names: installed apps
        for item in node[:MAX_FIELDS]:
            yield from _json_fields(item, key, depth + 1)
    elif isinstance(node, (str, int, float)) and not isinstance(node, bool):
        yield "json", key, str(node)


__all__ = ["Detector", "Sighting", "luhn", "mask"]
