"""Alembic's environment for techvet's store: the connection comes from techvet.store.db.upgrade."""

from alembic import context

from techvet.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
