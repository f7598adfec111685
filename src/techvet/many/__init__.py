"""Many items, one function: a per-item job run over an input stream on a chosen backend.

The CLI (scan, screen), the dataset writer and the benchmarks all call :func:`run_many`; the
backend is the local process pool (the default) or a Dask cluster (``--cluster`` or
``TECHVET_DASK_SCHEDULER``). Either way items are answered in input order, each under the
per-item limits (:mod:`techvet.many.limits`), and an item that gives no result comes back as a
:class:`Failed` naming why, never as an exception that ends the batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

from techvet.errors import TechvetError
from techvet.many.outcome import Failed

T = TypeVar("T")
R = TypeVar("R")
SCHEDULER_VARIABLE = "TECHVET_DASK_SCHEDULER"


def chosen_cluster(option: str | None) -> str | None:
    """The cluster asked for: ``--cluster`` first, else ``TECHVET_DASK_SCHEDULER``, else none."""
    return option or os.environ.get(SCHEDULER_VARIABLE) or None


def run_many(
    items: Iterable[T],
    job: Callable[[T, Any], R | Failed],
    shared: Any = None,
    jobs: int = 0,
    cluster: str | None = None,
    warm: Callable[[], None] | None = None,
) -> Generator[tuple[T, R | Failed], None, None]:
    """``job(item, shared)`` for each item, as ``(item, result)`` in input order: on the Dask
    cluster ``cluster`` when given, else on a process pool of ``jobs`` workers (0: one per core).
    ``job`` and ``warm`` are module-level functions (they travel to other processes); ``warm``
    runs once in each worker before its first item."""
    if cluster:
        try:
            from techvet.many.cluster import run_cluster
        except ImportError:
            raise TechvetError("--cluster needs Dask: pip install 'techvet[cluster]'") from None
        return run_cluster(items, job, cluster, shared, warm)
    from techvet.many.pool import run_pool

    return run_pool(items, job, shared, jobs, warm)


__all__ = ["SCHEDULER_VARIABLE", "Failed", "chosen_cluster", "run_many"]
