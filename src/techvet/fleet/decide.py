"""Deciding for one device of a fleet register: which rule applies, with what evidence, and why.

Each inventory row is matched to a catalogue model (techvet.fleet.models), its maker screened
against the restriction lists (exact comparable names, as in scans), its components' makers and
countries read, its companion app looked at (a ban order by package; a scan when an APK or a
folder of APKs is given), and the user's policy applied (fleet_policy.yaml by default: the US
federal rules). The decision is the strictest of the rules that hold, each given with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from techvet.countries import country_code
from techvet.errors import TechvetError
from techvet.findings import Severity
from techvet.fleet.models import ModelCatalogue, ModelMatch, names_someone
from techvet.fleet.policy import DECISIONS, Policy
from techvet.knowledge import Knowledge, load
from techvet.verdict import AppPolicy


@dataclass
class Device:
    line: int
    make: str = ""
    model: str = ""
    serial: str = ""
    firmware: str = ""
    unit: str = ""
    app: str = ""  # package id or APK path
    components: dict[str, dict[str, str]] = field(default_factory=dict)  # part -> maker, country
    raw: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Verdict:
    device: Device
    match: ModelMatch | None = None
    manufacturer: str | None = None
    brand: str | None = None
    parent: str | None = None
    country: str | None = None
    maker_lists: list[str] = field(default_factory=list)
    decision: str = "review"
    reasons: list[dict[str, str]] = field(default_factory=list)
    app_findings: list[dict[str, Any]] = field(default_factory=list)
    model_name: str | None = None  # the catalogue's name for what matched ("Skydio X10D", not its family)
    companion_apps: list[str] = field(default_factory=list)  # the row's app, else the model's known ones
    app_verdicts: list[dict[str, Any]] = field(default_factory=list)  # each scanned app under the app policy
    maker_from: str | None = None  # "row" or "model": what the maker was taken from

    def to_dict(self) -> dict[str, Any]:
        m = self.match
        return {
            "row": self.device.line,
            "input": self.device.raw,
            "error": self.device.error,
            "model": None
            if m is None or m.model is None
            else {"id": m.model["id"], "name": self.model_name, "matched": m.name, "score": m.score, "how": m.how},
            "model_candidate": None if m is None or m.model is not None else {"name": m.candidate, "score": m.score},
            "manufacturer": self.manufacturer,
            "brand": self.brand,
            "maker_from": self.maker_from,
            "parent": self.parent,
            "country": self.country,
            "maker_lists": self.maker_lists,
            "decision": self.decision,
            "reasons": self.reasons,
            "companion_apps": self.companion_apps,
            "app_findings": self.app_findings,
            "app_verdicts": self.app_verdicts,
        }


def vet(
    device: Device,
    policy: Policy,
    kb: Knowledge | None = None,
    app_results: Mapping[str, Any] | None = None,
    app_policy: AppPolicy | None = None,
    today: date | None = None,
    app_files: bool = True,
) -> Verdict:
    """Decide for one device. ``app_results``: package id -> ScanResult of apps scanned for this run
    (or anything with its ``package``, ``findings``, ``errors`` and ``judge``: the service's stored
    scans, which with ``app_files`` off are also found by the name their file was uploaded under);
    ``app_policy``: the policy companion apps are judged by (the app verdict's default if None), so
    a fleet rule can ask for the app's verdict, the same one ``techvet scan --policy`` gives.
    ``app_files``: whether an app cell naming a file is read (not for a register someone uploaded
    to the service: its cells could name any file on the server)."""
    kb = kb or load()
    verdict = Verdict(device)
    if device.error:
        return verdict
    catalogue: ModelCatalogue = kb.drone_catalogue
    match = catalogue.match(device.make, device.model)
    verdict.match = match
    if match.model is not None:
        verdict.model_name = catalogue.display.get(match.name or "", match.model["names"][0])
    model = match.model
    brand = model["brand"] if model else catalogue.maker(device.make)
    maker_entry = model or next((m for m in catalogue.models if m["brand"] == brand), None)
    if maker_entry is not None:
        verdict.brand = maker_entry["brand"]
        # a manufacturer the catalogue's source doubts ("? (SkyRover)") is not stated as known
        verdict.manufacturer = maker_entry["manufacturer"] if names_someone(maker_entry["manufacturer"]) else None
        verdict.parent = maker_entry["parent"]
        verdict.country = maker_entry["country"]
        # whose word the maker is: the row's (it names this brand) or the model's alone (the row
        # names no maker, or one the catalogue does not know: the reader is told which)
        verdict.maker_from = "row" if catalogue.maker(device.make) == verdict.brand else "model"
    facts = _facts(device, verdict, maker_entry, model, kb, app_results, app_policy, app_files)
    fired = []
    today = today or date.today()
    for rule in policy.rules:
        if rule.get("until") and date.fromisoformat(str(rule["until"])) <= today:
            continue  # an exception whose time is up no longer applies (what it lifted applies again)
        if all(_holds(name, value, facts) for name, value in rule.get("when", {}).items()):
            fired.append(rule)
            evidence = [_evidence(name, value, facts) for name, value in rule.get("when", {}).items()]
            verdict.reasons.append(
                {
                    "rule": rule["id"],
                    "decision": rule["decision"],
                    "why": rule.get("why", ""),
                    "since": str(rule.get("since", "")),
                    "evidence": "; ".join(e for e in evidence if e),
                    **({"until": str(rule["until"])} if rule.get("until") else {}),
                }
            )
    lifted_by = {rid: r["id"] for r in fired for rid in r.get("lifts", [])}
    for reason in verdict.reasons:
        if reason["rule"] in lifted_by:
            reason["lifted_by"] = lifted_by[reason["rule"]]
    # a rule may lift others it answers (Blue UAS lifts the foreign-made restriction, nothing else)
    lifted = {rid for r in fired for rid in r.get("lifts", [])}
    decisions = [r["decision"] for r in fired if r["id"] not in lifted]
    verdict.decision = min(decisions, key=DECISIONS.index) if decisions else policy.default
    if not fired:
        verdict.reasons.append(
            {"rule": "default", "decision": policy.default, "why": "no rule of the policy applies", "since": ""}
        )
    return verdict


def _facts(
    device: Device,
    verdict: Verdict,
    maker_entry: dict[str, Any] | None,
    model: dict[str, Any] | None,
    kb: Knowledge,
    app_results: Mapping[str, Any] | None,
    app_policy: AppPolicy | None,
    app_files: bool = True,
) -> dict[str, Any]:
    from techvet.detect.parties import _listed

    lists: set[str] = set()
    maker_hits: dict[str, str] = {}  # list -> "listed name (since date)"
    names = [n for n in (device.make, verdict.manufacturer, verdict.brand, verdict.parent) if n]
    for name in dict.fromkeys(names):
        for party in _listed(name, kb.name_words, kb):
            lists.add(party["list"])
            since = f", since {party['listed_on']}" if party.get("listed_on") else ""
            maker_hits.setdefault(party["list"], f"{party['name']}{since}")
    verdict.maker_lists = sorted(lists)
    blue = bool(model and "blue_uas" in model and _blue_name(model, verdict.match))
    components: dict[str, str] = {}  # country -> "camera: Hikvision (CN)"
    for part_name, part in device.components.items():
        # "China", "PRC", "中国" and "CN" are one country (techvet.countries)
        country = country_code(part.get("country"))
        source = "as given"
        if part.get("maker") and not country:
            country, source = _part_maker_country(part["maker"], kb)
        if country:
            components.setdefault(
                country, f"{part_name}: {part.get('maker') or 'maker not given'} ({country}, {source})"
            )
    app_lists: set[str] = set()
    failed_scans: list[str] = []  # companion apps given but not (wholly) examined
    worst: Severity | None = None
    app = device.app.strip()
    # no app in the row: the model's known companion apps stand in (their scans, if supplied with
    # --apps, and their ban-order status)
    candidates = [app] if app else list(model["apps"]) if model else []
    verdict.companion_apps = candidates
    for app in candidates:
        package = app
        result = None
        names_a_file = app.lower().endswith((".apk", ".xapk", ".apks", ".apkm"))
        if names_a_file and not app_files:
            # a register uploaded to the service names files on the server's disk: never read them;
            # the team's own upload of that name stands in (``app_results`` looks it up), if any
            result = app_results.get(app) if app_results is not None else None
            if result is None:
                note = f"{app}: not read (the service opens no file a register names; upload the app to it)"
                verdict.app_findings.append({"error": note})
                failed_scans.append(note)
            else:
                package = result.package or app
        elif names_a_file:
            from techvet.scan import scan

            try:
                result = scan(app, kb)
                package = (result.app.package if result.app else None) or app
            except TechvetError as exc:
                verdict.app_findings.append({"error": str(exc)})
                failed_scans.append(f"{app}: {exc}")
        elif app_results is not None and app in app_results:
            result = app_results[app]
        forms = kb.restriction_forms
        for n in forms.by_package.get(package, []):
            party = forms.party(n)
            app_lists.add(party["list"])
            verdict.app_findings.append(
                {"rule": "TV603", "title": f"{package} is named in {party.get('program')}", "severity": "high"}
            )
        if result is not None:
            failed_scans.extend(f"{package}: {err}" for err in result.errors)
            verdict.app_findings.extend({"error": err} for err in result.errors)
            for f in result.findings:
                verdict.app_findings.append({"rule": f.rule, "title": f.title, "severity": str(f.severity)})
                worst = f.severity if worst is None or f.severity > worst else worst
            app_policy = app_policy or AppPolicy.load()  # read only when an app is there to judge
            judged = result.judge(app_policy)
            verdict.app_verdicts.append(
                {
                    "app": package,
                    "verdict": judged["verdict"],
                    "score": judged["score"],
                    "policy": judged["policy"],
                    "decided_by": [d["line"] for d in judged["decided_by"]],
                }
            )
    return {
        "maker": verdict.manufacturer or verdict.brand or device.make,
        "maker_hits": maker_hits,
        "components": components,
        "blue_entry": model.get("blue_uas") if model else None,
        "model_name": verdict.model_name,
        "maker_country": verdict.country,
        "parent_country": maker_entry["parent_country"] if maker_entry else None,
        "dji_design": bool(maker_entry and maker_entry.get("dji_design")),
        "maker_lists": lists,
        "component_countries": set(components),
        "blue_uas": blue,
        "model_known": model is not None,
        "app_lists": app_lists,
        "app_worst": worst,
        "app_verdicts": verdict.app_verdicts,
        "app_scan_failed": failed_scans,
    }


def _part_maker_country(maker: str, kb: Knowledge) -> tuple[str | None, str]:
    """A component maker's country: the drone catalogue's, else a restriction list's for the same
    name (a Hikvision camera or a Huawei radio is a listed company's part), else unknown."""
    from techvet.detect.parties import _listed

    brand = kb.drone_catalogue.maker(maker)
    entry = next((m for m in kb.drone_catalogue.models if m["brand"] == brand), None)
    if entry is not None:
        return entry["country"], "maker's country in drones.json"
    for party in _listed(maker, kb.name_words, kb):
        if party.get("country"):
            return party["country"], f"the maker is {party['name']} on {party['list']}"
    return None, ""


def _blue_name(model: dict[str, Any], match: ModelMatch | None) -> bool:
    """A Blue UAS clearance names a model ("Skydio X2D"), not its whole family ("X2 / X2E / X2D")."""
    from techvet.fleet.models import normal

    if match is None or match.name is None:
        return False
    cleared = {normal(n) for n in model["blue_uas"]["names"]}
    brand = normal(model["brand"])
    return match.name in cleared or f"{brand} {match.name}" in cleared or match.how == "code"


def _evidence(name: str, value: Any, facts: dict[str, Any]) -> str:
    """What made a condition hold, in words a manager can check."""
    if name == "maker_country_in":
        return f"maker {facts['maker']} is in {facts['maker_country']} (drones.json)"
    if name == "parent_country_in":
        return f"parent company is in {facts['parent_country']} (drones.json)"
    if name == "dji_design":
        return f"{facts['model_name'] or 'the model'} is a licensed or look-alike DJI design (drones.json)"
    if name == "maker_on_lists":
        return ", ".join(f"on {lst}: {facts['maker_hits'][lst]}" for lst in value if lst in facts["maker_hits"])
    if name == "component_country_in":
        return ", ".join(facts["components"][c] for c in value if c.upper() in facts["components"])
    if name == "foreign_to":
        return f"made in {facts['maker_country']}"
    if name == "blue_uas":
        entry = facts["blue_entry"]
        if value and entry:
            return f"Blue UAS Cleared List: {entry['platform']} (added {entry['added']})"
        return "not on the Blue UAS Cleared List" if not value else ""
    if name == "model_known":
        return "no catalogue model matches" if not value else ""
    if name == "app_on_lists":
        return "companion app on " + ", ".join(sorted(facts["app_lists"] & set(value)))
    if name == "app_finding_at_least":
        return f"companion app scan: worst finding {facts['app_worst']}"
    if name == "app_scan_failed":
        return "; ".join(facts["app_scan_failed"][:3]) if value else ""
    if name == "app_verdict_in":
        return "; ".join(
            f"{v['app']}: {v['verdict']} (risk {v['score']}, policy {v['policy']}: {', '.join(v['decided_by'])})"
            for v in facts["app_verdicts"]
            if v["verdict"] in value
        )
    return ""


def _holds(name: str, value: Any, facts: dict[str, Any]) -> bool:
    if name == "maker_country_in":
        return facts["maker_country"] in value
    if name == "parent_country_in":
        return facts["parent_country"] in value
    if name == "dji_design":
        return facts["dji_design"] is bool(value)
    if name == "maker_on_lists":
        return bool(facts["maker_lists"] & set(value))
    if name == "component_country_in":
        return bool(facts["component_countries"] & {v.upper() for v in value})
    if name == "foreign_to":
        return facts["maker_country"] is not None and facts["maker_country"] not in value
    if name == "blue_uas":
        return facts["blue_uas"] is bool(value)
    if name == "model_known":
        return facts["model_known"] is bool(value)
    if name == "app_on_lists":
        return bool(facts["app_lists"] & set(value))
    if name == "app_finding_at_least":
        return facts["app_worst"] is not None and facts["app_worst"] >= value
    if name == "app_verdict_in":
        return any(v["verdict"] in value for v in facts["app_verdicts"])
    if name == "app_scan_failed":
        return bool(facts["app_scan_failed"]) is bool(value)
    raise TechvetError(f"unknown policy condition {name!r}")


__all__ = ["Device", "Verdict", "vet"]
