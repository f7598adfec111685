"""Posting owed events to webhooks: a background thread, retried with backoff, never blocking.

Each delivery is one POST of the event as JSON (5 s timeout); each receiver gets its events in
order, in a thread of its own. A failure is retried after 1, 2, 4 ... seconds, eight times in all,
then marked ``gave-up`` with its last error; the event itself stays in the audit log either way.
"""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select, update

from techvet.store.db import Store
from techvet.store.events import as_json
from techvet.store.models import AuditEvent, Delivery, Webhook, now

MAX_ATTEMPTS = 8
TIMEOUT = 5.0
Owed = list[tuple[int, dict[str, object] | None]]  # (delivery id, the event's JSON)


def post(url: str, payload: dict[str, object]) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) only, checked when added
        if response.status >= 300:
            raise OSError(f"HTTP {response.status}")


def deliver_due(store: Store) -> int:
    """Send every delivery that is due; how many were sent. The posts happen outside any database
    transaction, so a slow receiver holds no lock."""
    with store.session() as session:
        due = [
            (d.id, hook.url if hook else None, as_json(event) if event else None)
            for d in session.scalars(
                select(Delivery)
                .where(Delivery.state == "pending", Delivery.next_at <= now())
                .order_by(Delivery.id)
                .limit(50)
            )
            for hook, event in [(session.get(Webhook, d.webhook_id), session.get(AuditEvent, d.event_id))]
        ]
    by_url: dict[str | None, Owed] = {}
    for delivery_id, url, payload in due:
        by_url.setdefault(url, []).append((delivery_id, payload))
    outcomes: list[tuple[int, str | None]] = []
    if by_url:
        # one thread per receiver: a slow or dead one (5 s a timeout) never delays the others
        with ThreadPoolExecutor(max_workers=min(8, len(by_url))) as pool:
            for done in pool.map(lambda pair: _to_receiver(*pair), by_url.items()):
                outcomes.extend(done)
    with store.session() as session:
        for delivery_id, error in outcomes:
            delivery = session.get(Delivery, delivery_id)
            if delivery is None:
                continue
            delivery.attempts += 1
            if error is None:
                delivery.state = "sent"
            else:
                delivery.last_error = error
                if delivery.attempts >= MAX_ATTEMPTS:
                    delivery.state = "gave-up"
                else:
                    delivery.next_at = now() + timedelta(seconds=2 ** (delivery.attempts - 1))
                # the receiver's later events wait as long as this one: they never overtake it
                session.execute(
                    update(Delivery)
                    .where(Delivery.webhook_id == delivery.webhook_id, Delivery.state == "pending",
                           Delivery.id > delivery.id, Delivery.next_at < delivery.next_at)
                    .values(next_at=delivery.next_at)
                )  # fmt: skip
    return sum(1 for _, error in outcomes if error is None)


def _to_receiver(url: str | None, deliveries: Owed) -> list[tuple[int, str | None]]:
    """One receiver's due deliveries, in order. After its first failure the rest are not tried (no
    attempt counted) and wait as long as the failed one: a receiver that is down costs one timeout
    a round, and its events never overtake each other."""
    outcomes: list[tuple[int, str | None]] = []
    for delivery_id, payload in deliveries:
        try:
            if url is None or payload is None:
                raise OSError("webhook or event removed")
            post(url, {"event": payload})
            outcomes.append((delivery_id, None))
        except Exception as exc:  # noqa: BLE001 - any failure of a receiver is retried, then given up
            outcomes.append((delivery_id, f"{type(exc).__name__}: {exc}"[:500]))
            if url is not None and payload is not None:
                break
    return outcomes
