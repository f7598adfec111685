"""Who is asking, and may they: API tokens, browser sessions with CSRF, roles.

Roles are ordered: a viewer reads; an analyst also uploads, accepts and dismisses; an admin also
manages users, tokens, policies, lists and webhooks. A request authenticates with
``Authorization: Bearer TOKEN`` or with the session cookie ``POST /api/v1/session`` sets
(HttpOnly, Secure, SameSite=Strict; signing out ends every session of the user issued before);
with the cookie, every state-changing request must also carry the session's CSRF token in
``X-CSRF-Token`` (a page's form: its ``csrf`` field), so another site cannot make the browser act.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session
from starlette.responses import Response

from techvet.store.models import ROLES, User

COOKIE = "techvet_session"
SESSION_SECONDS = 8 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    via: str  # token | session

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def server_secret(data: Path) -> bytes:
    """The key that signs session cookies: made once per data folder, readable by its owner only."""
    path = data / "secret.key"
    if not path.exists():
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def _sign(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def make_session(secret: bytes, user_id: int) -> tuple[str, str]:
    """(cookie value, CSRF token) for a new session of ``user_id``: its user, expiry, the moment it
    was issued (ms, so that signing out ends every session issued before) and a nonce, signed."""
    body = f"{user_id}.{int(time.time()) + SESSION_SECONDS}.{time.time_ns() // 1_000_000}.{secrets.token_hex(8)}"
    cookie = f"{body}.{_sign(secret, body)}"
    return cookie, _sign(secret, "csrf:" + cookie)


def session_user(secret: bytes, cookie: str) -> int | None:
    """The user id of a valid, unexpired session cookie (whether its user signed out since is
    :func:`still_signed_in`'s to say)."""
    parts = cookie.split(".")
    if len(parts) != 5 or len(cookie) > 200:
        return None
    body, signature = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(_sign(secret, body), signature):
        return None
    try:
        user_id, expires = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return user_id if expires > time.time() else None


def still_signed_in(user: User, cookie: str) -> bool:
    """Whether a checked session cookie of ``user`` was issued after the user last signed out."""
    return user.sessions_after is None or int(cookie.split(".")[2]) > user.sessions_after


def session_principal(session: Session, secret: bytes, cookie: str | None) -> Principal | None:
    """Who a session cookie signs in (valid, unexpired, not signed out since), or None: the one
    check the API and the pages make of a browser session."""
    user_id = session_user(secret, cookie) if cookie else None
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not cookie or not still_signed_in(user, cookie):
        return None
    return Principal(user.name, user.role, "session")


def set_session(response: Response, cookie: str) -> None:
    """Give the browser its session cookie: HttpOnly, Secure, SameSite=Strict, for SESSION_SECONDS."""
    response.set_cookie(COOKIE, cookie, max_age=SESSION_SECONDS, httponly=True, secure=True, samesite="strict")


def signed_out_now() -> int:
    """The moment (ms) to store as a user's ``sessions_after`` when they sign out."""
    return time.time_ns() // 1_000_000


def csrf_for(secret: bytes, cookie: str) -> str:
    """The CSRF token of a session (what ``make_session`` gave it): the pages put it in each form."""
    return _sign(secret, "csrf:" + cookie)


def csrf_ok(secret: bytes, cookie: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(csrf_for(secret, cookie), str(token))


class RateLimiter:
    """A token bucket per client (its token, session or address): ``per_minute`` requests a minute
    on average, bursts up to the same number."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> bool:
        moment = time.monotonic()
        tokens, last = self._buckets.get(key, (self.burst, moment))
        tokens = min(self.burst, tokens + (moment - last) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, moment)
            return False
        self._buckets[key] = (tokens - 1, moment)
        if len(self._buckets) > 100_000:  # bounded: forget the idle ones
            self._buckets = {k: v for k, v in self._buckets.items() if moment - v[1] < 120}
        return True
