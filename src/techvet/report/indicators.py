"""What a known-surveillance-tool finding (TV607) adds to its evidence in every report: each
indicator that matched, the family as its source describes it, the source with its licence and
date, and the reports that document it, so a reader can check the match where it comes from."""

from __future__ import annotations

from typing import Any

from techvet.iocs import KIND_NAMES

_ROLES = {"c2": "command server", "distribution": "download site", "website": "sales site"}


def indicator_notes(extra: dict[str, Any]) -> list[str]:
    """Lines for a finding's ``extra`` (empty for a finding that is not about a known tool)."""
    family = extra.get("family")
    if not isinstance(family, dict):
        return []
    indicators = [i for i in extra.get("indicators") or [] if isinstance(i, dict)]
    lines = []
    for i in indicators:
        role = f", its {_ROLES[i['role']]}" if i.get("role") in _ROLES else ""
        seen = f" (seen as {i['seen']})" if i.get("seen") not in (None, i.get("indicator")) else ""
        kind = KIND_NAMES.get(str(i.get("kind")), str(i.get("kind")))
        lines.append(f"indicator {i.get('id') or '-'}: {kind} {i.get('indicator')}{seen}{role}")
    more = int(extra.get("matched") or 0) - len(indicators)
    if more > 0:
        lines.append(f"and {more} more indicators (the JSON report lists the first {len(indicators)})")
    if family.get("about"):
        lines.append(f"{family.get('name')}: {family['about']}")
    lines.append(f"from {family.get('source')} ({family.get('licence')}), dated {family.get('date') or 'undated'}")
    lines += [f"report: {url}" for url in (family.get("reports") or [])[:3]]
    return lines


__all__ = ["indicator_notes"]
