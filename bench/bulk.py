#!/usr/bin/env python3
"""Benchmark whole-catalogue runs (issue 16): the process pool against a Dask LocalCluster, resuming,
and screening a million supplier rows.

    python bench/bulk.py [--apps 10000] [--rows 1000000] [--corpus ~/.cache/techvet-corpus]   (make bench-bulk)

1. Builds a synthetic corpus of ``--apps`` apps in a temporary folder: the corpus apps (when
   ``--corpus`` holds them) and the fixture apps in turn, each copy with its own zip comment so
   that every hash differs (tools/apk_copies.py).
2. Scans it into a Parquet dataset (techvet.dataset.build_dataset, what ``scan -f parquet`` runs)
   with ``-j 1``, the process pool on all cores, a LocalCluster of 1 worker and one of as many
   workers as cores; prints apps/s and peak memory (RSS) per worker for each; the cluster's
   overhead against the pool on the same cores (target at most 15%); the cluster's scaling from 1
   to 2 workers (target at least 1.8x).
3. Deletes the parts holding half of the dataset's apps and runs again (on the cluster): the time
   it takes, how many apps it scanned and how many it skipped (target: only the missing half).
4. Screens a supplier file of ``--rows`` rows (eval names, varied, and a malformed row now and
   then) with ``techvet screen`` in one process and with ``--cluster local:N``; prints rows/s of each.

Everything runs on this machine; only 127.0.0.1 is contacted (the LocalCluster's own ports).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.apk_copies import write_copies  # noqa: E402


class PeakMemory:
    """Samples the RSS of this process's descendants (the pool's workers, the cluster's workers and
    nannies) every 50 ms; keeps the peak of each."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.peaks: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.05):
            for child in self.me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                    line = " ".join(child.cmdline())
                except psutil.Error:
                    continue
                kind = "nanny" if "nanny" in line.lower() and "spawn_main" not in line else "worker"
                old = self.peaks.get(child.pid, (kind, 0))
                self.peaks[child.pid] = (kind, max(old[1], rss))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def worker_peak_mib(self) -> float:
        """The largest peak among the worker processes (the processes that scan)."""
        return max((rss for _, rss in self.peaks.values()), default=0) / 2**20


def _corpus(count: int, corpus: Path, folder: Path) -> tuple[list[Path], str]:
    from techvet.app.reader import APP_SUFFIXES

    fixtures = sorted(p for p in (ROOT / "tests" / "fixtures" / "apps").iterdir() if p.suffix in (".apk", ".apks"))
    real = sorted(p for p in corpus.glob("*") if p.name.lower().endswith(APP_SUFFIXES)) if corpus.is_dir() else []
    sources = real + fixtures
    what = f"{len(real)} corpus apps and {len(fixtures)} fixture apps" if real else f"{len(fixtures)} fixture apps"
    return write_copies(sources, folder, count, tag="bench"), what


def _disk_read() -> int:
    """Bytes read from the machine's disks so far: what the page cache did not hold (this VM's
    kernel pages out memory it finds cold, the cached corpus included)."""
    import psutil

    counters = psutil.disk_io_counters()
    return int(counters.read_bytes) if counters else 0


def _run(paths: list[str], out: Path, **backend: Any) -> tuple[float, Any, float, float]:
    """(seconds, tally, peak worker MiB, GiB read from disk) of one dataset run."""
    from techvet.dataset.build import build_dataset

    shutil.rmtree(out, ignore_errors=True) if backend.pop("fresh", True) else None
    read = _disk_read()
    with PeakMemory() as memory:
        started = time.perf_counter()
        tally = build_dataset(paths, out, **backend)
        seconds = time.perf_counter() - started
    return seconds, tally, memory.worker_peak_mib(), (_disk_read() - read) / 2**30


def _line(name: str, seconds: float, tally: Any, peak: float, disk: float, apps: int) -> None:
    print(
        f"{name:34} {apps / seconds:8.1f} apps/s  {seconds:7.1f} s  peak RSS per worker {peak:5.0f} MiB  "
        f"disk read {disk:5.1f} GiB  (added {tally.added}, already {tally.already}, unreadable {tally.unreadable}, "
        f"not done {tally.not_done})",
        flush=True,
    )


def _half_removed(out: Path) -> int:
    """Remove the parts holding (about) half of the dataset's apps; return how many apps they held."""
    import pyarrow.parquet as pq

    from techvet.dataset.tables import TABLES
    from techvet.dataset.writer import part_files

    parts = part_files(out, "apps")
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
    removed = 0
    for part in parts[::2]:
        if removed >= total // 2:
            break
        removed += pq.ParquetFile(part).metadata.num_rows
        for table in TABLES:
            (out / table / part.name).unlink(missing_ok=True)
    return removed


def _suppliers(path: Path, rows: int) -> None:
    """The supplier file bench/screen.py screens, at ``rows`` rows."""
    from bench.screen import _rows, write_suppliers

    write_suppliers(path, rows, [r[0] for r in _rows()])


def _screen(path: Path, rows: int, extra: list[str]) -> float:
    command = [sys.executable, "-m", "techvet.cli", "screen", str(path), "-f", "csv", "-o", os.devnull, "-q", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1, 2) or "internal error" in done.stderr:
        raise SystemExit(f"screen {' '.join(extra)} failed: {done.stderr.strip()[:300]}")
    how = " ".join(extra) or "(one process)"
    print(f"screen {rows:,} rows {how:24} {rows / seconds:9,.0f} rows/s  {seconds:6.1f} s")
    return rows / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--corpus", type=Path, default=Path.home() / ".cache" / "techvet-corpus")
    parser.add_argument("--skip", action="append", default=[], choices=("scan", "screen"))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="techvet-bulk-") as tmp:
        folder = Path(tmp)
        if "scan" not in args.skip:
            started = time.perf_counter()
            copies, what = _corpus(args.apps, args.corpus, folder / "apps")
            size = sum(p.stat().st_size for p in copies) / 2**30
            print(f"synthetic corpus: {len(copies):,} apps ({what}, each copy its own hash), {size:.1f} GiB, "
                  f"written in {time.perf_counter() - started:.0f} s; {cores} cores", flush=True)  # fmt: skip
            paths = [str(p) for p in copies]
            n = len(paths)
            results = {}
            for name, backend in (
                ("-j 1 (one worker process)", {"jobs": 1}),
                (f"process pool, {cores} workers", {"jobs": cores}),
                ("LocalCluster, 1 worker", {"cluster": "local:1"}),
                (f"LocalCluster, {cores} workers", {"cluster": f"local:{cores}"}),
            ):
                seconds, tally, peak, disk = _run(paths, folder / "ds", **backend)
                results[name] = seconds
                _line(name, seconds, tally, peak, disk, n)
            pool, cluster = results[f"process pool, {cores} workers"], results[f"LocalCluster, {cores} workers"]
            print(f"cluster overhead against the pool on {cores} cores: {100 * (cluster / pool - 1):+.1f}% "
                  f"(target at most +15%)")  # fmt: skip
            if cores >= 2:
                two = results[f"LocalCluster, {cores} workers"] if cores == 2 else None
                if two is None:
                    two, _, _, _ = _run(paths, folder / "ds", cluster="local:2")
                one, single = results["LocalCluster, 1 worker"], results["-j 1 (one worker process)"]
                print(f"cluster scaling 1 -> 2 workers: {one / two:.2f}x (target at least 1.8x); "
                      f"pool -j 1 -> {cores}: {single / pool:.2f}x")  # fmt: skip
            removed = _half_removed(folder / "ds")
            seconds, tally, peak, disk = _run(paths, folder / "ds", cluster=f"local:{cores}", fresh=False)
            _line(f"resumed, {removed:,} apps missing", seconds, tally, peak, disk, n)
            print(f"resume scanned {tally.added:,} apps and skipped {tally.already:,} (missing: {removed:,}); "
                  f"{seconds:.1f} s against {cluster:.1f} s for the whole run ({seconds / cluster:.2f})")  # fmt: skip
            shutil.rmtree(folder / "apps")
        if "screen" not in args.skip:
            path = folder / "suppliers.csv"
            _suppliers(path, args.rows)
            single = _screen(path, args.rows, [])
            spread = _screen(path, args.rows, ["--cluster", f"local:{cores}"])
            print(f"screening on the LocalCluster ({cores} workers) against one process: {spread / single:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
