"""Judging a stored result: the active policy with the team's acceptances, screening again from
stored facts, and the one-line story of a changed verdict.

A stored app scan is its JSON result (``ScanResult.to_dict``). Everything a verdict depends on is in
it: the findings, the package and certificates, what could not be examined, and the facts screening
needs (:class:`~techvet.detect.parties.PartyFacts`). So when the lists change, the screening
findings (TV601-TV606) are dropped and made again against the new lists, and the verdict is made
again, in milliseconds per app, without the uploaded file.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from techvet.detect.parties import SCREENING_RULES, PartyFacts, detect_facts
from techvet.findings import Finding
from techvet.fleet.policy import Policy as FleetPolicy
from techvet.knowledge import Knowledge
from techvet.store import events
from techvet.store.models import Acceptance, Policy
from techvet.verdict import AppPolicy

APP_POLICY = "app-policy"
FLEET_POLICY = "fleet-policy"
POLICY_KINDS = {"app": APP_POLICY, "fleet": FLEET_POLICY}  # the API's name -> the file's kind


def _active_text(session: Session, kind: str) -> tuple[str | None, int | None]:
    row = session.scalar(select(Policy).where(Policy.kind == kind, Policy.active.is_(True)))
    return (row.text, row.version) if row is not None else (None, None)


def active_policy(session: Session) -> tuple[AppPolicy, int | None]:
    """The active app policy and its version (None: the bundled default)."""
    text, version = _active_text(session, APP_POLICY)
    return (AppPolicy.load() if text is None else AppPolicy.from_text(text, "(uploaded)")), version


def active_fleet_policy(session: Session) -> tuple[FleetPolicy, int | None]:
    """The active fleet policy and its version (None: the bundled default)."""
    text, version = _active_text(session, FLEET_POLICY)
    return (FleetPolicy.load() if text is None else FleetPolicy.from_text(text, "(uploaded)")), version


def policy_from_text(text: str, kind: str = APP_POLICY) -> AppPolicy | FleetPolicy:
    """A policy of ``kind`` from its YAML text, checked as ``--policy FILE`` is (one line when
    wrong, and a policy of the other kind is refused by name)."""
    if kind == FLEET_POLICY:
        return FleetPolicy.from_text(text, "(uploaded)")
    return AppPolicy.from_text(text, "(uploaded)")


def acceptances(session: Session, packages: set[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The team's acceptances as policy accept entries, by package."""
    query = select(Acceptance)
    if packages is not None:
        query = query.where(Acceptance.package.in_(packages))
    out: dict[str, list[dict[str, Any]]] = {}
    for row in session.scalars(query):
        entry: dict[str, Any] = {
            "rules": [row.rule],
            "packages": [row.package],
            "reason": f"{row.reason} (accepted by {row.by})",
        }
        if row.subject:
            entry["subjects"] = [row.subject]
        if row.until:
            entry["expires"] = row.until.isoformat()
        out.setdefault(row.package, []).append(entry)
    return out


def with_acceptances(policy: AppPolicy, accepts: list[dict[str, Any]]) -> AppPolicy:
    return dataclasses.replace(policy, accept=(*policy.accept, *accepts)) if accepts else policy


def findings_of(doc: dict[str, Any]) -> list[Finding]:
    return [Finding.from_dict(f) for f in doc.get("findings") or []]


def rescreen(doc: dict[str, Any], kb: Knowledge) -> tuple[dict[str, Any], list[Finding]]:
    """``doc`` with its screening findings made again against ``kb``'s lists, and its findings as
    objects. The findings kept keep their stored JSON as it is (serialising them again is most of
    the cost of re-judging); only the new screening findings are serialised."""
    kept: list[tuple[Finding, dict[str, Any]]] = []
    for stored in doc.get("findings") or []:
        f = Finding.from_dict(stored)
        if f.rule not in SCREENING_RULES:
            kept.append((f, stored))
    fresh = detect_facts(PartyFacts.of_result(doc), [f for f, _ in kept], kb)
    pairs = [*kept, *((f, f.to_dict()) for f in fresh)]
    pairs.sort(key=lambda pair: (-pair[0].severity, pair[0].rule, pair[0].subject or ""))
    return {**doc, "findings": [d for _, d in pairs]}, [f for f, _ in pairs]


def judge(doc: dict[str, Any], policy: AppPolicy, findings: list[Finding] | None = None) -> dict[str, Any]:
    """The verdict on a stored app result under ``policy``: the same function a fresh scan uses."""
    from techvet.scan import verdict_of

    package = (doc.get("app") or {}).get("package")
    certificates = [str(c.get("sha256")) for c in doc.get("certificates") or [] if isinstance(c, dict)]
    errors = [str(e) for e in doc.get("errors") or []]
    bare_dex = doc.get("manifest") is None
    found = findings if findings is not None else findings_of(doc)
    return verdict_of(found, package, certificates, errors, bare_dex, policy)


def lists_snapshot(kb: Knowledge) -> dict[str, Any]:
    """The list snapshot and list dates a result was judged under."""
    lists = {k: v.get("as_of") for k, v in kb.restriction_forms.lists.items()}
    return {"lists_folder": str(kb.lists_folder), "lists": lists}


def snapshot(kb: Knowledge) -> dict[str, Any]:
    """What a result made now from its file was made under: the lists, and the identity of the
    knowledge (:func:`techvet.knowledge.identity`). A re-judging from stored facts changes the
    first, never the second: only scanning the app again does."""
    from techvet.knowledge import identity

    return {**lists_snapshot(kb), "knowledge": identity(str(kb.directory))}


def why_changed(old: dict[str, Any] | None, new: dict[str, Any], doc: dict[str, Any]) -> str:
    """ "pass -> fail: Tencent Holdings Ltd. on us-dod-1260h since 2025-01-07 (APP-LISTED-VENDOR)":
    what decides the new verdict that did not decide the old one."""
    before = (old or {}).get("verdict") or "none"
    after = new.get("verdict")
    old_lines = {d["line"] for d in (old or {}).get("decided_by") or []}
    reasons = []
    for line in new.get("decided_by") or []:
        if line["line"] in old_lines:
            continue
        for hit in line.get("findings") or []:
            reasons.append(_describe(hit, doc) + f" ({line['line']})")
            break
        else:
            reasons.append(f"{line.get('why') or line['line']} ({line['line']})")
    if not reasons and old:
        gone = [
            d["line"]
            for d in old.get("decided_by") or []
            if d["line"] not in {x["line"] for x in new.get("decided_by") or []}
        ]
        reasons = [f"no longer decided by {', '.join(gone)}"] if gone else ["accepted findings changed"]
    accepted = new.get("accepted") or []
    tail = f"; {len(accepted)} finding(s) accepted" if accepted else ""
    return f"{before} -> {after}: {'; '.join(reasons) or 'no line decides'}{tail}"


def _describe(hit: dict[str, Any], doc: dict[str, Any]) -> str:
    """A finding in plain words; for a list match, the party, the list and since when."""
    for f in doc.get("findings") or []:
        if f.get("rule") == hit.get("rule") and f.get("subject") == hit.get("subject"):
            extra = f.get("extra") or f
            entries = extra.get("entries") or []
            if extra.get("list") and entries:
                since = entries[0].get("listed_on") or extra.get("list_as_of")
                return f"{entries[0].get('name')} on {extra['list']}" + (f" since {since}" if since else "")
            break
    return str(hit.get("title") or hit.get("rule"))


def activate_policy(session: Session, text: str, by: str, kind: str = APP_POLICY) -> int:
    """Keep ``text`` as the next version of the ``kind`` policy and make it the active one; its
    version. The text is checked whole first (:func:`policy_from_text` raises one line): a policy
    that would not load never becomes active."""
    policy_from_text(text, kind)
    last = session.scalar(select(func.max(Policy.version)).where(Policy.kind == kind)) or 0
    for row in session.scalars(select(Policy).where(Policy.kind == kind, Policy.active.is_(True))):
        row.active = False
    session.add(Policy(kind=kind, version=last + 1, text=text, active=True, created_by=by))
    events.record(session, by, "policy", f"{kind.removesuffix('-policy')} policy version {last + 1} made active")
    return int(last + 1)
