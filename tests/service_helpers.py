"""Shared parts of the service tests: a database per test (SQLite file or a fresh PostgreSQL
database on the local server), users with tokens, running queued jobs in this process, and the
service over them with a test client (:class:`Service`)."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import fixture_app

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

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


class Service:
    def __init__(self, client: TestClient, tokens: dict[str, str], store: Any) -> None:
        self.client, self.tokens, self.store = client, tokens, store

    def as_(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def upload(self, name: str, role: str = "analyst", filename: str | None = None) -> dict[str, Any]:
        data = fixture_app(name).read_bytes()
        answer = self.client.post(
            "/api/v1/apps", headers=self.as_(role), files={"file": (filename or name, io.BytesIO(data))}
        )
        assert answer.status_code == 202, answer.text
        return dict(answer.json())

    def judged(self, collection: str, path: Path, body: bytes | None = None) -> dict[str, Any]:
        """Upload a capture, supplier file or fleet register, run its job, and return the item."""
        files = {"file": (path.name, body if body is not None else path.read_bytes())}
        answer = self.client.post(f"/api/v1/{collection}", headers=self.as_("analyst"), files=files)
        assert answer.status_code == 202, answer.text
        run_queued(self.store)
        state = self.client.get(f"/api/v1/jobs/{answer.json()['job']}", headers=self.as_("viewer")).json()
        assert state["state"] == "done", state
        return dict(self.client.get(state["result"], headers=self.as_("viewer")).json())

    def scanned(self, name: str, **kw: Any) -> dict[str, Any]:
        job = self.upload(name, **kw)
        run_queued(self.store)
        state = self.client.get(f"/api/v1/jobs/{job['job']}", headers=self.as_("viewer")).json()
        assert state["state"] == "done", state
        return dict(self.client.get(state["result"], headers=self.as_("viewer")).json())


def make_service(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Iterator[Service]:
    from fastapi.testclient import TestClient

    from techvet.knowledge import load
    from techvet.server.app import Settings, create_app

    monkeypatch.setenv("TECHVET_DATA_DIR", str(tmp_path / "data"))
    app = create_app(Settings(tmp_path / "data", url, background=False, **settings))
    store = app.state.store
    tokens = add_users(store)
    with TestClient(app, base_url="https://testserver") as client:
        yield Service(client, tokens, store)
    load.cache_clear()  # a test that installed lists must not leave them to the next


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`techvet serve` in its own process group, on a free loopback port."""

    def __init__(self, data: Path, env: dict[str, str]) -> None:
        self.data, self.env, self.port = data, env, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def token(self, name: str, role: str, password: str | None = None) -> str:
        """A new user of ``role`` (with a password for the pages, when given); its API token."""
        command = [sys.executable, "-m", "techvet", "users", "add", name, "--role", role, "--data", str(self.data)]
        run = subprocess.run(
            command + (["--password-stdin"] if password else []), input=f"{password}\n" if password else None,
            capture_output=True, text=True, env=self.env, check=True, timeout=120,
        )  # fmt: skip
        return run.stdout.strip()

    def start(self, *extra: str) -> None:
        """Start it (``extra``: more ``techvet serve`` options) and wait until it answers."""
        import httpx

        cmd = [sys.executable, "-m", "techvet", "serve", "--data", str(self.data), "--port", str(self.port), *extra]
        self.process = subprocess.Popen(
            [*cmd, "--workers", "2"], env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        for _ in range(300):
            try:
                if httpx.get(self.url("/api/v1/health"), timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("the server did not start: " + self.stop())

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def kill(self) -> None:
        """SIGKILL to the server and its workers: nothing is shut down cleanly."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> str:
        if self.process is None or self.process.poll() is not None:
            return ""
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            _, err = self.process.communicate()
        return err.decode("utf-8", "replace")
