"""Where the service's data lives: the database (SQLite in the data folder unless
``TECHVET_DATABASE_URL`` names another, e.g. ``postgresql+psycopg://...``) and its migrations.

Migrations are Alembic's, applied at start and by ``techvet db upgrade``; the schema is never made
with ``create_all``, so a database made by one version upgrades to the next the same way everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from techvet.errors import TechvetError

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")
SERVER_LOCK_KEY = 0x74_65_63_68_76_65_74  # "techvet": the advisory lock a serving process holds


def get_row(session: Session, model: type[T], row_id: int) -> T | None:
    """The row of ``model`` with this id, or None; an id no database column can hold (a path's
    ``/apps/99999999999999999999``) is simply not there, instead of the driver's overflow error."""
    return session.get(model, row_id) if 0 < row_id < 2**63 else None


def database_url(data: Path) -> str:
    """``TECHVET_DATABASE_URL``, else a SQLite file in the data folder."""
    return os.environ.get("TECHVET_DATABASE_URL") or f"sqlite:///{data / 'techvet.db'}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``. SQLite gets a busy timeout and write-ahead logging, so the server and
    its worker processes (one writer at a time) wait for each other instead of failing."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi: Any, _record: Any) -> None:
            cursor = dbapi.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def upgrade(engine: Engine) -> str:
    """Apply every migration not yet applied; the revision the database is at afterwards."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with engine.connect() as connection:
            return str(MigrationContext.configure(connection).get_current_revision())
    except Exception as exc:  # noqa: BLE001 - an unreachable or foreign database: one line, not a traceback
        raise TechvetError(
            f"database {engine.url.render_as_string(hide_password=True)}: cannot upgrade ({exc})"
        ) from None


class Store:
    """The service's database and its folder of uploaded files."""

    def __init__(self, data: Path, url: str | None = None) -> None:
        self.data = data
        data.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(url or database_url(data))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed at the end of the block, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def upgrade(self) -> str:
        return upgrade(self.engine)

    def take_server_lock(self) -> Callable[[], None]:
        """Make this process the one server of this database, or raise one line naming the other.

        Two servers on one database would each put the other's running jobs back in the queue at
        start, and each run its own re-judging. PostgreSQL: a session-level advisory lock on a
        connection kept open; SQLite: an exclusive ``flock`` on a file beside the database. Both
        end with the process, however it ends (a killed server leaves no stale lock). Returns the
        release."""
        where = self.engine.url.render_as_string(hide_password=True)
        taken = f"another techvet serve is using the database {where}: one server per database"
        if self.engine.dialect.name == "postgresql":
            connection = self.engine.connect()
            if not connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({SERVER_LOCK_KEY})").scalar():
                connection.close()
                raise TechvetError(taken)
            connection.commit()
            return connection.close
        import fcntl

        database = self.engine.url.database or str(self.data / "techvet.db")
        handle = open(f"{database}.serve-lock", "a+b")  # noqa: SIM115 - held open until released
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise TechvetError(taken) from None
        return handle.close

    def dispose(self) -> None:
        self.engine.dispose()
