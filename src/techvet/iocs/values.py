"""What every indicator reader shares: the error a user sees, the bounds, text made safe for
reports, YAML read without aliases, and a value checked into the form the index keeps.

A value is refused with :class:`Unusable` and a short reason, which the readers count per family
(``techvet iocs show``): one that cannot be what it claims (a "host name" with a path, a digest of
the wrong length), and one that would match unrelated apps: a public suffix (``appspot.com``), a
private or reserved address, a network wider than a /16, or a shared service (techvet.iocs.shared).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from techvet.errors import InputError
from techvet.iocs.shared import shared_address, shared_host

MAX_TEXT = 300  # what is kept of a family's name or description
MAX_NETWORK_ADDRESSES = 1 << 16  # a /16: a network wider than that is not one actor's
# Entries one indicator file may add to the index: the bundled sources together hold about 4,000;
# a pattern's alternatives times the families it indicates times its indicators can multiply far
# past what the bytes suggest, so the count is bounded, not only the file.
MAX_ENTRIES = 200_000

_HEX = {"cert_sha1": 40, "cert_sha256": 64, "file_sha256": 64}
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$")
_APP_ID = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]+")


class IndicatorFileError(InputError):
    """An indicator file techvet does not read (a STIX bundle, Echap's YAML): the message is the
    one line the user sees, naming the file and the object."""


class Unusable(ValueError):
    """A value left out of the index; ``reason`` is the few words ``techvet iocs show`` counts."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def clean_text(value: Any, limit: int = MAX_TEXT) -> str:
    """A name or description for reports: text on one line, without lone surrogates (they cannot
    be written as UTF-8), at most ``limit`` characters; "" for anything that is not text."""
    text = _UNPRINTABLE.sub(" ", value).strip() if isinstance(value, str) else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def texts(value: Any) -> list[Any]:
    """A list a reader expects, or an empty one for anything else (a hostile file's ``5``)."""
    return value if isinstance(value, list) else []


def read_yaml(data: bytes, shown: str) -> Any:
    """YAML from an indicator source, refused when it uses anchors and aliases: one alias may
    repeat a list thousands of times (a few KB that would add millions of entries)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        text = data.decode("utf-8")
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=loader)):
            raise IndicatorFileError(f"{shown}: uses YAML aliases, which an indicator list has no need of")
        return yaml.load(text, Loader=loader)
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        raise IndicatorFileError(f"{shown}: not readable YAML ({type(exc).__name__})") from None


def normalised(kind: str, value: str) -> str:
    """``value`` as the index keeps it (lower-case digests and hosts, a canonical address), or
    :class:`Unusable` saying why it is not a value of ``kind`` or would match unrelated apps."""
    if kind in _HEX:
        digest = value.strip().lower().replace(":", "")
        if len(digest) != _HEX[kind] or not all(c in "0123456789abcdef" for c in digest):
            raise Unusable("not a digest", f"{value[:80]!r} is not a {_HEX[kind] * 4}-bit hex digest")
        return digest
    if kind == "app_id":
        if len(value) > 255 or not _APP_ID.match(value):
            raise Unusable("not an application id", f"{value[:80]!r} is not an application id")
        return value
    if kind == "ip":
        return _address(value)
    domain = value.strip().lower().rstrip(".")
    if not _DOMAIN.match(domain):
        raise Unusable("not a host name", f"{value[:80]!r} is not a host name")
    from techvet.place.attribution import registrable_domain

    registrable = registrable_domain(domain)
    if registrable is None:
        raise Unusable("a public suffix", f"{domain} is a public suffix: it would match every site under it")
    shared = shared_host(domain, registrable)
    if shared:
        raise Unusable("a shared service", shared)
    return domain


def _address(value: str) -> str:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise Unusable("not an address", f"{value[:80]!r} is not an IP address or network") from None
    if network.num_addresses > MAX_NETWORK_ADDRESSES:
        raise Unusable("a network too wide", f"{value} is a network of {network.num_addresses} addresses")
    if not network.is_global:  # a home router, a LAN, loopback: every capture has one
        raise Unusable("a private or reserved address", f"{value} is not a public address")
    address = str(network.network_address)
    shared = shared_address(address)
    if shared:
        raise Unusable("a shared service", f"{address} is on {shared}")
    return address if network.num_addresses == 1 else str(network)


__all__ = [
    "MAX_ENTRIES",
    "IndicatorFileError",
    "Unusable",
    "clean_text",
    "normalised",
    "read_yaml",
    "texts",
]
