"""Where a host or IP belongs: registrable domain, owning company and its home country, and for IP
addresses the country of the registry that allocated them. Offline, from versioned data files.

The jurisdiction comes from the owner, not from where the server stands: a Tencent server in
Frankfurt is still a Chinese company's server, and both facts are reported. A host no source knows
is reported as unknown (``None``), never guessed.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from techvet.knowledge import Knowledge, load


@dataclass(frozen=True)
class Attribution:
    """What techvet knows about one host or IP, and from which sources."""

    input: str
    kind: str  # "host" or "ip"
    registrable_domain: str | None = None
    owner: str | None = None
    parent: str | None = None
    owner_country: str | None = None
    server_country: str | None = None
    asn: int | None = None
    reasons: tuple[str, ...] = ()
    sources: tuple[dict[str, str], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "kind": self.kind,
            "registrable_domain": self.registrable_domain,
            "owner": self.owner,
            "parent": self.parent,
            "owner_country": self.owner_country,
            "server_country": self.server_country,
            "asn": self.asn,
            "reasons": list(self.reasons),
            "sources": [dict(s) for s in self.sources],
        }


def _unicode_labels(host: str) -> list[str]:
    labels = []
    for label in host.lower().rstrip(".").split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):  # a broken punycode label stays as it is
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return labels


def registrable_domain(host: str, kb: Knowledge | None = None) -> str | None:
    """The registrable domain of ``host`` by the Public Suffix List (``a.b.example.co.uk`` ->
    ``example.co.uk``); None for a bare public suffix."""
    psl = (kb or load()).psl
    labels = _unicode_labels(host)
    suffix_len = 1  # an unknown TLD is a suffix of one label (the list's default rule)
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        if candidate in psl.exceptions:
            suffix_len = len(labels) - i - 1
            break
        if candidate in psl.rules:
            suffix_len = len(labels) - i
            break
        if i + 1 < len(labels) and ".".join(labels[i + 1 :]) in psl.wildcards:
            suffix_len = len(labels) - i
            break
    if len(labels) <= suffix_len:
        return None
    return ".".join(host.lower().rstrip(".").split(".")[-(suffix_len + 1) :])


def _source(kb: Knowledge, name: str) -> dict[str, str]:
    source, as_of = kb.sources.get(name, ("", ""))
    return {"name": name, "source": source, "as_of": as_of}


@lru_cache(maxsize=1)
def _ip_country_lookup() -> Any:
    import iptocc

    return iptocc.country_code


def attribute(value: str, kb: Knowledge | None = None) -> Attribution:
    """Attribute one host name or IP address (IPv4 or IPv6)."""
    kb = kb or load()
    text = value.strip().lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return _attribute_host(text, kb)
    country = None
    reasons = []
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
        reasons.append("private or reserved address: no registry country")
    else:
        country = _ip_country_lookup()(str(ip)) or None
        if country:
            reasons.append(f"registry allocation: {country}")
    return Attribution(value, "ip", server_country=country, reasons=tuple(reasons), sources=(_iptocc_source(),))


def _iptocc_source() -> dict[str, str]:
    from importlib.metadata import version

    return {
        "name": "iptocc",
        "source": "regional internet registries' delegation files, via the iptocc package",
        "as_of": f"iptocc {version('iptocc')}",
    }


def _attribute_host(host: str, kb: Knowledge) -> Attribution:
    place = kb.place
    domain = registrable_domain(host, kb)  # loads the suffix list, so its source is known below
    owner_key = None
    reasons: list[str] = []
    sources = [_source(kb, "psl.json")]
    server_country = None
    for rule in place.cloud_regions:
        if rule.pattern.search(host):
            owner_key = rule.company
            server_country = rule.server_country
            reasons.append(rule.why)
            sources.append(_source(kb, "place_rules.yaml"))
            break
    labels = host.split(".")
    sdk = None
    if owner_key is None:
        for i in range(len(labels) - 1):
            suffix = ".".join(labels[i:])
            if suffix in place.domain_owners:
                owner_key = place.domain_owners[suffix]
                reasons.append(f"{suffix} is listed for {owner_key} in v2fly's domain lists")
                sources.append(_source(kb, "owners.json"))
                break
            sdk = sdk or place.sdk_domains.get(suffix)
    owner = parent = owner_country = None
    if owner_key is not None:
        company = place.companies[owner_key]
        owner, parent, owner_country = company["owner"], company["parent"], company["country"]
        sources.append(_source(kb, "owner_companies.yaml"))
    elif sdk is not None:
        owner, parent, owner_country = sdk.vendor, sdk.vendor, sdk.country
        reasons.append(f"endpoint domain of the {sdk.name} SDK")
        sources.append(_source(kb, "sdks.yaml"))
    if owner_country is None:
        tld = _unicode_labels(host)[-1]
        if tld in place.cctlds:
            owner_country = place.cctlds[tld]
            reasons.append(f".{tld} names are registered with the {owner_country} registry")
            sources.append(_source(kb, "place_rules.yaml"))
    return Attribution(
        host,
        "host",
        domain,
        owner,
        parent,
        owner_country,
        server_country,
        None,
        tuple(reasons),
        tuple(sources),
    )


__all__ = ["Attribution", "attribute", "registrable_domain"]
