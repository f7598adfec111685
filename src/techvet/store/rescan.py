"""Stored apps scanned again when the knowledge they were scanned with is not today's.

Re-judging from stored facts answers a change of the lists or the policy (:mod:`techvet.store.rejudge`),
but not a change of what a scan finds: a new techvet version or knowledge folder may name SDKs,
owners or packers a kept scan never saw, and a verdict kept from the old scan would read as
assurance. So each app's snapshot records the knowledge identity (:func:`techvet.knowledge.identity`)
and the techvet version it was scanned under; when the service starts under another, every such
app is queued to be scanned again from its stored file, by the workers, under the per-item limits.
Its verdict changes, if it does, as an event like any other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from techvet import __version__
from techvet.store import events
from techvet.store.items import fill_app, judged_now
from techvet.store.judging import why_changed
from techvet.store.models import Item, Job, Setting

RESCAN = "rescan:app"  # the job kind: scan a stored app's file again, in place
IDENTITY_KEY = "knowledge_identity"


def analysis_identity(knowledge: str) -> str:
    """What an app scan is made with: this techvet and its knowledge files."""
    return f"{__version__}/{knowledge}"


def queue_stale(session: Session, knowledge: str, actor: str = "techvet") -> int:
    """Queue every app scanned under another techvet or knowledge than ``knowledge`` now (one job
    per app: one still queued is kept) and remember ``knowledge``; how many were queued. Cheap when
    nothing changed: the identity judged last is kept, and only a different one reads the items."""
    now = analysis_identity(knowledge)
    row = session.get(Setting, IDENTITY_KEY)
    if row is not None and row.value == now:
        return 0
    waiting = set(session.scalars(select(Job.item_id).where(Job.kind == RESCAN, Job.state == "queued")))
    cause = f"the knowledge changed: now techvet {now}"
    count = 0
    stale = select(Item.id, Item.sha256, Item.techvet_version, Item.snapshot).where(Item.kind == "app")
    for item_id, sha256, version, taken in session.execute(stale.order_by(Item.id)):
        scanned = f"{version}/{(taken or {}).get('knowledge') or 'unknown'}"
        if scanned == now or item_id in waiting:
            continue
        session.add(Job(kind=RESCAN, sha256=sha256, filename=cause[:300], submitted_by=actor, item_id=item_id))
        count += 1
    if row is None:
        session.add(Setting(key=IDENTITY_KEY, value=now))
    else:
        row.value = now
    if count:
        events.record(session, actor, "rescan", f"{count} stored app(s) queued to be scanned again: {cause}")
    return count


def replace_scan(
    session: Session,
    item: Item,
    doc: dict[str, Any],
    taken: dict[str, Any],
    policy_version: int | None,
    cause: str,
    actor: str,
) -> dict[str, Any] | None:
    """Put a new scan's judged result in place of ``item``'s; the change of verdict, recorded as
    an event and owed to the webhooks, or None when the verdict holds."""
    old = item.result.get("verdict") if item.result else None
    doc["path"] = item.result.get("path") if item.result else doc.get("path")
    fill_app(item, doc, taken, policy_version)
    judged_now(item)
    new = doc["verdict"]
    if old and old.get("verdict") == new.get("verdict"):
        return None
    message = why_changed(old, new, doc)
    events.record(
        session, actor, "rescanned", f"{item.title}: {message}", item.id,
        (old or {}).get("verdict"), new.get("verdict"), cause, notify=True,
    )  # fmt: skip
    return {"item": item.id, "old": (old or {}).get("verdict"), "new": new.get("verdict"), "message": message}
