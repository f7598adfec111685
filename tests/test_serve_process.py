"""The team service as a real process (issue 14): `techvet serve` with its worker processes, killed
in the middle of its jobs and started again; re-judging when a list snapshot adds an SDK's vendor,
with the event posted to a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service's extra is not installed (pip install -e '.[serve]')")

import httpx  # noqa: E402

from tests.conftest import FIXTURES  # noqa: E402
from tests.service_helpers import Server  # noqa: E402
from tests.service_helpers import free_port as _free_port  # noqa: E402


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {**os.environ, "TECHVET_DATA_DIR": str(tmp_path / "data"), "TECHVET_LISTS_CHECK_SECONDS": "1"}
    env.pop("TECHVET_DATABASE_URL", None)
    srv = Server(tmp_path / "data", env)
    yield srv
    srv.stop()


def _wait(predicate: Any, seconds: float = 90.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"not reached in {seconds} s")


def _upload(srv: Server, token: str, name: str) -> int:
    files = {"file": (name, (FIXTURES / name).read_bytes())}
    answer = httpx.post(srv.url("/api/v1/apps"), headers={"Authorization": f"Bearer {token}"}, files=files, timeout=30)
    assert answer.status_code == 202, answer.text
    return int(answer.json()["job"])


def test_a_server_killed_during_its_jobs_finishes_them_after_a_restart(server: Server) -> None:
    token = server.token("ana", "analyst")
    auth = {"Authorization": f"Bearer {token}"}
    server.start()
    names = ["drone_companion.apk", "clean_app.apk", "unknown_sdk.apk", "behaviours.apk", "legu_like.apk",
             "dormant.apk", "compat.apk", "clean_app_v2.apk"]  # fmt: skip
    jobs = [_upload(server, token, name) for name in names]

    def some_running() -> bool:
        got = httpx.get(server.url("/api/v1/jobs"), params={"state": "running"}, headers=auth, timeout=10).json()
        return bool(got["jobs"])

    _wait(some_running, every=0.02)  # the fixture apps' jobs are short: look often, not to miss them
    server.kill()  # mid-job: at least one running, the rest queued
    server.start()

    def all_ended() -> list[dict[str, Any]] | None:
        states = [httpx.get(server.url(f"/api/v1/jobs/{j}"), headers=auth, timeout=10).json() for j in jobs]
        return states if all(s["state"] in ("done", "failed") for s in states) else None

    states = _wait(all_ended)
    assert [s["state"] for s in states] == ["done"] * len(names), states  # every accepted upload has its result
    apps = httpx.get(server.url("/api/v1/apps"), headers=auth, timeout=10).json()
    assert apps["total"] == len(names)


class _Receiver(BaseHTTPRequestHandler):
    got: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).got.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def _install_snapshot(data: Path, added: list[tuple[str, str]]) -> None:
    """What `techvet lists update` does once its downloads are parsed: a new snapshot with these
    (list, name) parties added, made current with one rename."""
    os.environ["TECHVET_DATA_DIR"] = str(data)
    try:
        from techvet.knowledge import load
        from techvet.screen.snapshot import add_forms, make_party
        from techvet.screen.update import _install

        kb = load()
        doc = json.loads(json.dumps(kb.restriction_lists))
        fresh = [
            make_party(lst, f"test-{n}", name, country="CN", listed_on="2026-11-30")
            for n, (lst, name) in enumerate(added)
        ]
        add_forms(fresh, kb.name_words)
        doc["parties"] += fresh
        _install(doc, kb)
    finally:
        del os.environ["TECHVET_DATA_DIR"]


def test_a_list_update_turns_a_stored_pass_into_a_fail_and_tells_the_webhook(server: Server) -> None:
    _Receiver.got = []
    receiver = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    admin = {"Authorization": f"Bearer {server.token('root', 'admin')}"}
    analyst_token = server.token("ana", "analyst")
    analyst = {"Authorization": f"Bearer {analyst_token}"}
    server.start()
    try:
        hook = f"http://127.0.0.1:{receiver.server_address[1]}/techvet"
        assert httpx.post(server.url("/api/v1/webhooks"), headers=admin, json={"url": hook}).status_code == 201
        policy = (
            "kind: app-policy\nid: fcc-vendors\nsource: the team\nas_of: 2026-12-01\nblock:\n"
            "  - {id: APP-LISTED-VENDOR, rules: [TV602], lists: [us-fcc-covered], why: an SDK vendor is covered}\n"
        )
        assert httpx.put(server.url("/api/v1/policies/app"), headers=admin, content=policy).status_code == 200
        getui = _upload(server, analyst_token, "unknown_sdk.apk")  # embeds Getui
        drone = _upload(server, analyst_token, "drone_companion.apk")  # embeds JPush (Aurora Mobile)

        def item(job: int) -> dict[str, Any] | None:
            state = httpx.get(server.url(f"/api/v1/jobs/{job}"), headers=analyst).json()
            return httpx.get(server.url(state["result"]), headers=analyst).json() if state["state"] == "done" else None

        first, second = _wait(lambda: item(getui)), _wait(lambda: item(drone))
        assert first["verdict"] == "pass" and second["verdict"] == "pass"
        aurora = "Shenzhen Hexun Huagu (Aurora Mobile)"
        accepted = httpx.post(
            server.url(f"/api/v1/apps/{second['id']}/acceptances"), headers=analyst,
            json={"rule": "TV602", "subject": aurora, "reason": "JPush removed in the next release",
                  "until": "2099-12-31"},
        )  # fmt: skip
        assert accepted.status_code == 201

        _install_snapshot(server.data, [("us-fcc-covered", "Getui (Daily Interactive)"), ("us-fcc-covered", aurora)])

        def changed() -> dict[str, Any] | None:
            doc = httpx.get(server.url(f"/api/v1/apps/{first['id']}"), headers=analyst).json()
            return doc if doc["verdict"] == "fail" else None

        after = _wait(changed, 30)
        assert after["snapshot"]["lists_folder"].startswith(str(server.data))
        events = httpx.get(server.url(f"/api/v1/apps/{first['id']}/history"), headers=analyst).json()["events"]
        flip = [e for e in events if e["action"] == "rejudged"][-1]
        assert flip["old"] == "pass" and flip["new"] == "fail"
        assert (
            "pass -> fail: Getui (Daily Interactive) on us-fcc-covered since 2026-11-30 (APP-LISTED-VENDOR)"
            in flip["message"]
        )
        assert "new list snapshot" in flip["cause"]
        # the acceptance holds the other app's verdict, and its history says why
        kept = httpx.get(server.url(f"/api/v1/apps/{second['id']}"), headers=analyst).json()
        assert kept["verdict"] == "pass"
        held = httpx.get(server.url(f"/api/v1/apps/{second['id']}/history"), headers=analyst).json()["events"]
        assert [e for e in held if e["action"] == "held" and "JPush removed in the next release" in e["message"]]
        posted = _wait(lambda: [g for g in _Receiver.got if g["event"]["id"] == flip["id"]], 30)
        assert posted[0]["event"]["message"] == flip["message"]
    finally:
        receiver.shutdown()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_second_server_on_the_same_database_refuses_to_start(server: Server, tmp_path: Path, kind: str) -> None:
    """Two servers on one database would each queue the other's running jobs again at start: the
    second refuses with one line (and a killed first server leaves no stale lock behind)."""
    from tests.service_helpers import database

    with database(kind, tmp_path) as url:
        if kind == "postgresql":  # another data folder, the same database
            server.env["TECHVET_DATABASE_URL"] = url
        server.start()
        other = tmp_path / ("other-data" if kind == "postgresql" else "data")
        second = subprocess.run(
            [sys.executable, "-m", "techvet", "serve", "--data", str(other), "--port", str(_free_port())],
            env=server.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "another techvet serve is using the database" in lines[0], lines
        assert httpx.get(server.url("/api/v1/health"), timeout=10).status_code == 200  # the first goes on
        server.kill()
        server.start()  # the lock went with the killed process
        server.stop()
