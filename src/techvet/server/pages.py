"""The team service's pages for the people who decide: server-rendered HTML over the same store and
library calls as the API, signed in with the session cookie.

Every page works without JavaScript: filters are GET forms, changes are POST forms carrying the
session's CSRF token in a hidden field, a job's page looks again by itself (a meta refresh) until the
job ends. The one script (``static/techvet.js``, served by techvet) only adds dropping a file on an
upload form. The templates are Jinja2 with autoescaping, and the app page includes the HTML
report's own templates (its verdict, map and sections), so a label such as ``<script>`` renders as
text here as there; the Content-Security-Policy forbids inline scripts and styles.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, or_, select
from starlette.datastructures import UploadFile

from techvet import __version__
from techvet.errors import TechvetError, UsageError
from techvet.screen.staleness import STALE_DAYS, closed_lists, stale_lists
from techvet.server.auth import (
    COOKIE,
    Principal,
    csrf_for,
    csrf_ok,
    make_session,
    session_principal,
    set_session,
    signed_out_now,
)
from techvet.store import events
from techvet.store.db import Store, get_row
from techvet.store.items import app_query, summary
from techvet.store.models import AuditEvent, Item, Job, User
from techvet.store.users import signed_in

PER_PAGE = 50
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
UPLOAD_PAGES = frozenset({"/apps", "/suppliers", "/fleets", "/lists"})  # POSTs that carry a file
SORTS: dict[str, tuple[str, Any]] = {
    "new": ("newest first", Item.id.desc()),
    "worst": ("worst verdict first", Item.score.desc().nulls_last()),
    "title": ("by name", Item.title.asc()),
    "package": ("by package", Item.package.asc()),
}
FILE_KINDS = {  # collection: kind, heading, what it is, verdicts, what to upload
    "suppliers": ("suppliers", "Supplier files", "Every row screened against the lists in use.", ("match", "clear"),
                  "A supplier file (CSV or XLSX)"),
    "fleets": ("fleet", "Fleet registers", "Every aircraft decided under the active fleet policy.",
               ("fail", "warn", "pass"), "A fleet register (CSV, XLSX or JSON)"),
}  # fmt: skip


class SignIn(Exception):
    """Raised by a page that needs a signed-in user: answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


@lru_cache(maxsize=1)
def environment() -> Any:
    """The pages' templates, then the HTML report's (which the app page includes), autoescaped."""
    from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

    from techvet.report.cells import network_cell, owner_cell

    loader = ChoiceLoader([PackageLoader("techvet.server", "templates"), PackageLoader("techvet.report", "templates")])
    env = Environment(loader=loader, autoescape=select_autoescape(["html", "j2"]))
    env.globals.update(owner_cell=owner_cell, network_cell=network_cell)
    return env


@lru_cache(maxsize=1)
def stylesheet() -> bytes:
    """The report's style sheet and the pages' own, served as one file (no inline style is allowed)."""
    report = resources.files("techvet.report").joinpath("templates/_style.css").read_bytes()
    return report + b"\n" + resources.files("techvet.server").joinpath("static/pages.css").read_bytes()


@lru_cache(maxsize=1)
def script() -> bytes:
    return resources.files("techvet.server").joinpath("static/techvet.js").read_bytes()


def is_page(path: str) -> bool:
    """A path the pages answer (not the API, not its documentation)."""
    return not path.startswith("/api/") and path not in ("/docs", "/openapi.json")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def add_pages(
    app: FastAPI, store: Store, secret: bytes, accept_upload: Callable[..., dict[str, Any]], state: Any
) -> None:
    """Register the pages on ``app``. ``accept_upload`` is the API's own upload path (stored once
    under its SHA-256, queued as a job); ``state`` the service's re-judging."""

    def who_is(request: Request) -> tuple[Principal, str]:
        cookie = request.cookies.get(COOKIE) or ""
        with store.session() as session:
            who = session_principal(session, secret, cookie)
        if who is None:
            raise SignIn(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return who, cookie

    def page(request: Request, template: str, who: Principal | None, cookie: str = "", **context: Any) -> HTMLResponse:
        base = {"who": who, "csrf": csrf_for(secret, cookie) if cookie else "", "techvet_version": __version__,
                "notice": _notice(secret, request)}  # fmt: skip
        html = environment().get_template(template).render({**base, **context})
        return HTMLResponse(html, status_code=context.get("status_code", 200))

    async def form_of(request: Request, needed: str) -> tuple[Principal, Any]:
        """The signed-in user and the posted form, after the role (before any of the body is read:
        a viewer's upload is refused unread) and the CSRF token are checked."""
        who, cookie = await run_in_threadpool(who_is, request)
        if not who.may(needed):
            raise HTTPException(403, f"needs the {needed} role")
        form = await request.form(max_files=1, max_fields=20)
        if not csrf_ok(secret, cookie, str(form.get("csrf") or "")):
            raise HTTPException(403, "this form has expired or came from elsewhere: open the page again")
        return who, form

    @app.exception_handler(SignIn)
    async def _sign_in(_: Request, exc: SignIn) -> Response:
        return RedirectResponse("/signin?" + urlencode({"next": exc.next_path}), 303)

    @app.get("/static/techvet.css", include_in_schema=False)
    def css() -> Response:
        return Response(stylesheet(), media_type="text/css", headers={"Cache-Control": "max-age=300"})

    @app.get("/static/techvet.js", include_in_schema=False)
    def js() -> Response:
        return Response(script(), media_type="text/javascript", headers={"Cache-Control": "max-age=300"})

    @app.get("/signin", response_class=HTMLResponse, include_in_schema=False)
    def signin_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002 - the form's field
        return page(request, "page_signin.html.j2", None, next=_local(next))

    @app.post("/signin", include_in_schema=False)
    async def signin(request: Request) -> Response:
        # no session yet, so no CSRF token: a form another site posts (to sign the browser in as
        # someone else, whose name the victim's uploads would then carry) is told by its origin
        origin = request.headers.get("origin")  # its host only: behind a TLS proxy the scheme differs
        if request.headers.get("sec-fetch-site") == "cross-site" or (
            origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host")
        ):
            raise HTTPException(403, "sign in from this site's own page")
        form = await request.form(max_files=0, max_fields=5)
        name, password = str(form.get("name") or "")[:200], str(form.get("password") or "")[:1000]

        def check() -> int | None:
            with store.session() as session:
                user = signed_in(session, name, password)
                return user.id if user is not None else None

        user_id = await run_in_threadpool(check)
        if user_id is None:
            return page(request, "page_signin.html.j2", None, next=_local(str(form.get("next") or "/")),
                        problem="Wrong name or password.", status_code=401)  # fmt: skip
        cookie, _ = make_session(secret, user_id)
        response = RedirectResponse(_local(str(form.get("next") or "/")), 303)
        set_session(response, cookie)
        return response

    @app.post("/signout", include_in_schema=False)
    async def signout(request: Request) -> Response:
        """Ends every browser session of the user issued until now (this one, and one a thief
        copied), not only the cookie in this browser."""
        who, _ = await form_of(request, "viewer")
        with store.session() as session:
            user = session.scalar(select(User).where(User.name == who.name))
            if user is not None:
                user.sessions_after = signed_out_now()
        response = RedirectResponse("/signin", 303)
        response.delete_cookie(COOKIE, httponly=True, secure=True, samesite="strict")
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, since: str = "") -> HTMLResponse:
        who, cookie = who_is(request)
        since_day = _date(since) or date.today() - timedelta(days=7)
        with store.session() as session:
            groups = []
            for kind, title, href in (("app", "Apps", "/apps"), ("suppliers", "Supplier files", "/suppliers"),
                                      ("fleet", "Fleet registers", "/fleets")):  # fmt: skip
                rows = session.execute(
                    select(Item.verdict, func.count()).where(Item.kind == kind).group_by(Item.verdict)
                ).all()
                counts = sorted(((str(v), int(n)) for v, n in rows), key=lambda c: _VERDICT_ORDER.get(c[0], 9))
                groups.append({"title": title, "href": href, "counts": counts, "total": sum(n for _, n in counts)})
            changed = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.at >= datetime.combine(since_day, datetime.min.time()), AuditEvent.new.is_not(None),
                       or_(AuditEvent.old.is_(None), AuditEvent.old != AuditEvent.new))
                .order_by(AuditEvent.id.desc()).limit(200)
            )  # fmt: skip
            changes = _events(session, changed)
            jobs = session.scalar(select(func.count()).select_from(Job).where(Job.state.in_(("queued", "running"))))
        stale = [entry for entry in _lists() if entry["stale"]]
        return page(request, "page_home.html.j2", who, cookie, section="home", groups=groups,
                    since=since_day.isoformat(), changes=changes, stale=stale, stale_days=STALE_DAYS,
                    jobs=jobs)  # fmt: skip

    @app.get("/apps", response_class=HTMLResponse, include_in_schema=False)
    def apps(request: Request) -> HTMLResponse:
        who, cookie = who_is(request)
        params = request.query_params
        wanted = {k: params.get(k, "")[:200] for k in ("q", "verdict", "sdk", "vendor_country", "owner", "rule")}
        wanted["sort"] = params.get("sort", "new") if params.get("sort") in SORTS else "new"
        number = _page_number(params.get("page"))
        query = app_query({k: v for k, v in wanted.items() if v and k not in ("q", "sort")})
        if wanted["q"]:
            needle = f"%{wanted['q'].lower()}%"
            query = query.where(or_(func.lower(Item.title).like(needle), func.lower(Item.package).like(needle)))
        with store.session() as session:
            total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
            rows = session.scalars(
                query.order_by(SORTS[wanted["sort"]][1], Item.id.desc()).offset((number - 1) * PER_PAGE).limit(PER_PAGE)
            )
            items = [{**summary(i), "judged": _when(i.judged)} for i in rows]
        return page(request, "page_apps.html.j2", who, cookie, section="apps", items=items, f=wanted,
                    sorts=[(k, v[0]) for k, v in SORTS.items()], **_pages(request, number, total))  # fmt: skip

    for collection in ("apps", "suppliers", "fleets"):
        _upload_route(app, collection, form_of, accept_upload)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def job_page(request: Request, job_id: int) -> Response:
        who, cookie = who_is(request)
        from techvet.store.jobs import as_json

        with store.session() as session:
            job = get_row(session, Job, job_id)
            if job is None:
                raise HTTPException(404, f"no job {job_id}")
            doc = as_json(job)
        result = str(doc["result"]).removeprefix("/api/v1") if doc.get("result") else None
        if result and result.split("/")[1] not in ("apps", "suppliers", "fleets"):
            result = None  # a capture's result: the API has it (/api/v1/captures/N), no page does
        if doc["state"] == "done" and result:  # an upload's item, or the item a re-judging was for
            return RedirectResponse(result, 303)
        running = doc["state"] in ("queued", "running")
        return page(request, "page_job.html.j2", who, cookie, job=doc, result=result, refresh=2 if running else None)

    @app.get("/apps/{item_id}", response_class=HTMLResponse, include_in_schema=False)
    def app_page(request: Request, item_id: int) -> HTMLResponse:
        from techvet.report.html import app_context

        who, cookie = who_is(request)
        with store.session() as session:
            item = _get(session, item_id, "app")
            context = app_context(item.result)
            versions = []
            if item.package:
                same = select(Item.id, Item.version, Item.verdict, Item.created).where(
                    Item.kind == "app", Item.package == item.package
                )  # the columns shown, not each version's whole result
                for v_id, version, verdict, created in session.execute(same.order_by(Item.id.desc()).limit(50)):
                    versions.append({"id": v_id, "version": version, "verdict": verdict, "created": _when(created)})
            history = _history(session, item_id)
            facts = {**summary(item), "judged": _when(item.judged)}
        return page(request, "page_app.html.j2", who, cookie, section="apps", item=facts, versions=versions,
                    events=history, open_accept=request.query_params.get("accept") == "1", **context)  # fmt: skip

    @app.post("/apps/{item_id}/accept", include_in_schema=False)
    async def accept(request: Request, item_id: int) -> Response:
        from techvet.store.rejudge import accept_finding

        who, form = await form_of(request, "analyst")
        rule, _, subject = str(form.get("finding") or "").partition("|")
        reason = str(form.get("reason") or "").strip()[:2000]
        until = _date(str(form.get("until") or ""))
        if len(reason) < 3 or until is None or until <= date.today():
            raise HTTPException(422, "an acceptance needs a reason (3 characters or more) and a date after today")

        def record() -> None:
            with store.session() as session:
                item = _get(session, item_id, "app")
                accept_finding(session, item, rule[:20], subject[:500] or None, reason, until, who.name)

        try:
            await run_in_threadpool(record)
        except TechvetError as exc:
            raise HTTPException(422, str(exc)) from None
        return _told(secret, f"/apps/{item_id}", f"{rule} accepted until {until}")

    @app.get("/apps/{item_id}/compare/{other_id}", response_class=HTMLResponse, include_in_schema=False)
    def compare(request: Request, item_id: int, other_id: int) -> HTMLResponse:
        from techvet.diff import diff

        who, cookie = who_is(request)
        with store.session() as session:
            old, new = _get(session, item_id, "app"), _get(session, other_id, "app")
            changes = diff(old.result, new.result)
        return page(request, "page_compare.html.j2", who, cookie, section="apps", d=changes)

    @app.get("/suppliers/{item_id}", response_class=HTMLResponse, include_in_schema=False)
    def supplier_file(request: Request, item_id: int) -> HTMLResponse:
        who, cookie = who_is(request)
        with store.session() as session:
            facts, result, history = _stored(session, item_id, "suppliers")
        return page(request, "page_suppliers_one.html.j2", who, cookie, section="suppliers", item=facts,
                    result=result, parties=_by_party(result), events=history)  # fmt: skip

    @app.post("/suppliers/{item_id}/matches", include_in_schema=False)
    async def decide(request: Request, item_id: int) -> Response:
        from techvet.store.rejudge import decide_match

        who, form = await form_of(request, "analyst")
        decision, reason = str(form.get("decision") or ""), str(form.get("reason") or "").strip()[:2000]
        name, party_id = str(form.get("name") or "")[:300], str(form.get("party_id") or "")[:200]
        if decision not in ("confirmed", "dismissed") or len(reason) < 3:
            raise HTTPException(422, "a decision is confirmed or dismissed, with a reason (3 characters or more)")

        def record() -> int:
            with store.session() as session:
                return decide_match(session, _get(session, item_id, "suppliers"), name, party_id, decision, reason,
                                    who.name)  # fmt: skip

        try:
            job = await run_in_threadpool(record)
        except TechvetError as exc:
            raise HTTPException(422, str(exc)) from None
        return RedirectResponse(f"/jobs/{job}", 303)

    @app.get("/fleets/{item_id}", response_class=HTMLResponse, include_in_schema=False)
    def register(request: Request, item_id: int, decision: str = "") -> HTMLResponse:
        who, cookie = who_is(request)
        with store.session() as session:
            facts, result, history = _stored(session, item_id, "fleet")
        devices = [_device(d) for d in result.get("devices") or [] if isinstance(d, dict)]
        shown = [d for d in devices if not decision or d["decision"] == decision]
        order = {"ground": 0, "restrict": 1, "review": 2, "allow": 3}
        shown.sort(key=lambda d: (order.get(d["decision"], 9), d["row"] or 0))
        return page(request, "page_fleets_one.html.j2", who, cookie, section="fleets", item=facts,
                    policy=result.get("policy") or {}, summary=result.get("summary") or {"by_decision": {}},
                    warnings=result.get("warnings") or [], devices=shown[:1000], more=max(0, len(shown) - 1000),
                    decision=decision, events=history)  # fmt: skip

    for collection, (kind, heading, explain, verdicts, label) in FILE_KINDS.items():
        _file_list_route(app, store, collection, kind, (heading, explain, label), verdicts, who_is, page)

    @app.get("/lists", response_class=HTMLResponse, include_in_schema=False)
    def lists_page(request: Request) -> HTMLResponse:
        from techvet.screen.update import installed_snapshot

        who, cookie = who_is(request)
        # what is installed now, not what this process's knowledge was loaded with: the re-judging
        # thread reloads that a moment after an upload, and the page right after it must say so
        return page(request, "page_lists.html.j2", who, cookie, section="lists", lists=_lists(),
                    from_update=installed_snapshot() is not None, stale_days=STALE_DAYS)  # fmt: skip

    @app.post("/lists", include_in_schema=False)
    async def lists_upload(request: Request) -> Response:
        from techvet.server.rejudging import install_lists

        who, form = await form_of(request, "admin")
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "choose a restriction_lists.json.gz file")
        try:
            folder, _ = await install_lists(state, await upload.read(), who.name)
        except TechvetError as exc:
            raise HTTPException(422, str(exc)) from None
        return _told(secret, "/lists", f"snapshot {folder.name} installed")

    @app.get("/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit_page(request: Request) -> HTMLResponse:
        who, cookie = who_is(request)
        number = _page_number(request.query_params.get("page"))
        with store.session() as session:
            total = int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
            rows = session.scalars(
                select(AuditEvent).order_by(AuditEvent.id.desc()).offset((number - 1) * PER_PAGE).limit(PER_PAGE)
            )
            history = _events(session, rows)
        return page(request, "page_audit.html.j2", who, cookie, section="audit", events=history,
                    **_pages(request, number, total))  # fmt: skip

    @app.get("/users", response_class=HTMLResponse, include_in_schema=False)
    def users_page(request: Request) -> HTMLResponse:
        from techvet.store.users import listing

        who, cookie = who_is(request)
        if not who.may("admin"):
            raise HTTPException(403, "needs the admin role")
        with store.session() as session:
            users = listing(session)
        return page(request, "page_users.html.j2", who, cookie, section="users", users=users)

    @app.post("/users", include_in_schema=False)
    async def add_user(request: Request) -> Response:
        from techvet.store.users import add_user as add

        who, form = await form_of(request, "admin")
        name, role, password = str(form.get("name") or ""), str(form.get("role") or ""), str(form.get("password") or "")
        if password and len(password) < 12:
            raise HTTPException(422, "a password is at least 12 characters")

        def record() -> None:
            with store.session() as session:
                add(session, name, role, password or None, actor=who.name)

        try:
            await run_in_threadpool(record)
        except UsageError as exc:
            raise HTTPException(422, str(exc)) from None
        return _told(secret, "/users", f"user {name.strip()} added as {role}")

    @app.post("/users/tokens", response_class=HTMLResponse, include_in_schema=False)
    async def add_token(request: Request) -> HTMLResponse:
        from techvet.store.users import add_token as add
        from techvet.store.users import listing

        who, form = await form_of(request, "admin")
        name = str(form.get("name") or "")[:200]  # a field, not the path: a name may hold "/"

        def record() -> tuple[str, list[dict[str, object]]]:
            with store.session() as session:
                user = session.scalar(select(User).where(User.name == name))
                if user is None:
                    raise HTTPException(404, f"no user {name!r}")
                return add(session, user, str(form.get("label") or "")[:200], actor=who.name), listing(session)

        secret_text, users = await run_in_threadpool(record)
        cookie = request.cookies.get(COOKIE) or ""
        return page(request, "page_users.html.j2", who, cookie, section="users", users=users,
                    new_token={"user": name, "secret": secret_text})  # fmt: skip

    @app.post("/tokens/{token_id}/revoke", include_in_schema=False)
    async def revoke(request: Request, token_id: int) -> Response:
        from techvet.store.users import revoke_token

        who, _ = await form_of(request, "admin")
        with store.session() as session:
            if not revoke_token(session, token_id, who.name):
                raise HTTPException(404, f"no token {token_id}")
        return _told(secret, "/users", f"token {token_id} revoked")


_VERDICT_ORDER = {"fail": 0, "match": 0, "warn": 1, "pass": 2, "clear": 2}


def _upload_route(app: FastAPI, collection: str, form_of: Any, accept_upload: Callable[..., dict[str, Any]]) -> None:
    kind = {"apps": "app", "suppliers": "suppliers", "fleets": "fleet"}[collection]

    @app.post(f"/{collection}", include_in_schema=False, name=f"page_upload_{kind}")
    async def upload(request: Request) -> Response:
        who, form = await form_of(request, "analyst")
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            raise HTTPException(422, "choose a file to upload")
        job = await run_in_threadpool(accept_upload, kind, file, who)
        return RedirectResponse(f"/jobs/{job['job']}", 303)


def _file_list_route(
    app: FastAPI, store: Store, collection: str, kind: str, words: tuple[str, str, str],
    verdicts: tuple[str, ...], who_is: Any, page: Any,
) -> None:  # fmt: skip
    heading, explain, label = words

    @app.get(f"/{collection}", response_class=HTMLResponse, include_in_schema=False, name=f"page_{collection}")
    def listing(request: Request, verdict: str = "") -> HTMLResponse:
        who, cookie = who_is(request)
        number = _page_number(request.query_params.get("page"))
        query = select(Item).where(Item.kind == kind)
        if verdict:
            query = query.where(Item.verdict == verdict[:10])
        with store.session() as session:
            total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
            rows = session.scalars(query.order_by(Item.id.desc()).offset((number - 1) * PER_PAGE).limit(PER_PAGE))
            items = [{**summary(i), "judged": _when(i.judged)} for i in rows]
        return page(request, "page_files.html.j2", who, cookie, section=collection, items=items, heading=heading,
                    explain=explain, verdicts=verdicts, verdict=verdict, action=f"/{collection}",
                    upload_label=label,
                    **_pages(request, number, total))  # fmt: skip


def _get(session: Any, item_id: int, kind: str) -> Item:
    item = get_row(session, Item, item_id)
    if item is None or item.kind != kind:
        raise HTTPException(404, f"no {kind} {item_id}")
    return item


def _stored(session: Any, item_id: int, kind: str) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """A stored file's summary, its whole result and its history, for its page."""
    item = _get(session, item_id, kind)
    return {**summary(item), "judged": _when(item.judged)}, item.result or {}, _history(session, item_id)


def _history(session: Any, item_id: int) -> list[dict[str, Any]]:
    query = select(AuditEvent).where(AuditEvent.item_id == item_id)
    return _events(session, session.scalars(query.order_by(AuditEvent.id.desc()).limit(200)))


def _events(session: Any, rows: Any) -> list[dict[str, Any]]:
    """Audit events for a table, each linked to its item's page."""
    out = []
    rows = list(rows)
    kinds = {}
    ids = {e.item_id for e in rows if e.item_id}
    if ids:
        kinds = dict(session.execute(select(Item.id, Item.kind).where(Item.id.in_(ids))).all())
    for e in rows:
        collection = {"app": "apps", "suppliers": "suppliers", "fleet": "fleets"}.get(kinds.get(e.item_id, ""))
        href = f"/{collection}/{e.item_id}" if collection else None
        out.append({**events.as_json(e), "at": _when(e.at), "href": href})
    return out


def _lists() -> list[dict[str, Any]]:
    """Every list in use with its date, size and whether it is stale (the library's own rule: older
    than STALE_DAYS and not a closed list)."""
    from techvet.knowledge import load

    today = date.today()
    stale, closed = set(stale_lists(today)), closed_lists()
    out = []
    for list_id, meta in sorted(load().restriction_forms.lists.items()):
        as_of = _date(str(meta.get("as_of") or ""))
        age = f"{(today - as_of).days} days" if as_of else "unknown"
        out.append({
            "id": list_id, "title": meta.get("title"), "as_of": meta.get("as_of"), "count": meta.get("count"),
            "age": f"{age} (closed: {closed[list_id]})" if list_id in closed else age, "stale": list_id in stale,
        })  # fmt: skip
    return out


def _by_party(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A supplier file's possible matches grouped by listed party: the party, then each row."""
    parties: dict[str, dict[str, Any]] = {}
    for row in result.get("matches") or []:
        given = row.get("input") or {}
        for m in row.get("matches") or []:
            party = parties.setdefault(str(m.get("party_id")), {
                "id": m.get("party_id"), "name": m.get("name"), "list": m.get("list_title") or m.get("list"),
                "since": m.get("listed_on"), "rows": [],
            })  # fmt: skip
            decided = m.get("decision") or {}
            party["rows"].append({
                "name": given.get("name"), "row": row.get("row"), "score": m.get("score"),
                "why": m.get("why") or m.get("how") or "", "decision": decided.get("decision") or "possible",
                "decided": f"by {decided.get('by')}: {decided.get('reason')}" if decided else "",
            })  # fmt: skip
    return sorted(parties.values(), key=lambda p: (-len(p["rows"]), str(p["name"])))


def _device(d: dict[str, Any]) -> dict[str, Any]:
    """One aircraft of a stored register (``Verdict.to_dict``) as the fleet page shows it."""
    given: dict[str, Any] = d["input"] if isinstance(d.get("input"), dict) else {}
    model: dict[str, Any] = d["model"] if isinstance(d.get("model"), dict) else {}
    maker = d.get("manufacturer") or d.get("brand") or "unknown"
    return {
        "row": d.get("row"), "decision": d.get("decision") or "unread", "error": d.get("error"),
        "listed": " · ".join(str(v) for v in given.values() if v)[:160],
        "model": model.get("name") or "unknown model",
        "maker": f"{maker} ({d['country']})" if d.get("country") else maker,
        "reasons": d.get("reasons") or [], "app_verdicts": d.get("app_verdicts") or [],
        "companion": ", ".join(d.get("companion_apps") or []),
    }  # fmt: skip


def _told(secret: bytes, path: str, notice: str) -> RedirectResponse:
    """Back to ``path`` after a change, saying what was done. The notice is signed, so a link made
    elsewhere cannot put words of its own in the service's mouth."""
    return RedirectResponse(f"{path}?" + urlencode({"notice": notice, "signed": _sign_notice(secret, notice)}), 303)


def _notice(secret: bytes, request: Request) -> str:
    text = request.query_params.get("notice", "")[:300]
    signed = request.query_params.get("signed", "")
    return text if text and hmac.compare_digest(_sign_notice(secret, text), signed) else ""


def _sign_notice(secret: bytes, text: str) -> str:
    return hmac.new(secret, b"notice:" + text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _local(path: str) -> str:
    """Where to go after signing in: a path on this site only (never another site's address)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _page_number(text: str | None) -> int:
    try:
        return max(1, min(int(text or 1), 100_000))
    except ValueError:
        return 1


def _pages(request: Request, number: int, total: int) -> dict[str, Any]:
    params = {k: v for k, v in request.query_params.items() if k not in ("page", "notice", "signed")}

    def page_url(n: int) -> str:
        return f"{request.url.path}?{urlencode({**params, 'page': n})}"

    return {"page": number, "pages": max(1, math.ceil(total / PER_PAGE)), "total": total, "page_url": page_url}
