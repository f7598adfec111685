"""Jobs kept in the database, so that nothing accepted is lost.

A job is queued with its upload; a worker claims it (one conditional UPDATE, so two workers never
take the same job, on SQLite and PostgreSQL alike), runs it and records its item or its one-line
error. At start the service puts jobs left running by a previous process back in the queue.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from techvet.store.models import Job, now

COLLECTION = {"app": "apps", "capture": "captures", "suppliers": "suppliers", "fleet": "fleets"}
MAX_ATTEMPTS = 3  # a job whose worker died this often is failed, not retried for ever


def enqueue(session: Session, kind: str, sha256: str, filename: str, by: str) -> Job:
    job = Job(kind=kind, sha256=sha256, filename=filename[:300], submitted_by=by, state="queued")
    session.add(job)
    session.flush()
    return job


def claim(session: Session, worker: str) -> Job | None:
    """The oldest queued job, now running under ``worker``; None when the queue is empty."""
    for job_id in session.scalars(select(Job.id).where(Job.state == "queued").order_by(Job.id).limit(5)):
        taken = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(state="running", worker=worker, started=now(), attempts=Job.attempts + 1)
        )
        if getattr(taken, "rowcount", 0) == 1:
            return session.get(Job, job_id)
    return None


def finish(session: Session, job_id: int, item_id: int) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(state="done", item_id=item_id, finished=now()))


def fail(session: Session, job_id: int, error: str, worker: str | None = None) -> None:
    """Fail a job still running (under ``worker``, when given): a job its worker finished in the
    meantime keeps its result."""
    query = update(Job).where(Job.id == job_id, Job.state == "running")
    if worker is not None:
        query = query.where(Job.worker == worker)
    session.execute(query.values(state="failed", error=error[:2000], finished=now()))


def requeue_interrupted(session: Session) -> int:
    """Put jobs a dead process left running back in the queue (failed after MAX_ATTEMPTS)."""
    stale = list(session.scalars(select(Job).where(Job.state == "running")))
    for job in stale:
        if job.attempts >= MAX_ATTEMPTS:
            job.state, job.error, job.finished = "failed", "its worker died on every attempt", now()
        else:
            job.state, job.worker = "queued", None
    return len(stale)


def as_json(job: Job) -> dict[str, object]:
    out: dict[str, object] = {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "sha256": job.sha256,
        "filename": job.filename,
        "submitted_by": job.submitted_by,
        "created": job.created.isoformat() + "Z",
        "attempts": job.attempts,
    }
    if job.error:
        out["error"] = job.error
    if job.item_id:
        out["item"] = job.item_id
        out["result"] = f"/api/v1/{COLLECTION[job.kind.split(':')[-1]]}/{job.item_id}"  # rejudge:fleet
    return out
