"""Indicator values that name a shared service, not a tool's own server: left out of the index.

Indicator files record what a tool was seen using, and tools use the services every app uses: a
stalkerware's "C2" list in Echap's ioc.yaml holds Umeng's analytics endpoint (``alog.umeng.com``)
and Qihoo 360's packer service (``appjiagu.com``), and Cloudflare addresses its domains resolved to.
Matched as written, each would flag every app that embeds Umeng or is packed by 360, and every
capture that reaches a Cloudflare-fronted site, as that stalkerware. So these are left out and
counted (``techvet iocs show`` reports them): a host under a service embedded in many apps
(ioc_sources.yaml ``shared_domains``), a host that is exactly a company's or an SDK's own domain
(owners.json, the SDK catalogue), and an address on a CDN's anycast edge (``shared_networks``).
A customer's own resource on a platform (``x.firebaseio.com``, ``x.appspot.com``) is the tool's
and still matches.
"""

from __future__ import annotations

from functools import lru_cache

from techvet.knowledge import DATA_DIR, _read, load


def shared_host(domain: str, registrable: str) -> str | None:
    """Why ``domain`` (under ``registrable``, its registrable domain) names a shared service, or
    None: it is under a service embedded in many apps (ioc_sources.yaml ``shared_domains``), or it
    is exactly a company's or an SDK's own domain."""
    embedded = _shared_domains().get(registrable)
    if embedded:
        return f"{domain} is a host of {embedded}"
    place = load().place
    key = place.domain_owners.get(domain)
    if key is not None:
        owner = place.companies.get(key, {}).get("owner") or key
        return f"{domain} is {owner}'s own domain"
    sdk = place.sdk_domains.get(domain)
    if sdk is not None:
        return f"{domain} is the {sdk.name} SDK's own endpoint"
    return None


@lru_cache(maxsize=4096)
def shared_address(address: str) -> str | None:
    """Why ``address`` answers for many unrelated sites (a CDN's edge), or None."""
    from techvet.place.attribution import networks_of

    (asn,) = networks_of([address])
    return _shared_networks().get(asn or -1)


@lru_cache(maxsize=1)
def _shared_networks() -> dict[int, str]:
    doc = _read(DATA_DIR, "ioc_sources.yaml")
    return {int(asn): str(why) for asn, why in (doc.get("shared_networks") or {}).items()}


@lru_cache(maxsize=1)
def _shared_domains() -> dict[str, str]:
    doc = _read(DATA_DIR, "ioc_sources.yaml")
    return {str(domain): str(why) for domain, why in (doc.get("shared_domains") or {}).items()}


__all__ = ["shared_address", "shared_host"]
