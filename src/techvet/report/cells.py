"""How a destination's facts read in a table cell, the same in every format (text, Markdown, HTML).

The owner cell says whose the *name* is, or that no one is known (with the only fact there is: the
registry a .cn name is under); the network cell says whose the *server's network* is. They are two
columns because they answer two questions: a small developer's site on Alibaba Cloud is owned by the
developer and hosted by Alibaba.
"""

from __future__ import annotations

from typing import Any

UNSIGNED = "not signed: no v1, v2 or v3 signature with a readable certificate, so anyone could have built it"


def owner_cell(row: dict[str, Any]) -> str:
    """ "Tencent Holdings Ltd. (CN)", "unknown (name registered in CN)" or "unknown"."""
    owner, country = row.get("owner"), row.get("owner_country")
    if owner:
        return f"{owner} ({country})" if country else str(owner)
    registry = row.get("registry_country")
    return f"unknown (name registered in {registry})" if registry else "unknown"


def network_cell(row: dict[str, Any]) -> str:
    """ "Alibaba Group Holding Ltd. (CN), AS45102", "AS4134 CHINANET-BACKBONE" or "-" (a name that was
    never resolved has no network)."""
    asn, owner, country = row.get("asn"), row.get("network_owner"), row.get("network_owner_country")
    if owner:
        where = f"{owner} ({country})" if country else str(owner)
        return f"{where}, AS{asn}" if asn else where
    if asn:
        return f"AS{asn} {row.get('network') or ''}".rstrip()
    return "-"


def sdk_names(ids: list[str]) -> list[str]:
    """SDK ids as the names a reader knows ("exodus-363" is Pangle), catalogue order kept; an id the
    catalogue does not know (an unidentified component's "net.example (unidentified)") as it is."""
    from techvet.knowledge import load

    sdks = load().sdks
    return [sdks[i].name if i in sdks else i for i in ids]


def unidentified_summary(facts: dict[str, Any]) -> str:
    """What an unidentified component's code does, for the SDK table's last column:
    "names 2 hosts (Tencent Holdings Ltd. (CN), unknown); device identifiers"."""
    hosts = facts.get("hosts") or []
    owners = [owner_cell(d) for d in facts.get("destinations") or []]
    unknown = len(hosts) - len(owners)
    parts = []
    if hosts:
        named = sorted(set(owners)) + (["unknown"] if unknown > 0 and "unknown" not in owners else [])
        parts.append(f"names {len(hosts)} host{'s' if len(hosts) != 1 else ''} ({', '.join(named)})")
    if facts.get("capabilities"):  # capability ids read as words: device_identifiers -> device identifiers
        parts.append(", ".join(str(c).replace("_", " ") for c in facts["capabilities"]))
    return "; ".join(parts) or "no hosts or capabilities found in its code"


__all__ = ["UNSIGNED", "network_cell", "owner_cell", "sdk_names", "unidentified_summary"]
