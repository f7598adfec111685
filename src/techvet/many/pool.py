"""The local backend: a process pool on this machine's cores, each worker under the per-item limits.

Why not ``ProcessPoolExecutor.map``: it cannot end one hung item (only the whole pool), names no
item when a worker dies, and reads its whole input before the first result. Here items are taken
from the input a window at a time (a million-path list never sits in memory), answered in input
order, and an item that runs over its time or kills its worker is named in a :class:`Failed`;
the workers are replaced and the items not yet answered go on.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
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


def _start_worker(memory: int, shared: Any, warm: Callable[[], None] | None) -> None:
    """Pool initializer: the memory cap, the run's shared value (sent once per worker, not once
    per item), and whatever the job wants loaded before its first item (the knowledge)."""
    global _shared
    limit_memory(memory)
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


def _stop(pool: ProcessPoolExecutor) -> None:
    """End a pool now, its running workers included (a hung item does not end by itself)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def run_pool(
    items: Iterable[T],
    job: Callable[[T, Any], R | Failed],
    shared: Any = None,
    workers: int = 0,
    warm: Callable[[], None] | None = None,
) -> Iterator[tuple[T, R | Failed]]:
    """``job(item, shared)`` for every item, ``workers`` at a time (0: one per core), in input order.
    ``job`` and ``warm`` must be module-level functions (they are sent to worker processes)."""
    seconds, memory = item_limits()
    workers = workers or os.cpu_count() or 1
    source = iter(items)
    pending: deque[tuple[int, T]] = deque()  # taken from the input, not yet answered, in order
    taken = 0

    def top_up(size: int) -> None:
        nonlocal taken
        for item in islice(source, max(0, size * 2 - len(pending))):
            pending.append((taken, item))
            taken += 1

    top_up(workers)
    solo = False  # after a worker died among several: one at a time, to name the item that kills it
    while pending:
        size = 1 if solo else workers
        pool = ProcessPoolExecutor(max_workers=size, initializer=_start_worker, initargs=(memory, shared, warm))
        futures: dict[int, Future[Any]] = {}
        try:
            for seq, item in list(pending)[: size * 2]:  # submitted ahead of the one awaited: workers stay busy
                _submit(pool, futures, seq, job, item)
            while pending:
                seq, item = pending[0]
                replace = False  # a worker hung or died: a new pool for the items still pending
                result: Any
                try:
                    if seq not in futures:
                        raise BrokenProcessPool("could not be handed to a worker")
                    result = futures[seq].result(timeout=seconds)
                except FutureTimeout:  # its worker is still busy with it
                    replace = True
                    result = gave_up(seconds)
                except BrokenProcessPool:
                    if not solo:  # any of the items in flight may have done it: find out one by one
                        solo = True
                        break
                    result = Failed(WORKER_DIED)
                    solo, replace = False, True
                pending.popleft()
                yield item, result
                top_up(size)
                if replace:
                    break
                nxt = next(((s, i) for s, i in islice(pending, size * 2) if s not in futures), None)
                if nxt is not None:
                    _submit(pool, futures, nxt[0], job, nxt[1])
        finally:
            _stop(pool)
