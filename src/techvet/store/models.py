"""What the team service keeps, as SQLAlchemy 2 tables.

One row per upload's outcome (:class:`Item`: an app scan, a capture, a supplier file's screening, a
fleet register's decisions), with the few facts portfolio questions filter on copied into child
tables (:class:`ItemSdk`, :class:`ItemDestination`, :class:`ItemFinding`) so that "apps that send data
to Tencent-owned hosts in cleartext" is an indexed join, not a scan of JSON documents. The whole
result stays as JSON in ``Item.result``: re-judging reads it back (never the uploaded file again).

Jobs live here too, so a restart loses nothing accepted; the audit log is append-only (no code
path updates or deletes an :class:`AuditEvent`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("viewer", "analyst", "admin")
KINDS = ("app", "capture", "suppliers", "fleet")
JOB_STATES = ("queued", "running", "done", "failed")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC: SQLite keeps no zone


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(DateTime, default=now)
    # browser sessions issued before this moment (ms since the epoch) are over: set by signing out
    sessions_after: Mapped[int | None] = mapped_column(BigInteger)


class Token(Base):
    """An API token, kept as the SHA-256 of its secret (the secret is shown once)."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created: Mapped[datetime] = mapped_column(DateTime, default=now)
    user: Mapped[User] = relationship()


class Blob(Base):
    """An uploaded file, stored once under its SHA-256 (never under the name a user gave)."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(DateTime, default=now)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    filename: Mapped[str] = mapped_column(String(300), default="")  # as given, shown only, escaped
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    submitted_by: Mapped[str] = mapped_column(String(200))
    worker: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[datetime] = mapped_column(DateTime, default=now)
    started: Mapped[datetime | None] = mapped_column(DateTime)
    finished: Mapped[datetime | None] = mapped_column(DateTime)


class Item(Base):
    """One judged upload: its identity, its latest verdict and the whole result it was judged from."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    package: Mapped[str | None] = mapped_column(String(300), index=True)
    version: Mapped[str | None] = mapped_column(String(100))
    verdict: Mapped[str | None] = mapped_column(String(10), index=True)
    score: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict] = mapped_column(JSON)
    techvet_version: Mapped[str] = mapped_column(String(40))
    snapshot: Mapped[dict] = mapped_column(JSON)  # knowledge and list dates it was last judged under
    policy_version: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(DateTime, default=now, index=True)
    judged: Mapped[datetime] = mapped_column(DateTime, default=now)
    sdks: Mapped[list[ItemSdk]] = relationship(cascade="all, delete-orphan")
    destinations: Mapped[list[ItemDestination]] = relationship(cascade="all, delete-orphan")
    findings: Mapped[list[ItemFinding]] = relationship(cascade="all, delete-orphan")


class ItemSdk(Base):
    __tablename__ = "item_sdks"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    sdk: Mapped[str] = mapped_column(String(200), index=True)
    vendor: Mapped[str | None] = mapped_column(String(300), index=True)
    country: Mapped[str | None] = mapped_column(String(2), index=True)


class ItemDestination(Base):
    __tablename__ = "item_destinations"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(300), index=True)
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    cleartext: Mapped[bool] = mapped_column(Boolean, default=False)


class ItemFinding(Base):
    __tablename__ = "item_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(20), index=True)
    subject: Mapped[str | None] = mapped_column(String(500))
    severity: Mapped[str] = mapped_column(String(10))


class Policy(Base):
    """A policy file's text, versioned per kind; one active version per kind."""

    __tablename__ = "policies"
    # one version number per kind, and one active policy per kind, even when two admins save at once
    __table_args__ = (
        Index("uq_policy_version", "kind", "version", unique=True),
        Index(
            "uq_policy_active", "kind", unique=True,
            sqlite_where=text("active = 1"), postgresql_where=text("active"),
        ),
    )  # fmt: skip
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # app-policy or fleet-policy
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(DateTime, default=now)


class Acceptance(Base):
    """A finding accepted for one app (package), or a screening match confirmed or dismissed."""

    __tablename__ = "acceptances"
    id: Mapped[int] = mapped_column(primary_key=True)
    package: Mapped[str] = mapped_column(String(300), index=True)
    rule: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[date | None] = mapped_column(Date)
    by: Mapped[str] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(DateTime, default=now)


class AuditEvent(Base):
    """Append-only: every change of verdict, match or decision, with its cause."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_item_at", "item_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=now, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))  # judged, rejudged, accepted, policy, lists, user
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    old: Mapped[str | None] = mapped_column(String(10))
    new: Mapped[str | None] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text, default="")


class Webhook(Base):
    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(1000))
    created: Mapped[datetime] = mapped_column(DateTime, default=now)


class Delivery(Base):
    """One event owed to one webhook: retried with backoff until delivered or out of attempts."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("audit.id"))
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending, sent, gave-up
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    last_error: Mapped[str | None] = mapped_column(Text)


class Setting(Base):
    """Small facts the service keeps about itself (the list snapshot it last judged under)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MatchDecision(Base):
    """A screening match confirmed or dismissed by an analyst: later screenings of the same name
    against the same listed party carry the decision (a dismissed match no longer counts)."""

    __tablename__ = "match_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name_key: Mapped[str] = mapped_column(String(300), index=True)  # the screened name, casefolded
    party_id: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(10))  # confirmed | dismissed
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(DateTime, default=now)
