"""A fleet policy: the rules (conditions, decisions, reasons) a user's organisation flies by.

The default (fleet_policy.yaml) restates the US federal rules; a user passes their own with
``--policy FILE``. A policy is checked when it is read: unknown conditions and decisions, and values
of the wrong kind, are the policy's error, never a silently ignored rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from techvet.errors import TechvetError
from techvet.findings import Severity
from techvet.verdict import listing, policy_sections, read_policy

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
        """The default policy, or the user's file, checked whole: its kind, its sections, every
        rule's id, decision, conditions and the values they take, and that it has rules at all (a
        policy without any would leave every aircraft to its default)."""
        doc = read_policy(path, "fleet_policy.yaml", "fleet-policy")
        name = path or "fleet_policy.yaml"
        policy_sections(doc, name, ("default", "rules"))
        rules = [_rule(rule, name) for rule in listing(doc.get("rules"), name, "rules")]
        if not rules:
            raise TechvetError(f"policy {name} has no rules: every aircraft would get its default unexamined")
        ids = {r["id"] for r in rules}
        for rule in rules:
            missing = [x for x in rule.get("lifts", []) if x not in ids]
            if missing:
                raise TechvetError(f"policy {name}: rule {rule['id']} lifts {missing}, which the policy does not have")
        if doc.get("default", "allow") not in DECISIONS:
            raise TechvetError(f"policy {name}: default must be one of {', '.join(DECISIONS)}")
        return cls(
            str(doc.get("id", "policy")),
            str(doc.get("title", "")),
            doc.get("default", "allow"),
            tuple(rules),
            doc["source"],
        )


def _rule(rule: Any, name: str) -> dict[str, Any]:
    """One rule, checked: an id, a known decision, known conditions with values of their kind."""
    if not isinstance(rule, dict):
        raise TechvetError(f"policy {name}: rule {rule!r} is not a mapping (id, decision, when, why)")
    conditions = rule.get("when") or {}
    if not isinstance(conditions, dict):
        raise TechvetError(f"policy {name}: rule {rule.get('id', '?')}: when must be a mapping of conditions")
    unknown = set(conditions) - set(CONDITIONS)
    if unknown or rule.get("decision") not in DECISIONS or "id" not in rule:
        what = f"unknown condition {sorted(map(str, unknown))}" if unknown else "needs an id and a decision"
        raise TechvetError(f"policy {name}: rule {rule.get('id', '?')}: {what}")
    if not isinstance(rule.get("lifts", []), list):
        raise TechvetError(f"policy {name}: rule {rule['id']}: lifts must be a list of rule ids")
    if rule.get("until") is not None:
        try:
            date.fromisoformat(str(rule["until"]))
        except ValueError:
            raise TechvetError(f"policy {name}: rule {rule['id']}: until {rule['until']!r} is not a date") from None
    when = {}
    for condition, value in conditions.items():
        try:
            when[condition] = _condition_value(condition, value)
        except ValueError as exc:
            raise TechvetError(f"policy {name}: rule {rule['id']}: {condition}: {exc}") from None
    return {**rule, "when": when}


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
