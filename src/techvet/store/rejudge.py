"""Judging every stored app again after the lists, the knowledge or the active policy changed.

From stored facts only (:mod:`techvet.store.judging`): 10,000 apps are judged again in seconds,
where scanning them again would take an hour. Each changed verdict is an audit event, owed to the
webhooks; an unchanged one only gets its new snapshot and date.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from techvet.errors import TechvetError
from techvet.knowledge import Knowledge
from techvet.store import events
from techvet.store.items import index_findings, judged_now
from techvet.store.judging import (
    acceptances,
    active_policy,
    judge,
    lists_snapshot,
    rescreen,
    snapshot,
    why_changed,
    with_acceptances,
)
from techvet.store.models import Acceptance, Item, Job, MatchDecision

BATCH = 500
FILE_KINDS = ("capture", "suppliers", "fleet")


@dataclass
class Rejudged:
    judged: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)  # {item, old, new, message}


def rejudge_apps(
    sessions: Callable[[], AbstractContextManager[Session]],
    kb: Knowledge,
    cause: str,
    actor: str = "techvet",
    rescreened: bool = True,
) -> Rejudged:
    """Every stored app judged again under the active policy and the team's acceptances; with
    ``rescreened``, its parties screened again against ``kb``'s lists first.

    One transaction per batch of BATCH apps (``sessions`` gives each): a run over 10,000 apps must
    not hold SQLite's write lock for its whole length, or uploads and workers would time out
    waiting; the policy and acceptances are read again per batch, so one recorded meanwhile counts."""
    taken = lists_snapshot(kb)
    out = Rejudged()
    last = 0
    while True:
        with sessions() as session:
            batch = list(
                session.scalars(select(Item).where(Item.kind == "app", Item.id > last).order_by(Item.id).limit(BATCH))
            )
            if not batch:
                break
            policy, version = active_policy(session)
            accepted = acceptances(session, {item.package for item in batch if item.package})
            for item in batch:
                last = item.id
                out.judged += 1
                change = judge_item(
                    session, item, kb if rescreened else None, policy, version, accepted, taken, cause, actor
                )
                if change:
                    out.changed.append(change)
    return out


def judge_item(
    session: Session,
    item: Item,
    kb: Knowledge | None,
    policy: Any,
    version: int | None,
    accepted: dict[str, list[dict[str, Any]]],
    taken: dict[str, Any] | None,
    cause: str,
    actor: str,
) -> dict[str, Any] | None:
    """Judge one stored app again; the change, recorded as an event, or None when its verdict holds."""
    doc, findings = rescreen(item.result, kb) if kb is not None else (dict(item.result), None)
    old = doc.get("verdict")
    new = judge(doc, with_acceptances(policy, accepted.get(item.package or "", [])), findings)
    doc["verdict"] = new
    if doc.get("findings") != item.result.get("findings") or new != old:
        if _finding_keys(doc) != _finding_keys(item.result):
            index_findings(item, doc)
        item.result = doc  # written only when something in it changed: most re-judgings change nothing
    item.score = new["score"]
    item.policy_version = version
    if taken is not None:  # the lists are new; the knowledge the app was scanned with is not
        item.snapshot = {**taken, "knowledge": (item.snapshot or {}).get("knowledge")}
    judged_now(item)
    if old and old.get("verdict") == new["verdict"]:
        held = _newly_accepted(old, new)
        if held:  # a finding that would have changed the verdict is accepted: say so, once
            message = f"{new['verdict']} holds: {held}"
            events.record(
                session, actor, "held", f"{item.title}: {message}", item.id, old["verdict"], new["verdict"], cause
            )
        return None
    message = why_changed(old, new, doc)
    item.verdict = new["verdict"]
    events.record(
        session, actor, "rejudged", f"{item.title}: {message}", item.id,
        (old or {}).get("verdict"), new["verdict"], cause, notify=True,
    )  # fmt: skip
    return {"item": item.id, "old": (old or {}).get("verdict"), "new": new["verdict"], "message": message}


def _newly_accepted(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Findings accepted now that were not before (the team's acceptance holding a verdict)."""
    before = {(a.get("rule"), a.get("subject")) for a in old.get("accepted") or []}
    fresh = [a for a in new.get("accepted") or [] if (a.get("rule"), a.get("subject")) not in before]
    return "; ".join(
        f"{a['rule']} {a.get('subject') or ''} accepted: {a.get('reason')}".replace("  ", " ") for a in fresh[:3]
    )


def _finding_keys(doc: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {
        (f.get("rule"), f.get("subject"), f.get("severity")) for f in doc.get("findings") or [] if isinstance(f, dict)
    }


def accept_finding(
    session: Session, item: Item, rule: str, subject: str | None, reason: str, until: date | None, by: str
) -> dict[str, Any] | None:
    """Record that ``by`` accepts ``rule`` (for ``subject`` only, when given) in ``item``'s package
    until ``until``, and judge every stored version of that package again under it; the change to
    ``item``'s verdict, if any."""
    from techvet.knowledge import load

    if rule not in load().rules:
        raise TechvetError(f"no rule {rule!r} (techvet rules lists them)")
    if not item.package:
        raise TechvetError("this app has no package name to accept findings for")
    session.add(Acceptance(package=item.package, rule=rule, subject=subject, reason=reason, until=until, by=by))
    scope = f" for {subject}" if subject else ""
    ends = f" until {until}" if until else ""
    events.record(session, by, "accepted", f"{item.package}: {rule}{scope} accepted{ends}: {reason}", item.id)
    session.flush()
    policy, version = active_policy(session)
    accepted = acceptances(session, {item.package})
    change, any_changed = None, False
    for row in list(session.scalars(select(Item).where(Item.kind == "app", Item.package == item.package))):
        got = judge_item(session, row, None, policy, version, accepted, None, f"acceptance by {by}", by)
        change = got if row.id == item.id else change
        any_changed = any_changed or got is not None
    if any_changed:  # the registers naming the package, looked for once for all its versions
        queue_registers(session, item, f"acceptance by {by}", by)
    return change


REJUDGE_PREFIX = "rejudge:"  # a job kind "rejudge:suppliers" judges a stored item again


def queue_again(session: Session, item: Item, cause: str, actor: str) -> Job:
    """Queue ``item`` to be judged again from its stored file, by a worker, under the per-item
    limits (a capture may be hundreds of MB: never the server's work). A job for it still queued
    is kept instead (it will read the newest lists, policy and decisions when it runs). The job's
    file name carries the cause, shown in its events."""
    from techvet.store.jobs import enqueue

    kind = REJUDGE_PREFIX + item.kind
    waiting = session.scalar(select(Job).where(Job.kind == kind, Job.item_id == item.id, Job.state == "queued"))
    if waiting is not None:
        return waiting
    job = enqueue(session, kind, item.sha256, cause, actor)
    job.item_id = item.id
    return job


def rejudge_files(
    session: Session, data: Path, cause: str, actor: str = "techvet", kinds: tuple[str, ...] = FILE_KINDS
) -> Rejudged:
    """Queue every stored item of ``kinds`` (captures, supplier files, fleet registers) to be
    judged again."""
    out = Rejudged()
    for item in list(session.scalars(select(Item).where(Item.kind.in_(kinds)).order_by(Item.id))):
        queue_again(session, item, cause, actor)
        out.judged += 1
    return out


def queue_registers(session: Session, app: Item, cause: str, actor: str) -> int:
    """Queue every stored fleet register that names ``app`` to be decided again: a companion app's
    verdict is part of an aircraft's decision. A register names an app by its package or by a
    name one of its versions was uploaded under (as :class:`~techvet.store.kinds.StoredApps` finds
    it). How many were queued."""
    from techvet.store.kinds import base_name, names_of

    versions = select(Item.id).where(Item.kind == "app", Item.package == app.package) if app.package else None
    uploads = select(Job.filename).where(
        Job.kind == "app", Job.item_id.in_(versions) if versions is not None else Job.item_id == app.id
    )
    wanted = {n for n in (app.package, *(base_name(f) for f in session.scalars(uploads))) if n}
    count = 0
    for register in list(session.scalars(select(Item).where(Item.kind == "fleet"))):
        named = names_of(register.result or {})
        if wanted & (named | {base_name(n) for n in named}):
            queue_again(session, register, cause, actor)
            count += 1
    return count


def judge_file_item(session: Session, data: Path, item: Item, cause: str, actor: str) -> dict[str, Any] | None:
    from techvet.knowledge import load
    from techvet.store.blobs import blob_path
    from techvet.store.kinds import judge_file

    try:
        doc, verdict, version = judge_file(session, item.kind, blob_path(data, item.sha256))
    except TechvetError as exc:  # a file that judged once and not now (a list or policy it needs): say so
        events.record(
            session, actor, "rejudged", f"{item.title}: could not be judged again: {exc}", item.id, cause=cause
        )
        return None
    if isinstance(doc.get("path"), str):
        doc["path"] = item.title
    old, before = item.verdict, item.result or {}
    item.result, item.snapshot, item.policy_version = doc, snapshot(load()), version
    judged_now(item)
    for line in _row_changes(item.kind, before, doc):  # a match or a decision that changed inside the file
        events.record(session, actor, "rejudged", f"{item.title}: {line}", item.id, cause=cause, notify=True)
    if old == verdict:
        return None
    item.verdict = verdict
    message = f"{old} -> {verdict}"
    events.record(session, actor, "rejudged", f"{item.title}: {message}", item.id, old, verdict, cause, notify=True)
    return {"item": item.id, "old": old, "new": verdict, "message": message}


def decide_match(session: Session, item: Item, name: str, party_id: str, decision: str, reason: str, by: str) -> int:
    """Record that ``by`` confirms or dismisses the match of ``name`` to listed ``party_id``, and
    queue the supplier file to be screened again under it (the job's id): later screenings of that
    name keep the decision."""
    from techvet.store.kinds import name_key

    known = {
        (name_key(str((row.get("input") or {}).get("name") or "")), str(m.get("party_id")))
        for row in (item.result or {}).get("matches") or []
        for m in row.get("matches") or []
    }
    if (name_key(name), party_id) not in known:
        raise TechvetError(f"no match of {name!r} to {party_id!r} in this supplier file")
    session.add(MatchDecision(name_key=name_key(name), party_id=party_id, decision=decision, reason=reason, by=by))
    events.record(session, by, decision, f"{name} ~ {party_id} {decision}: {reason}", item.id)
    job = queue_again(session, item, f"match {decision} by {by}", by)
    session.flush()
    return job.id


def _row_changes(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed row by row: a supplier's match that appeared, went or was decided; an aircraft
    whose decision changed. At most 50 lines, then a count."""

    def matches(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
        out = {}
        for row in doc.get("matches") or []:
            name = str((row.get("input") or {}).get("name") or "")
            for m in row.get("matches") or []:
                decided = (m.get("decision") or {}).get("decision") or "possible"
                out[(name, f"{m.get('name')} on {m.get('list')}")] = decided
        return out

    def decisions(doc: dict[str, Any]) -> dict[str, str]:
        return {f"row {d.get('row')}": str(d.get("decision")) for d in doc.get("devices") or [] if isinstance(d, dict)}

    lines: list[str] = []
    if kind == "suppliers":
        old, new = matches(before), matches(after)
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                lines.append(f"{key[0]} ~ {key[1]}: {old.get(key, 'no match')} -> {new.get(key, 'no match')}")
    elif kind == "fleet":
        old_d, new_d = decisions(before), decisions(after)
        for row in sorted(set(old_d) | set(new_d)):
            if old_d.get(row) != new_d.get(row):
                lines.append(f"{row}: {old_d.get(row, 'none')} -> {new_d.get(row, 'none')}")
    return lines[:50] + ([f"and {len(lines) - 50} more changes"] if len(lines) > 50 else [])
