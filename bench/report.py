#!/usr/bin/env python3
"""Benchmark the reports against the scan they report on: rendering must cost less than scanning.

    python bench/report.py --corpus ~/.cache/techvet-corpus      (make bench-report)

Takes 50 apps (the corpus, repeated to reach 50 when it is smaller), scans each in this process,
then times, in the same run, the verdict under the default policy and each report format (JSON,
SARIF, Markdown, the HTML page), and the bulk HTML index. The peer is the scan itself: the issue's
bar is that rendering the 50 pages and their index takes less time than scanning the 50 apps.
Prints milliseconds per app for each step and the ratio scan / (verdict + HTML pages + index).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=Path.home() / ".cache" / "techvet-corpus")
    parser.add_argument("--apps", type=int, default=50)
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.apk"))
    if not files:
        print(f"no apps in {args.corpus}", file=sys.stderr)
        return 2
    files = (files * (args.apps // len(files) + 1))[: args.apps]

    import techvet
    from techvet.report.html import render as render_html
    from techvet.report.html_index import page_name, write_index
    from techvet.report.json_report import render as render_json
    from techvet.report.markdown import render as render_md
    from techvet.report.sarif import run_of
    from techvet.verdict import AppPolicy, decide

    policy = AppPolicy.load()
    techvet.scan(files[0])  # the first scan loads the knowledge; every tool's warm-up is left out
    render_html(techvet.scan(files[0]))
    times: dict[str, float] = {}

    def timed(step: str, work: object) -> None:
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times[step] = time.perf_counter() - started

    results: list[techvet.ScanResult] = []
    timed("scan", lambda: results.extend(techvet.scan(f) for f in files))

    def verdicts() -> None:
        for r in results:
            certificates = [c.sha256 for c in r.app.certificates] if r.app else []
            r.verdict = decide(r.findings, r.app.package if r.app else None, certificates, policy).to_dict()

    timed("verdict", verdicts)
    timed("json", lambda: [render_json(r) for r in results])
    timed("sarif", lambda: [json.dumps(run_of(r)) for r in results])
    timed("markdown", lambda: [render_md(r) for r in results])
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        rows: list[dict[str, object]] = []

        def pages() -> None:
            used: set[str] = set()
            for r in results:
                name = page_name(r.path, used)
                (out / name).write_text(render_html(r), encoding="utf-8")
                assert r.verdict is not None
                rows.append(
                    {
                        "page": name,
                        "title": r.app.package if r.app else r.path,
                        "package": "",
                        "version": "",
                        "verdict": r.verdict["verdict"],
                        "score": r.verdict["score"],
                        "top": [f.title for f in r.findings[:3]],
                    }
                )

        timed("html pages", pages)
        timed("html index", lambda: write_index(out, rows, []))
        size = sum(p.stat().st_size for p in out.iterdir()) / len(results) / 1024
    n = len(results)
    print(f"apps: {n} from {args.corpus}")
    print(f"{'step':12} {'total s':>8} {'ms per app':>10}")
    for step, seconds in times.items():
        print(f"{step:12} {seconds:8.3f} {1000 * seconds / n:10.1f}")
    rendering = times["verdict"] + times["html pages"] + times["html index"]
    print(f"html page size: {size:.0f} KiB per app (index included)")
    print(f"ratio scan / (verdict + html pages + index) = {times['scan'] / rendering:.2f}x (> 1: rendering is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
