"""What a worker process does with one job: the same library calls the command line makes.

Runs in the worker processes the server supervises (:mod:`techvet.server.workers`), never in a
request handler: a scan takes seconds and a hostile file may take a worker down, not the server.
"""

from __future__ import annotations

from pathlib import Path

from techvet import __version__
from techvet.errors import TechvetError
from techvet.store import events
from techvet.store.blobs import blob_path
from techvet.store.db import Store
from techvet.store.items import save_app
from techvet.store.jobs import fail, finish
from techvet.store.judging import acceptances, active_policy, judge, snapshot, with_acceptances
from techvet.store.kinds import judge_file
from techvet.store.models import Item, Job
from techvet.store.rejudge import REJUDGE_PREFIX, judge_file_item


def run(store: Store, job: Job) -> None:
    """Run ``job`` and record its item, or fail it with the one-line reason the CLI would give."""
    try:
        if job.kind == "app":
            _app(store, job, blob_path(store.data, job.sha256))
        elif job.kind.startswith(REJUDGE_PREFIX):
            _again(store, job)
        else:
            _file(store, job, blob_path(store.data, job.sha256))
    except TechvetError as exc:
        with store.session() as session:
            fail(session, job.id, str(exc).replace(str(store.data), "<data>"))
    except MemoryError:
        with store.session() as session:
            fail(session, job.id, f"{job.filename}: over the per-item memory limit")
    except Exception as exc:  # noqa: BLE001 - a bug on one file fails its job, not the worker
        with store.session() as session:
            fail(session, job.id, f"{job.filename}: internal error: {type(exc).__name__}: {exc}")


def _app(store: Store, job: Job, path: Path) -> None:
    from techvet.knowledge import load
    from techvet.scan import scan

    result = scan(path)
    doc = result.to_dict()
    doc["path"] = job.filename  # the name it was uploaded under, not where the store keeps it
    package = (doc.get("app") or {}).get("package") or ""
    with store.session() as session:
        policy, version = active_policy(session)
        doc["verdict"] = judge(doc, with_acceptances(policy, acceptances(session, {package}).get(package, [])))
        item = save_app(session, job.sha256, doc, snapshot(load()), version)
        finish(session, job.id, item.id)
        verdict = doc["verdict"]["verdict"]
        events.record(
            session, job.submitted_by, "judged", f"{item.title}: {verdict} (first judgement)", item.id,
            None, verdict, f"upload {job.filename}",
        )  # fmt: skip


def _file(store: Store, job: Job, path: Path) -> None:
    """A capture, supplier file or fleet register: judged, kept as one item."""
    from techvet.knowledge import load

    with store.session() as session:
        doc, verdict = judge_file(session, job.kind, path)
        if isinstance(doc.get("path"), str):
            doc["path"] = job.filename
        item = Item(
            kind=job.kind, sha256=job.sha256, title=job.filename, verdict=verdict, result=doc,
            techvet_version=__version__, snapshot=snapshot(load()),
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
