"""What a person types to ``techvet whois``, taken apart before anything is attributed.

People paste what they have: a URL from a report (``https://api.weibo.cn/2/foo``), a ``host:port``
from a log (``api.weibo.cn:443``, ``47.88.1.1:80``, ``[2001:db8::1]:443``), a bare name or address.
Each is reduced to the host or IP it names; what is neither (``not a host!!``, ``999.1.1.1``, an
empty line) is an error for that input, never a guess: attributing the leftovers of a bad parse
used to print ``weibo.cn/2/foo`` as a registrable domain.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
MAX_NAME = 253


class TargetError(ValueError):
    """The input names neither a host nor an IP address (the message says why)."""


def target(text: str) -> str:
    """The host name (lowercase, no trailing dot, IDN as punycode) or IP address ``text`` names.

    Raises :class:`TargetError` when it names neither."""
    value = text.strip()
    if not value:
        raise TargetError("empty: neither a host name nor an IP address")
    if "://" in value:
        try:
            host = urlsplit(value).hostname
        except ValueError as exc:  # a malformed bracketed address, a bad port
            raise TargetError(f"not a readable URL ({exc})") from None
        if not host:
            raise TargetError("a URL without a host")
        value = host
    else:
        if _looks_like_network(value):
            raise TargetError("a network (address/prefix), not one address")
        value = value.split("/", 1)[0]  # "api.weibo.cn/2/foo": a URL without its scheme
        value = _without_port(value)
    value = value.strip("[]").rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if value.replace(".", "").isdigit():
        raise TargetError("not an IP address (four numbers of 0 to 255, as in 192.0.2.1)")
    return _host_name(value)


def shown_query(text: str) -> str:
    """The input as it may be shown back: a URL's user name and password replaced by ***."""
    head, sep, rest = text.partition("://")
    if not sep:
        return text
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{head}{sep}{authority}{slash}{path}"


def _without_port(value: str) -> str:
    """``host:port`` and ``[v6]:port`` to the host; an IPv6 address (several colons) stays whole."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise TargetError("an IPv6 address opened with [ but not closed")
        rest = value[end + 1 :]
        if rest and not (rest.startswith(":") and _is_port(rest[1:])):
            raise TargetError(f"unexpected {rest!r} after the address")
        return value[1:end]
    if value.count(":") == 1:
        host, port = value.split(":")
        if not _is_port(port):
            raise TargetError(f"{port!r} is not a port number")
        return host
    return value


def _looks_like_network(text: str) -> bool:
    """``1.1.1.0/24``: an address and a prefix length, which names many addresses."""
    address, _, prefix = text.partition("/")
    try:
        ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return prefix.isdigit()


def _is_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


def _host_name(value: str) -> str:
    """A DNS name: labels of letters, digits, hyphens (and underscores, which apps use), 63
    characters each, 253 in all; a name in another script is checked in its punycode form."""
    try:
        ascii_name = value if value.isascii() else value.encode("idna").decode("ascii")
    except UnicodeError:
        raise TargetError("neither a host name nor an IP address") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > MAX_NAME or not all(_LABEL.match(label) for label in labels):
        raise TargetError("neither a host name nor an IP address")
    return ascii_name


__all__ = ["TargetError", "shown_query", "target"]
