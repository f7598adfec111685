"""Where a host or IP belongs, offline: registrable domain, owning company and its home country,
and for IP addresses the registry country and the network (autonomous system) that announces them.

The work is in ``attribution`` (names and addresses to facts) and ``networks`` (the IP -> AS table).
"""

from __future__ import annotations

from techvet.place.attribution import (
    ADDRESS_KEYS,
    NAME_KEYS,
    PLACE_KEYS,
    Attribution,
    attribute,
    attribute_ips,
    networks_of,
    registrable_domain,
    server_countries,
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
