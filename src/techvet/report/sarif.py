"""SARIF 2.1.0 for code-scanning tools (GitHub code scanning, CI dashboards).

One run per app: the rules that fired, with the help text of ``techvet explain``; one result per
finding, with the locations its evidence points at: the file inside the app (``app.apk!/classes.dex``),
and the class and method as logical locations. Severities map to SARIF levels: critical and high
are errors, medium warnings, low and info notes. The verdict and risk score ride in the run's
properties.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from techvet import __version__
from techvet.findings import Severity
from techvet.knowledge import load
from techvet.scan import ScanResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning"}
# GitHub's bands: critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}


def run_of(result: ScanResult) -> dict[str, Any]:
    app_uri = Path(result.path).name
    findings = [f.to_dict() for f in result.findings]
    verdict = result.verdict
    return _run(findings, app_uri, result.app.sha256 if result.app else None, verdict)


def diff_run(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """One run over the new version's findings, each with SARIF's ``baselineState`` against the old
    version (``new`` or ``unchanged``), plus the old version's findings that are gone (``absent``):
    the form code-scanning tools use to show what a change introduced."""
    key = lambda f: (f["rule"], f.get("subject") or "")  # noqa: E731
    old_keys = {key(f) for f in old["findings"]}
    new_keys = {key(f) for f in new["findings"]}
    findings = [{**f, "baseline": "unchanged" if key(f) in old_keys else "new"} for f in new["findings"]]
    findings += [{**f, "baseline": "absent"} for f in old["findings"] if key(f) not in new_keys]
    app = new.get("app") or {}
    return _run(findings, Path(str(new.get("path") or "app")).name, app.get("sha256"), new.get("verdict"))


def traffic_run(result: Any) -> dict[str, Any]:
    """One run per capture (techvet.traffic.TrafficResult): the evidence names the flow, and the
    location is the capture file itself."""
    import hashlib

    try:
        with open(result.path, "rb") as handle:
            sha256: str | None = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        sha256 = None
    findings = [f.to_dict() for f in result.findings]
    return _run(findings, Path(result.path).name, sha256, result.verdict, inside=False)


def _run(
    findings: list[dict[str, Any]], app_uri: str, sha256: str | None, verdict: Any, inside: bool = True
) -> dict[str, Any]:
    """A SARIF run from findings in their JSON form (``Finding.to_dict``). ``inside``: evidence
    files are entries inside the artifact (an app's ``classes.dex``), else the artifact itself."""
    kb = load()
    rules = []
    for rule_id in sorted({f["rule"] for f in findings}):
        rule = kb.rules.get(rule_id)
        if rule is None:
            continue
        rules.append(
            {
                "id": rule.id,
                "name": rule.name,
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.what},
                "help": {
                    "text": f"{rule.what}\n\nWhy it matters: {rule.why}",
                    "markdown": f"**{rule.title}**\n\n{rule.what}\n\n*Why it matters:* {rule.why}",
                },
                "properties": {
                    "category": rule.category,
                    "severity": str(rule.severity),
                    "tags": ["security", rule.category],
                    # GitHub code scanning ranks security alerts by this 0-10 score
                    "security-severity": _SECURITY_SEVERITY[rule.severity],
                },
            }
        )
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in findings:
        locations = []
        for e in f["evidence"][:10]:
            where = e.get("file")
            location: dict[str, Any] = {
                "physicalLocation": {
                    "artifactLocation": {"uri": f"{app_uri}!/{where}" if where and inside else app_uri}
                },
                "message": {"text": str(e.get("detail", ""))[:1000]},
            }
            if e.get("class_name"):
                name = f"{e['class_name']}.{e['method']}" if e.get("method") else e["class_name"]
                location["logicalLocations"] = [
                    {"fullyQualifiedName": name, "kind": "function" if e.get("method") else "type"}
                ]
            locations.append(location)
        if not locations:
            locations.append({"physicalLocation": {"artifactLocation": {"uri": app_uri}}})
        entry: dict[str, Any] = {
            "ruleId": f["rule"],
            "level": _LEVEL.get(Severity.parse(f["severity"]), "note"),
            "message": {"text": f["title"]},
            "locations": locations,
            "properties": {"severity": f["severity"], "confidence": f["confidence"], "subject": f.get("subject")},
        }
        family = (f.get("extra") or {}).get("family")
        if isinstance(family, dict):  # a known surveillance tool: which, by which indicators, after which reports
            entry["properties"].update(
                family=family.get("name"),
                reports=family.get("reports"),
                indicators=(f.get("extra") or {}).get("indicators"),
            )
        if "baseline" in f:
            entry["baselineState"] = f["baseline"]
        if f["rule"] in index:
            entry["ruleIndex"] = index[f["rule"]]
        results.append(entry)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "techvet",
                "version": __version__,
                "informationUri": "https://github.com/techvet/techvet",
                "rules": rules,
            }
        },
        "artifacts": [{"location": {"uri": app_uri}, "hashes": {"sha-256": sha256}}] if sha256 else [],
        "results": results,
    }
    if verdict is not None:
        run["properties"] = {"verdict": verdict["verdict"], "score": verdict["score"], "policy": verdict["policy"]}
    return run


def wrap(runs: list[str]) -> str:
    """The SARIF log around the runs rendered per app (JSON text, one per app)."""
    return json.dumps(
        {"$schema": SCHEMA, "version": "2.1.0", "runs": [json.loads(r) for r in runs]}, ensure_ascii=False, indent=1
    )


def render(result: ScanResult) -> str:
    return wrap([json.dumps(run_of(result), ensure_ascii=False)])


__all__ = ["diff_run", "render", "run_of", "traffic_run", "wrap"]
