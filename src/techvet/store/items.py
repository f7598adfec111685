"""Stored results (:class:`~techvet.store.models.Item`) and the portfolio's questions over them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, defer

from techvet import __version__
from techvet.store.models import Item, ItemDestination, ItemFinding, ItemSdk, now


def text(value: object, limit: int) -> str | None:
    """A name from an app for a bounded column: text, NUL-free (PostgreSQL refuses NUL), cut."""
    if value is None or value == "":
        return None
    return str(value).replace("\x00", "")[:limit] or None


def save_app(
    session: Session, sha256: str, doc: dict[str, Any], snapshot: dict[str, Any], policy_version: int | None
) -> Item:
    """A new app item from its judged JSON result, with the rows portfolio questions filter on."""
    item = Item(kind="app", sha256=sha256)
    session.add(item)
    fill_app(item, doc, snapshot, policy_version)
    session.flush()
    return item


def fill_app(item: Item, doc: dict[str, Any], snapshot: dict[str, Any], policy_version: int | None) -> None:
    """Everything an app item holds from a scan's judged result: made by this techvet, now."""
    app = doc.get("app") or {}
    verdict = doc.get("verdict") or {}
    item.title = text(app.get("label") or app.get("package"), 500) or item.sha256[:12]
    item.package = text(app.get("package"), 300)
    item.version = text(app.get("version_name"), 100)
    item.verdict, item.score = verdict.get("verdict"), verdict.get("score")
    item.result, item.snapshot, item.policy_version = doc, snapshot, policy_version
    item.techvet_version = __version__
    index_app(item, doc)


def index_app(item: Item, doc: dict[str, Any]) -> None:
    """(Re)build the item's SDK, destination and finding rows from its result."""
    sdks: dict[str, ItemSdk] = {}  # an SDK's vendor and country are on its finding (TV301-TV303)
    for f in doc.get("findings") or []:
        if isinstance(f, dict) and f.get("rule") in ("TV301", "TV302", "TV303") and f.get("subject"):
            sdk = text(f["subject"], 200) or "?"
            country = f.get("country") if isinstance(f.get("country"), str) and len(f["country"]) == 2 else None
            sdks.setdefault(sdk, ItemSdk(sdk=sdk, vendor=text(f.get("party"), 300), country=country))
    item.sdks = list(sdks.values())
    item.destinations = [
        ItemDestination(
            host=text(d.get("host"), 300) or "?",
            owner=text(d.get("parent") or d.get("owner"), 300),
            country=text(d.get("owner_country"), 2),
            cleartext=bool(d.get("cleartext")),
        )
        for d in doc.get("destinations") or []
        if isinstance(d, dict) and d.get("host")
    ]
    index_findings(item, doc)


def index_findings(item: Item, doc: dict[str, Any]) -> None:
    """(Re)build the item's finding rows: all a re-screening can change."""
    item.findings = [
        ItemFinding(rule=text(f.get("rule"), 20) or "?", subject=text(f.get("subject"), 500),
                    severity=text(f.get("severity"), 10) or "?")
        for f in doc.get("findings") or []
        if isinstance(f, dict)
    ]  # fmt: skip


FILTERS = ("verdict", "sdk", "vendor", "vendor_country", "owner", "owner_country", "cleartext", "rule", "package")


def app_query(filters: dict[str, Any]) -> Select[Item]:
    """Apps matching every filter given: ``sdk``, ``vendor``, ``vendor_country`` (an SDK's), ``owner``,
    ``owner_country`` (a destination's; with ``cleartext`` only hosts reached in cleartext),
    ``rule`` (a finding's), ``verdict``, ``package``. Each is an indexed semi-join."""
    # a list shows the summary: the whole result and snapshot (JSON, tens of kB an app) stay unread
    query = select(Item).options(defer(Item.result), defer(Item.snapshot)).where(Item.kind == "app")
    if filters.get("verdict"):
        query = query.where(Item.verdict == filters["verdict"])
    if filters.get("package"):
        query = query.where(Item.package == filters["package"])
    sdk_conditions = []
    if filters.get("sdk"):
        sdk_conditions.append(ItemSdk.sdk == filters["sdk"])
    if filters.get("vendor"):
        sdk_conditions.append(func.lower(ItemSdk.vendor) == str(filters["vendor"]).lower())
    if filters.get("vendor_country"):
        sdk_conditions.append(ItemSdk.country == str(filters["vendor_country"]).upper())
    if sdk_conditions:
        query = query.where(Item.id.in_(select(ItemSdk.item_id).where(*sdk_conditions)))
    place = []
    if filters.get("owner"):
        place.append(func.lower(ItemDestination.owner).contains(str(filters["owner"]).lower()))
    if filters.get("owner_country"):
        place.append(ItemDestination.country == str(filters["owner_country"]).upper())
    if filters.get("cleartext"):
        place.append(ItemDestination.cleartext.is_(True))
    if place:
        query = query.where(Item.id.in_(select(ItemDestination.item_id).where(*place)))
    if filters.get("rule"):
        query = query.where(Item.id.in_(select(ItemFinding.item_id).where(ItemFinding.rule == filters["rule"])))
    return query


def summary(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "sha256": item.sha256,
        "title": item.title,
        "package": item.package,
        "version": item.version,
        "verdict": item.verdict,
        "score": item.score,
        "techvet_version": item.techvet_version,
        "policy_version": item.policy_version,
        "created": item.created.isoformat() + "Z",
        "judged": item.judged.isoformat() + "Z",
    }


def judged_now(item: Item) -> None:
    item.judged = now()
