"""``db.after_commit``: work handed over once a transaction has committed, never when it
rolls back, whichever way the transaction was run."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from reservations import db


def test_callbacks_run_after_a_commit_and_never_after_a_rollback(any_client: TestClient) -> None:
    ran: list[str] = []
    session = db.open_session()
    try:
        with db.short_write(session) as connection:
            connection.execute(text("SELECT 1"))
            db.after_commit(connection, lambda: ran.append("short write"))
            assert ran == []  # not while the transaction is open
    finally:
        session.close()
    assert ran == ["short write"]

    with db.transaction() as session:
        db.after_commit(session.connection(), lambda: ran.append("unit of work"))
    assert ran == ["short write", "unit of work"]

    def refused_unit_of_work() -> None:
        with db.transaction() as session:
            db.after_commit(session.connection(), lambda: ran.append("rolled back"))
            raise RuntimeError("refused")

    def refused_short_write() -> None:
        session = db.open_session()
        try:
            with db.short_write(session) as connection:
                db.after_commit(connection, lambda: ran.append("rolled back too"))
                raise RuntimeError("refused")
        finally:
            session.close()

    with pytest.raises(RuntimeError):
        refused_unit_of_work()
    with pytest.raises(RuntimeError):
        refused_short_write()
    # The next transactions on the same pooled connections run nothing left over.
    with db.transaction() as session:
        session.connection().execute(text("SELECT 1"))
    assert ran == ["short write", "unit of work"]


def test_a_failing_callback_is_logged_and_the_commit_stands(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise ValueError("nothing personal")

    with caplog.at_level(logging.ERROR, logger="reservations.db"), db.transaction() as session:
        session.connection().execute(text("CREATE TABLE scratch (id INTEGER)"))
        db.after_commit(session.connection(), broken)
    assert "after-commit callback failed: ValueError" in caplog.text
    assert "nothing personal" not in caplog.text
    with db.transaction(write=False) as session:
        assert session.connection().execute(text("SELECT count(*) FROM scratch")).scalar() == 0


def test_a_connection_lost_mid_transaction_rolls_back_cleanly_and_drops_its_callbacks(
    any_client: TestClient,
) -> None:
    ran: list[str] = []

    def lost_short_write() -> None:
        session = db.open_session()
        try:
            with db.short_write(session) as connection:
                db.after_commit(connection, lambda: ran.append("lost"))
                # What SQLAlchemy does when the server drops the connection mid-statement.
                connection.invalidate()
                raise RuntimeError("the database went away")
        finally:
            session.close()

    with pytest.raises(RuntimeError, match="the database went away"):
        lost_short_write()
    # The next transactions on the pool's connections run no callback of the lost one.
    with db.transaction() as session:
        session.connection().execute(text("SELECT 1"))
    with db.transaction() as session:
        db.after_commit(session.connection(), lambda: ran.append("next"))
    assert ran == ["next"]
