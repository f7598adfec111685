"""The cluster backend: the same per-item job on a Dask distributed cluster.

Imported only when a cluster is asked for (``--cluster``, ``TECHVET_DASK_SCHEDULER``): Dask is the
optional extra ``techvet[cluster]``. ``tcp://HOST:8786`` joins an existing scheduler (on
Kubernetes, SLURM through dask-jobqueue ...; its workers need techvet installed); ``local`` or
``local:N`` starts a LocalCluster of N one-thread worker processes on this machine.

What is the same as on the process pool: items are taken from the input a window at a time and
answered in input order; each worker loads what the job needs once, and gets the run's shared
value once (a worker plugin, :class:`_RunPlugin`), not with every item; results come back small
(the job renders or flattens in the worker). The per-item time limit is enforced in the worker (a
watchdog, :func:`_watched`); the memory limit is the worker's (Dask's nanny restarts a worker that
grows past it). A worker that dies loses the items it held (its task's chunk): each is a
:class:`Failed` to retry, so one bad app never ends the run. Workers of a cluster of the user's
own use the knowledge and lists installed there: each dataset row says which (its techvet
version, knowledge identity and list snapshot).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable
from itertools import islice
from typing import Any, TypeVar

from distributed import Client, LocalCluster, WorkerPlugin
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker

from techvet.errors import TechvetError, UsageError
from techvet.many.limits import item_limits
from techvet.many.outcome import WORKER_DIED, Failed, gave_up, internal_error

T = TypeVar("T")
R = TypeVar("R")
GRACE_SECONDS = 60.0  # beyond the worker's own time limit, before the client gives up on an item
CHUNK = 8  # items per task at most
# A LocalCluster's settings. Measured here on the corpus apps, one worker: Dask's default
# MALLOC_TRIM_THRESHOLD_=65536 in its workers' environment makes a scan 16% slower (glibc gives
# memory back to the system after every app and maps it again for the next; setting the threshold
# at all also stops glibc adapting its mmap threshold), and its statistical profiler samples the
# scanning thread every 10 ms. Without both, a worker scans within 6% of a plain process. A
# cluster of the user's own keeps its own settings: the same two lines help there.
LOCAL_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1},
    "distributed.worker.profile.enabled": False,
    # the per-worker memory limit is the nanny's (terminate); results are small, nothing to spill,
    # and a worker paused at 80% would hold its items without failing them
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
}
_SHARED: dict[str, Any] = {}  # on a worker: each run's shared value, by run (a worker may serve several)


class _Overtime(BaseException):
    """Raised inside a task that ran over its time. A BaseException, so that the detectors'
    ``except Exception`` (which turn a detector's bug into an incomplete scan) cannot swallow it."""


def _watched(job: Callable[[Any, Any], Any], item: Any, shared: Any, seconds: float) -> Any:
    """Run ``job`` on a Dask worker thread under a time limit.

    Why by hand: Dask can neither time out nor stop a running task, and a hung scan would hold its
    worker thread for good. A timer raises :class:`_Overtime` in this thread
    (``PyThreadState_SetAsyncExc``, delivered at the next call or loop, so a scan, which is Python,
    stops within moments). Under the lock, the timer raises only while the job runs; the job's end
    is marked in a ``finally`` inside the outer ``try``, so an exception already on its way is
    delivered there and caught below, never in the caller."""
    lock = threading.Lock()
    state = {"done": False}
    thread = threading.get_ident()

    def overtime() -> None:
        with lock:
            if not state["done"]:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(_Overtime))

    timer = threading.Timer(seconds, overtime)
    timer.daemon = True
    timer.start()
    try:
        try:
            return job(item, shared)
        finally:
            with lock:
                state["done"] = True
    except _Overtime:
        return gave_up(seconds)
    except Exception as exc:  # noqa: BLE001 - a bug on one item must not end the batch
        return internal_error(exc)
    finally:
        timer.cancel()


def _watched_chunk(job: Callable[[Any, Any], Any], items: list[Any], run: str, seconds: float) -> list[Any]:
    """A task: each item of ``items`` in turn, each under its own time limit, with the run's
    shared value as this worker holds it (from the run's plugin)."""
    if run not in _SHARED:
        return [Failed("the worker did not receive the run's settings")] * len(items)
    results = []
    for item in items:
        try:
            results.append(_watched(job, item, _SHARED[run], seconds))
        except _Overtime:  # a belt to the braces above: never out of the task
            results.append(gave_up(seconds))
    return results


def _worker_version() -> str:
    """Runs on each worker when the run starts: a worker without techvet fails here, once, with
    one line, not once per item."""
    from techvet import __version__

    return __version__


class _RunPlugin(WorkerPlugin):
    """What a run gives each worker once, when the worker joins (and again on a worker the nanny
    restarted): the run's shared value (kept on the worker, so a worker's death cannot lose it, as
    it would lose scattered data), the worker's scratch folder for temporary files (Dask removes
    it), and whatever the job wants loaded first (the knowledge, the screening index)."""

    def __init__(self, run: str, shared: Any, warm: Callable[[], None] | None) -> None:
        self.run, self.shared, self.warm = run, shared, warm

    def setup(self, worker: Any) -> None:
        import tempfile

        _SHARED[self.run] = self.shared
        with contextlib.suppress(AttributeError, OSError):
            tempfile.tempdir = str(worker.local_directory)
        if self.warm is not None:
            self.warm()

    def teardown(self, worker: Any) -> None:
        _SHARED.pop(self.run, None)


def _local_workers(spec: str) -> int:
    count = spec.partition(":")[2]
    if not count:
        return os.cpu_count() or 1
    if not count.isdigit() or not 0 < int(count) <= 1024:
        raise UsageError(f"--cluster {spec}: local:N takes a number of workers from 1 to 1024")
    return int(count)


def open_client(spec: str) -> tuple[Any, Any]:
    """(client, the LocalCluster started for it or None) for ``spec``: ``local[:N]`` or a
    scheduler's address."""
    seconds, memory = item_limits()
    if spec == "local" or spec.startswith("local:"):
        import dask

        workers = _local_workers(spec)
        # Our own scheduler: a task whose worker died is not tried again on another (it may be the
        # app that kills workers); it comes back as Failed, and a rerun tries it once more.
        with dask.config.set(LOCAL_CONFIG):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=memory,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address="127.0.0.1:0",  # its HTTP server on loopback, a free port
                silence_logs=logging.ERROR,
            )
        return Client(cluster), cluster
    if "://" not in spec and ":" not in spec:
        raise UsageError(f"--cluster {spec!r}: give a scheduler address (tcp://HOST:8786) or local[:N]")
    try:
        return Client(spec, timeout=30), None
    except (OSError, TimeoutError) as exc:
        raise TechvetError(f"cannot reach the Dask scheduler at {spec}: {exc}") from None
    except (ValueError, TypeError) as exc:  # an address Dask cannot parse
        raise UsageError(f"--cluster {spec!r}: not a scheduler address ({exc})") from None


def _restart_holder(client: Any, future: Any) -> None:
    """Restart the worker still running ``future`` after the client gave up on it: a task stuck in
    C code (where the watchdog's exception cannot land) would otherwise hold that worker for good."""
    with contextlib.suppress(Exception):
        holders = [w for w, keys in client.processing().items() if future.key in keys]
        if holders:
            client.restart_workers(holders)


def run_cluster(
    items: Iterable[T],
    job: Callable[[T, Any], R | Failed],
    spec: str,
    shared: Any = None,
    warm: Callable[[], None] | None = None,
) -> Generator[tuple[T, R | Failed], None, None]:
    """``job(item, shared)`` for every item on the cluster ``spec``, answered in input order.

    Items travel in chunks of up to :data:`CHUNK` per task: a task costs the scheduler about a
    millisecond, as much as scanning a small app, and on a machine of few cores the scheduler's
    time is taken from the workers'. Near the end of the input the chunks shrink to one item, so
    that every worker has work until the last."""
    import uuid

    seconds, _ = item_limits()
    client, cluster = open_client(spec)
    run = f"techvet-{uuid.uuid4().hex[:12]}"
    futures: deque[tuple[list[T], Any]] = deque()
    try:
        try:
            client.run(_worker_version)
        except Exception as exc:  # noqa: BLE001 - whatever a worker says, in one line
            raise TechvetError(f"--cluster {spec}: a worker cannot run techvet ({type(exc).__name__}: {exc})") from None
        client.register_plugin(_RunPlugin(run, shared, warm), name=run)
        threads = max(1, sum(client.nthreads().values()))
        window = max(8, 4 * threads)  # tasks in flight
        source = iter(items)
        waiting: deque[T] = deque()  # taken from the input, not yet sent

        def top_up() -> None:
            while len(futures) < window:
                waiting.extend(islice(source, max(0, CHUNK * 2 * threads - len(waiting))))
                if not waiting:
                    return
                size = max(1, min(CHUNK, len(waiting) // (2 * threads)))
                chunk = [waiting.popleft() for _ in range(min(size, len(waiting)))]
                futures.append((chunk, client.submit(_watched_chunk, job, chunk, run, seconds, pure=False)))

        top_up()
        while futures:
            chunk, future = futures[0]
            results: list[Any]
            try:
                results = future.result(timeout=seconds * (len(chunk) + 1) + GRACE_SECONDS)
            except TimeoutError:
                _restart_holder(client, future)
                future.cancel()
                results = [gave_up(seconds)] * len(chunk)
            except (KilledWorker, FutureCancelledError):
                results = [Failed(WORKER_DIED)] * len(chunk)
            except (Exception, _Overtime) as exc:  # noqa: BLE001 - the cluster could not run it: say so, go on
                results = [Failed(f"the cluster could not run it: {type(exc).__name__}: {exc}")] * len(chunk)
            futures.popleft()
            future.release()
            yield from zip(chunk, results, strict=True)
            top_up()
    finally:
        for _, future in futures:
            future.cancel()
        with contextlib.suppress(Exception):
            client.unregister_worker_plugin(run)  # a shared cluster's workers forget the run
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
