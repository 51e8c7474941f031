"""Bearer tokens known to a process: trusted for at most a second, never past their
expiry, forgotten at once where the user is signed out everywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from reservations import clock, db
from reservations.accounts import service
from reservations.accounts.service import KnownBearers, Principal
from tests.conftest import admin_headers

ALICE = Principal(7, "alice", "staff")


class Moments:
    """clock.monotonic, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def moments(monkeypatch: pytest.MonkeyPatch) -> Moments:
    moments = Moments()
    monkeypatch.setattr(clock, "monotonic", moments)
    return moments


def remembered(known: KnownBearers, token: str, valid_for: timedelta) -> None:
    known.remember(service._token_hash(token), ALICE, clock.now() + valid_for)


def test_a_token_is_trusted_for_at_most_max_age(moments: Moments) -> None:
    known = KnownBearers()
    remembered(known, "tok", timedelta(hours=1))
    assert known.find("tok") == ALICE
    assert known.find("other") is None
    moments.now += KnownBearers.MAX_AGE * 0.9
    assert known.find("tok") == ALICE
    moments.now += KnownBearers.MAX_AGE * 0.2
    assert known.find("tok") is None


def test_a_token_is_never_trusted_past_its_expiry(moments: Moments) -> None:
    known = KnownBearers()
    remembered(known, "tok", timedelta(0))
    assert known.find("tok") is None


def test_forgetting_a_user_forgets_only_their_tokens(moments: Moments) -> None:
    known = KnownBearers()
    remembered(known, "tok", timedelta(hours=1))
    bob = Principal(8, "bob", "staff")
    known.remember(service._token_hash("bob's"), bob, clock.now() + timedelta(hours=1))
    known.forget_user(ALICE.user_id)
    assert known.find("tok") is None
    assert known.find("bob's") == bob


def test_a_token_gone_from_the_database_is_refused_within_max_age(
    client: TestClient, moments: Moments
) -> None:
    """Another process revoking a token (here: deleting it behind this process's back)
    takes effect once the token's second here is over."""
    headers = admin_headers(client)
    assert client.get("/api/v1/gate/keys", headers=headers).status_code == 200
    with db.transaction() as session:
        session.connection().execute(text("DELETE FROM access_token"))
    # Still known here: no read for it...
    assert client.get("/api/v1/gate/keys", headers=headers).status_code == 200
    # ...until its second is over.
    moments.now += KnownBearers.MAX_AGE
    answer = client.get("/api/v1/gate/keys", headers=headers)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"


def test_disabling_a_user_refuses_their_token_at_once_in_the_same_process(
    client: TestClient,
) -> None:
    headers = admin_headers(client)
    created = client.post(
        "/api/v1/admin/users",
        json={"username": "gatekeeper", "password": "gatekeeper-password", "role": "staff"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    signed_in = client.post(
        "/api/v1/auth/token",
        data={"username": "gatekeeper", "password": "gatekeeper-password"},
    )
    staff = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert client.get("/api/v1/gate/keys", headers=staff).status_code == 200
    disabled = client.post("/api/v1/admin/users/gatekeeper/disable", headers=headers)
    assert disabled.status_code == 200, disabled.text
    assert client.get("/api/v1/gate/keys", headers=staff).status_code == 401
