"""The audit log and the webhook outbox.

An event is written in the same transaction as the change it records, with one delivery row per
webhook; a background sender (techvet.server.webhooks) posts them later and retries. So a slow or
dead receiver never blocks a judgement, and a restart loses no notification.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from techvet.store.models import AuditEvent, Delivery, Webhook


def record(
    session: Session,
    actor: str,
    action: str,
    message: str,
    item_id: int | None = None,
    old: str | None = None,
    new: str | None = None,
    cause: str = "",
    notify: bool = False,
) -> AuditEvent:
    """Append one audit event; with ``notify``, owe it to every webhook."""
    event = AuditEvent(actor=actor, action=action, message=message, item_id=item_id, old=old, new=new, cause=cause)
    session.add(event)
    session.flush()
    if notify:
        for hook in session.scalars(select(Webhook)):
            session.add(Delivery(webhook_id=hook.id, event_id=event.id))
    return event


def as_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat() + "Z",
        "actor": event.actor,
        "action": event.action,
        "item": event.item_id,
        "old": event.old,
        "new": event.new,
        "message": event.message,
        "cause": event.cause,
    }
