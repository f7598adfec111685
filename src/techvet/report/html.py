"""The HTML report: one self-contained, offline file a manager can read on a phone or print.

No script, no external font, style sheet or image: a Content-Security-Policy meta tag forbids them
too. The world map is bundled SVG (world_map.json). Everything that comes from the app (labels,
strings, hosts, class names) goes through Jinja2's autoescaping, so a label such as ``<script>`` or
a quote-breaking string renders as text; tests parse the report of a hostile app to check it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from techvet import __version__
from techvet.findings import Finding
from techvet.knowledge import _read, load
from techvet.report.cells import UNSIGNED, network_cell, owner_cell, sdk_names, unidentified_summary
from techvet.report.indicators import indicator_notes
from techvet.scan import ScanResult


@lru_cache(maxsize=1)
def environment() -> Any:
    """The Jinja2 environment of every HTML page, autoescaping all of them."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("techvet.report", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.globals.update(owner_cell=owner_cell, network_cell=network_cell)
    return env


def _template() -> Any:
    return environment().get_template("app.html.j2")


def render(result: ScanResult) -> str:
    return str(_template().render(**app_context(result.to_dict(), result.findings)))


def app_context(doc: dict[str, Any], findings: list[Finding] | None = None) -> dict[str, Any]:
    """What the app report shows, from a scan's JSON result (``ScanResult.to_dict``): the same
    page for a scan made now and for one the team service kept. ``findings``: the result's own
    findings, when at hand, instead of reading them back from the JSON."""
    app = doc.get("app") or {}
    found = findings if findings is not None else [Finding.from_dict(f) for f in doc.get("findings") or []]
    destinations = [d for d in doc.get("destinations") or [] if isinstance(d, dict)]
    sdks = []
    for f in found:
        if f.rule == "TV304":  # code no catalogue names: listed with the SDKs, never left out
            sdks.append(
                {
                    "name": f"{f.subject} ({f.extra.get('classes')} classes)",
                    "vendor": "unidentified",
                    "country": None,
                    "collects": unidentified_summary(f.extra),
                }
            )
        elif f.rule in ("TV301", "TV302", "TV303"):
            extra = f.extra
            sdks.append(
                {
                    "name": f.title.removeprefix("Embeds "),
                    "vendor": f.party,
                    "country": f.country,
                    "collects": ", ".join([*extra.get("collects", []), *extra.get("does", [])]) or "-",
                }
            )
    capabilities = [
        {
            "title": f.title
            + (" (the app requests none of its permissions)" if f.extra.get("permission_not_requested") else ""),
            "app": bool(f.extra.get("in_app_code")),
            "sdks": ", ".join(sdk_names(f.extra.get("in_sdks", []))),
        }
        for f in found
        if "capability" in f.extra
    ]
    listed = _findings(found)
    certificates = [c for c in doc.get("certificates") or [] if isinstance(c, dict)]
    knowledge = (doc.get("attribution") or {}).get("knowledge") or {}
    return {
        "title": app.get("label") or app.get("package") or doc.get("path") or "",
        "package": app.get("package") or "",
        "version": app.get("version_name") or "",
        "file": doc.get("path") or "",
        "sha256": app.get("sha256") or "",
        "signers": [str(c.get("subject")) for c in certificates[:2]],
        "unsigned": UNSIGNED,
        "techvet_version": doc.get("techvet_version") or __version__,
        "verdict": doc.get("verdict"),
        "map": _map(destinations),
        "destinations": [
            {
                **d,
                "named_by": ", ".join(sdk_names(d.get("named_by_sdks") or []))
                or (d.get("first_evidence") or {}).get("class_name", "-"),
            }
            for d in destinations
        ],
        "sdks": sdks,
        "capabilities": capabilities,
        "anti": [f for f in listed if f["rule"].startswith("TV5")],
        "tools": [f for f in listed if f["rule"] == "TV607"],
        "parties": [f for f in listed if f["rule"].startswith("TV6") and f["rule"] != "TV607"],
        "findings": listed,
        "attribution": ", ".join(f"{k} {v}" for k, v in sorted(knowledge.items())),
    }


def render_traffic(results: list[Any]) -> str:
    """One page over captures (techvet.traffic.TrafficResult): per capture its verdict, the map and
    table of destinations, the flows, and every finding with its evidence (values already masked)."""
    captures = []
    for r in results:
        captures.append(
            {
                "path": r.path,
                "packets": r.stats.packets,
                "warnings": r.stats.warnings,
                "verdict": r.verdict,
                "map": _map(r.destinations),
                "destinations": r.destinations,
                "flows": [f.to_dict() for f in r.flows[:500]],
                "more_flows": max(0, len(r.flows) - 500),
                "findings": _findings(r.findings),
            }
        )
    return str(environment().get_template("traffic.html.j2").render(captures=captures, techvet_version=__version__))


def _map(destinations: list[dict[str, Any]]) -> dict[str, Any]:
    """The world map's countries, coloured by whose they are: the owners', the servers', or both."""
    classes: dict[str, str] = {}
    for d in destinations:
        for code, kind in ((d["owner_country"], "owner"), (d["server_country"], "server")):
            if code:
                classes[code] = "both" if classes.get(code, kind) != kind else kind
    view_box, paths = _world()
    return {"viewBox": view_box, "paths": paths, "classes": classes}


@lru_cache(maxsize=1)
def _world() -> tuple[str, list[tuple[str, str]]]:
    """The bundled world map, read and sorted once per process (a bulk report draws it per page)."""
    world = _read(load().directory, "world_map.json")
    return world["viewBox"], sorted(world["paths"].items())


def _findings(findings: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "rule": f.rule,
            "subject": f.subject,
            "title": f.title,
            "severity": str(f.severity),
            "evidence": [
                {
                    "where": e.file
                    + (f" {e.class_name}" + (f".{e.method}" if e.method else "") if e.class_name else ""),
                    "detail": e.detail,
                    "sdk": e.sdk,
                }
                for e in f.evidence
            ],
            "notes": indicator_notes(f.extra),
        }
        for f in findings
    ]


def render_fleet(policy: Any, devices: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    """The fleet page for the people who decide: counts by decision first, then by rule (with the
    rule's reason) and by maker, then every device with the rules behind its decision."""
    why = {r["id"]: r.get("why", "") for r in policy.rules}
    return str(
        environment()
        .get_template("fleet.html.j2")
        .render(
            policy=policy,
            devices=devices,
            summary=summary,
            rules=[(rule, n, why.get(rule, "")) for rule, n in summary["by_rule"].items()],
            more=summary["devices"] + summary["unreadable_rows"] - len(devices),
            techvet_version=__version__,
        )
    )


def render_diff(changes: dict[str, Any]) -> str:
    """The HTML page of ``techvet diff``: the verdict's move first, then what the update changed."""
    return str(environment().get_template("diff.html.j2").render(d=changes, techvet_version=__version__))


__all__ = ["app_context", "environment", "render", "render_diff", "render_fleet", "render_traffic"]
