"""Shared parts of the service tests: a database per test (SQLite file or a fresh PostgreSQL
database on the local server), users with tokens, and running queued jobs in this process."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

POSTGRES = os.environ.get("TECHVET_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(POSTGRES, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to connect is a reason to skip
        return f"no PostgreSQL at {POSTGRES} ({type(exc).__name__}); .ci/run starts one"
    return None


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A URL of an empty database of ``kind`` (sqlite, postgresql), removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'techvet.db'}"
        return
    reason = postgres_reason()
    if reason:
        pytest.skip(reason)
    import sqlalchemy

    name = f"techvet_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def add_users(store: Any) -> dict[str, str]:
    """A viewer, an analyst and an admin; role -> API token."""
    from techvet.store.users import add_token, add_user

    tokens = {}
    with store.session() as session:
        for role in ("viewer", "analyst", "admin"):
            user = add_user(session, f"{role}-user", role, password=f"{role}-password-123")
            tokens[role] = add_token(session, user)
    return tokens


def run_queued(store: Any) -> int:
    """Run every queued job in this process, as a worker would; how many ran."""
    from techvet.server.work import run
    from techvet.store.jobs import claim

    count = 0
    while True:
        with store.session() as session:
            job = claim(session, "test-worker")
        if job is None:
            return count
        run(store, job)
        count += 1
