"""Captures, supplier files and fleet registers as stored items: the library call that judges each,
and what its stored result and verdict are.

Apps are judged again from their stored facts (:mod:`techvet.store.judging`); these three are judged
again from their stored file, which is cheap (a register or a supplier file is kilobytes, and a
capture's analysis is a fraction of a second per megabyte), so the decisions the team recorded
(match confirmations and dismissals, the active policy) apply to exactly what a new upload would get.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from techvet.findings import Finding
from techvet.store.judging import acceptances, active_fleet_policy, active_policy, findings_of, judge, with_acceptances
from techvet.store.models import Item, Job, MatchDecision
from techvet.verdict import AppPolicy

MAX_ROWS_KEPT = 5000  # rows with a possible match kept per supplier file; the count is always whole


def name_key(name: str) -> str:
    return " ".join(name.casefold().split())[:300]


def judge_file(session: Session, kind: str, path: Path) -> tuple[dict[str, Any], str, int | None]:
    """(result, verdict, version of the policy it was judged by) of a capture, supplier file or
    fleet register under the team's decisions."""
    if kind == "capture":
        return _capture(session, path)
    if kind == "suppliers":
        return (*_suppliers(session, path), None)
    if kind == "fleet":
        return _fleet(session, path)
    raise ValueError(f"no stored kind {kind!r}")


def _capture(session: Session, path: Path) -> tuple[dict[str, Any], str, int | None]:
    from techvet.api import traffic

    policy, version = active_policy(session)
    doc = traffic(path, policy=policy).to_dict()
    return doc, str((doc.get("verdict") or {}).get("verdict")), version


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


def _fleet(session: Session, path: Path) -> tuple[dict[str, Any], str, int | None]:
    """Every aircraft decided under the active fleet policy; a companion app the team uploaded (by
    package, or by the name its file was uploaded under) judged as the service judges it. Its app
    cells are never opened as files: they may name any file on this server."""
    from techvet.fleet.register import fleet

    policy, version = active_fleet_policy(session)
    app_policy, _ = active_policy(session)
    report = fleet(str(path), policy=policy, app_policy=app_policy, app_files=False, app_results=StoredApps(session))
    doc = report.to_dict()
    decided = (doc.get("summary") or {}).get("by_decision") or {}
    if decided.get("ground"):
        return doc, "fail", version
    return doc, "warn" if decided.get("restrict") or decided.get("review") else "pass", version


class StoredApp:
    """A stored app scan as a fleet decision reads a companion app: its package, findings and
    errors, and its verdict under a policy with the team's acceptances for its package."""

    def __init__(self, item: Item, accepts: list[dict[str, Any]]) -> None:
        self.doc = item.result
        self.package: str | None = item.package
        self.findings: list[Finding] = findings_of(self.doc)
        self.errors = [str(e) for e in self.doc.get("errors") or []]
        self._accepts = accepts

    def judge(self, policy: AppPolicy | None = None) -> dict[str, Any]:
        return judge(self.doc, with_acceptances(policy or AppPolicy.load(), self._accepts))


class StoredApps(Mapping[str, StoredApp]):
    """The team's stored apps, newest scan first, by package or by the base name of the file they
    were uploaded under (a register's "DJI GO 4.apk" or "C:\\apps\\DJI GO 4.apk"). Looked up one
    name at a time: a register names a few apps among thousands stored."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._found: dict[str, StoredApp | None] = {}

    def _find(self, name: str) -> StoredApp | None:
        if name not in self._found:
            newest = select(Item).where(Item.kind == "app").order_by(Item.id.desc()).limit(1)
            item = self.session.scalar(newest.where(Item.package == name[:300]))
            base = base_name(name)
            if item is None and base.lower().endswith((".apk", ".xapk", ".apks", ".apkm")):
                uploaded = select(Job.item_id).where(Job.kind == "app", Job.state == "done", Job.filename == base[:300])
                item = self.session.scalar(newest.where(Item.id.in_(uploaded)))
            accepts = acceptances(self.session, {item.package}) if item is not None and item.package else {}
            self._found[name] = StoredApp(item, accepts.get(item.package or "", [])) if item is not None else None
        return self._found[name]

    def __getitem__(self, name: str) -> StoredApp:
        found = self._find(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def __iter__(self) -> Iterator[str]:
        query = select(Item.package).where(Item.kind == "app", Item.package.is_not(None)).distinct()
        return iter([p for p in self.session.scalars(query) if p])

    def __len__(self) -> int:
        return sum(1 for _ in self)


def names_of(result: dict[str, Any]) -> set[str]:
    """The companion apps a stored register's aircraft name (packages or file names): the register
    is judged again when one of them is uploaded or its verdict changes."""
    return {str(a) for d in result.get("devices") or [] if isinstance(d, dict) for a in d.get("companion_apps") or []}


def base_name(name: str) -> str:
    """A file name as a register cell or an upload gives it, without its folders (either slash)."""
    return re.split(r"[\\/]", name)[-1]
