"""The worker processes behind the service, and the supervisor that keeps them honest.

Each worker is a separate process that claims jobs from the database and runs them
(:mod:`techvet.server.work`) under the per-item limits the batch scanner uses
(``TECHVET_ITEM_SECONDS``, ``TECHVET_ITEM_MEMORY_MB``): an address-space cap set in the worker, and
a time limit the supervisor enforces by killing the worker and failing its job with one line. A
worker that dies fails the job it held; a new one takes its place. Workers die with the server
(Linux's parent-death signal), so a killed server leaves jobs "running" in the database, and the
next start puts them back in the queue.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from techvet.server.periodic import Periodic
from techvet.store.db import Store
from techvet.store.jobs import claim, fail
from techvet.store.models import Job, now

POLL_SECONDS = 0.2


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (prctl PR_SET_PDEATHSIG, SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def worker_main(data: str, url: str, name: str, memory: int, iocs: tuple[str, ...] = ()) -> None:
    """A worker process: claim, run, repeat, until its parent is gone; ``iocs``: the service's own
    indicator bundles, matched with every upload beside the bundled ones."""
    _die_with_parent()
    os.environ["TECHVET_DATA_DIR"] = data  # the service's own list snapshots
    from techvet.iocs.installed import use_bundles
    from techvet.knowledge import load
    from techvet.many.limits import limit_memory
    from techvet.screen.update import installed_snapshot
    from techvet.server.work import run

    limit_memory(memory)
    use_bundles(iocs)  # every job of this worker: scans, captures, and their re-judging
    parent = os.getppid()
    store = Store(Path(data), url)
    seen = installed_snapshot()
    load()  # the knowledge once per worker, before the first job
    while os.getppid() == parent:
        with store.session() as session:
            job = claim(session, name)
        if job is None:
            time.sleep(POLL_SECONDS)
            continue
        current = installed_snapshot()
        if current != seen:  # `techvet lists update` installed a new snapshot: judge under it
            load.cache_clear()
            seen = current
        run(store, job)


class Supervisor:
    """Keeps ``count`` workers running and enforces the per-job time limit."""

    def __init__(self, store: Store, url: str, count: int, iocs: tuple[str, ...] = ()) -> None:
        from techvet.many.limits import item_limits

        self.store, self.url, self.count, self.iocs = store, url, count, iocs
        self.seconds, self.memory = item_limits()
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[str, Any] = {}
        self._serial = 0
        self._stopping = False
        self._timer = Periodic("supervisor", 0.5, self.check)

    def start(self) -> None:
        for _ in range(self.count):
            self._spawn()
        self._timer.start()

    def _spawn(self) -> None:
        self._serial += 1
        name = f"w{os.getpid()}-{self._serial}"
        process = self._context.Process(
            target=worker_main,
            args=(str(self.store.data), self.url, name, self.memory, self.iocs),
            name=name,
            daemon=True,
        )
        process.start()
        self._workers[name] = process

    def check(self) -> None:
        """Replace dead workers (failing the job each held), kill those over the time limit, and
        fail a job left running by a worker of this server that no longer exists."""
        deadline = now() - timedelta(seconds=self.seconds)
        mine = f"w{os.getpid()}-"
        died = "the worker running it died (out of memory or crashed)"
        with self.store.session() as session:
            running = {job.worker: job for job in session.scalars(select(Job).where(Job.state == "running"))}
            for name, process in list(self._workers.items()):
                job = running.get(name)
                if process.is_alive() and job is not None and job.started and job.started < deadline:
                    process.kill()
                    process.join(5)
                    fail(session, job.id, f"{job.filename}: gave up after {self.seconds:g} s (per-item limit)", name)
                elif not process.is_alive():
                    if job is not None:
                        fail(session, job.id, f"{job.filename}: {died}", name)
                else:
                    continue
                del self._workers[name]
                if not self._stopping:
                    self._spawn()
            for holder, held in running.items():  # a worker that claimed it after our look, then died
                if holder and holder.startswith(mine) and holder not in self._workers:
                    fail(session, held.id, f"{held.filename}: {died}", holder)

    def stop(self) -> None:
        self._stopping = True
        self._timer.stop()
        for process in self._workers.values():
            process.kill()
        for process in self._workers.values():
            process.join(5)
