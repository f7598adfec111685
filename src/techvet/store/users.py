"""Users, roles, passwords and API tokens.

Passwords are hashed with Argon2id (argon2-cffi). API tokens are 256-bit random secrets shown once
and kept as their SHA-256: a slow hash protects guessable passwords, but a token has nothing to
guess, and every API request checks one, so it must cost microseconds, not Argon2's tens of ms.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from techvet.errors import UsageError
from techvet.store.models import ROLES, AuditEvent, Token, User

TOKEN_PREFIX = "tv_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def add_user(session: Session, name: str, role: str, password: str | None = None, actor: str = "cli") -> User:
    if role not in ROLES:
        raise UsageError(f"role {role!r}: one of {', '.join(ROLES)}")
    name = name.strip()
    if not name or len(name) > 200 or any(not c.isprintable() for c in name):
        raise UsageError("a user name is 1 to 200 printable characters")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise UsageError(f"user {name!r} exists already")
    user = User(name=name, role=role, password_hash=hash_password(password) if password else None)
    session.add(user)
    session.add(AuditEvent(actor=actor, action="user", message=f"user {name} added as {role}"))
    session.flush()
    return user


def add_token(session: Session, user: User, label: str = "", actor: str = "cli") -> str:
    """A new API token for ``user``: the secret, returned once and never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(Token(user_id=user.id, digest=_digest(secret), label=label[:200]))
    session.add(AuditEvent(actor=actor, action="token", message=f"an API token added for {user.name}"))
    session.flush()
    return secret


def user_by_token(session: Session, secret: str) -> User | None:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = session.scalar(select(Token).where(Token.digest == _digest(secret)))
    return token.user if token else None


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def signed_in(session: Session, name: str, password: str) -> User | None:
    """The user ``name`` when ``password`` is theirs, else None. An unknown name costs a hash too,
    so the time taken does not tell which names exist."""
    user = session.scalar(select(User).where(User.name == name)) or User(name="", role="viewer")
    return user if check_password(user, password) and user.id else None


def check_password(user: User, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import Argon2Error

    if not user.password_hash:
        PasswordHasher().hash(password)  # the same time as a real check: no telling which names exist
        return False
    try:
        return PasswordHasher().verify(user.password_hash, password)
    except Argon2Error:
        return False


def revoke_token(session: Session, token_id: int, actor: str) -> bool:
    """Remove a token (it stops working at once); False when there is none of that id."""
    from techvet.store.db import get_row

    token = get_row(session, Token, token_id)
    if token is None:
        return False
    session.add(AuditEvent(actor=actor, action="token", message=f"API token {token_id} of {token.user.name} revoked"))
    session.delete(token)
    return True


def listing(session: Session) -> list[dict[str, object]]:
    """Every user with their role and tokens (ids, labels, dates: never the secrets)."""
    out: list[dict[str, object]] = []
    for user in session.scalars(select(User).order_by(User.name)):
        tokens = session.scalars(select(Token).where(Token.user_id == user.id).order_by(Token.id))
        out.append(
            {
                "name": user.name,
                "role": user.role,
                "password": bool(user.password_hash),
                "tokens": [{"id": t.id, "label": t.label, "created": t.created.isoformat() + "Z"} for t in tokens],
            }
        )
    return out
