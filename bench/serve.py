#!/usr/bin/env python3
"""Benchmark the team service (issue 14): mixed traffic on a real `techvet serve`, and re-judging.

    python bench/serve.py [--requests 1000] [--clients 20] [--uploads 100] [--stored 10000]

1. Starts `techvet serve` on 127.0.0.1 (a free port, a temporary data folder, SQLite unless
   TECHVET_DATABASE_URL is set, 2 workers) and sends ``--requests`` requests from ``--clients``
   concurrent clients, ``--uploads`` of them app uploads (the fixture apps in turn), the rest reads
   (the app list with and without filters, one app, one job, the audit log). Prints p50/p95 latency
   of the reads, uploads accepted per second, then waits (at most 10 minutes) for every job and
   prints jobs finished and jobs lost (accepted but never ended: must be 0).
2. Stores ``--stored`` app results in a fresh database (the fixture apps' results, each under its
   own hash: the corpus apps' results when ~/.cache/techvet-corpus holds them, else the fixture
   apps'), installs a list snapshot that adds two SDK vendors, and times re-judging every stored
   app from its facts; against it, the time scanning those apps again would take (this run's
   median scan time of the same apps times ``--stored``, on one core).

3. Times each page (issue 15) over those stored apps: p50/p95 of its server time, the slowest
   page's p95 against the 200 ms target, and the apps page against the API's JSON for the same
   question (the peer).

Only 127.0.0.1 is contacted; everything is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "apps"
CORPUS = Path(os.environ.get("TECHVET_CORPUS", Path.home() / ".cache" / "techvet-corpus"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def traffic(args: argparse.Namespace, data: Path) -> None:
    import httpx

    env = {**os.environ, "TECHVET_DATA_DIR": str(data), "TECHVET_RATE_LIMIT": "1000000"}
    tokens = {}
    for role in ("viewer", "analyst"):
        tokens[role] = subprocess.run(
            [sys.executable, "-m", "techvet", "users", "add", f"bench-{role}", "--role", role, "--data", str(data)],
            capture_output=True, text=True, env=env, check=True,
        ).stdout.strip()  # fmt: skip
    port = _port()
    server = subprocess.Popen(
        [sys.executable, "-m", "techvet", "serve", "--data", str(data), "--port", str(port), "--workers", "2"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        apps = sorted(FIXTURES.glob("*.apk"))
        payloads = [(p.name, p.read_bytes()) for p in apps]
        plan = ["upload"] * args.uploads + ["read"] * (args.requests - args.uploads)
        random.Random(7).shuffle(plan)
        reads = [
            "/api/v1/apps",
            "/api/v1/apps?verdict=fail",
            "/api/v1/apps?vendor_country=CN&cleartext=true",
            "/api/v1/apps?sdk=jpush",
            "/api/v1/apps/{item}",
            "/api/v1/jobs/{job}",
            "/api/v1/audit",
        ]
        latencies: dict[str, list[float]] = {"read": [], "upload": []}
        jobs: list[int] = []
        errors: list[str] = []

        def one(n: int) -> None:
            kind = plan[n]
            with httpx.Client(base_url=base, timeout=60) as client:
                started = time.perf_counter()
                if kind == "upload":
                    name, body = payloads[n % len(payloads)]
                    answer = client.post("/api/v1/apps", files={"file": (name, body)},
                                         headers={"Authorization": f"Bearer {tokens['analyst']}"})  # fmt: skip
                    if answer.status_code == 202:
                        jobs.append(int(answer.json()["job"]))
                else:
                    path = reads[n % len(reads)].format(item=max(1, n % 50), job=max(1, len(jobs)))
                    answer = client.get(path, headers={"Authorization": f"Bearer {tokens['viewer']}"})
                latencies[kind].append(time.perf_counter() - started)
                if answer.status_code not in (200, 202, 404):
                    errors.append(f"{kind} {answer.status_code}")

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(one, range(len(plan))))
        wall = time.perf_counter() - started
        read_ms = [x * 1000 for x in latencies["read"]]
        print(f"requests {len(plan)} from {args.clients} clients in {wall:.1f} s; unexpected answers: {len(errors)}")
        print(
            f"reads  p50 {_percentile(read_ms, 0.5):.1f} ms  p95 {_percentile(read_ms, 0.95):.1f} ms"
            f"  (n={len(read_ms)})"
        )
        up_ms = [x * 1000 for x in latencies["upload"]]
        print(f"uploads accepted {len(jobs)}/{args.uploads}: {len(jobs) / wall:.1f}/s over the run; "
              f"p50 {_percentile(up_ms, 0.5):.1f} ms  p95 {_percentile(up_ms, 0.95):.1f} ms")  # fmt: skip
        deadline = time.monotonic() + 600
        viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
        while time.monotonic() < deadline:
            pending = httpx.get(base + "/api/v1/jobs", params={"state": "queued"}, headers=viewer).json()["total"]
            running = httpx.get(base + "/api/v1/jobs", params={"state": "running"}, headers=viewer).json()["total"]
            if pending + running == 0:
                break
            time.sleep(0.5)
        ended = {"done": 0, "failed": 0}
        for state in ended:
            ended[state] = httpx.get(
                base + "/api/v1/jobs", params={"state": state, "per_page": 1}, headers=viewer
            ).json()["total"]
        finished_in = time.perf_counter() - started
        print(f"jobs finished {ended['done']} done + {ended['failed']} failed of {len(jobs)} accepted "
              f"({finished_in:.1f} s from the first request); "
              f"jobs lost {len(jobs) - ended['done'] - ended['failed']}")  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def rejudging(args: argparse.Namespace, data: Path) -> None:
    os.environ["TECHVET_DATA_DIR"] = str(data)
    from techvet.knowledge import load
    from techvet.scan import scan
    from techvet.screen.snapshot import add_forms, make_party
    from techvet.screen.update import _install
    from techvet.store.db import Store
    from techvet.store.items import save_app
    from techvet.store.judging import active_policy, judge, snapshot
    from techvet.store.models import Blob
    from techvet.store.rejudge import rejudge_apps

    kb = load()
    store = Store(data, f"sqlite:///{data / 'rejudge.db'}" if not os.environ.get("TECHVET_DATABASE_URL") else None)
    store.upgrade()
    docs, seconds = [], []
    corpus = sorted(CORPUS.glob("*.apk"))
    sample = corpus or sorted(FIXTURES.glob("*.apk"))  # real apps when the corpus is here: the fair peer
    for path in sample:
        started = time.perf_counter()
        result = scan(path)
        seconds.append(time.perf_counter() - started)
        docs.append(result.to_dict())
    what = f"{len(sample)} {'corpus' if corpus else 'fixture'} apps"
    with store.session() as session:
        policy, version = active_policy(session)
        for n in range(args.stored):
            doc = json.loads(json.dumps(docs[n % len(docs)]))
            doc["verdict"] = judge(doc, policy)
            session.add(Blob(sha256=f"{n:064x}", size=0))
            save_app(session, f"{n:064x}", doc, snapshot(kb), version)
    added = ["Getui (Daily Interactive)", "Shenzhen Hexun Huagu (Aurora Mobile)"]
    parties = [
        make_party("us-fcc-covered", f"bench-{n}", name, country="CN", listed_on="2026-11-30")
        for n, name in enumerate(added)
    ]
    add_forms(parties, kb.name_words)
    doc = json.loads(json.dumps(kb.restriction_lists))
    doc["parties"] += parties
    _install(doc, kb)
    load.cache_clear()
    started = time.perf_counter()
    done = rejudge_apps(store.session, load(), "bench: a new list snapshot")
    took = time.perf_counter() - started
    per_scan = statistics.median(seconds)
    rescan = per_scan * args.stored
    rate = done.judged / took
    print(f"re-judged {done.judged} stored apps in {took:.1f} s ({rate:.0f}/s), {len(done.changed)} verdicts changed")
    print("  (target: under 60 s for 10,000)")
    print(f"scanning them again: {per_scan * 1000:.0f} ms median scan of the {what} x {args.stored}")
    print(f"  = {rescan:.0f} s on one core")
    print(f"ratio scan-again/re-judge = {rescan / took:.1f}x")
    store.dispose()
    pages(args, data, store.engine.url.render_as_string(hide_password=False))


def pages(args: argparse.Namespace, data: Path, url: str) -> None:
    """Each page's server time over the ``--stored`` apps just judged (in this process, through the
    ASGI app: what the server spends, not the network), against the API's JSON answer to the same
    question as the peer."""
    from fastapi.testclient import TestClient

    from techvet.server.app import Settings, create_app
    from techvet.store.users import add_user

    os.environ["TECHVET_RATE_LIMIT"] = "1000000"
    app = create_app(Settings(data, url, background=False))
    with app.state.store.session() as session:
        add_user(session, "bench-pages", "admin", "bench-pages-password")
    client = TestClient(app, base_url="https://testserver")
    assert client.post("/signin", data={"name": "bench-pages", "password": "bench-pages-password"}).status_code == 200
    first, last = 1, args.stored
    paths = {
        "portfolio": "/",
        "apps": "/apps",
        "apps failing": "/apps?verdict=fail",
        "apps worst first": "/apps?sort=worst",
        "apps search": "/apps?q=pilot",
        "apps by destination owner": "/apps?owner=mobtech",
        "apps by vendor country": "/apps?vendor_country=CN",
        "apps page 100": "/apps?page=100",
        "one app": f"/apps/{last}",
        "compare": f"/apps/{first}/compare/{last}",
        "audit log": "/audit",
        "lists": "/lists",
    }
    rounds = 30
    worst = 0.0
    print(f"pages over {args.stored} stored apps, {rounds} requests each (server time, ms):")
    for name, path in paths.items():
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (path, answer.status_code)
        worst = max(worst, _percentile(times, 0.95))
        print(f"  {name:<26} p50 {_percentile(times, 0.5):6.1f}  p95 {_percentile(times, 0.95):6.1f}")
    api, page = [], []
    viewer = {"Authorization": "Bearer " + _token(app)}
    for _ in range(rounds):
        started = time.perf_counter()
        client.get("/api/v1/apps?verdict=fail", headers=viewer)
        api.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.get("/apps?verdict=fail")
        page.append(time.perf_counter() - started)
    print(f"slowest page p95 {worst:.1f} ms (target: under 200 ms)")
    print(f"ratio page/API for the failing apps = {statistics.median(page) / statistics.median(api):.2f}x")
    app.state.store.dispose()


def _token(app: object) -> str:
    from techvet.store.models import User
    from techvet.store.users import add_token

    with app.state.store.session() as session:  # type: ignore[attr-defined]
        return add_token(session, session.query(User).filter_by(name="bench-pages").one(), "bench")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--uploads", type=int, default=100)
    ap.add_argument("--stored", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="techvet-bench-serve-") as tmp:
        traffic(args, Path(tmp) / "service")
        rejudging(args, Path(tmp) / "rejudge")


if __name__ == "__main__":
    main()
