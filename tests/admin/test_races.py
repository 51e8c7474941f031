"""Two admins doing the same thing at the same instant on PostgreSQL (SQLite writers queue):
the second gets a clean 409 conflict, never a server error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reservations import db
from reservations.accounts.errors import UsernameTaken
from reservations.admin import users
from reservations.bootstrap import reset_process_state
from reservations.errors import Conflict, DomainError
from reservations.rules import service as rules
from tests.conftest import Service, admin_headers, start_in_process
from tests.support.waiting import postgres_waits_on_a_lock, wait_until

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_client(postgres_service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with start_in_process(postgres_service, monkeypatch) as client:
        yield client
    reset_process_state()


def second_admin_meanwhile(action: Any) -> tuple[threading.Thread, list[DomainError | None]]:
    """Run ``action`` in its own transaction while the caller's is still open."""
    outcome: list[DomainError | None] = []

    def run() -> None:
        try:
            with db.transaction() as session:
                action(session)
            outcome.append(None)
        except DomainError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    # The second insert waits on the first one's uncommitted row (or, had it not, is done).
    wait_until(
        lambda: not thread.is_alive() or postgres_waits_on_a_lock(),
        "the second admin's change neither ran nor waited",
    )
    return thread, outcome


def test_simultaneous_overrides_and_accounts(pg_client: TestClient) -> None:
    admin_headers(pg_client)
    day = date(2026, 3, 20)
    with db.transaction() as first:
        rules.put_override(first, day, rules.DayOverrideChange(closed=True), "first")
        thread, outcome = second_admin_meanwhile(
            lambda session: rules.put_override(
                session, day, rules.DayOverrideChange(individual_quota=5), "second"
            )
        )
    thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    with db.transaction() as session:
        assert rules.get_override(session, day).closed is True  # type: ignore[union-attr]

    with db.transaction() as first:
        users.create(first, "gate-east", "gate-password-2026", "staff", "first")
        thread, outcome = second_admin_meanwhile(
            lambda session: users.create(
                session, "gate-east", "other-password-2026", "admin", "second"
            )
        )
    thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], UsernameTaken)
