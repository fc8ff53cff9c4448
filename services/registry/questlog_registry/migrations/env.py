"""Alembic's environment: migrations run on the connection ``store.migrate`` hands over."""

from alembic import context
from questlog_registry.models import Base
from sqlalchemy import text

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Every registry replica migrates as it starts; one at a time, the others then find
        # nothing left to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(7301)"))
    context.run_migrations()
