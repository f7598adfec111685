"""A fleet policy: the rules (conditions, decisions, reasons) a user's organisation flies by.

The default (fleet_policy.yaml) restates the US federal rules; a user passes their own with
``--policy FILE``. A policy is checked when it is read: unknown conditions and decisions, and values
of the wrong kind, are the policy's error, never a silently ignored rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from techvet.errors import TechvetError
from techvet.findings import Severity
from techvet.verdict import read_policy

DECISIONS = ("ground", "restrict", "review", "allow")  # strictest first
PARTS = ("flight_controller", "camera", "gimbal", "radio", "battery", "ground_station")
CONDITIONS = {  # condition -> the kind of value a policy gives it (checked when the policy is read)
    "maker_country_in": list,
    "parent_country_in": list,
    "dji_design": bool,
    "maker_on_lists": list,
    "component_country_in": list,
    "foreign_to": list,
    "blue_uas": bool,
    "model_known": bool,
    "app_on_lists": list,
    "app_finding_at_least": Severity,
    "app_verdict_in": list,
}


@dataclass(frozen=True)
class Policy:
    id: str
    title: str
    default: str
    rules: tuple[dict[str, Any], ...]
    source: str

    @classmethod
    def load(cls, path: str | None = None) -> Policy:
        """The default policy, or the user's file (checked: unknown conditions and decisions are
        errors, not silently ignored rules)."""
        doc = read_policy(path, "fleet_policy.yaml")
        name = path or "fleet_policy.yaml"
        rules = []
        for rule in doc.get("rules", []):
            unknown = set(rule.get("when", {})) - set(CONDITIONS)
            if unknown or rule.get("decision") not in DECISIONS or "id" not in rule:
                what = f"unknown condition {sorted(unknown)}" if unknown else "needs an id and a decision"
                raise TechvetError(f"policy {name}: rule {rule.get('id', '?')}: {what}")
            when = {}
            for condition, value in rule.get("when", {}).items():
                try:
                    when[condition] = _condition_value(condition, value)
                except ValueError as exc:
                    raise TechvetError(f"policy {name}: rule {rule['id']}: {condition}: {exc}") from None
            rules.append({**rule, "when": when})
        if doc.get("default", "allow") not in DECISIONS:
            raise TechvetError(f"policy {name}: default must be one of {', '.join(DECISIONS)}")
        return cls(
            str(doc.get("id", "policy")),
            str(doc.get("title", "")),
            doc.get("default", "allow"),
            tuple(rules),
            doc["source"],
        )


def _condition_value(condition: str, value: Any) -> Any:
    """A condition's value as the rules compare it; a value of the wrong kind is the policy's error
    here, not a failure in the middle of an inventory."""
    kind = CONDITIONS[condition]
    if kind is Severity:
        return Severity.parse(str(value))
    if not isinstance(value, kind):
        raise ValueError(f"expected {'a list' if kind is list else 'true or false'}, got {value!r}")
    return value


__all__ = ["CONDITIONS", "DECISIONS", "PARTS", "Policy"]
