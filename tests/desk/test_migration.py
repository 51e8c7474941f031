"""Migration 0012 moves a day's quotas into one per-channel column and adds what the desk
keeps, on both databases, exactly as the models describe; down and up again with data."""

from __future__ import annotations

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from reservations import db
from tests.conftest import TOMORROW, admin_headers
from tests.support.schema import differences

BEFORE = "0010_waiting_list"
TABLES = {"day_override", "booking", "no_show_strike", "ban_lift"}


def test_the_migrated_tables_match_the_models(any_client: TestClient) -> None:
    with db.get_engine().connect() as connection:
        assert differences(connection, TABLES) == []


def test_the_quotas_go_down_to_their_columns_and_up_again(any_client: TestClient) -> None:
    headers = admin_headers(any_client)
    path = f"/api/v1/admin/days/{TOMORROW}"
    quotas = {"individual_quota": 800, "team_quota": 0, "walk_in_quota": 20}
    assert any_client.put(path, json=quotas, headers=headers).status_code == 200
    engine = db.get_engine()
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), BEFORE)
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("day_override")}
        assert {"individual_quota", "team_quota"} <= columns and "quotas" not in columns
        row = connection.execute(text("SELECT individual_quota, team_quota FROM day_override"))
        assert tuple(row.one()) == (800, 0)
        assert "ban_lift" not in inspect(connection).get_table_names()
        if connection.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    db.migrate(engine)
    with engine.connect() as connection:
        assert differences(connection, TABLES) == []
    shown = any_client.get(path, headers=headers).json()
    # The walk-in quota had no column of its own before: it did not survive the way down.
    assert (shown["individual_quota"], shown["team_quota"], shown["walk_in_quota"]) == (
        800,
        0,
        None,
    )
