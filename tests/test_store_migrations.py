"""The service's schema comes from Alembic's migrations only (issue 14): on SQLite and PostgreSQL
they must build exactly the tables, columns and indexes the models declare, and one active policy
per kind is enforced by the database itself."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("alembic", reason="the service's extra is not installed (pip install -e '.[serve]')")

from tests.service_helpers import database  # noqa: E402


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migrations_build_what_the_models_declare(kind: str, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import IntegrityError

    from techvet.store.db import make_engine, upgrade
    from techvet.store.models import Base, Policy

    with database(kind, tmp_path) as url:
        engine = make_engine(url)
        try:
            assert upgrade(engine) == "0004"
            assert upgrade(engine) == "0004"  # applying again changes nothing
            with engine.connect() as connection:
                assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
            from sqlalchemy.orm import Session

            with Session(engine) as session, pytest.raises(IntegrityError):
                session.add_all([
                    Policy(kind="app-policy", version=1, text="a", active=True, created_by="x"),
                    Policy(kind="app-policy", version=2, text="b", active=True, created_by="y"),
                ])  # fmt: skip
                session.commit()
        finally:
            engine.dispose()
