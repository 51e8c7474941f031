"""The gate's tables: built by their migrations exactly as the models describe, on both
databases, and removed again by their downgrades."""

from __future__ import annotations

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from reservations import db
from tests.support.schema import differences

# The migrations themselves are under test: they run on an empty database.
pytestmark = pytest.mark.empty_database

OWN_TABLES = {"offline_scan", "offline_lease", "occupancy_counter", "ticket"}


def test_the_migrated_gate_tables_match_the_models(any_client: TestClient) -> None:
    engine = db.get_engine()
    with engine.connect() as connection:
        found = differences(connection, OWN_TABLES)
        primary = inspect(connection).get_pk_constraint("offline_scan")
        indexes = {
            index["name"]: index for index in inspect(connection).get_indexes("offline_lease")
        }
    assert found == []
    # The device's scan id is the key: the same scan can be recorded only once.
    assert primary["constrained_columns"] == ["id"]
    # One lease that has not ended per device.
    assert indexes["uq_offline_lease_live_device"]["unique"]


def test_the_gate_migration_downgrades_and_upgrades_again(any_client: TestClient) -> None:
    engine = db.get_engine()
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0012_walk_in")
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        assert "offline_lease" not in tables and "gate_setting" in tables
        assert "exited_count" not in {c["name"] for c in inspect(connection).get_columns("ticket")}
        # The rules in force speak of margins again, as the code of then reads them.
        document = connection.execute(text("SELECT document FROM rules_document")).scalar()
        assert document is not None
        assert "offline_margin" in str(document) and "offline_allowance" not in str(document)
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0005")
    with engine.connect() as connection:
        assert not {"offline_scan", "gate_setting"} & set(inspect(connection).get_table_names())
    db.migrate(engine)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= {"offline_scan", "offline_lease"}
        assert "gate_setting" not in set(inspect(connection).get_table_names())
        document = connection.execute(text("SELECT document FROM rules_document")).scalar()
        assert document is not None and "offline_margin" not in str(document)
