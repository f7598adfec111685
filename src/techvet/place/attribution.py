"""Attribution of one host or IP (or many IPs at once), offline, from versioned data files: the
registrable domain and the owner of a name, the registry of its country-code domain, and for an
address the registry country that allocated it and the network (autonomous system) announcing it,
with the company that runs that network.

The jurisdiction comes from the owner, not from where the server stands: a Tencent endpoint in
Frankfurt is still a Chinese company's, and both facts are reported. Hosting is not ownership: the
network a server is on, or the cloud a customer's name lives under, is reported as the network
owner, never as the name's owner. A host no source knows is reported as unknown (``None``), never
guessed.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from techvet.knowledge import Knowledge, load

NAME_KEYS = ("registrable_domain", "owner", "parent", "owner_country", "registry_country")  # the name's facts
ADDRESS_KEYS = ("server_country", "asn", "network", "network_owner", "network_owner_country")  # the address's
PLACE_KEYS = (*NAME_KEYS, *ADDRESS_KEYS)  # the facts every destination row carries, in scans, captures, reports


@dataclass(slots=True)  # not frozen: a frozen init costs a third of a lookup
class Attribution:
    """What techvet knows about one host or IP, and from which sources.

    Three facts are kept apart because each answers another question. The owner is a fact about
    the *name* (whose domain it is: v2fly's lists, an SDK's endpoint domain, a cloud's service
    domain). The network owner is a fact about the *server* (which company runs the autonomous
    system announcing the address): a small developer's site hosted on Alibaba Cloud is not
    Alibaba's site. The registry country is a fact about the *top-level domain* (a .cn name is
    registered through China's registry): it names no owner. A policy matches on each separately.
    """

    input: str
    kind: str  # "host" or "ip"
    registrable_domain: str | None = None
    owner: str | None = None
    parent: str | None = None
    owner_country: str | None = None
    registry_country: str | None = None  # a host name's ccTLD registry (.cn: CN), not its owner's
    server_country: str | None = None
    asn: int | None = None
    network: str | None = None  # the AS's registered organisation name
    network_owner: str | None = None  # the company running that AS: the hosting provider or carrier
    network_owner_country: str | None = None
    reasons: tuple[str, ...] = ()
    sources: tuple[dict[str, str], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "kind": self.kind,
            **{k: getattr(self, k) for k in PLACE_KEYS},
            "reasons": list(self.reasons),
            "sources": [dict(s) for s in self.sources],
        }


def _unicode_labels(host: str) -> list[str]:
    labels = host.lower().rstrip(".").split(".")
    if "xn--" not in host:
        return labels
    out = []
    for label in labels:
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):  # a broken punycode label stays as it is
                label = label.encode("ascii").decode("idna")
        out.append(label)
    return out


def registrable_domain(host: str, kb: Knowledge | None = None) -> str | None:
    """The registrable domain of ``host`` by the Public Suffix List (``a.b.example.co.uk`` ->
    ``example.co.uk``); None for a bare public suffix."""
    parts = host.lower().rstrip(".").split(".")
    return _registrable(parts, _suffixes(parts), _unicode_labels(host), (kb or load()).psl)


def _suffixes(parts: list[str]) -> list[str]:
    """``a.b.c`` -> ``["a.b.c", "b.c", "c"]``: every suffix, longest first."""
    return [".".join(parts[i:]) for i in range(len(parts))]


def _registrable(parts: list[str], suffixes: list[str], labels: list[str], psl: Any) -> str | None:
    """Registrable domain from the host's parts; ``labels`` are the same parts with punycode decoded
    (the list holds internationalised suffixes in Unicode)."""
    n = len(parts)
    candidates = suffixes if labels == parts else _suffixes(labels)
    suffix_len = 1  # an unknown TLD is a suffix of one label (the list's default rule)
    # the longest matching rule wins: try suffixes from the longest (whole name) down
    for i, candidate in enumerate(candidates):
        if candidate in psl.exceptions:
            suffix_len = n - i - 1
            break
        if candidate in psl.rules or (i + 1 < n and candidates[i + 1] in psl.wildcards):
            suffix_len = n - i
            break
    if n <= suffix_len:
        return None
    return suffixes[n - suffix_len - 1]


def _sources(kb: Knowledge, names: tuple[str, ...]) -> tuple[dict[str, str], ...]:
    """The source entries for a combination of knowledge files, built once per combination (a
    handful exist) and kept with the knowledge they describe."""
    cache = kb.place.source_sets
    cached = cache.get(names)
    if cached is None:
        entries = []
        for name in dict.fromkeys(names):
            source, as_of = kb.sources.get(name, ("", ""))
            entries.append({"name": name, "source": source, "as_of": as_of})
        cached = cache[names] = tuple(entries)
    return cached


def attribute_ips(addresses: list[str], kb: Knowledge | None = None) -> list[Attribution]:
    """:func:`attribute` for many IP addresses at once, with the same results.

    A capture's flows or a corpus's IP constants come in thousands: the registry country and the AS
    are looked up for the whole batch in one call each, and what follows from an AS (its name, its
    company, the reasons) is worked out once per AS. Addresses neither table covers (private,
    reserved, malformed, or a host name) take the one-by-one path, which says why.
    """
    kb = kb or load()
    register_iptocc(kb)
    countries = _ip_country_lookup()(addresses)
    asns = networks_of(addresses, kb)
    # everything but the address follows from (AS, country): worked out once per pair
    shapes: dict[tuple[int | None, str | None], tuple[Any, ...]] = {}
    out = []
    for text, country, asn in zip(addresses, countries, asns, strict=True):
        if not country and asn is None:  # private, reserved, unallocated, malformed, or a name
            out.append(attribute(text, kb))
            continue
        shape = shapes.get((asn, country))
        if shape is None:
            shape = shapes[(asn, country)] = _shape(asn, country or None, kb)
        out.append(Attribution(text, "ip", *shape))
    return out


def _shape(asn: int | None, country: str | None, kb: Knowledge) -> tuple[Any, ...]:
    """Attribution's fields after ``kind`` for an announced or registered address, in field order.
    An address has no owner of its own: what it tells is the network that announces it."""
    reasons: tuple[str, ...] = (f"registry allocation: {country}",) if country else ()
    if asn is None:
        sources = _sources(kb, ("iptocc", "ip_asn.json"))
        return (None, None, None, None, None, country, None, None, None, None, reasons, sources)
    name, network_owner, network_country, asn_reasons, sources = _network_facts(asn, kb)
    return (
        None,
        None,
        None,
        None,
        None,
        country,
        asn,
        name,
        network_owner,
        network_country,
        reasons + asn_reasons,
        sources,
    )


def _network_facts(asn: int, kb: Knowledge) -> tuple[Any, ...]:
    """What follows from an AS number alone: its name, the company running it, reasons, sources."""
    name = kb.networks.name(asn)
    reasons = [f"announced by AS{asn} ({name or 'no registered name'})"]
    source_names = ["iptocc", "ip_asn.json"]
    network_owner = network_country = None
    key, why = _network_company(asn, name, kb)
    if key is not None:
        company = kb.place.companies[key]
        network_owner, network_country = company["owner"], company["country"]
        reasons.append(f"{why}: the network's owner, not necessarily the site's")
        source_names += ["asn_owners.yaml", "owner_companies.yaml"]
    return name, network_owner, network_country, tuple(reasons), _sources(kb, tuple(source_names))


def networks_of(addresses: list[str], kb: Knowledge | None = None) -> list[int | None]:
    """AS numbers announcing many IP addresses (None: private, unannounced or not an address).

    IPv4 addresses go through one batched search; the few IPv6 ones are looked up one by one.
    """
    networks = (kb or load()).networks
    found = networks.asns_v4(addresses)
    for i, text in enumerate(addresses):
        if found[i] is None and ":" in text:
            with contextlib.suppress(ValueError):  # not an address: no network
                found[i] = networks.asn(ipaddress.IPv6Address(text.strip("[]")))
    return found


@lru_cache(maxsize=1)
def _ip_country_lookup() -> Any:
    import iptocc

    return iptocc.country_code


def attribute(value: str, kb: Knowledge | None = None) -> Attribution:
    """Attribute one host name or IP address (IPv4 or IPv6)."""
    kb = kb or load()
    text = value.strip().lower().rstrip(".")
    if ":" not in text and not text.replace(".", "").isdigit():
        return _attribute_host(text, kb)  # a name: skip the (exception-raising) address parse
    try:
        ip = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return _attribute_host(text, kb)
    register_iptocc(kb)
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
        reason = "private or reserved address: no registry country, no network"
        return Attribution(value, "ip", reasons=(reason,), sources=_sources(kb, ("iptocc",)))
    country = _ip_country_lookup()(str(ip)) or None
    return Attribution(value, "ip", *_shape(kb.networks.asn(ip), country, kb))


def _network_company(asn: int, name: str | None, kb: Knowledge) -> tuple[str | None, str]:
    """The company that runs AS ``asn``: by its number, else by a name rule for the carriers."""
    place = kb.place
    key = place.asn_companies.get(asn)
    if key is not None:
        return key, f"AS{asn} is listed for {key} in asn_owners.yaml"
    if name:
        for pattern, company in place.asn_name_rules:
            if pattern.search(name):
                return company, f"AS{asn}'s registered name '{name}' is one of {company}'s network names"
    return None, ""


def server_countries(addresses: list[str]) -> list[str | None]:
    """Registry country of many IP addresses in one call (private and reserved ones give None).

    For bulk work (a capture's flows, a corpus's IP constants): one call into iptocc's compiled
    lookup instead of one :func:`attribute` per address.
    """
    return list(_ip_country_lookup()(addresses))


def register_iptocc(kb: Knowledge) -> None:
    """iptocc's registry data is a package, not a knowledge file: its version is its date."""
    if "iptocc" not in kb.sources:
        from importlib.metadata import version

        source = "regional internet registries' delegation files, via the iptocc package"
        kb.sources["iptocc"] = (source, f"iptocc {version('iptocc')}")


def _attribute_host(host: str, kb: Knowledge) -> Attribution:
    place = kb.place
    parts = host.split(".")
    labels = _unicode_labels(host) if "xn--" in host else parts
    suffixes = _suffixes(parts)
    domain = _registrable(parts, suffixes, labels, kb.psl)
    owner_key = None
    hosting_key = None  # the cloud or hosting service a customer's name is on: not the name's owner
    reasons: list[str] = []
    source_names = ["psl.json"]
    server_country = None
    region = None
    if place.cloud_pattern is not None and not place.cloud_domains.isdisjoint(suffixes):
        # the region rules are about the cloud's domain and the label before it: searched on that
        # tail only (".oss-cn-hangzhou.aliyuncs.com"), not on a long customer name in front of it
        cloud = max((d for d in suffixes if d in place.cloud_domains), key=len)
        region = place.cloud_pattern.search("." + ".".join(parts[-(cloud.count(".") + 2) :]))
    if region is not None and region.lastgroup is not None:
        rule = place.cloud_regions[int(region.lastgroup[1:])]
        owner_key, server_country = rule.company, rule.server_country
        reasons.append(rule.why)
        source_names.append("place_rules.yaml")
    for pattern, cloud, what in place.hosted if not place.hosted_domains.isdisjoint(suffixes) else ():
        if pattern.search(host):  # a bucket: the cloud's customer's, on the cloud
            owner_key, hosting_key = None, cloud
            reasons.append(f"{host} is {what}: the cloud hosts it, whose it is is not known")
            source_names.append("place_rules.yaml")
            break
    sdk = None
    # an owner is named by the registrable domain or a name below it: a listed domain above it is
    # a hosting service's public suffix (someone.github.io is under github.io, which is not whose
    # someone.github.io is), so that listing names the hosting provider, not the owner
    floor = domain.count(".") + 1 if domain else 0
    if owner_key is None and hosting_key is None:
        for suffix in suffixes[:-1]:
            key = place.domain_owners.get(suffix)
            if key is not None and suffix.count(".") + 1 < floor:
                hosting_key = key
                reasons.append(f"{suffix} is a public suffix of {key}'s hosting service: names under it are others'")
                source_names.append("owners.json")
                break
            if key is not None:
                owner_key = key
                reasons.append(f"{suffix} is listed for {owner_key} in v2fly's domain lists")
                source_names.append("owners.json")
                break
            sdk = sdk or place.sdk_domains.get(suffix)
    owner = parent = owner_country = network_owner = network_country = None
    if owner_key is not None:
        company = place.companies[owner_key]
        owner, parent, owner_country = company["owner"], company["parent"], company["country"]
        source_names.append("owner_companies.yaml")
    elif sdk is not None:
        owner, parent, owner_country = sdk.vendor, sdk.vendor, sdk.country
        reasons.append(f"endpoint domain of the {sdk.name} SDK")
        source_names.append("sdks.yaml")
    if hosting_key is not None:
        host_company = place.companies[hosting_key]
        network_owner, network_country = host_company["owner"], host_company["country"]
        source_names.append("owner_companies.yaml")
    registry_country = place.cctlds.get(labels[-1])
    if registry_country is not None:
        owner_note = "" if owner is not None else "; who registered it is not known from that"
        reasons.append(f".{labels[-1]} names are registered through the {registry_country} registry{owner_note}")
        source_names.append("place_rules.yaml")
    sources = _sources(kb, tuple(source_names))
    return Attribution(
        host,
        "host",
        registrable_domain=domain,
        owner=owner,
        parent=parent,
        owner_country=owner_country,
        registry_country=registry_country,
        server_country=server_country,
        network_owner=network_owner,
        network_owner_country=network_country,
        reasons=tuple(reasons),
        sources=sources,
    )


__all__ = [
    "ADDRESS_KEYS",
    "NAME_KEYS",
    "PLACE_KEYS",
    "Attribution",
    "attribute",
    "attribute_ips",
    "networks_of",
    "registrable_domain",
    "server_countries",
]
