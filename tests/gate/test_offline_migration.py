"""The offline scanner tables: built by their migration exactly as the models describe, on
both databases, and removed again by its downgrade."""

from __future__ import annotations

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from reservations import db
from tests.support.schema import differences

# The migrations themselves are under test: they run on an empty database.
pytestmark = pytest.mark.empty_database

OWN_TABLES = {"offline_scan", "gate_setting"}


def test_the_migrated_offline_tables_match_the_models(any_client: TestClient) -> None:
    engine = db.get_engine()
    with engine.connect() as connection:
        found = differences(connection, OWN_TABLES)
        primary = inspect(connection).get_pk_constraint("offline_scan")
    assert found == []
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
