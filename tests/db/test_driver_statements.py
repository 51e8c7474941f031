"""The hot paths' statements run on the driver's cursor store and read values exactly as
SQLAlchemy does, and fail as SQLAlchemy does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from reservations import db
from reservations.gate.models import GateScan, OccupancyCounter

SCAN = GateScan.__table__  # type: ignore[attr-defined]
COUNTER = OccupancyCounter.__table__  # type: ignore[attr-defined]
# An instant with microseconds, given in another zone than UTC.
AT = datetime(2026, 3, 10, 9, 30, 15, 120_000, tzinfo=timezone(timedelta(hours=8)))
COLUMNS = ("at", "ticket_id", "gate", "actor", "direction", "verdict", "people")
RECORD = db.DriverStatement(insert(SCAN).returning(SCAN.c.id, SCAN.c.at), column_keys=COLUMNS)
READ = db.DriverStatement(select(SCAN.c.at, SCAN.c.verdict).where(SCAN.c.gate == bindparam("gate")))


def _scan(gate: str) -> dict[str, object]:
    return {
        "at": AT,
        "ticket_id": None,
        "gate": gate,
        "actor": "tester",
        "direction": "in",
        "verdict": "invalid",
        "people": 0,
    }


@pytest.mark.usefixtures("any_client")
def test_values_are_stored_as_sqlalchemy_stores_them() -> None:
    with db.transaction() as session:
        connection = session.connection()
        row = RECORD.first(connection, _scan("driver"))
        assert row is not None and row[1] == AT  # converted back: an aware instant
        connection.execute(insert(SCAN), _scan("sqlalchemy"))
    with db.transaction(write=False) as session:
        stored = dict(
            session.connection().execute(text("SELECT gate, CAST(at AS TEXT) FROM gate_scan")).all()
        )
        read_back = session.connection().execute(select(SCAN.c.gate, SCAN.c.at)).all()
    # The same text in the database whichever way it was written: comparisons and ranges
    # over these columns hold across both.
    assert stored["driver"] == stored["sqlalchemy"]
    assert {gate: at.astimezone(UTC) for gate, at in read_back} == {
        "driver": AT.astimezone(UTC),
        "sqlalchemy": AT.astimezone(UTC),
    }


@pytest.mark.usefixtures("any_client")
def test_rows_come_back_converted_by_their_column_types() -> None:
    with db.transaction() as session:
        RECORD.run(session.connection(), _scan("east"))
        rows = READ.all(session.connection(), {"gate": "east"})
        assert READ.first(session.connection(), {"gate": "nowhere"}) is None
    assert rows == [(AT, "invalid")]
    assert rows[0][0].tzinfo is not None


@pytest.mark.usefixtures("any_client")
def test_constraint_errors_are_sqlalchemys() -> None:
    day = date(2026, 3, 10)
    add = db.DriverStatement(insert(COUNTER), column_keys=("day", "inside", "entered", "exited"))
    with db.transaction() as session:
        add.run(session.connection(), {"day": day, "inside": 0, "entered": 0, "exited": 0})
    with pytest.raises(IntegrityError), db.transaction() as session:
        add.run(session.connection(), {"day": day, "inside": 1, "entered": 1, "exited": 0})
    count = db.DriverStatement(
        update(COUNTER)
        .where(COUNTER.c.day == bindparam("day", type_=COUNTER.c.day.type))
        .values(inside=COUNTER.c.inside + 1)
        .returning(COUNTER.c.day, COUNTER.c.inside)
    )
    with db.transaction() as session:
        assert count.first(session.connection(), {"day": day}) == (day, 1)


def test_a_missing_value_is_refused_before_the_database(client: TestClient) -> None:
    del client
    with pytest.raises(Exception, match="bind parameter"), db.transaction() as session:
        READ.first(session.connection(), {})
