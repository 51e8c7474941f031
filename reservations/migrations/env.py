"""Alembic environment: migrations run from ``reservations.db.migrate`` with a live connection."""

from alembic import context
from sqlmodel import SQLModel

import reservations.models  # noqa: F401  (registers every table on the metadata)

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic is run by hand
    from reservations.db import get_engine

    with get_engine().connect() as own_connection:
        context.configure(
            connection=own_connection, target_metadata=SQLModel.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        own_connection.commit()
else:
    context.configure(
        connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()
