"""What the team service judges again on its own (issue 14), against SQLite and PostgreSQL: a new
fleet policy version decides the stored registers again; a register's companion app is the team's
own stored scan of it, and the register is decided again when that app arrives; new knowledge (a
new techvet or knowledge folder) scans the stored apps again from their files; a dead webhook
receiver does not hold up the others."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service's extra is not installed (pip install -e '.[serve]')")

from tests.service_helpers import Service, database, make_service, run_queued  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LENIENT_FLEET = """kind: fleet-policy
source: the team's test
as_of: "2026-12-03"
id: team-lenient
title: Only unknown models are looked at
default: allow
rules:
  - {id: TEAM-UNKNOWN, decision: review, when: {model_known: false}, why: identify it first, since: "2026-12-03"}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with database(request.param, tmp_path) as url:
        yield from make_service(tmp_path, url, monkeypatch)


def _history(service: Service, collection: str, item: int) -> list[dict[str, Any]]:
    answer = service.client.get(f"/api/v1/{collection}/{item}/history", headers=service.as_("viewer"))
    return list(answer.json()["events"])


def _get(service: Service, collection: str, item: int) -> dict[str, Any]:
    return dict(service.client.get(f"/api/v1/{collection}/{item}", headers=service.as_("viewer")).json())


def test_a_new_fleet_policy_version_decides_every_stored_register_again(service: Service) -> None:
    register = service.judged("fleets", ROOT / "samples" / "fleet.csv")
    assert register["verdict"] == "fail" and register["policy_version"] is None  # the bundled policy grounds DJI
    assert register["result"]["policy"]["id"] == "us-federal"
    admin = service.as_("admin")
    wrong_kind = (ROOT / "src" / "techvet" / "knowledge" / "data" / "app_policy.yaml").read_text(encoding="utf-8")
    refused = service.client.put("/api/v1/policies/fleet", headers=admin, content=wrong_kind)
    assert refused.status_code == 422 and "is an app policy" in refused.json()["error"], refused.text
    put = service.client.put("/api/v1/policies/fleet", headers=admin, content=LENIENT_FLEET)
    assert put.status_code == 200 and put.json()["version"] == 1, put.text
    assert service.client.get("/api/v1/policies/fleet", headers=service.as_("viewer")).json()["version"] == 1
    assert service.client.get("/api/v1/policies/app", headers=service.as_("viewer")).json()["version"] is None
    assert run_queued(service.store) == 1  # the register, judged again by a worker
    after = _get(service, "fleets", register["id"])
    assert after["result"]["policy"]["id"] == "team-lenient" and after["policy_version"] == 1
    assert after["verdict"] == "warn"  # nothing grounded; the home-built quad is still looked at
    flips = [e for e in _history(service, "fleets", register["id"]) if e["action"] == "rejudged"]
    assert any(e["old"] == "fail" and e["new"] == "warn" for e in flips), flips
    assert all(e["cause"] == "fleet policy version 1 by admin-user" for e in flips)
    assert any(": ground -> allow" in e["message"] for e in flips)  # the DJI row, by row


def test_a_registers_companion_app_is_the_teams_stored_scan_of_it(service: Service) -> None:
    """A US-made, Blue UAS aircraft whose companion app fails the app policy is restricted; before
    the team has uploaded that app, the aircraft is reviewed (the app is not examined), and the
    upload decides the register again. The app is found by its package or by its file's name."""
    register = (
        b"make,model,serial,companion app\n"
        b"Skydio,X10D,SN-1,drone_companion.apk\n"
        b"Skydio,X10D,SN-2,com.skyfleet.pilot\n"
        b"Skydio,X10D,SN-3,C:\\apps\\drone_companion.apk\n"
    )
    before = service.judged("fleets", Path("register.csv"), register)
    decisions = [d["decision"] for d in before["result"]["devices"]]
    assert decisions == ["review", "allow", "review"], decisions  # the package alone: no scan to judge
    service.upload("drone_companion.apk")  # fails the default app policy
    assert run_queued(service.store) == 2  # the app, then the register it queued again
    after = _get(service, "fleets", before["id"])
    for device in after["result"]["devices"]:
        assert device["decision"] == "restrict", device
        assert [v["verdict"] for v in device["app_verdicts"]] == ["fail"]
        assert "FLEET-APP-VERDICT" in {r["rule"] for r in device["reasons"]}
    assert after["verdict"] == "warn"
    lines = [e["message"] for e in _history(service, "fleets", before["id"]) if e["action"] == "rejudged"]
    assert any("row 2: review -> restrict" in m for m in lines), lines


def _knowledge_with(tmp_path: Path, old: str, new: str, file: str = "sdks.yaml") -> Path:
    from techvet.knowledge import DATA_DIR

    folder = tmp_path / "knowledge"
    shutil.copytree(DATA_DIR, folder)
    text = (folder / file).read_text(encoding="utf-8")
    assert old in text
    (folder / file).write_text(text.replace(old, new), encoding="utf-8")
    return folder


def test_new_knowledge_scans_the_stored_apps_again_and_says_what_changed(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from techvet.knowledge import identity, load
    from techvet.server.rejudging import knowledge_watch

    policy = (
        "kind: app-policy\nid: no-1260h-vendors\nsource: the team\nas_of: 2026-12-03\nblock:\n"
        "  - {id: APP-1260H-VENDOR, rules: [TV602], lists: [us-dod-1260h], why: an SDK vendor is a 1260H company}\n"
    )
    assert service.client.put("/api/v1/policies/app", headers=service.as_("admin"), content=policy).status_code == 200
    app = service.scanned("unknown_sdk.apk")  # embeds Getui, whose vendor is on no 1260H entry
    assert app["verdict"] == "pass"
    with service.store.session() as session:
        assert knowledge_watch(session) == 0  # the same knowledge: nothing to scan again
    # a new knowledge folder in which Getui's vendor is Tencent (on the 1260H list since 2025)
    folder = _knowledge_with(tmp_path, 'vendor: "Getui (Daily Interactive)"', "vendor: Tencent")
    monkeypatch.setenv("TECHVET_KNOWLEDGE_DIR", str(folder))
    load.cache_clear()
    with service.store.session() as session:
        assert knowledge_watch(session) == 1
    with service.store.session() as session:
        assert knowledge_watch(session) == 0  # queued once, not at every look
    assert run_queued(service.store) == 1
    after = _get(service, "apps", app["id"])
    assert after["verdict"] == "fail"
    assert after["snapshot"]["knowledge"] == identity(str(folder)) != app["snapshot"]["knowledge"]
    rescanned = [e for e in _history(service, "apps", app["id"]) if e["action"] == "rescanned"]
    assert len(rescanned) == 1 and rescanned[0]["old"] == "pass" and rescanned[0]["new"] == "fail"
    assert "Tencent" in rescanned[0]["message"] and "APP-1260H-VENDOR" in rescanned[0]["message"]
    assert "the knowledge changed" in rescanned[0]["cause"]
    by_vendor = service.client.get("/api/v1/apps", params={"vendor": "Tencent"}, headers=service.as_("viewer"))
    assert [i["id"] for i in by_vendor.json()["items"]] == [app["id"]]  # the portfolio rows follow the scan
    load.cache_clear()


def test_a_dead_webhook_receiver_never_delays_the_others(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver that accepts and never answers costs its own timeout, once a round, in its own
    thread: the live receiver has every event long before that timeout ends."""
    import json
    import socket
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from techvet.server import webhooks
    from techvet.store import events
    from techvet.store.models import Delivery

    got: list[tuple[float, dict[str, Any]]] = []

    class Live(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            got.append((time.monotonic(), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    live = HTTPServer(("127.0.0.1", 0), Live)
    threading.Thread(target=live.serve_forever, daemon=True).start()
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead.listen(8)  # connections are accepted by the kernel and never answered
    monkeypatch.setattr(webhooks, "TIMEOUT", 3.0)
    admin = service.as_("admin")
    try:
        for port in (dead.getsockname()[1], live.server_address[1]):  # the dead one first
            hook = {"url": f"http://127.0.0.1:{port}/hook"}
            assert service.client.post("/api/v1/webhooks", headers=admin, json=hook).status_code == 201
        with service.store.session() as session:
            ids = [events.record(session, "test", "rejudged", f"event {n}", notify=True).id for n in range(3)]
        started = time.monotonic()
        sent = webhooks.deliver_due(service.store)
        took = time.monotonic() - started
        assert sent == 3 and [g[1]["event"]["id"] for g in got] == ids  # the live one: all, in order
        assert max(at for at, _ in got) - started < 1.5 < 3.0 <= took  # long before the dead one timed out
        with service.store.session() as session:
            attempts = sorted(d.attempts for d in session.query(Delivery).filter(Delivery.state == "pending"))
        assert attempts == [0, 0, 1]  # the dead receiver: one timeout, the rest left for the next round
        with service.store.session() as session:
            waiting = session.query(Delivery).filter(Delivery.state == "pending").order_by(Delivery.id).all()
            assert len({d.next_at for d in waiting}) == 1  # its later events wait with the failed one: in order
    finally:
        live.shutdown()
        dead.close()


def test_an_acceptance_that_changes_a_companion_apps_verdict_decides_its_registers_again(service: Service) -> None:
    """A register that names an app only by the file name it was uploaded under is decided again
    when an acceptance changes the app's verdict, as one naming its package is."""
    register = b"make,model,serial,companion app\nSkydio,X10D,SN-1,dormant.apk\nSkydio,X10D,SN-2,dormant.apk\n"
    app = service.scanned("dormant.apk")  # WARN, decided by TV209 alone
    assert app["verdict"] == "warn"
    before = service.judged("fleets", Path("register.csv"), register)
    assert [[v["verdict"] for v in d["app_verdicts"]] for d in before["result"]["devices"]] == [["warn"], ["warn"]]
    accepted = service.client.post(
        f"/api/v1/apps/{app['id']}/acceptances", headers=service.as_("analyst"),
        json={"rule": "TV209", "reason": "a lab phone only", "until": "2099-01-01"},
    )  # fmt: skip
    assert accepted.status_code == 201 and accepted.json()["verdict"] == "pass"
    assert run_queued(service.store) == 1  # the register, once
    after = _get(service, "fleets", before["id"])
    assert [[v["verdict"] for v in d["app_verdicts"]] for d in after["result"]["devices"]] == [["pass"], ["pass"]]
