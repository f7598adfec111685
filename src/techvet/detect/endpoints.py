"""Hosts named in the app's code, and which of them are cleartext http:// endpoints."""

from __future__ import annotations

import ipaddress
import re

from techvet.app.code import Reference
from techvet.app.reader import App
from techvet.detect._code_refs import bare_hosts, references
from techvet.detect._common import evidence_at, finding
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge
from techvet.place import Attribution, attribute

_AUTHORITY = re.compile(r"^([a-z][a-z0-9+.-]*)://([^/?#\"'<>\\,;|()\[\]{}^\s]+)(.*)$", re.IGNORECASE)
_DNS_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$")
_XML_IDENTIFIER = re.compile(r"(xmlns(:\w+)?=\"|<!DOCTYPE[^>]*(SYSTEM|PUBLIC)[^>]*\"|\{)$")


def host_of(url: str) -> tuple[str, str, str] | None:
    """(scheme, host, path) of a URL, with userinfo and port dropped and the host lowercased."""
    m = _AUTHORITY.match(url)
    if not m:
        return None
    authority = m.group(2).rpartition("@")[2]
    host = authority.lower()
    if host.startswith("["):
        return None
    host = host.split(":", 1)[0].rstrip(".")
    try:  # only what starts with a digit can be an address: a raised ValueError per name is slow
        if not host[:1].isdigit():
            raise ValueError(host)
        ipaddress.IPv4Address(host)
    except ValueError:
        if not _DNS_NAME.match(host) or host.replace(".", "").isdigit():
            return None
    return m.group(1).lower(), host, m.group(3)


def excluded(host: str, path: str, kb: Knowledge) -> bool:
    cfg = kb.endpoints
    if host in cfg.get("namespace_hosts", ()) or host in cfg.get("placeholder_hosts", ()):
        return True
    prefix = cfg.get("namespace_paths", {}).get(host)
    if prefix and path.startswith(prefix):
        return True
    return any(host == s.lstrip(".") or host.endswith("." + s.lstrip(".")) for s in cfg.get("placeholder_suffixes", ()))


def _add_string_evidence(
    bucket: list[Evidence], holders: list[Reference], dex_name: str, text: str, kb: Knowledge
) -> None:
    """Up to four pieces of evidence per host: the classes that load the string, else its DEX."""
    if len(bucket) >= 4:
        return
    if holders:
        bucket.extend(evidence_at(ref, f"string {text}", kb) for ref in holders[:2])
    else:
        bucket.append(Evidence(dex_name, f"string {text}"))


def _whose(place: Attribution) -> str:
    """What a title may say of a host: its owner when known; else only what is known (the network
    an address is on, the registry a name is under), never an owner guessed from those."""
    if place.owner:
        return f" ({place.owner}, {place.owner_country})" if place.owner_country else f" ({place.owner})"
    if place.network_owner:
        return f" (owner unknown; on {place.network_owner}'s network, {place.network_owner_country})"
    if place.registry_country:
        return f" (owner unknown; name registered in {place.registry_country})"
    return ""


def detect(app: App, kb: Knowledge) -> list[Finding]:
    refs = references(app, kb)
    hosts: dict[tuple[str, str], list[Evidence]] = {}
    for url, whole, dex_name in app.code.urls:
        parsed = host_of(url)
        if parsed is None:
            continue
        scheme, host, path = parsed
        start = whole.find(url)
        if start > 0 and _XML_IDENTIFIER.search(whole[:start]):
            continue
        if excluded(host, path, kb):
            continue
        kind = "cleartext" if scheme == "http" else "named"
        _add_string_evidence(hosts.setdefault((kind, host), []), refs.get(whole, []), dex_name, url[:200], kb)
    for host, dex_name in bare_hosts(app, kb):
        if not excluded(host, "", kb):
            _add_string_evidence(hosts.setdefault(("named", host), []), refs.get(host, []), dex_name, host, kb)
    return host_findings(hosts, kb)


def host_findings(hosts: dict[tuple[str, str], list[Evidence]], kb: Knowledge) -> list[Finding]:
    """TV401 for each cleartext host and TV402 for each other named host, attributed offline; one
    function for every platform's strings. ``hosts`` maps ("cleartext" or "named", host) to evidence."""
    out = []
    cleartext, named = kb.rules["TV401"], kb.rules["TV402"]
    cleartext_hosts = {h for k, h in hosts if k == "cleartext"}
    for (kind, host), evidence in sorted(hosts.items(), key=lambda item: (item[0][0] != "cleartext", item[0][1])):
        if kind == "named" and host in cleartext_hosts:
            continue
        place = attribute(host, kb)
        where = _whose(place)
        title = f"Cleartext endpoint http://{host}{where}" if kind == "cleartext" else f"Names host {host}{where}"
        out.append(
            finding(
                cleartext if kind == "cleartext" else named,
                tuple(evidence),
                subject=host,
                title=title,
                country=place.owner_country,
                party=place.owner,
                host=host,
                cleartext=kind == "cleartext",
                destination=place.to_dict(),
            )
        )
    return out
