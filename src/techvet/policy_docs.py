"""The default policies' lines as rules a user can look up: ``techvet rules`` lists them after the
finding rules, and ``techvet explain APP-SIDELOAD`` (or ``FLEET-ASDA``) says what the line decides,
about which findings or facts, and why. Read from the policy files themselves, so the explanation
is never out of step with what decides."""

from __future__ import annotations

from typing import Any

from techvet.verdict import read_policy


def policy_lines() -> list[dict[str, Any]]:
    """Every line of the default app policy and fleet policy, with its policy's id and source."""
    lines: list[dict[str, Any]] = []
    app = read_policy(None, "app_policy.yaml", "app-policy")
    for effect, section in (("fail", "block"), ("warn", "warn")):
        for line in app.get(section) or []:
            lines.append({**line, "effect": effect, "policy": app, "file": "app_policy.yaml"})
    fleet = read_policy(None, "fleet_policy.yaml", "fleet-policy")
    for rule in fleet.get("rules") or []:
        lines.append({**rule, "effect": rule["decision"], "policy": fleet, "file": "fleet_policy.yaml"})
    return lines


def explain_line(line_id: str) -> list[str] | None:
    """The explanation of one policy line, or None when no default policy has it."""
    wanted = line_id.strip().upper()
    line = next((x for x in policy_lines() if str(x["id"]).upper() == wanted), None)
    if line is None:
        return None
    policy = line["policy"]
    out = [f"{line['id']}: {line['why']}", f"effect: {line['effect']}   policy: {policy.get('id')} ({line['file']})"]
    if line.get("rules"):
        out.append(f"\nFindings it is about\n  {', '.join(line['rules'])} (techvet explain RULE: what each is)")
    conditions = {
        k: v
        for k, v in line.items()
        if k not in ("id", "why", "rules", "effect", "policy", "file", "when", "decision", "since", "lifts", "until")
    }
    conditions.update(line.get("when") or {})
    if conditions:
        out.append("\nWhen")
        out += [f"  {k}: {_shown(v)}" for k, v in conditions.items()]
    if line.get("lifts"):
        out.append(f"\nSets aside\n  {', '.join(line['lifts'])}")
    if line.get("since") or line.get("until"):
        since = f" since {line['since']}" if line.get("since") else ""
        until = f" until {line['until']} (it no longer applies from that day)" if line.get("until") else ""
        out.append(f"\nIn force{since}{until}")
    out.append(f"\nPolicy source: {policy.get('source')} (as of {policy.get('as_of')}); yours may differ (--policy)")
    return out


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return ", ".join(_shown(v) for v in value) if isinstance(value, list) else str(value)


__all__ = ["explain_line", "policy_lines"]
