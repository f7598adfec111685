"""Scan many apps on a local process pool and hand back rendered reports, in input order.

Why render in the workers: a :class:`~techvet.scan.ScanResult` holds the app's DEX images (megabytes
each); shipping the rendered JSON line or text block back to the parent costs a few kilobytes. Each
worker loads the knowledge base once and scans app after app. A worker never raises for a bad app:
unreadable input comes back as an error line, so one app cannot take down the batch.

Nor can an app that makes a worker hang or grow: in a batch every app is scanned in a worker with
an address-space limit (``TECHVET_ITEM_MEMORY_MB``, default 3072) and a time limit
(``TECHVET_ITEM_SECONDS``, default 300). An app that runs over its time, or whose worker dies, is
named in one error line; the workers are replaced and the apps not yet answered go on.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from techvet.findings import Severity


@dataclass(frozen=True, slots=True)
class Rendered:
    """One app's report as text, or the one-line reason it could not be read."""

    path: str
    ok: bool
    max_severity: Severity | None
    output: str  # the rendered report, or the error message when not ok
    errors: tuple[str, ...] = ()  # detector errors: the report is there but incomplete
    verdict: str | None = None  # pass | warn | fail
    summary: dict[str, Any] | None = None  # title, package, version, verdict, score, top findings (bulk index)


def render_one(
    path: str,
    fmt: str,
    verbose: bool,
    traffic: dict[str, Any] | None = None,
    policy: str | None = None,
    color: bool = False,
) -> Rendered:
    """Scan and render one app (runs in a worker process, or inline for a single app); with
    ``traffic`` (techvet.traffic.correlate.observed), the report says what the capture confirms;
    ``color``: the text is for a terminal (the worker's buffer is not one, the parent's output is)."""
    import io

    from techvet.scan import iter_scan

    try:
        (result,) = iter_scan([path])  # unreadable input comes back as a result that is not ok
    except Exception as exc:  # noqa: BLE001 - a bug on one app must not end the batch
        return Rendered(path, False, None, f"{path}: internal error: {type(exc).__name__}: {exc}")
    if not result.ok:
        return Rendered(path, False, None, result.errors[0])
    app = result.app
    package = app.package if app else None
    if traffic is not None:
        from techvet.traffic.correlate import app_findings, correlate

        result.traffic = correlate([row["host"] for row in result.destinations()], traffic, package)
        # what the capture shows the app did is the app's too: the verdict weighs it with the code
        result.findings.extend(app_findings(traffic, package))
        result.findings.sort(key=lambda f: (-f.severity, f.rule, f.subject or ""))
    result.judge(cached_policy(policy))
    verdict = result.verdict or {}
    if fmt == "json":
        from techvet.report.json_report import render as render_json

        text = render_json(result) + "\n"
    elif fmt == "sarif":
        import json

        from techvet.report.sarif import run_of

        text = json.dumps(run_of(result), ensure_ascii=False) + "\n"  # one run; the caller wraps the log
    elif fmt == "html":
        from techvet.report.html import render as render_html

        text = render_html(result)
    elif fmt == "md":
        from techvet.report.markdown import render as render_md

        text = render_md(result) + "\n"
    else:
        from techvet.report.text import render as render_text

        buffer = io.StringIO()
        render_text(result, buffer, verbose=verbose, color=color)
        text = buffer.getvalue() + "\n"
    summary = None
    if fmt == "html":
        manifest = app.manifest if app else None
        summary = {
            "title": result.title,
            "package": package or "",
            "version": manifest.version_name if manifest and manifest.version_name else "",
            "verdict": verdict["verdict"],
            "score": verdict["score"],
            "top": [f"{f.severity} {f.rule} {f.title}" for f in result.findings[:3]],
        }
    return Rendered(path, True, result.max_severity, text, tuple(result.errors), verdict["verdict"], summary)


@lru_cache(maxsize=4)
def cached_policy(path: str | None) -> Any:
    """The app policy, read once per worker process."""
    from techvet.verdict import AppPolicy

    return AppPolicy.load(path)


def _render_args(args: tuple[str, str, bool, dict[str, Any] | None, str | None, bool]) -> Rendered:
    return render_one(*args)


def env_number(name: str, default: float) -> float:
    """A positive number from the environment variable ``name``, else ``default`` (a value that is
    not a positive number is ignored rather than allowed to switch a limit off)."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def item_limits() -> tuple[float, int]:
    """(seconds, bytes) one app may take in a batch worker, from the environment or the defaults."""
    return env_number("TECHVET_ITEM_SECONDS", 300.0), int(env_number("TECHVET_ITEM_MEMORY_MB", 3072.0) * 2**20)


def _limit_worker(memory: int) -> None:
    """Pool initializer: cap the worker's address space, so an app that makes it grow fails alone
    (a MemoryError in that app, or the worker's death) instead of taking the machine."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):  # not on this platform, or not allowed: no cap
        pass


def _submit(pool: ProcessPoolExecutor, futures: dict[int, Future[Rendered]], i: int, item: Any) -> None:
    """Hand app ``i`` to the pool; a pool a worker's death has just broken takes nothing, and the
    app is then awaited as broken (so found out, one by one, with the others)."""
    with contextlib.suppress(BrokenProcessPool):
        futures[i] = pool.submit(_render_args, item)


def _stop(pool: ProcessPoolExecutor) -> None:
    """End a pool now, its running workers included (a hung scan does not end by itself)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def render_many(
    paths: list[str],
    fmt: str,
    verbose: bool = False,
    jobs: int = 0,
    traffic: dict[str, Any] | None = None,
    policy: str | None = None,
    color: bool = False,
) -> Iterator[Rendered]:
    """Render every app in ``paths`` (files, already expanded), ``jobs`` at a time (0: one per core).

    A single app is scanned in this process; a batch always in workers, even with ``jobs`` 1, so
    that each app runs under the per-app limits (:func:`item_limits`)."""
    if len(paths) <= 1:
        for path in paths:
            yield render_one(path, fmt, verbose, traffic, policy, color)
        return
    workers = min(jobs or os.cpu_count() or 1, len(paths))
    seconds, memory = item_limits()
    args = [(p, fmt, verbose, traffic, policy, color) for p in paths]
    pending = list(range(len(paths)))  # indexes not yet answered, in input order
    solo = False  # after a worker died among several: one at a time, to name the app that kills it
    while pending:
        size = 1 if solo else workers
        pool = ProcessPoolExecutor(max_workers=size, initializer=_limit_worker, initargs=(memory,))
        futures: dict[int, Future[Rendered]] = {}

        try:
            for i in pending[: size * 2]:  # submitted ahead of the one awaited: the workers stay busy
                _submit(pool, futures, i, args[i])
            while pending:
                i = pending[0]
                replace = False  # a worker hung or died: a new pool for the apps still pending
                try:
                    if i not in futures:
                        raise BrokenProcessPool(f"{paths[i]} could not be handed to a worker")
                    result = futures[i].result(timeout=seconds)
                except FutureTimeout:  # its worker is still busy with it
                    replace = True
                    result = Rendered(paths[i], False, None, f"{paths[i]}: gave up after {seconds:g} s (per-app limit)")
                except BrokenProcessPool:
                    if not solo:  # any of the apps in flight may have done it: find out one by one
                        solo = True
                        break
                    result = Rendered(
                        paths[i], False, None, f"{paths[i]}: the worker scanning it died (out of memory or crashed)"
                    )
                    solo, replace = False, True
                pending.pop(0)
                yield result
                if replace:
                    break
                nxt = next((j for j in pending[: size * 2] if j not in futures), None)
                if nxt is not None:
                    _submit(pool, futures, nxt, args[nxt])
        finally:
            _stop(pool)
