"""Migration 0010 builds the waiting list's table and lets ``visitor`` rows belong to an
entry, on both databases, exactly as the models describe; down and up again with data."""

from __future__ import annotations

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from reservations import db
from tests.support.schema import differences
from tests.waitlist.helpers import fill, join_body, joined

BEFORE = "0009_notice"


def test_the_migrated_tables_match_the_models(any_client: TestClient) -> None:
    with db.get_engine().connect() as connection:
        assert differences(connection, {"waiting_entry", "visitor"}) == []
        columns = {c["name"]: c for c in inspect(connection).get_columns("visitor")}
        foreign = inspect(connection).get_foreign_keys("visitor")
    assert columns["booking_id"]["nullable"] and columns["waiting_entry_id"]["nullable"]
    assert {(f["referred_table"], tuple(f["constrained_columns"])) for f in foreign} == {
        ("booking", ("booking_id",)),
        ("waiting_entry", ("waiting_entry_id",)),
    }


def test_the_migration_goes_down_and_up_again_with_data(any_client: TestClient) -> None:
    fill(any_client, 1)
    joined(any_client, join_body())
    engine = db.get_engine()
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), BEFORE)
    with engine.connect() as connection:
        assert "waiting_entry" not in inspect(connection).get_table_names()
        columns = {c["name"]: c for c in inspect(connection).get_columns("visitor")}
        assert "waiting_entry_id" not in columns and not columns["booking_id"]["nullable"]
        # The bookings and their people stayed; the entry's people went with it.
        assert connection.execute(text("SELECT count(*) FROM visitor")).scalar() == 1
        if connection.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    with engine.connect() as connection, pytest.raises(IntegrityError):
        connection.execute(
            text(
                "INSERT INTO visitor (position, role, id_type, is_minor)"
                " VALUES (0, 'visitor', 'passport', false)"
            )
        )
    db.migrate(engine)
    with engine.connect() as connection:
        assert differences(connection, {"waiting_entry", "visitor"}) == []
        if connection.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    # And the list works again.
    assert joined(any_client, join_body(phone="13900139000"))["position"] == 1
