"""The offline scanner tables: built by their migration exactly as the models describe, on
both databases, and removed again by its downgrade."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import SQLModel

from reservations import db

OWN_TABLES = {"offline_scan", "gate_setting"}


def _concerns_own_tables(diff: object) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            name = getattr(part, "name", None)
            table = getattr(getattr(part, "table", None), "name", None)
            if name in OWN_TABLES or table in OWN_TABLES or part in OWN_TABLES:
                return True
    return False


def test_the_migrated_offline_tables_match_the_models(any_client: TestClient) -> None:
    engine = db.get_engine()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        differences = [
            d for d in compare_metadata(context, SQLModel.metadata) if _concerns_own_tables(d)
        ]
        primary = inspect(connection).get_pk_constraint("offline_scan")
    assert differences == []
    # The device's scan id is the key: the same scan can be recorded only once.
    assert primary["constrained_columns"] == ["id"]


def test_the_offline_migration_downgrades_and_upgrades_again(any_client: TestClient) -> None:
    engine = db.get_engine()
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0005")
    with engine.connect() as connection:
        assert not OWN_TABLES & set(inspect(connection).get_table_names())
    db.migrate(engine)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= OWN_TABLES
