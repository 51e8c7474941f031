"""Whether the migrated schema matches the models, for the tables a test cares about."""

from __future__ import annotations

from collections.abc import Iterable

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel


def _concerns(diff: object, tables: set[str]) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            name = getattr(part, "name", None)
            table = getattr(getattr(part, "table", None), "name", None)
            if name in tables or table in tables or part in tables:
                return True
    return False


def differences(connection: Connection, tables: Iterable[str]) -> list[object]:
    """What the migrations built differently from the models, for these tables only."""
    wanted = set(tables)
    context = MigrationContext.configure(connection, opts={"render_as_batch": True})
    return [d for d in compare_metadata(context, SQLModel.metadata) if _concerns(d, wanted)]
