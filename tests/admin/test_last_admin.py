"""The last active admin stays, even when two admins disable each other at the same instant
(each request used to lock only its own target and count admins under READ COMMITTED)."""

from __future__ import annotations

import threading

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from reservations import db
from reservations.admin import users
from reservations.admin.errors import LastActiveAdmin
from reservations.errors import DomainError
from tests.admin.test_races import pg_client as pg_client
from tests.admin.test_users_api import PASSWORD, create, token_for
from tests.conftest import ADMIN_USERNAME, admin_headers
from tests.support.waiting import postgres_waits_on_a_lock, wait_until


def active_admins() -> list[str]:
    with db.transaction(write=False) as session:
        rows = session.connection().execute(
            text("SELECT username FROM app_user WHERE role = 'admin' AND NOT disabled")
        )
        return sorted(row.username for row in rows)


def at_once(
    client: TestClient, disables: dict[str, tuple[dict[str, str], str]]
) -> dict[str, httpx.Response]:
    """Each admin (by their bearer header) disables their target, all at the same instant."""
    barrier = threading.Barrier(len(disables))
    answers: dict[str, httpx.Response] = {}

    def disable(who: str, headers: dict[str, str], target: str) -> None:
        barrier.wait()
        answers[who] = client.post(f"/api/v1/admin/users/{target}/disable", headers=headers)

    threads = [
        threading.Thread(target=disable, args=(who, headers, target))
        for who, (headers, target) in disables.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_two_admins_disabling_each_other_at_once_leave_one(any_client: TestClient) -> None:
    """Over HTTP, both databases, a few rounds: one of the two disables wins, the other is
    refused, and an active admin always remains."""
    first = admin_headers(any_client)
    for round_ in range(4):
        second_name = f"deputy{round_}"
        assert create(any_client, first, second_name, role="admin").status_code == 201
        second = token_for(any_client, second_name, PASSWORD)
        answers = at_once(
            any_client, {"first": (first, second_name), "second": (second, ADMIN_USERNAME)}
        )
        statuses = sorted(answer.status_code for answer in answers.values())
        # The loser is refused as the last admin, or, when the winner committed before the
        # loser's request was even let in, as no longer signed in.
        assert statuses in ([200, 401], [200, 409]), {k: v.text for k, v in answers.items()}
        refused = next(a for a in answers.values() if a.status_code != 200)
        assert refused.json()["error"]["code"] in ("last_active_admin", "unauthorized")
        assert len(active_admins()) == 1
        if active_admins() != [ADMIN_USERNAME]:
            return  # the deputy won: the original admin is disabled, nothing more to race


@pytest.mark.postgres
def test_the_second_disable_waits_for_the_first_on_postgres(
    pg_client: TestClient,
) -> None:
    """Step by step on PostgreSQL: while the first admin's disable is uncommitted, the
    second one waits on the admins' lock, then sees the change and is refused."""
    headers = admin_headers(pg_client)
    assert create(pg_client, headers, "deputy", role="admin").status_code == 201
    outcome: list[DomainError | None] = []

    def second_admin() -> None:
        try:
            with db.transaction() as session:
                users.disable(session, ADMIN_USERNAME, actor="deputy")
            outcome.append(None)
        except DomainError as exc:
            outcome.append(exc)

    with db.transaction() as session:
        users.disable(session, "deputy", actor=ADMIN_USERNAME)
        thread = threading.Thread(target=second_admin)
        thread.start()
        wait_until(
            lambda: bool(outcome) or postgres_waits_on_a_lock(),
            "the second admin's change neither ran nor waited",
        )
    thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], LastActiveAdmin)
    assert active_admins() == [ADMIN_USERNAME]
