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
from techvet.policy_file import check_schema, mapping, policy_document, short, text, texts
from techvet.verdict import checked_values, listing, of_kind, policy_sections, read_policy, user_policy_text

DECISIONS = ("ground", "restrict", "review", "allow")  # strictest first
PARTS = ("flight_controller", "camera", "gimbal", "radio", "battery", "ground_station")
CONDITIONS = {  # condition -> the kind of value a policy gives it (checked when the policy is read)
    "maker_country_in": "countries",
    "parent_country_in": "countries",
    "dji_design": bool,
    "maker_on_lists": "lists",
    "component_country_in": "countries",
    "foreign_to": "countries",
    "blue_uas": bool,
    "model_known": bool,
    "app_on_lists": "lists",
    "app_finding_at_least": Severity,
    "app_verdict_in": "verdicts",
    "app_scan_failed": bool,
}
VERDICTS = ("pass", "warn", "fail")
_VALUE_SCHEMA = {bool: {"type": "boolean"}, Severity: text()}  # the other kinds are lists of names
POLICY_SCHEMA = policy_document(
    "fleet-policy",
    {
        "default": {"enum": list(DECISIONS)},
        "rules": {
            "type": ["array", "null"],
            "items": mapping(
                {
                    "id": text(),
                    "decision": {"enum": list(DECISIONS)},
                    "when": {
                        **mapping({c: _VALUE_SCHEMA.get(kind, texts()) for c, kind in CONDITIONS.items()}),  # type: ignore[call-overload]
                        "type": ["object", "null"],
                    },
                    "why": text(0),
                    "since": text(0),
                    "until": text(),
                    "lifts": texts(),
                },
                ("id", "decision"),
            ),
        },
    },
)
"""The shape of a fleet policy file: every section, rule key, condition and value type. Checked
before any rule is read, so a value of the wrong type is the file's one-line error, never a crash
while a fleet is vetted."""


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
        return cls._checked(doc, path or "fleet_policy.yaml", users=path is not None)

    @classmethod
    def from_text(cls, text: str, name: str) -> Policy:
        """A user's fleet policy from its YAML text (the service keeps policies as text), checked
        as ``load`` checks a file; ``name`` is what its errors call it."""
        return cls._checked(of_kind(user_policy_text(text, name), name, "fleet-policy"), name, users=True)

    @classmethod
    def _checked(cls, doc: dict[str, Any], name: str, users: bool) -> Policy:
        policy_sections(doc, name, ("default", "rules"))
        if users:  # the bundled default is checked by the test suite, not at every start
            check_schema(doc, POLICY_SCHEMA, f"policy {name}")
        rules = [_rule(rule, name) for rule in listing(doc.get("rules"), name, "rules")]
        if not rules:
            raise TechvetError(f"policy {name} has no rules: every aircraft would get its default unexamined")
        if all(r["decision"] == "allow" for r in rules):
            raise TechvetError(
                f"policy {name} has no rule that grounds, restricts or reviews: it would allow every aircraft"
            )
        if "default" not in doc:
            raise TechvetError(
                f"policy {name}: say what a device no rule applies to gets (default: allow or review ...)"
            )
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
        raise TechvetError(f"policy {name}: rule {short(rule)} is not a mapping (id, decision, when, why)")
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
            when[condition] = _condition_value(condition, value, name, f"rule {rule['id']}")
        except ValueError as exc:
            raise TechvetError(f"policy {name}: rule {rule['id']}: {condition}: {exc}") from None
    return {**rule, "when": when}


def _condition_value(condition: str, value: Any, name: str, where: str) -> Any:
    """A condition's value as the rules compare it; a value of the wrong kind, a misspelt list or a
    country that is no code is the policy's error here, not a rule that silently never holds."""
    kind = CONDITIONS[condition]
    if kind is Severity:
        return Severity.parse(str(value))
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {value!r}")
    if kind == "verdicts":
        wrong = [v for v in value if str(v).lower() not in VERDICTS]
        if wrong or not value:
            raise ValueError(f"expected verdicts ({', '.join(VERDICTS)}), got {value!r}")
        return [str(v).lower() for v in value]
    return checked_values(value, str(kind), name, f"{where}: {condition}")


__all__ = ["CONDITIONS", "DECISIONS", "PARTS", "Policy"]
