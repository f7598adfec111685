"""The service's pages without a browser (issue 15), on SQLite and PostgreSQL: who sees what, forms
that need the session's CSRF token and the right role, hostile names as text, HTML errors for
people and JSON for scripts, no inline script or style anywhere. The flows in a real browser are
test_pages_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service's extra is not installed (pip install -e '.[serve]')")

from tests.axml_builder import manifest_only_apk  # noqa: E402
from tests.service_helpers import Service, database, make_service, run_queued  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
PAGES = ["/", "/apps", "/suppliers", "/fleets", "/lists", "/audit"]


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with database(request.param, tmp_path) as url:
        yield from make_service(tmp_path, url, monkeypatch)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def sign_in(service: Service, role: str) -> str:
    """Sign the test client in as ``role``; the session's CSRF token (from a page's forms)."""
    service.client.cookies.clear()
    answer = service.client.post(
        "/signin", data={"name": f"{role}-user", "password": f"{role}-password-123", "next": "/apps"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/apps", answer.text
    page = service.client.get("/apps")
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found
    return found.group(1)


def test_every_page_needs_a_session_and_sign_in_returns_only_to_this_site(service: Service) -> None:
    for path in [*PAGES, "/apps/1", "/users", "/jobs/1"]:
        answer = service.client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin?next="), path
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        form = service.client.get("/signin", params={"next": elsewhere}).text
        assert 'name="next" value="/"' in form, elsewhere
    wrong = service.client.post("/signin", data={"name": "analyst-user", "password": "not it"}, follow_redirects=False)
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text and "set-cookie" not in wrong.headers
    forged = service.client.post(
        "/signin", data={"name": "analyst-user", "password": "analyst-password-123"},
        headers={"Origin": "https://evil.example"}, follow_redirects=False,
    )  # fmt: skip
    assert forged.status_code == 403 and "set-cookie" not in forged.headers  # no sign-in from another site
    token = service.client.get("/apps", headers=service.as_("admin"), follow_redirects=False)
    assert token.status_code == 303  # an API token is for scripts: the pages take the browser's session


def test_forms_need_the_sessions_csrf_token_and_the_right_role(service: Service) -> None:
    app = service.scanned("dormant.apk")
    csrf = sign_in(service, "analyst")
    accept = {"finding": "TV209|sms", "reason": "a lab phone only", "until": "2099-01-01"}
    for token in (None, "0" * 64):
        answer = service.client.post(f"/apps/{app['id']}/accept", data={**accept, **({"csrf": token} if token else {})})
        assert answer.status_code == 403 and "form has expired" in answer.text
        assert answer.headers["content-type"].startswith("text/html")  # a page for a person
    done = service.client.post(f"/apps/{app['id']}/accept", data={**accept, "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    after = service.client.get(done.headers["location"]).text
    assert "TV209 accepted until 2099-01-01" in after and "a lab phone only" in after
    viewer_csrf = sign_in(service, "viewer")
    page = service.client.get(f"/apps/{app['id']}").text
    assert 'id="accept"' not in page and 'type="file"' not in service.client.get("/apps").text
    refused = service.client.post(f"/apps/{app['id']}/accept", data={**accept, "csrf": viewer_csrf})
    assert refused.status_code == 403 and "needs the analyst role" in refused.text
    upload = service.client.post("/apps", data={"csrf": viewer_csrf}, files={"file": ("a.apk", b"PK\x03\x04")})
    assert upload.status_code == 403
    assert service.client.get("/users").status_code == 403  # users and tokens are the admins'
    forged = service.client.get("/apps", params={"notice": "Your account is locked: call +1 555 0100"}).text
    assert "account is locked" not in forged  # a notice is the service's own (signed), never a link's


def test_a_hostile_label_and_file_name_are_text_on_every_page(service: Service, tmp_path: Path) -> None:
    hostile = manifest_only_apk(tmp_path / "hostile.apk", "org.example.hostile", PAYLOAD)
    csrf = sign_in(service, "analyst")
    upload = service.client.post(
        "/apps", data={"csrf": csrf}, files={"file": (f"{PAYLOAD}.apk", hostile.read_bytes())}, follow_redirects=False
    )
    assert upload.status_code == 303 and upload.headers["location"].startswith("/jobs/")
    run_queued(service.store)
    shown = service.client.get(upload.headers["location"])
    assert shown.url.path.startswith("/apps/")  # the job's page goes on to the app once it is done
    for html in (shown.text, service.client.get("/apps").text, service.client.get("/audit").text,
                 service.client.get("/").text):  # fmt: skip
        tags = parsed(html)
        scripts = [attrs for tag, attrs in tags.tags if tag == "script"]
        assert scripts == [{"src": "/static/techvet.js", "defer": ""}]  # techvet's own, and no other
        assert not [tag for tag, attrs in tags.tags if tag == "img" or any(k.startswith("on") for k in attrs)]
        assert not [attrs for _, attrs in tags.tags if "style" in attrs]  # nothing inline: the CSP forbids it
    assert PAYLOAD in "".join(parsed(shown.text).text)  # the label, as the text a reader sees


def test_pages_answer_with_html_and_the_api_with_json_and_both_with_their_policy(service: Service) -> None:
    sign_in(service, "admin")
    for path in [*PAGES, "/users"]:
        answer = service.client.get(path)
        assert answer.status_code == 200, path
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    for path in ("/apps/99999999999999999999", "/jobs/99999999999999999999", "/fleets/99999999999999999999"):
        assert service.client.get(path).status_code == 404, path  # no id a column can hold: not there
    bad = service.client.get("/jobs/abc")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert service.client.get("/", params={"since": "not a date"}).status_code == 200  # the default week
    missing = service.client.get("/apps/999")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "no app 999" in missing.text
    api = service.client.get("/api/v1/apps/999", headers=service.as_("viewer"))
    assert api.status_code == 404 and api.json() == {"error": "no app 999"}
    css = service.client.get("/static/techvet.css")
    assert css.status_code == 200 and "table.sticky" in css.text and css.headers["content-type"].startswith("text/css")


def test_an_admin_adds_a_user_and_sees_its_token_once(service: Service) -> None:
    csrf = sign_in(service, "admin")
    added = service.client.post(
        "/users", data={"csrf": csrf, "name": "compliance-lead", "role": "analyst", "password": "a-long-password-1"}
    )
    assert added.status_code == 200 and "user compliance-lead added as analyst" in added.text
    odd = service.client.post("/users", data={"csrf": csrf, "name": "ops/team", "role": "viewer"})
    assert odd.status_code == 200  # a name with a slash is a name: its token form still works
    assert "<code class=\"token\">" in service.client.post(
        "/users/tokens", data={"csrf": csrf, "name": "ops/team", "label": "x"}
    ).text
    token_page = service.client.post("/users/tokens", data={"csrf": csrf, "name": "compliance-lead", "label": "ci"})
    secret = re.search(r'<code class="token">([^<]+)</code>', token_page.text)
    assert secret is not None
    me = service.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert me.json() == {"name": "compliance-lead", "role": "analyst"}
    assert secret.group(1) not in service.client.get("/users").text  # shown once, never again


def test_the_portfolio_counts_and_says_what_changed(service: Service) -> None:
    service.scanned("drone_companion.apk")
    service.scanned("clean_app.apk")
    service.judged("fleets", ROOT / "samples" / "fleet.csv")
    sign_in(service, "viewer")
    home = service.client.get("/").text
    counts = dict(re.findall(r'class="v-(\w+)" href="/apps\?verdict=\w+"><b>(\d+)</b>', home))
    assert counts == {"fail": "1", "pass": "1"}
    assert "SkyFleet Pilot: fail (first judgement)" in home  # what changed this week
    failing = service.client.get("/apps", params={"verdict": "fail"}).text
    assert "SkyFleet Pilot" in failing and "Clean" not in failing
    found = service.client.get("/apps", params={"q": "skyfleet"}).text
    assert "SkyFleet Pilot" in found
    by_owner = service.client.get("/apps", params={"owner": "mobtech"}).text
    assert "SkyFleet Pilot" in by_owner



def test_a_list_snapshot_is_uploaded_on_the_lists_page_by_admins_only_and_checked_whole(service: Service) -> None:
    import gzip
    import json

    from techvet.knowledge import load

    csrf = sign_in(service, "analyst")
    files = {"file": ("restriction_lists.json.gz", b"not gzip")}
    assert service.client.post("/lists", data={"csrf": csrf}, files=files).status_code == 403
    csrf = sign_in(service, "admin")
    bad = service.client.post("/lists", data={"csrf": csrf}, files=files)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    doc = json.loads(json.dumps(load().restriction_lists))
    good = {"file": ("restriction_lists.json.gz", gzip.compress(json.dumps(doc).encode()))}
    installed = service.client.post("/lists", data={"csrf": csrf}, files=good)
    assert installed.status_code == 200 and "installed" in installed.text and "A snapshot installed" in installed.text
    audit = service.client.get("/audit").text
    assert "uploaded: no counts changed" in audit


def test_a_supplier_files_page_groups_its_matches_by_party_with_each_rows_number(service: Service) -> None:
    stored = service.judged("suppliers", Path("suppliers.csv"), b"name,country\nAcme Widgets,US\nDJI,CN\n")
    sign_in(service, "viewer")
    page = service.client.get(f"/suppliers/{stored['id']}").text
    assert "DJI <span class=\"meta\">(row 3)</span>" in page and "Acme Widgets" not in page


def test_signing_out_ends_the_session_even_for_a_copy_of_its_cookie(service: Service) -> None:
    csrf = sign_in(service, "analyst")
    copied = dict(service.client.cookies)
    assert service.client.post("/signout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    service.client.cookies.clear()
    for name, value in copied.items():  # the cookie as a thief kept it
        service.client.cookies.set(name, value)
    assert service.client.get("/apps", follow_redirects=False).status_code == 303  # to the sign-in page
    api = service.client.get("/api/v1/me")
    assert api.status_code == 401  # the API's session check says the same
    sign_in(service, "analyst")  # a new session after signing out works
    assert service.client.get("/apps").status_code == 200
