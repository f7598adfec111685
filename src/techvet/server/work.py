"""What a worker process does with one job: the same library calls the command line makes.

Runs in the worker processes the server supervises (:mod:`techvet.server.workers`), never in a
request handler: a scan takes seconds and a hostile file may take a worker down, not the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from techvet import __version__
from techvet.errors import TechvetError
from techvet.knowledge import Knowledge
from techvet.store import events
from techvet.store.blobs import blob_path
from techvet.store.db import Store
from techvet.store.items import save_app
from techvet.store.jobs import fail, finish
from techvet.store.judging import acceptances, active_policy, judge, snapshot, with_acceptances
from techvet.store.kinds import judge_file
from techvet.store.models import Item, Job
from techvet.store.rejudge import REJUDGE_PREFIX, judge_file_item, queue_registers
from techvet.store.rescan import RESCAN, replace_scan


def run(store: Store, job: Job) -> None:
    """Run ``job`` and record its item, or fail it with the one-line reason the CLI would give."""
    try:
        if job.kind == "app":
            _app(store, job, blob_path(store.data, job.sha256))
        elif job.kind == RESCAN:
            _rescan(store, job, blob_path(store.data, job.sha256))
        elif job.kind.startswith(REJUDGE_PREFIX):
            _again(store, job)
        else:
            _file(store, job, blob_path(store.data, job.sha256))
    except TechvetError as exc:
        with store.session() as session:
            # the CLI's line, about the file by the name it was uploaded under, not where the store keeps it
            where = str(blob_path(store.data, job.sha256))
            fail(session, job.id, str(exc).replace(where, job.filename).replace(str(store.data), "<data>"))
    except MemoryError:
        with store.session() as session:
            fail(session, job.id, f"{job.filename}: over the per-item memory limit")
    except Exception as exc:  # noqa: BLE001 - a bug on one file fails its job, not the worker
        with store.session() as session:
            fail(session, job.id, f"{job.filename}: internal error: {type(exc).__name__}: {exc}")


_knowledge_seen: list[str] = []  # the knowledge identity this worker last scanned with


def _knowledge() -> Knowledge:
    """The knowledge as it is on disk now: a worker that outlives a change of the knowledge files
    (the rescans it is asked for are about exactly that) reads them again rather than scanning
    with what it loaded before and recording the new identity."""
    from techvet.knowledge import identity, load

    now = identity()
    if _knowledge_seen and _knowledge_seen[-1] != now:
        load.cache_clear()
    _knowledge_seen[:] = [now]
    return load()


def _scanned(session: Session, path: Path) -> tuple[dict[str, Any], int | None]:
    """An app's scan, judged under the active policy and the team's acceptances for its package;
    and the policy's version."""
    from techvet.scan import scan

    doc = scan(path, _knowledge()).to_dict()
    package = (doc.get("app") or {}).get("package") or ""
    policy, version = active_policy(session)
    doc["verdict"] = judge(doc, with_acceptances(policy, acceptances(session, {package}).get(package, [])))
    return doc, version


def _app(store: Store, job: Job, path: Path) -> None:
    from techvet.knowledge import load

    with store.session() as session:
        doc, version = _scanned(session, path)
        doc["path"] = job.filename  # the name it was uploaded under, not where the store keeps it
        item = save_app(session, job.sha256, doc, snapshot(load()), version)
        finish(session, job.id, item.id)
        verdict = doc["verdict"]["verdict"]
        events.record(
            session, job.submitted_by, "judged", f"{item.title}: {verdict} (first judgement)", item.id,
            None, verdict, f"upload {job.filename}",
        )  # fmt: skip
        queue_registers(session, item, f"companion app {item.title} uploaded", job.submitted_by)


def _rescan(store: Store, job: Job, path: Path) -> None:
    """A stored app scanned again under today's knowledge (:mod:`techvet.store.rescan`)."""
    from techvet.knowledge import load

    with store.session() as session:
        item = session.get(Item, job.item_id) if job.item_id else None
        if item is None:
            raise TechvetError(f"job {job.id}: its item is gone")
        doc, version = _scanned(session, path)
        if replace_scan(session, item, doc, snapshot(load()), version, job.filename, job.submitted_by):
            queue_registers(session, item, f"companion app {item.title} scanned again", job.submitted_by)
        finish(session, job.id, item.id)


def _file(store: Store, job: Job, path: Path) -> None:
    """A capture, supplier file or fleet register: judged, kept as one item."""
    from techvet.knowledge import load

    with store.session() as session:
        doc, verdict, version = judge_file(session, job.kind, path)
        if isinstance(doc.get("path"), str):
            doc["path"] = job.filename
        item = Item(
            kind=job.kind, sha256=job.sha256, title=job.filename, verdict=verdict, result=doc,
            techvet_version=__version__, snapshot=snapshot(load()), policy_version=version,
        )  # fmt: skip
        session.add(item)
        session.flush()
        finish(session, job.id, item.id)
        events.record(
            session, job.submitted_by, "judged", f"{job.filename}: {verdict} (first judgement)", item.id,
            None, verdict, f"upload {job.filename}",
        )  # fmt: skip


def _again(store: Store, job: Job) -> None:
    """A stored capture, supplier file or register judged again (its job names the cause)."""
    with store.session() as session:
        item = session.get(Item, job.item_id) if job.item_id else None
        if item is None:
            raise TechvetError(f"job {job.id}: its item is gone")
        judge_file_item(session, store.data, item, job.filename, job.submitted_by)
        finish(session, job.id, item.id)
