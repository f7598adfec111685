"""What the code names against what the traffic shows (``techvet scan APP --traffic CAPTURE``).

Three lists: destinations the code names and the capture confirms; destinations seen only in the
capture (a host loaded from a server config or by a downloaded plugin: the code never names it);
and hosts the code names but the capture never reaches. Hosts match by name (SNI, HTTP Host, DNS
answers and HTTPDNS requests name the capture's servers) or, for IP literals in code, by address.
Where the capture carries PCAPdroid's per-packet trailer (app uid and name), only the app's own
flows count; otherwise every flow of the capture does, and the report says so.
"""

from __future__ import annotations

from typing import Any

from techvet.findings import Finding


def observed(results: list[Any]) -> dict[str, Any]:
    """The capture facts a correlation needs (small, picklable): host -> flows, bytes, cleartext."""
    hosts: dict[str, dict[str, Any]] = {}
    for result in results:
        for flow in result.flows:
            if flow.protocol == "dns":
                continue
            for name in {flow.host, flow.server} - {None}:
                row = hosts.setdefault(
                    str(name), {"flows": 0, "bytes_up": 0, "cleartext": False, "ips": set(), "apps": set()}
                )
                if flow.app:
                    row["apps"].add(flow.app)
                row["flows"] += 1
                row["bytes_up"] += flow.bytes_up
                row["cleartext"] |= any(r.get("scheme") != "https" for r in flow.requests)
                row["ips"].add(flow.server)
    return {
        "captures": [r.path for r in results],
        "hosts": {k: {**v, "ips": sorted(v["ips"]), "apps": sorted(v["apps"])} for k, v in hosts.items()},
        "findings": [f.to_dict() for r in results for f in r.findings],
    }


def app_findings(traffic: dict[str, Any], package: str | None) -> list[Finding]:
    """The captures' findings that are the app's: all of them, or, where PCAPdroid names each
    packet's app, those about hosts the app's own flows reached."""
    seen = _apps_hosts(traffic, package)
    out = []
    for doc in traffic.get("findings", []):
        hosts = {str(doc.get("extra", {}).get("host") or doc.get("subject") or "")}
        hosts |= set(doc.get("extra", {}).get("hosts", []))
        if seen is None or hosts & seen:
            out.append(Finding.from_dict(doc))
    return out


def _apps_hosts(traffic: dict[str, Any], package: str | None) -> set[str] | None:
    """Hosts the app's own flows reached, or None when the capture does not say whose flows are whose."""
    rows = traffic["hosts"]
    if not package or not any(row["apps"] for row in rows.values()):
        return None
    return {h for h, r in rows.items() if any(a.startswith(package[:20]) for a in r["apps"])}


def correlate(code_hosts: list[str], traffic: dict[str, Any], package: str | None = None) -> dict[str, Any]:
    seen = traffic["hosts"]
    attributed = any(row["apps"] for row in seen.values())
    if attributed and package:
        # PCAPdroid names each packet's app (its name field holds up to 20 bytes of the package)
        seen = {h: r for h, r in seen.items() if any(a.startswith(package[:20]) for a in r["apps"])}
    named = {h for h in seen if not h.replace(".", "").isdigit() and ":" not in h}
    code = set(code_hosts)
    confirmed = sorted(code & set(seen))
    only_traffic = sorted(named - code)
    return {
        "captures": traffic["captures"],
        "confirmed": [{"host": h, **_public(seen[h])} for h in confirmed],
        "traffic_only": [{"host": h, **_public(seen[h])} for h in only_traffic],
        "code_only": sorted(code - set(seen)),
        "note": "flows attributed to the app by PCAPdroid's trailer"
        if attributed
        else "the captures carry no app attribution: all their flows count as the app's",
    }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {"flows": row["flows"], "bytes_up": row["bytes_up"], "cleartext": row["cleartext"], "ips": row["ips"]}


__all__ = ["correlate", "observed"]
