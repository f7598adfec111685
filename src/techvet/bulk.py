"""Scan many apps (on the local process pool or a Dask cluster) and hand back rendered reports, in
input order.

Why render in the workers: a :class:`~techvet.scan.ScanResult` holds the app's DEX images (megabytes
each); shipping the rendered JSON line or text block back to the parent costs a few kilobytes. Each
worker loads the knowledge base once and scans app after app. A worker never raises for a bad app:
unreadable input comes back as an error line, so one app cannot take down the batch.

Nor can an app that makes a worker hang or grow: in a batch every app is scanned in a worker under
the per-item limits (techvet.many.limits). An app that runs over its time, or whose worker dies, is
named in one error line; the workers are replaced and the apps not yet answered go on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from techvet.findings import Severity
from techvet.many import Failed, run_many


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
    policy: Any = None,
    color: bool = False,
    indicators: Any = None,
) -> Rendered:
    """Scan and render one app (runs in a worker process, or inline for a single app); with
    ``traffic`` (techvet.traffic.correlate.observed), the report says what the capture confirms;
    ``policy``: an AppPolicy, or the path of one (None: the default);
    ``indicators``: the known tools' index with the run's --iocs bundles (None: the one in use);
    ``color``: the text is for a terminal (the worker's buffer is not one, the parent's output is)."""
    import io

    from techvet.many.sources import SourceError, local_copy
    from techvet.scan import scan_as

    try:
        with local_copy(path) as local:  # an fsspec URL: a temporary copy
            result = scan_as(local, path, None, indicators)
    except SourceError as exc:
        return Rendered(path, False, None, f"{path}: {exc}")
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
    result.judge(cached_policy(policy) if policy is None or isinstance(policy, str) else policy)
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
        summary = {
            "title": result.title,
            "package": package or "",
            "version": (app.version_name if app else None) or "",
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


def _render_item(args: tuple[str, str, bool, bool], shared: tuple[dict[str, Any] | None, Any, Any]) -> Rendered:
    path, fmt, verbose, color = args
    traffic, policy, indicators = shared
    return render_one(path, fmt, verbose, traffic, policy, color, indicators)


def _warm() -> None:
    from techvet.knowledge import load

    load()


def render_many(
    paths: Iterable[str],
    fmt: str,
    verbose: bool = False,
    jobs: int = 0,
    traffic: dict[str, Any] | None = None,
    policy: str | None = None,
    color: bool = False,
    cluster: str | None = None,
    indicators: Any = None,
) -> Iterator[Rendered]:
    """Render every app in ``paths`` (files or fsspec URLs, already expanded; a list or a stream),
    in input order: ``jobs`` at a time on the local process pool (0: one per core), or on the Dask
    cluster ``cluster`` (techvet.many).

    A single app given as a list is scanned in this process; a batch always in workers, even with
    ``jobs`` 1, so that each app runs under the per-app limits (techvet.many.limits)."""
    if isinstance(paths, list) and len(paths) <= 1 and not cluster:
        for path in paths:
            yield render_one(path, fmt, verbose, traffic, policy, color, indicators)
        return
    items = ((p, fmt, verbose, color) for p in paths)
    # the policy read here, once, and sent with the capture and the run's indicators to each worker
    # once: a worker of a remote cluster need not see the files
    shared = (traffic, cached_policy(policy), indicators)
    with contextlib.closing(run_many(items, _render_item, shared, jobs=jobs, cluster=cluster, warm=_warm)) as results:
        for item, result in results:
            if isinstance(result, Failed):
                yield Rendered(item[0], False, None, f"{item[0]}: {result.reason}")
            else:
                yield result
