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


def run_of(result: ScanResult) -> dict[str, Any]:
    kb = load()
    used = sorted({f.rule for f in result.findings})
    rules = []
    for rule_id in used:
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
                "properties": {"category": rule.category, "severity": str(rule.severity), "tags": [rule.category]},
            }
        )
    index = {r["id"]: i for i, r in enumerate(rules)}
    app_uri = Path(result.path).name
    results = []
    for f in result.findings:
        locations = []
        for e in f.evidence[:10]:
            location: dict[str, Any] = {
                "physicalLocation": {"artifactLocation": {"uri": f"{app_uri}!/{e.file}" if e.file else app_uri}},
                "message": {"text": e.detail[:1000]},
            }
            if e.class_name:
                name = f"{e.class_name}.{e.method}" if e.method else e.class_name
                location["logicalLocations"] = [
                    {"fullyQualifiedName": name, "kind": "function" if e.method else "type"}
                ]
            locations.append(location)
        if not locations:
            locations.append({"physicalLocation": {"artifactLocation": {"uri": app_uri}}})
        entry: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _LEVEL.get(f.severity, "note"),
            "message": {"text": f.title},
            "locations": locations,
            "properties": {"severity": str(f.severity), "confidence": f.confidence, "subject": f.subject},
        }
        if f.rule in index:
            entry["ruleIndex"] = index[f.rule]
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
        "artifacts": [{"location": {"uri": app_uri}, "hashes": {"sha-256": result.app.sha256}}] if result.app else [],
        "results": results,
    }
    if result.verdict is not None:
        run["properties"] = {
            "verdict": result.verdict["verdict"],
            "score": result.verdict["score"],
            "policy": result.verdict["policy"],
        }
    return run


def wrap(runs: list[str]) -> str:
    """The SARIF log around the runs rendered per app (JSON text, one per app)."""
    return json.dumps(
        {"$schema": SCHEMA, "version": "2.1.0", "runs": [json.loads(r) for r in runs]}, ensure_ascii=False, indent=1
    )


def render(result: ScanResult) -> str:
    return wrap([json.dumps(run_of(result), ensure_ascii=False)])


__all__ = ["render", "run_of", "wrap"]
