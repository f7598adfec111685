"""The service's pages in a real browser (issue 15): Debian's Chromium driven by Playwright against a
real `techvet serve` on 127.0.0.1. An analyst signs in, uploads the demo app and sees its verdict
with the policy lines that decide it, accepts a finding with a reason and an expiry, dismisses a
supplier match, opens a grounded aircraft's reasons; a viewer sees no control that changes anything
and gets 403 when it posts anyway; an app whose label is a script payload renders as text.

Every page is photographed at 1280 and 390 px wide: into a temporary folder here, into docs/pages
with ``make screenshots`` (TECHVET_SCREENSHOTS)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service's extra is not installed (pip install -e '.[serve]')")
playwright_api = pytest.importorskip("playwright.sync_api", reason="no playwright (make test installs it)")

from tests.axml_builder import manifest_only_apk  # noqa: E402
from tests.conftest import fixture_app  # noqa: E402
from tests.service_helpers import Server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("TECHVET_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
FOCUSED = """() => {
    const e = document.activeElement, style = getComputedStyle(e);
    const named = e.labels && e.labels.length ? e.labels[0].textContent : (e.textContent || e.name || "");
    const visible = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    return [e.tagName, named.trim().slice(0, 40), visible];
}"""  # what has the keyboard's focus: its tag, its label or name, and whether the focus shows
SUPPLIERS = "name,country\nDJI,CN\nAcme Widgets Unlimited,US\n大疆创新,CN\n"

if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("pages")
    env = {**os.environ, "TECHVET_DATA_DIR": str(tmp / "data")}
    env.pop("TECHVET_DATABASE_URL", None)
    srv = Server(tmp / "data", env)
    passwords = {role: f"{role}-password-for-tests" for role in ("viewer", "analyst", "admin")}
    for role, password in passwords.items():
        srv.token(f"{role}-user", role, password)
    srv.start()
    try:
        yield {"server": srv, "passwords": passwords, "tmp": tmp}
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(served: dict[str, Any]) -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


SHOTS = Path(os.environ.get("TECHVET_SCREENSHOTS", "")) if os.environ.get("TECHVET_SCREENSHOTS") else None


def shoot(page: Any, name: str, tmp: Path) -> None:
    """The page at 1280 and at 390 px wide, whole; on the phone width, nothing deciding is cut off."""
    folder = SHOTS or tmp / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} at {width} px scrolls the whole page sideways by {overflow} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def sign_in(browser: Any, served: dict[str, Any], role: str, shots: Path | None = None) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(served["server"].url("/"))
    assert "/signin" in page.url  # nothing but the sign-in page without a session
    if shots is not None:
        shoot(page, "signin", shots)
    page.get_by_label("Name").fill(f"{role}-user")
    page.get_by_label("Password").fill(served["passwords"][role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(served["server"].url("/"))
    return page


def upload(page: Any, path: Path, collection: str) -> None:
    """Upload with the file picker, then follow the job's page until it shows the result."""
    page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/")[2] + f"/{collection}")
    page.locator("#upload-file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(lambda url: "/jobs/" not in url and f"/{collection}/" in url, timeout=120_000)


def test_an_analyst_vets_an_app_a_supplier_file_and_a_fleet_in_the_browser(
    browser: Any, served: dict[str, Any], tmp_path: Path
) -> None:
    shots = served["tmp"]
    page = sign_in(browser, served, "analyst", shots)
    # a file that is no app: its job fails with the one line the command line gives
    page.goto(served["server"].url("/apps"))
    garbage = {"name": "not-an-app.apk", "mimeType": "application/octet-stream", "buffer": b"this is not a zip"}
    page.locator("#upload-file").set_input_files(files=[garbage])
    page.get_by_role("button", name="Upload").click()
    page.locator("p.job.failed").wait_for(timeout=60_000)
    assert page.locator("p.problem").inner_text() == "not-an-app.apk: not an Android app (no zip or DEX signature)"
    shoot(page, "job", shots)
    # the demo app: FAIL, with the policy lines that decide it
    upload(page, fixture_app("drone_companion.apk"), "apps")
    assert page.locator(".verdict .big").inner_text() == "FAIL"
    lines = page.locator("ul.lines").first.inner_text()
    assert "fail APP-SIDELOAD" in lines and "TV201" in lines  # the policy lines that decide it, with their findings
    shoot(page, "app", shots)
    # accept the one finding that decides an app's WARN, with a reason and an expiry: it passes, and
    # its history and the audit log say who accepted what, why and until when
    upload(page, fixture_app("dormant.apk"), "apps")
    assert page.locator(".verdict .big").inner_text() == "WARN"
    app_url = page.url
    deciding = re.search(r"\((TV\d{3})", page.locator("ul.lines li").first.inner_text())
    assert deciding is not None
    page.locator("#accept summary").click()
    value = page.locator("#rule option").filter(has_text=deciding.group(1)).first.get_attribute("value")
    page.locator("#rule").select_option(value)
    page.get_by_label("Reason").fill("reviewed with the vendor: removed in the next release")
    page.get_by_label("Until").fill((date.today() + timedelta(days=90)).isoformat())
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(lambda url: url.startswith(app_url) and "notice=" in url)
    assert "accepted until" in page.locator(".notice").inner_text()
    assert page.locator(".verdict .big").inner_text() == "PASS"
    history = page.locator("main table").last.inner_text()
    assert "accepted" in history and "reviewed with the vendor" in history and "WARN → PASS" in history.upper()
    page.goto(served["server"].url("/audit"))
    assert "reviewed with the vendor" in page.locator("main").inner_text()
    shoot(page, "audit", shots)
    # two versions of one app: what changed between them
    upload(page, fixture_app("clean_app.apk"), "apps")
    upload(page, fixture_app("clean_app_v2.apk"), "apps")
    page.get_by_role("link", name="what changed").first.click()
    assert page.locator(".verdict .big").inner_text() == "FAIL" and "was pass" in page.locator(".verdict").inner_text()
    shoot(page, "compare", shots)
    page.goto(served["server"].url("/apps"))
    shoot(page, "apps", shots)
    # a supplier file: dismiss a match with a reason; the next screening keeps it
    suppliers = tmp_path / "suppliers.csv"
    suppliers.write_text(SUPPLIERS, encoding="utf-8")
    upload(page, suppliers, "suppliers")
    assert page.locator(".verdict .big").inner_text() == "MATCH"
    shoot(page, "supplier", shots)
    form = page.locator("form.decide").first
    form.get_by_label("reason").fill("a namesake: checked the registration number")
    form.get_by_role("button", name="Dismiss").click()
    page.wait_for_url(lambda url: "/suppliers/" in url and "/jobs/" not in url, timeout=60_000)
    decided = page.locator("main table").first.inner_text()
    assert "DISMISSED" in decided.upper() and "a namesake: checked the registration number" in decided
    page.goto(served["server"].url("/suppliers"))
    shoot(page, "suppliers", shots)
    # a fleet register: open a grounded aircraft's reasons
    upload(page, ROOT / "samples" / "fleet.csv", "fleets")
    grounded = page.locator("tr", has=page.locator("td.d.ground")).first
    grounded.locator("summary").click()
    reasons = grounded.locator("details").inner_text()
    assert "FLEET-ASDA" in reasons and "American Security Drone Act" in reasons
    shoot(page, "fleet", shots)
    page.goto(served["server"].url("/fleets"))
    shoot(page, "fleets", shots)
    page.goto(served["server"].url("/"))
    assert page.locator(".counts a.v-fail").count() >= 1
    shoot(page, "portfolio", shots)
    page.goto(served["server"].url("/lists"))
    shoot(page, "lists", shots)
    page.context.close()


def test_a_viewer_sees_no_control_that_changes_anything_and_is_refused_when_it_posts(
    browser: Any, served: dict[str, Any]
) -> None:
    admin = sign_in(browser, served, "analyst")
    upload(admin, fixture_app("clean_app.apk"), "apps")
    app_path = "/" + admin.url.split("/", 3)[3]
    admin.context.close()
    page = sign_in(browser, served, "viewer")
    page.goto(served["server"].url("/apps"))
    assert page.locator("form.upload").count() == 0 and page.locator("input[type=file]").count() == 0
    page.goto(served["server"].url(app_path))
    assert page.locator("#accept").count() == 0
    csrf = page.locator("form.signout input[name=csrf]").get_attribute("value")
    refused = page.request.post(
        served["server"].url(app_path + "/accept"),
        form={"csrf": csrf, "finding": "TV201|", "reason": "a viewer tries", "until": "2099-01-01"},
    )
    assert refused.status == 403 and "analyst" in refused.text()
    upload_refused = page.request.post(served["server"].url("/apps"), multipart={"csrf": csrf, "file": {
        "name": "a.apk", "mimeType": "application/octet-stream", "buffer": b"PK\x03\x04"}})  # fmt: skip
    assert upload_refused.status == 403
    page.context.close()
    admin = sign_in(browser, served, "admin")
    admin.goto(served["server"].url("/users"))
    assert admin.get_by_role("button", name="Add a token").count() >= 3
    shoot(admin, "users", served["tmp"])
    admin.context.close()


def test_an_app_whose_label_is_a_script_payload_renders_as_text(
    browser: Any, served: dict[str, Any], tmp_path: Path
) -> None:
    hostile = manifest_only_apk(tmp_path / "hostile.apk", "org.example.hostile", PAYLOAD)
    page = sign_in(browser, served, "analyst")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    upload(page, hostile, "apps")
    assert page.locator("h1").inner_text() == PAYLOAD  # the label, as text
    assert page.locator("main script, main img[src=x]").count() == 0
    page.goto(served["server"].url("/apps"))
    assert PAYLOAD in page.locator("main table").inner_text()
    page.goto(served["server"].url("/audit"))
    assert not dialogs
    page.context.close()


def test_a_file_dropped_on_the_upload_form_is_sent_and_the_keyboard_reaches_every_control(
    browser: Any, served: dict[str, Any]
) -> None:
    """The one script: a file dropped on the form is chosen and sent. And without a mouse: the skip
    link comes first, every control is reached with Tab and shows where the focus is."""
    page = sign_in(browser, served, "analyst")
    page.goto(served["server"].url("/apps"))
    data = list(fixture_app("behaviours.apk").read_bytes())
    page.evaluate(
        """(bytes) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "dropped.apk"));
            const form = document.querySelector("form[data-drop]");
            form.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        data,
    )
    page.wait_for_url(lambda url: "/apps/" in url and "/jobs/" not in url, timeout=120_000)
    assert "uploaded as dropped.apk" in page.locator("header .meta").first.inner_text()
    page.goto(served["server"].url("/apps"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    reached = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused[0] == "BODY":  # past the last control: the focus went back to the page
            break
        reached.append(focused)
    controls = [r for r in reached if r[0] in ("INPUT", "SELECT", "BUTTON")]
    assert {"Upload", "Filter"} <= {r[1] for r in controls}
    assert any(r[1].startswith("An app to vet") for r in controls)  # the file picker, by its label
    assert all(r[1] for r in controls), controls  # every control has a label or a name
    assert all(r[2] for r in reached), [r for r in reached if not r[2]]  # the focus is always visible
    page.context.close()
