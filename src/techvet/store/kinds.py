"""Captures, supplier files and fleet registers as stored items: the library call that judges each,
and what its stored result and verdict are.

Apps are judged again from their stored facts (:mod:`techvet.store.judging`); these three are judged
again from their stored file, which is cheap (a register or a supplier file is kilobytes, and a
capture's analysis is a fraction of a second per megabyte), so the decisions the team recorded
(match confirmations and dismissals, the active policy) apply to exactly what a new upload would get.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from techvet.store.judging import active_policy
from techvet.store.models import MatchDecision

MAX_ROWS_KEPT = 5000  # rows with a possible match kept per supplier file; the count is always whole


def name_key(name: str) -> str:
    return " ".join(name.casefold().split())[:300]


def judge_file(session: Session, kind: str, path: Path) -> tuple[dict[str, Any], str]:
    """(result, verdict) of a capture, supplier file or fleet register under the team's decisions."""
    if kind == "capture":
        return _capture(session, path)
    if kind == "suppliers":
        return _suppliers(session, path)
    if kind == "fleet":
        return _fleet(path)
    raise ValueError(f"no stored kind {kind!r}")


def _capture(session: Session, path: Path) -> tuple[dict[str, Any], str]:
    from techvet.api import traffic

    policy, _ = active_policy(session)
    doc = traffic(path, policy=policy).to_dict()
    return doc, str((doc.get("verdict") or {}).get("verdict"))


def _suppliers(session: Session, path: Path) -> tuple[dict[str, Any], str]:
    """Every row screened; a possible match an analyst dismissed no longer counts, one confirmed
    says so. The verdict: ``match`` when a confirmed or undecided match remains, else ``clear``."""
    from techvet.api import screen

    decisions = {(d.name_key, d.party_id): d for d in session.scalars(select(MatchDecision))}
    rows = 0
    kept: list[dict[str, Any]] = []
    open_matches = 0
    for screened in screen(path):
        rows += 1
        if not screened.matches:
            continue
        doc = screened.to_dict()
        key = name_key(str((doc.get("input") or {}).get("name") or ""))
        for match in doc.get("matches") or []:
            decided = decisions.get((key, str(match.get("party_id"))))
            if decided is not None:
                match["decision"] = {"decision": decided.decision, "reason": decided.reason, "by": decided.by}
            if decided is None or decided.decision == "confirmed":
                open_matches += 1
        if len(kept) < MAX_ROWS_KEPT:
            kept.append(doc)
    result = {"rows": rows, "rows_with_matches": len(kept), "open_matches": open_matches, "matches": kept}
    return result, "match" if open_matches else "clear"


def _fleet(path: Path) -> tuple[dict[str, Any], str]:
    from techvet.fleet.register import fleet

    doc = fleet(str(path), app_files=False).to_dict()  # its app cells may name any file on this server
    decided = (doc.get("summary") or {}).get("by_decision") or {}
    if decided.get("ground"):
        return doc, "fail"
    verdict = "warn" if decided.get("restrict") or decided.get("review") else "pass"
    return doc, verdict
