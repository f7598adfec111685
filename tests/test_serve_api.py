"""The team service's API (issue 14) against SQLite and a real PostgreSQL server: who may do what,
uploads that become jobs and judged apps, portfolio questions, acceptances, sessions with CSRF,
limits and hostile names. Jobs are run in this process here (``run_queued``); the worker processes
and restarts are tested with a real server in test_serve_process.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service's extra is not installed (pip install -e '.[serve]')")


from tests.conftest import FIXTURES, fixture_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
from tests.service_helpers import Service, database, make_service, run_queued  # noqa: E402


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with database(request.param, tmp_path) as url:
        yield from make_service(tmp_path, url, monkeypatch)


# ----------------------------------------------------------------------------- who may do what
ENDPOINTS: list[tuple[str, str, str, dict[str, Any]]] = [
    # (method, path, least role, request keywords)
    ("GET", "/api/v1/me", "viewer", {}),
    ("GET", "/api/v1/apps", "viewer", {}),
    ("GET", "/api/v1/apps/{item}", "viewer", {}),
    ("GET", "/api/v1/apps/{item}/history", "viewer", {}),
    ("GET", "/api/v1/jobs", "viewer", {}),
    ("GET", "/api/v1/jobs/{job}", "viewer", {}),
    ("GET", "/api/v1/audit", "viewer", {}),
    ("GET", "/api/v1/policies/app", "viewer", {}),
    ("GET", "/api/v1/policies/fleet", "viewer", {}),
    ("GET", "/api/v1/rejudge", "viewer", {}),
    ("GET", "/api/v1/lists", "viewer", {}),
    ("POST", "/api/v1/apps", "analyst", {"files": {"file": ("a.apk", b"PK\x03\x04 not really")}}),
    ("POST", "/api/v1/apps/{item}/acceptances", "analyst", {"json": {"rule": "TV201", "reason": "tested in a lab"}}),
    ("PUT", "/api/v1/policies/app", "admin", {"content": "PLACEHOLDER"}),
    ("PUT", "/api/v1/policies/fleet", "admin", {"content": "FLEET-PLACEHOLDER"}),
    ("POST", "/api/v1/rejudge", "admin", {}),
    ("GET", "/api/v1/webhooks", "admin", {}),
    ("POST", "/api/v1/webhooks", "admin", {"json": {"url": "http://127.0.0.1:9/hook"}}),
    ("GET", "/api/v1/users", "admin", {}),
    ("POST", "/api/v1/users", "admin", {"json": {"name": "new-analyst", "role": "analyst"}}),
    ("POST", "/api/v1/users/viewer-user/tokens", "admin", {"json": {"label": "a second token"}}),
    ("DELETE", "/api/v1/tokens/{spare}", "admin", {}),
    ("GET", "/api/v1/captures", "viewer", {}),
    ("GET", "/api/v1/suppliers", "viewer", {}),
    ("GET", "/api/v1/fleets", "viewer", {}),
    ("GET", "/api/v1/fleets/{fleet}", "viewer", {}),
    ("GET", "/api/v1/fleets/{fleet}/history", "viewer", {}),
    ("POST", "/api/v1/captures", "analyst", {"files": {"file": ("c.pcap", b"not a capture")}}),
    ("POST", "/api/v1/suppliers", "analyst", {"files": {"file": ("s.csv", b"name\nAcme\n")}}),
    ("POST", "/api/v1/fleets", "analyst", {"files": {"file": ("f.csv", b"make,model\nDJI,Mavic 3\n")}}),
]
SUCCESS = {"GET": 200, "POST": 201, "PUT": 200, "DELETE": 204}
QUEUED = ("/api/v1/apps", "/api/v1/rejudge", "/api/v1/captures", "/api/v1/suppliers", "/api/v1/fleets")
SPECIAL = {p: 202 for p in QUEUED}


def test_every_endpoint_answers_each_role_exactly_as_it_should(service: Service) -> None:
    from techvet.knowledge import DATA_DIR

    doc = service.scanned("drone_companion.apk")
    fleet = service.judged("fleets", ROOT / "samples" / "fleet.csv")
    from techvet.store.models import Token, User
    from techvet.store.users import add_token

    with service.store.session() as session:
        spare_user = session.query(User).filter_by(name="viewer-user").one()
        add_token(session, spare_user, "spare")
        spare = max(t.id for t in session.query(Token).all())
    ids = {"item": doc["id"], "job": 1, "fleet": fleet["id"], "spare": spare}
    policy = (DATA_DIR / "app_policy.yaml").read_text(encoding="utf-8")
    fleet_policy = (DATA_DIR / "fleet_policy.yaml").read_text(encoding="utf-8")
    ranks = ["viewer", "analyst", "admin"]
    for method, template, least, kw in ENDPOINTS:
        path = template.format(**ids)
        if kw.get("content") == "PLACEHOLDER":
            kw = {"content": policy}
        elif kw.get("content") == "FLEET-PLACEHOLDER":
            kw = {"content": fleet_policy}
        for role in (None, *ranks):
            got = service.client.request(method, path, headers=service.as_(role), **kw).status_code
            if role is None:
                want = 401
            elif ranks.index(role) < ranks.index(least):
                want = 403
            else:
                want = SPECIAL.get(path, SUCCESS[method]) if method != "GET" else 200
            assert got == want, (method, path, role, got)
    assert service.client.get("/api/v1/health").status_code == 200  # the one open door
    bad = {"Authorization": "Bearer tv_not-a-token"}
    assert service.client.get("/api/v1/apps", headers=bad).status_code == 401


# ----------------------------------------------------------------------------- uploads and questions
def test_an_upload_becomes_a_judged_app_with_its_evidence(service: Service) -> None:
    job = service.upload("drone_companion.apk")
    assert job["state"] == "queued" and len(job["sha256"]) == 64
    doc = service.scanned("drone_companion.apk")
    assert doc["verdict"] == "fail" and doc["package"] == "com.skyfleet.pilot"
    decided = {line["line"] for line in doc["result"]["verdict"]["decided_by"]}
    assert {"APP-SIDELOAD", "APP-LISTED-VENDOR"} <= decided
    assert doc["snapshot"]["lists"]["us-dod-1260h"]  # the list dates it was judged under
    history = service.client.get(f"/api/v1/apps/{doc['id']}/history", headers=service.as_("viewer")).json()
    assert [e["action"] for e in history["events"]] == ["judged"]
    blobs = list((service.store.data / "blobs").rglob("*"))
    assert [p.name for p in blobs if p.is_file()] == [job["sha256"]]  # the same bytes twice: stored once


def test_portfolio_questions_are_one_request_each(service: Service) -> None:
    fail = service.scanned("drone_companion.apk")
    passed = service.scanned("clean_app.apk")
    service.scanned("unknown_sdk.apk")

    def ids(**query: str) -> set[int]:
        got = service.client.get("/api/v1/apps", params=query, headers=service.as_("viewer")).json()
        return {row["id"] for row in got["items"]}

    assert ids(verdict="pass") == {passed["id"]}
    assert ids(sdk="jpush") == {fail["id"]}
    assert ids(vendor="Tencent") == {fail["id"]}
    assert passed["id"] not in ids(vendor_country="CN")
    # which of our apps send data to MobTech-owned hosts in cleartext?
    assert ids(owner="mobtech", cleartext="true") == {fail["id"]}
    assert ids(rule="TV602") == {fail["id"]}
    page = service.client.get("/api/v1/apps", params={"per_page": 2}, headers=service.as_("viewer")).json()
    assert page["total"] == 3 and len(page["items"]) == 2


def test_a_bad_file_fails_its_own_job_with_one_line_and_the_service_goes_on(service: Service) -> None:
    answer = service.client.post(
        "/api/v1/apps", headers=service.as_("analyst"), files={"file": ("evil.apk", b"PK\x05\x06" + b"\0" * 18)}
    )
    job = answer.json()["job"]
    run_queued(service.store)
    state = service.client.get(f"/api/v1/jobs/{job}", headers=service.as_("viewer")).json()
    assert state["state"] == "failed" and "\n" not in state["error"] and "Traceback" not in state["error"]
    assert str(service.store.data) not in state["error"]
    assert state["error"].startswith("evil.apk: ")  # the CLI's line, naming the file as it was uploaded
    assert service.scanned("clean_app.apk")["verdict"] == "pass"


def test_a_hostile_file_name_is_only_a_label(service: Service) -> None:
    job = service.upload("clean_app.apk", filename="../../../../tmp/<img src=x onerror=alert(1)>.apk")
    state = service.client.get(f"/api/v1/jobs/{job['job']}", headers=service.as_("viewer"))
    assert state.json()["filename"] == "<img src=x onerror=alert(1)>.apk"  # its base name, a label, as data
    # nothing was written outside the data folder, and the stored name is the hash
    files = [p for p in service.store.data.rglob("*") if p.is_file() and "blobs" in p.parts]
    assert [p.name for p in files] == [job["sha256"]]
    assert state.headers["content-type"].startswith("application/json")
    assert state.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in state.headers["content-security-policy"]
    assert state.headers["x-frame-options"] == "DENY"


# ----------------------------------------------------------------------------- decisions
def test_an_accepted_finding_changes_the_verdict_and_the_audit_log(service: Service) -> None:
    doc = service.scanned("unknown_sdk.apk")
    assert doc["verdict"] == "warn"
    lines = doc["result"]["verdict"]["decided_by"]
    for line in lines:  # accept every finding that warns, with a reason and an expiry
        for f in line["findings"]:
            answer = service.client.post(
                f"/api/v1/apps/{doc['id']}/acceptances",
                headers=service.as_("analyst"),
                json={
                    "rule": f["rule"],
                    "subject": f["subject"],
                    "reason": "vendor audited in 2026",
                    "until": "2099-01-01",
                },
            )
            assert answer.status_code == 201, answer.text
    after = service.client.get(f"/api/v1/apps/{doc['id']}", headers=service.as_("viewer")).json()
    assert after["verdict"] == "pass"
    accepted = after["result"]["verdict"]["accepted"]
    assert accepted and all("vendor audited in 2026 (accepted by analyst-user)" in a["reason"] for a in accepted)
    events = service.client.get(f"/api/v1/apps/{doc['id']}/history", headers=service.as_("viewer")).json()["events"]
    assert [e for e in events if e["action"] == "rejudged" and e["old"] == "warn" and e["new"] == "pass"]
    assert [e for e in events if e["action"] == "accepted" and "until 2099-01-01" in e["message"]]


def test_an_expired_acceptance_no_longer_holds(service: Service) -> None:
    doc = service.scanned("unknown_sdk.apk")
    f = doc["result"]["verdict"]["decided_by"][0]["findings"][0]
    service.client.post(
        f"/api/v1/apps/{doc['id']}/acceptances",
        headers=service.as_("analyst"),
        json={"rule": f["rule"], "subject": f["subject"], "reason": "was fine once", "until": "2020-01-01"},
    )
    after = service.client.get(f"/api/v1/apps/{doc['id']}", headers=service.as_("viewer")).json()
    assert after["verdict"] == "warn" and after["result"]["verdict"]["expired_exceptions"]


def test_a_bad_policy_is_refused_whole_and_a_good_one_rejudges(service: Service) -> None:
    doc = service.scanned("unknown_sdk.apk")
    bad = service.client.put(
        "/api/v1/policies/app", headers=service.as_("admin"), content="kind: app-policy\nblock: 3\n"
    )
    assert bad.status_code == 422 and "\n" not in bad.json()["error"]
    wrong_kind = service.client.put(
        "/api/v1/policies/app", headers=service.as_("admin"), content="kind: fleet-policy\n"
    )
    assert wrong_kind.status_code == 422
    strict = (
        "kind: app-policy\nid: strict\nsource: the team\nas_of: 2026-12-01\nblock:\n"
        "  - {id: NO-UNKNOWN-SDK, rules: [TV304], why: every SDK named}\n"
    )
    ok = service.client.put("/api/v1/policies/app", headers=service.as_("admin"), content=strict)
    assert ok.status_code == 200 and ok.json()["version"] == 1
    _wait_rejudged(service)
    after = service.client.get(f"/api/v1/apps/{doc['id']}", headers=service.as_("viewer")).json()
    assert after["verdict"] == "fail" and after["policy_version"] == 1


def _wait_rejudged(service: Service) -> dict[str, Any]:
    import time

    for _ in range(200):
        status = service.client.get("/api/v1/rejudge", headers=service.as_("viewer")).json()
        if not status.get("running"):
            return dict(status)
        time.sleep(0.05)
    raise AssertionError("re-judging did not finish")


# ----------------------------------------------------------------------------- sessions and limits
def test_a_browser_session_needs_its_csrf_token_to_change_anything(service: Service) -> None:
    client = service.client
    wrong = client.post("/api/v1/session", json={"name": "analyst-user", "password": "nope"})
    assert wrong.status_code == 401
    signed = client.post("/api/v1/session", json={"name": "analyst-user", "password": "analyst-password-123"})
    assert signed.status_code == 200
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    csrf = signed.json()["csrf"]
    assert client.get("/api/v1/me").json()["name"] == "analyst-user"  # the cookie reads
    files = {"file": ("a.apk", fixture_app("clean_app.apk").read_bytes())}
    assert client.post("/api/v1/apps", files=files).status_code == 403
    assert client.post("/api/v1/apps", files=files, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    assert client.post("/api/v1/apps", files=files, headers={"X-CSRF-Token": csrf}).status_code == 202
    client.cookies.clear()


def test_uploads_over_the_cap_and_clients_over_the_rate_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database("sqlite", tmp_path) as url:
        for service in make_service(tmp_path, url, monkeypatch, max_upload=4096, rate_per_minute=20):
            big = {"file": ("big.apk", b"\0" * 10_000)}
            answer = service.client.post("/api/v1/apps", headers=service.as_("analyst"), files=big)
            assert answer.status_code == 413 and "limit" in answer.json()["error"]
            codes = [service.client.get("/api/v1/me", headers=service.as_("viewer")).status_code for _ in range(40)]
            assert 429 in codes and codes[0] == 200
            assert service.client.get("/api/v1/me", headers=service.as_("admin")).status_code == 200  # per client
            assert not list((service.store.data / "blobs").rglob(".upload-*"))  # the cut-off copy is gone


# ----------------------------------------------------------------------------- captures, suppliers, fleets
def test_a_fleet_register_is_decided_per_aircraft_with_reasons(service: Service) -> None:
    fleet = service.judged("fleets", ROOT / "samples" / "fleet.csv")
    assert fleet["kind"] == "fleet" and fleet["verdict"] == "fail"  # some aircraft are grounded
    grounded = [d for d in fleet["result"]["devices"] if d["decision"] == "ground"]
    assert grounded and all(d["reasons"] for d in grounded)
    listed = service.client.get("/api/v1/fleets", params={"verdict": "fail"}, headers=service.as_("viewer")).json()
    assert [i["id"] for i in listed["items"]] == [fleet["id"]]


def test_a_capture_is_judged_under_the_app_policy(service: Service) -> None:
    capture = service.judged("captures", FIXTURES.parent / "captures" / "personal_data.pcap")
    assert capture["verdict"] in ("warn", "fail") and capture["result"]["findings"]
    assert capture["title"] == "personal_data.pcap"


SUPPLIERS = b"name,country\nDJI,CN\nAcme Widgets Unlimited,US\n"


def test_a_dismissed_match_no_longer_counts_and_later_screenings_keep_it(service: Service) -> None:
    first = service.judged("suppliers", Path("suppliers.csv"), SUPPLIERS)
    assert first["verdict"] == "match" and first["result"]["rows"] == 2
    (row,) = first["result"]["matches"]
    name = row["input"]["name"]
    for match in row["matches"]:
        answer = service.client.post(
            f"/api/v1/suppliers/{first['id']}/matches",
            headers=service.as_("analyst"),
            json={"name": name, "party_id": match["party_id"], "decision": "dismissed",
                  "reason": "a namesake, checked"},  # fmt: skip
        )
        assert answer.status_code == 201, answer.text
    # each decision queues the file again; the decisions made before it runs share the one job
    assert run_queued(service.store) == 1
    after = service.client.get(f"/api/v1/suppliers/{first['id']}", headers=service.as_("viewer")).json()
    assert after["verdict"] == "clear"
    assert all(m["decision"]["decision"] == "dismissed" for m in after["result"]["matches"][0]["matches"])
    history = service.client.get(f"/api/v1/suppliers/{first['id']}/history", headers=service.as_("viewer")).json()
    assert [e for e in history["events"] if e["action"] == "rejudged" and e["old"] == "match" and e["new"] == "clear"]
    rows = [e["message"] for e in history["events"] if ": possible -> dismissed" in e["message"]]
    assert len(rows) == len(row["matches"]) and all(f"{name} ~ " in m for m in rows)  # each match, by name
    again = service.judged("suppliers", Path("suppliers-q2.csv"), SUPPLIERS)  # next quarter's file
    assert again["verdict"] == "clear"
    viewer = service.client.post(
        f"/api/v1/suppliers/{first['id']}/matches", headers=service.as_("viewer"),
        json={"name": name, "party_id": "x:1", "decision": "confirmed", "reason": "viewer tries"},
    )  # fmt: skip
    assert viewer.status_code == 403
    unknown = service.client.post(
        f"/api/v1/suppliers/{first['id']}/matches", headers=service.as_("analyst"),
        json={"name": name, "party_id": "no-such:1", "decision": "confirmed", "reason": "not in this file"},
    )  # fmt: skip
    assert unknown.status_code == 422


def test_a_register_naming_a_file_on_the_server_never_makes_the_service_read_it(service: Service) -> None:
    """A companion-app cell is a path the CLI reads beside the register; an uploaded register's cell
    could name any file on the server, so the service reads none (the app is reported not examined)."""
    target = FIXTURES / "drone_companion.apk"  # an app that exists on this machine
    register = f"make,model,serial,companion app\nDJI,Mavic 3E,SN1,{target}\n".encode()
    fleet = service.judged("fleets", Path("register.csv"), register)
    (device,) = fleet["result"]["devices"]
    notes = json.dumps(device["app_findings"])
    assert "not read" in notes and "SkyFleet" not in json.dumps(device)  # the app was never scanned
    assert fleet["verdict"] == "fail"  # a DJI aircraft is grounded whatever its app does


def test_a_chunked_upload_over_the_cap_is_cut_off_and_made_up_tokens_share_one_allowance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database("sqlite", tmp_path) as url:
        for service in make_service(tmp_path, url, monkeypatch, max_upload=4096, rate_per_minute=20):
            boundary = "techvetboundary"

            def body(boundary: str = boundary) -> Iterator[bytes]:  # no Content-Length: sent chunked
                yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.apk"\r\n\r\n'.encode()  # noqa: E501
                for _ in range(10):
                    yield b"\0" * 1024
                yield f"\r\n--{boundary}--\r\n".encode()

            headers = {**service.as_("analyst"), "Content-Type": f"multipart/form-data; boundary={boundary}"}
            answer = service.client.post("/api/v1/apps", headers=headers, content=body())
            assert answer.status_code == 413 and "limit" in answer.json()["error"]
            anonymous = service.client.post("/api/v1/apps", files={"file": ("a.apk", b"PK" * 100)})
            assert anonymous.status_code == 401  # refused before its body is read
            codes = [
                service.client.get("/api/v1/me", headers={"Authorization": f"Bearer tv_made-up-{n}"}).status_code
                for n in range(40)
            ]
            assert codes[0] == 401 and 429 in codes  # guesses count against the client, not per guess


def test_only_health_answers_without_credentials_and_errors_are_json(service: Service) -> None:
    for path in ("/docs", "/openapi.json", "/api/v1/apps", "/api/v1/audit"):
        assert service.client.get(path).status_code == 401, path
    assert service.client.get("/openapi.json", headers=service.as_("viewer")).json()["info"]["title"] == "techvet"
    missing = service.client.get("/api/v1/no-such-thing", headers=service.as_("viewer"))
    assert missing.status_code == 404 and "error" in missing.json()


def test_a_webhook_url_is_never_shown_to_viewers(service: Service) -> None:
    secret_url = "https://hooks.example.org/services/T000/B000/very-secret-part"
    added = service.client.post("/api/v1/webhooks", headers=service.as_("admin"), json={"url": secret_url})
    assert added.status_code == 201
    audit = service.client.get("/api/v1/audit", headers=service.as_("viewer")).text
    assert "very-secret-part" not in audit and "hooks.example.org" in audit


def test_a_revoked_token_stops_working_at_once(service: Service) -> None:
    made = service.client.post(
        "/api/v1/users", headers=service.as_("admin"), json={"name": "temp", "role": "viewer"}
    ).json()
    token = made["token"]
    assert service.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    users = service.client.get("/api/v1/users", headers=service.as_("admin")).json()["users"]
    (temp,) = [u for u in users if u["name"] == "temp"]
    assert "tv_" not in json.dumps(users)  # secrets are never listed
    revoked = service.client.delete(f"/api/v1/tokens/{temp['tokens'][0]['id']}", headers=service.as_("admin"))
    assert revoked.status_code == 204
    assert service.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def _snapshot_with(added: list[tuple[str, str]], drop_list: str | None = None) -> bytes:
    """The bundled snapshot as `techvet lists update` writes it, with parties added (or a list cut)."""
    import gzip

    from techvet.knowledge import load

    doc = json.loads(json.dumps(load().restriction_lists))
    if drop_list:
        doc["parties"] = [p for p in doc["parties"] if p["list"] != drop_list]
    for n, (lst, name) in enumerate(added):
        doc["parties"].append({"id": f"{lst}:upload-{n}", "list": lst, "name": name, "listed_on": "2026-11-30"})
    return gzip.compress(json.dumps(doc).encode())


def test_an_uploaded_list_snapshot_is_checked_then_rejudges_every_app(service: Service) -> None:
    strict = (
        "kind: app-policy\nid: fcc\nsource: the team\nas_of: 2026-12-01\nblock:\n"
        "  - {id: APP-LISTED-VENDOR, rules: [TV602], lists: [us-fcc-covered], why: covered vendor}\n"
    )
    assert service.client.put("/api/v1/policies/app", headers=service.as_("admin"), content=strict).status_code == 200
    _wait_rejudged(service)
    doc = service.scanned("unknown_sdk.apk")  # Getui inside
    assert doc["verdict"] == "pass"
    admin = service.as_("admin")
    for bad in (b"not gzip, not json", _snapshot_with([], drop_list="us-bis-entity-list"), b"\x1f\x8b" + b"\0" * 30):
        answer = service.client.put("/api/v1/lists", headers=admin, content=bad)
        assert answer.status_code == 422 and "\n" not in answer.json()["error"], answer.text
    assert service.client.put("/api/v1/lists", headers=service.as_("analyst"), content=b"{}").status_code == 403
    good = service.client.put(
        "/api/v1/lists", headers=admin, content=_snapshot_with([("us-fcc-covered", "Getui (Daily Interactive)")])
    )
    assert good.status_code == 202, good.text
    _wait_rejudged(service)
    after = service.client.get(f"/api/v1/apps/{doc['id']}", headers=service.as_("viewer")).json()
    assert after["verdict"] == "fail"
    events = service.client.get(f"/api/v1/apps/{doc['id']}/history", headers=service.as_("viewer")).json()["events"]
    assert any("Getui (Daily Interactive) on us-fcc-covered since 2026-11-30" in e["message"] for e in events)
