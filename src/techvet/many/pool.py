"""The local backend: a process pool on this machine's cores, each worker under the per-item limits.

Why not ``ProcessPoolExecutor.map``: it cannot end one hung item (only the whole pool), names no
item when a worker dies, reads its whole input before the first result, and keeps every result
until the end. Here items are taken from the input a window at a time (a million-path list never
sits in memory), answered in input order and then let go, and an item that runs over its time or
kills its worker is named in a :class:`Failed`; the workers are replaced and the items not yet
answered go on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Any, TypeVar

from techvet.many.limits import item_limits, limit_memory
from techvet.many.outcome import WORKER_DIED, Failed, gave_up, internal_error

T = TypeVar("T")
R = TypeVar("R")

_shared: Any = None  # the run's shared value, set once per worker by _start_worker


def _start_worker(memory: int, shared: Any, warm: Callable[[], None] | None, scratch: str) -> None:
    """Pool initializer: the memory cap, the run's shared value (sent once per worker, not once
    per item), the run's temporary folder, and whatever the job wants loaded before its first item
    (the knowledge)."""
    global _shared
    limit_memory(memory)
    tempfile.tempdir = scratch
    _shared = shared
    if warm is not None:
        warm()


def _call(job: Callable[[Any, Any], Any], item: Any) -> Any:
    try:
        return job(item, _shared)
    except Exception as exc:  # noqa: BLE001 - a bug on one item must not end the batch
        return internal_error(exc)


def _submit(pool: ProcessPoolExecutor, futures: dict[int, Future[Any]], seq: int, job: Any, item: Any) -> None:
    """Hand item ``seq`` to the pool; a pool a worker's death has just broken takes nothing, and the
    item is then awaited as broken (so found out, one by one, with the others)."""
    with contextlib.suppress(BrokenProcessPool):
        futures[seq] = pool.submit(_call, job, item)


def _stop(pool: ProcessPoolExecutor, idle: bool = False) -> None:
    """End a pool: an ``idle`` one (every item answered) by letting its workers exit, so that its
    manager thread ends before the interpreter does (Python 3.11 can otherwise write to the
    thread's closed wake-up pipe at exit and print a traceback); any other now, its running
    workers killed (a hung item does not end by itself)."""
    if idle:
        pool.shutdown(wait=True)
        return
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def run_pool(
    items: Iterable[T],
    job: Callable[[T, Any], R | Failed],
    shared: Any = None,
    workers: int = 0,
    warm: Callable[[], None] | None = None,
) -> Generator[tuple[T, R | Failed], None, None]:
    """``job(item, shared)`` for every item, ``workers`` at a time (0: one per core), in input order.
    ``job`` and ``warm`` must be module-level functions (they are sent to worker processes).

    After a worker dies among several, the items that were in flight are run one at a time, to
    name the one that kills its worker; once none of them is left, the full pool takes over again.
    Temporary files the workers make (fetched copies) live in a folder of the run's own, removed at
    the end even when a worker was killed before it could clean up."""
    seconds, memory = item_limits()
    workers = workers or os.cpu_count() or 1
    source = iter(items)
    pending: deque[tuple[int, T]] = deque()  # taken from the input, not yet answered, in order
    taken = 0

    def top_up() -> None:
        nonlocal taken
        for item in islice(source, max(0, workers * 2 - len(pending))):
            pending.append((taken, item))
            taken += 1

    scratch = tempfile.mkdtemp(prefix="techvet-run-")
    suspects: set[int] = set()  # in flight when a worker died: run one at a time until answered
    try:
        top_up()
        while pending:
            size = 1 if suspects else workers
            pool = ProcessPoolExecutor(
                max_workers=size, initializer=_start_worker, initargs=(memory, shared, warm, scratch)
            )
            futures: dict[int, Future[Any]] = {}
            idle = False
            try:
                yield from _drain(pool, futures, pending, size, job, seconds, suspects, top_up)
                idle = not pending and not futures
            finally:
                _stop(pool, idle)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _drain(
    pool: ProcessPoolExecutor,
    futures: dict[int, Future[Any]],
    pending: deque[tuple[int, Any]],
    size: int,
    job: Any,
    seconds: float,
    suspects: set[int],
    top_up: Callable[[], None],
) -> Iterator[tuple[Any, Any]]:
    """Answer pending items on ``pool`` until they are done, or the pool must be replaced (an item
    hung or killed its worker, or the suspects of a death are all answered)."""

    def submit_window() -> None:  # keep size * 2 items in flight: the workers stay busy
        for seq, item in islice(pending, size * 2):
            if seq not in futures:
                _submit(pool, futures, seq, job, item)

    submit_window()
    while pending:
        seq, item = pending[0]
        replace = False
        result: Any
        try:
            if seq not in futures:
                raise BrokenProcessPool("could not be handed to a worker")
            result = futures.pop(seq).result(timeout=seconds)
        except FutureTimeout:  # its worker is still busy with it
            replace = True
            result = gave_up(seconds)
        except BrokenProcessPool:
            if not suspects:  # any of the items in flight may have done it: find out one by one
                suspects.update(futures, [seq])
                return
            result = Failed(WORKER_DIED)
            replace = True
        pending.popleft()
        if suspects:
            suspects.discard(seq)
            replace = replace or not suspects  # the last suspect answered: back to the full pool
        yield item, result
        top_up()
        if replace:
            return
        submit_window()
