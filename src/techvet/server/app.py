"""The HTTP face of the team service: FastAPI routes under ``/api/v1``, thin over the store.

No analysis happens in a handler: an upload is stored and queued (202 with a job id), and worker
processes do the scanning (:mod:`techvet.server.workers`). Reads are indexed queries
(:mod:`techvet.store.items`); re-judging is :mod:`techvet.store.rejudge`. Every error is JSON
``{"error": "one line"}``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from techvet import __version__
from techvet.errors import TechvetError
from techvet.many.limits import env_number
from techvet.server.auth import (
    COOKIE,
    SAFE_METHODS,
    Principal,
    RateLimiter,
    csrf_ok,
    make_session,
    server_secret,
    session_principal,
    set_session,
)
from techvet.server.limits import BodyLimit
from techvet.server.pages import PAGE_CSP, UPLOAD_PAGES, add_pages, environment, is_page
from techvet.server.rejudging import Rejudging, knowledge_watch, watch
from techvet.store import events
from techvet.store.blobs import TooLarge, put
from techvet.store.db import Store, database_url, get_row
from techvet.store.items import FILTERS, app_query, summary
from techvet.store.jobs import COLLECTION, enqueue, requeue_interrupted
from techvet.store.jobs import as_json as job_json
from techvet.store.models import AuditEvent, Blob, Item, Job, Policy, User, Webhook
from techvet.store.users import signed_in, user_by_token

API = "/api/v1"
OPEN_PATHS = frozenset({f"{API}/health", f"{API}/session"})  # all else needs credentials
DOCS_PATHS = frozenset({"/docs", "/openapi.json"})  # the API's description is for its users only
UPLOAD_PATHS = frozenset(f"{API}/{c}" for c in COLLECTION.values())
SMALL_BODY = 1 << 20  # every body that is not an upload: a policy, a form, JSON
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Swagger UI's page starts it with an inline script: only /docs gets this policy
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'"
)


@dataclass
class Settings:
    data: Path
    url: str | None = None
    workers: int = 2
    max_upload: int = field(default_factory=lambda: int(env_number("TECHVET_MAX_UPLOAD_MB", 512) * 2**20))
    rate_per_minute: int = field(default_factory=lambda: int(env_number("TECHVET_RATE_LIMIT", 600)))
    lists_check_seconds: int = field(default_factory=lambda: int(env_number("TECHVET_LISTS_CHECK_SECONDS", 30)))
    background: bool = True  # workers, webhook sender and list watcher (tests of the API alone turn them off)
    iocs: tuple[str, ...] = ()  # STIX bundles (serve --iocs) the workers match uploads with, beside the bundled ones


PolicyKind = Literal["app", "fleet"]


class Acceptance_(BaseModel):
    rule: str = Field(min_length=2, max_length=20)
    subject: str | None = Field(default=None, max_length=500)
    reason: str = Field(min_length=3, max_length=2000)
    until: date | None = None


class Login(BaseModel):
    name: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class MatchIn(BaseModel):
    name: str = Field(min_length=1, max_length=300)  # the supplier file's name the match is for
    party_id: str = Field(min_length=3, max_length=200)
    decision: str = Field(pattern="^(confirmed|dismissed)$")
    reason: str = Field(min_length=3, max_length=2000)


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern="^(viewer|analyst|admin)$")
    password: str | None = Field(default=None, min_length=12, max_length=1000)


class TokenIn(BaseModel):
    label: str = Field(default="", max_length=200)


class WebhookIn(BaseModel):
    url: str = Field(max_length=1000, pattern=r"^https?://[^\s]+$")


def _principal(request: Request) -> Principal:
    """Who sent ``request``: a bearer token, else a session cookie (with its CSRF token when the
    request changes something); 401 otherwise."""
    store: Store = request.app.state.store
    secret: bytes = request.app.state.secret
    header = request.headers.get("authorization", "")
    with store.session() as session:
        if header:
            scheme, _, secret_text = header.partition(" ")
            user = user_by_token(session, secret_text.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})
            return Principal(user.name, user.role, "token")
        cookie = request.cookies.get(COOKIE)
        found = session_principal(session, secret, cookie)
        if found is None or cookie is None:
            raise HTTPException(
                401, "sign in or send Authorization: Bearer TOKEN", headers={"WWW-Authenticate": "Bearer"}
            )
        if request.method not in SAFE_METHODS and not csrf_ok(secret, cookie, request.headers.get("x-csrf-token")):
            raise HTTPException(403, "missing or wrong X-CSRF-Token for this session")
        return found


def _role(needed: str) -> Callable[[Request], Principal]:
    def check(request: Request) -> Principal:
        who = getattr(request.state, "principal", None) or _principal(request)
        if not who.may(needed):
            raise HTTPException(403, f"needs the {needed} role")
        return who

    return check


Viewer = Annotated[Principal, Depends(_role("viewer"))]
Analyst = Annotated[Principal, Depends(_role("analyst"))]
Admin = Annotated[Principal, Depends(_role("admin"))]


def create_app(settings: Settings) -> FastAPI:
    """The service over ``settings.data``: migrations applied, interrupted jobs queued again."""
    store = Store(settings.data, settings.url)
    store.upgrade()
    # a serving process is the database's one server (jobs it finds running are its own to restart)
    release = store.take_server_lock() if settings.background else None
    os.environ["TECHVET_DATA_DIR"] = str(settings.data)  # the service's own list snapshots
    with store.session() as session:
        requeue_interrupted(session)
        knowledge_watch(session)  # a new techvet or knowledge folder: its apps are scanned again
    secret = server_secret(settings.data)
    limiter = RateLimiter(settings.rate_per_minute)
    state = Rejudging(store)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stoppers: list[Callable[[], None]] = []
        if settings.background:
            from techvet.server.periodic import Periodic
            from techvet.server.webhooks import deliver_due
            from techvet.server.workers import Supervisor

            supervisor = Supervisor(store, settings.url or database_url(settings.data), settings.workers, settings.iocs)
            supervisor.start()
            sender = Periodic("webhooks", 0.5, lambda: deliver_due(store))
            watcher = Periodic("lists", settings.lists_check_seconds, lambda: watch(state))
            # a verdict an acceptance held changes the day the acceptance expires: judge again daily
            started_on = [date.today()]

            def new_day() -> None:
                if date.today() != started_on[0]:
                    started_on[0] = date.today()
                    state.start("a new day: acceptances and exceptions that expired no longer hold", "techvet", False)

            daily = Periodic("daily", 300, new_day)
            for background in (sender, watcher, daily):
                background.start()
            stoppers += [supervisor.stop, sender.stop, watcher.stop, daily.stop]
        yield
        for stop in stoppers:
            stop()
        if release is not None:
            release()
        store.dispose()

    # the OpenAPI page with Swagger UI served by techvet itself (fastapi-offline vendors it): no CDN
    app = FastAPIOffline(title="techvet", version=__version__, lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.store = store
    app.state.secret = secret

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _starlette_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return _error(request, 422, f"{where}: {first.get('msg', 'invalid')}")

    @app.middleware("http")
    async def _guards(request: Request, call_next: Callable[[Request], Any]) -> Response:
        """Who asks, then the rate limit, before any body is read; security headers on every answer.
        Authenticating first means a request without valid credentials never gets its body parsed
        (nor an upload written to a temporary file); the rate is counted per user once known, else
        per client address, so made-up tokens cannot each get a fresh allowance."""
        path = request.url.path
        guarded = (path.startswith(API) and path not in OPEN_PATHS) or path in DOCS_PATHS
        key = f"ip:{_client(request)}"
        if guarded:
            try:
                who = await run_in_threadpool(_principal, request)
                request.state.principal = who
                key = f"user:{who.name}"
            except HTTPException as exc:
                if not limiter.allow(key):
                    return _with_headers(_too_many(), request)
                return _with_headers(JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers), request)
        if path.startswith(API) and path != f"{API}/health" and not limiter.allow(key):
            return _with_headers(_too_many(), request)
        if is_page(path) and not path.startswith("/static/") and not limiter.allow(f"page:{_client(request)}"):
            return _with_headers(_too_many(), request)
        response: Response = await call_next(request)
        return _with_headers(response, request)

    def body_limit(path: str, method: str) -> int:
        if (method == "POST" and path in UPLOAD_PATHS | UPLOAD_PAGES) or (method == "PUT" and path == f"{API}/lists"):
            return settings.max_upload
        return SMALL_BODY

    app.add_middleware(BodyLimit, limit_for=body_limit)

    @app.get(f"{API}/health")
    def health() -> dict[str, Any]:
        with store.session() as session:
            queued = session.scalar(select(func.count()).select_from(Job).where(Job.state == "queued"))
        return {"status": "ok", "version": __version__, "queued": queued}

    @app.post(f"{API}/session")
    def sign_in(body: Login) -> JSONResponse:
        with store.session() as session:
            user = signed_in(session, body.name, body.password)
            if user is None:
                raise HTTPException(401, "wrong name or password")
            cookie, csrf = make_session(secret, user.id)
        response = JSONResponse({"user": body.name, "csrf": csrf})
        set_session(response, cookie)
        return response

    @app.get(f"{API}/me")
    def me(who: Viewer) -> dict[str, str]:
        return {"name": who.name, "role": who.role}

    @app.get(f"{API}/apps")
    def list_apps(
        who: Viewer,
        request: Request,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        filters: dict[str, Any] = {k: v for k, v in request.query_params.items() if k in FILTERS and v}
        if "cleartext" in filters:
            filters["cleartext"] = str(filters["cleartext"]).lower() in ("1", "true", "yes")
        query = app_query(filters)
        with store.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.scalars(query.order_by(Item.id.desc()).offset((page - 1) * per_page).limit(per_page))
            items = [summary(item) for item in rows]
        return {"items": items, "total": total, "page": page, "per_page": per_page}

    @app.post(f"{API}/apps/{{item_id}}/acceptances", status_code=201)
    def accept(who: Analyst, item_id: int, body: Acceptance_) -> dict[str, Any]:
        from techvet.store.rejudge import accept_finding

        with store.session() as session:
            item = _item(session, item_id, "app")
            try:
                change = accept_finding(session, item, body.rule, body.subject, body.reason, body.until, who.name)
            except TechvetError as exc:
                raise HTTPException(422, str(exc)) from None
            return {**summary(item), "change": change}

    for kind, collection in COLLECTION.items():
        _item_routes(app, store, settings, kind, collection)

    @app.post(f"{API}/suppliers/{{item_id}}/matches", status_code=201)
    def decide_match(who: Analyst, item_id: int, body: MatchIn) -> dict[str, Any]:
        from techvet.store.rejudge import decide_match as record_decision

        with store.session() as session:
            item = _item(session, item_id, "suppliers")
            try:
                job = record_decision(session, item, body.name, body.party_id, body.decision, body.reason, who.name)
            except TechvetError as exc:
                raise HTTPException(422, str(exc)) from None
            return {**summary(item), "job": job, "status": f"{API}/jobs/{job}"}

    @app.get(f"{API}/jobs")
    def list_jobs(
        who: Viewer,
        state_: Annotated[str | None, Query(alias="state")] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        with store.session() as session:
            query = select(Job)
            if state_:
                query = query.where(Job.state == state_)
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.scalars(query.order_by(Job.id.desc()).offset((page - 1) * per_page).limit(per_page))
            return {"jobs": [job_json(j) for j in rows], "total": total, "page": page, "per_page": per_page}

    @app.get(f"{API}/jobs/{{job_id}}")
    def get_job(who: Viewer, job_id: int) -> dict[str, Any]:
        with store.session() as session:
            job = get_row(session, Job, job_id)
            if job is None:
                raise HTTPException(404, f"no job {job_id}")
            return job_json(job)

    @app.get(f"{API}/audit")
    def audit(
        who: Viewer,
        since: Annotated[date | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        with store.session() as session:
            query = select(AuditEvent)
            if since:
                query = query.where(AuditEvent.at >= since)
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.scalars(query.order_by(AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page))
            return {"events": [events.as_json(e) for e in rows], "total": total, "page": page, "per_page": per_page}

    @app.get(API + "/policies/{kind}")
    def get_policy(who: Viewer, kind: PolicyKind) -> dict[str, Any]:
        from techvet.knowledge import DATA_DIR
        from techvet.store.judging import POLICY_KINDS

        with store.session() as session:
            query = select(Policy).where(Policy.kind == POLICY_KINDS[kind], Policy.active.is_(True))
            row = session.scalar(query)
            if row is None:
                return {"version": None, "text": (DATA_DIR / f"{kind}_policy.yaml").read_text(encoding="utf-8")}
            return {"version": row.version, "text": row.text, "by": row.created_by}

    @app.put(API + "/policies/{kind}")
    async def put_policy(who: Admin, kind: PolicyKind, request: Request) -> dict[str, Any]:
        """A new version of the app or fleet policy, checked whole, made active; what it judges is
        judged again (every stored item for the app policy, the registers for the fleet policy)."""
        from techvet.store.judging import POLICY_KINDS, activate_policy
        from techvet.store.rejudge import rejudge_files

        try:
            text = (await request.body()).decode("utf-8")
            with store.session() as session:
                version = await run_in_threadpool(activate_policy, session, text, who.name, POLICY_KINDS[kind])
        except UnicodeDecodeError:
            raise HTTPException(422, "a policy is UTF-8 YAML text") from None
        except TechvetError as exc:
            raise HTTPException(422, str(exc)) from None
        except IntegrityError:
            raise HTTPException(409, "another policy was saved at the same moment: send it again") from None
        cause = f"{kind} policy version {version} by {who.name}"
        if kind == "app":
            state.start(cause, who.name, rescreen=False)
        else:
            with store.session() as session:
                await run_in_threadpool(rejudge_files, session, store.data, cause, who.name, ("fleet",))
        return {"version": version, "rejudging": True}

    @app.put(f"{API}/lists", status_code=202)
    async def put_lists(who: Admin, request: Request) -> dict[str, Any]:
        """A list snapshot handed over (restriction_lists.json.gz, as `techvet lists update` writes
        it): checked whole, installed, then everything is judged again under it."""
        from techvet.server.rejudging import install_lists

        try:
            folder, counts = await install_lists(state, await request.body(), who.name)
        except TechvetError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"snapshot": folder.name, "lists": {k: {"before": a, "now": b} for k, (a, b) in counts.items()}}

    @app.post(f"{API}/rejudge", status_code=202)
    def rejudge(who: Admin) -> dict[str, Any]:
        started = state.start(f"re-judging asked by {who.name}", who.name, rescreen=True)
        return {"started": started, **state.status()}

    @app.get(f"{API}/rejudge")
    def rejudge_status(who: Viewer) -> dict[str, Any]:
        return state.status()

    @app.get(f"{API}/lists")
    def lists(who: Viewer) -> dict[str, Any]:
        from techvet.knowledge import load

        kb = load()
        return {"folder_is_update": kb.lists_folder != kb.directory, "lists": kb.restriction_forms.lists}

    @app.get(f"{API}/users")
    def users(who: Admin) -> dict[str, Any]:
        from techvet.store.users import listing

        with store.session() as session:
            return {"users": listing(session)}

    @app.post(f"{API}/users", status_code=201)
    def add_user(who: Admin, body: UserIn) -> dict[str, Any]:
        from techvet.store.users import add_token
        from techvet.store.users import add_user as make_user

        try:
            with store.session() as session:
                user = make_user(session, body.name, body.role, body.password, actor=who.name)
                token = add_token(session, user, "first token", actor=who.name)
        except TechvetError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"name": user.name, "role": user.role, "token": token}  # the token, shown this once

    @app.post(f"{API}/users/{{name}}/tokens", status_code=201)
    def add_token(who: Admin, name: str, body: TokenIn) -> dict[str, Any]:
        from techvet.store.users import add_token as make_token

        with store.session() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                raise HTTPException(404, f"no user {name!r}")
            return {"name": name, "token": make_token(session, user, body.label, actor=who.name)}

    @app.delete(f"{API}/tokens/{{token_id}}", status_code=204)
    def revoke(who: Admin, token_id: int) -> Response:
        from techvet.store.users import revoke_token

        with store.session() as session:
            if not revoke_token(session, token_id, who.name):
                raise HTTPException(404, f"no token {token_id}")
        return Response(status_code=204)

    @app.get(f"{API}/webhooks")
    def get_webhooks(who: Admin) -> dict[str, Any]:
        with store.session() as session:
            return {"webhooks": [{"id": w.id, "url": w.url} for w in session.scalars(select(Webhook))]}

    @app.post(f"{API}/webhooks", status_code=201)
    def add_webhook(who: Admin, body: WebhookIn) -> dict[str, Any]:
        with store.session() as session:
            hook = Webhook(url=body.url)
            session.add(hook)
            session.flush()
            # the URL itself is often the receiver's secret (chat webhooks): the log names its host only
            host = urlsplit(body.url).hostname or "?"
            events.record(session, who.name, "webhook", f"webhook {hook.id} to host {host} added")
            return {"id": hook.id, "url": hook.url}

    add_pages(app, store, secret, lambda kind, file, who: _accept_upload(store, settings, kind, file, who), state)
    return app


def _error(request: Request, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """An error as JSON ``{"error": ...}`` for the API, as a page for a person."""
    if not is_page(request.url.path):
        return JSONResponse({"error": message}, status, headers=headers)
    html = (
        environment()
        .get_template("page_error.html.j2")
        .render(who=None, status=status, message=message, techvet_version=__version__)
    )
    return HTMLResponse(html, status, headers={k: v for k, v in (headers or {}).items() if k != "WWW-Authenticate"})


def _too_many() -> JSONResponse:
    return JSONResponse({"error": "too many requests: slow down"}, 429, headers={"Retry-After": "1"})


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _with_headers(response: Response, request: Request) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.url.path == "/docs":  # the OpenAPI page runs Swagger UI's own script
        response.headers["Content-Security-Policy"] = DOCS_CSP
    elif is_page(request.url.path):  # techvet's own style sheet and script, nothing inline
        response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _item_routes(app: FastAPI, store: Store, settings: Settings, kind: str, collection: str) -> None:
    """Upload, one and history for every kind; the list for captures, supplier files and registers
    (the apps' list has the portfolio's filters)."""

    @app.post(f"{API}/{collection}", status_code=202, name=f"upload_{kind}")
    def upload(who: Analyst, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        return _accept_upload(store, settings, kind, file, who)

    @app.get(f"{API}/{collection}/{{item_id}}", name=f"get_{kind}")
    def one(who: Viewer, item_id: int) -> dict[str, Any]:
        with store.session() as session:
            item = _item(session, item_id, kind)
            return {**summary(item), "snapshot": item.snapshot, "result": item.result}

    @app.get(f"{API}/{collection}/{{item_id}}/history", name=f"history_{kind}")
    def history(who: Viewer, item_id: int) -> dict[str, Any]:
        with store.session() as session:
            _item(session, item_id, kind)
            rows = session.scalars(select(AuditEvent).where(AuditEvent.item_id == item_id).order_by(AuditEvent.id))
            return {"events": [events.as_json(e) for e in rows]}

    if kind == "app":
        return

    @app.get(f"{API}/{collection}", name=f"list_{collection}")
    def listing(
        who: Viewer,
        verdict: str | None = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        query = select(Item).where(Item.kind == kind)
        if verdict:
            query = query.where(Item.verdict == verdict)
        with store.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.scalars(query.order_by(Item.id.desc()).offset((page - 1) * per_page).limit(per_page))
            return {"items": [summary(i) for i in rows], "total": total, "page": page, "per_page": per_page}


def _item(session: Any, item_id: int, kind: str) -> Item:
    item = get_row(session, Item, item_id)
    if item is None or item.kind != kind:
        raise HTTPException(404, f"no {kind} {item_id}")
    return item


def _accept_upload(store: Store, settings: Settings, kind: str, upload: UploadFile, who: Principal) -> dict[str, Any]:
    """Keep the file under its SHA-256 and queue its job; 202 at once."""
    name = os.path.basename((upload.filename or "upload").replace("\\", "/"))[:300] or "upload"
    try:
        sha, size = put(store.data, upload.file, settings.max_upload)
    except TooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    with contextlib.suppress(IntegrityError), store.session() as session:  # the same file, uploaded at once
        if session.get(Blob, sha) is None:
            session.add(Blob(sha256=sha, size=size))
    with store.session() as session:
        job = enqueue(session, kind, sha, name, who.name)
        events.record(session, who.name, "uploaded", f"{name} ({size} bytes, sha256 {sha[:12]}) queued as job {job.id}")
        return {"job": job.id, "state": job.state, "sha256": sha, "size": size, "status": f"{API}/jobs/{job.id}"}
