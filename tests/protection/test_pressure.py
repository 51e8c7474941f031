"""``proof_of_work = "under_pressure"``: bookings need a solution only while booking
attempts run above ``pressure_threshold``, and for a while after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reservations.bootstrap import reset_process_state
from reservations.protection import challenge
from tests.conftest import TOMORROW, Service, start_in_process
from tests.support import people
from tests.support.waiting import wait_until

HOLD_SECONDS = 1


@pytest.fixture
def pressured(
    sqlite_service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    sqlite_service.rules_file(
        tmp_path, protection={"proof_of_work": "under_pressure", "pressure_threshold": "5/second"}
    )
    sqlite_service.env["RESERVATIONS_POW_DIFFICULTY"] = "8"
    sqlite_service.env["RESERVATIONS_PRESSURE_HOLD_SECONDS"] = str(HOLD_SECONDS)
    with start_in_process(sqlite_service, monkeypatch) as client:
        yield client
    reset_process_state()


def book(client: TestClient, index: int, solution: str | None = None):
    body = people.booking(
        TOMORROW,
        phone=f"1380000{index:04d}",
        visitors=[people.visitor(born=date(1960, 6, 6), sequence=index)],
    )
    headers = {"X-Challenge-Solution": solution} if solution else {}
    return client.post("/api/v1/bookings", json=body, headers=headers)


def test_calm_service_needs_no_solution_but_offers_a_challenge(pressured: TestClient) -> None:
    offer = pressured.get("/api/v1/challenge").json()
    assert offer["mode"] == "under_pressure"
    assert offer["required"] is False
    assert offer["challenge"]  # a client that wants to be ready may solve it anyway
    assert book(pressured, 0).status_code == 201


def test_a_rush_raises_pressure_then_it_calms_down(pressured: TestClient) -> None:
    assert book(pressured, 0).status_code == 201
    # Every attempt counts, even one the endpoint then refuses (and those are quick).
    statuses = [pressured.post("/api/v1/bookings", json={}).status_code for _ in range(20)]
    assert 428 in statuses
    assert statuses[0] == 422
    assert book(pressured, 1).status_code == 428
    offer = pressured.get("/api/v1/challenge").json()
    assert offer["required"] is True
    solution = challenge.solve(offer["challenge"], offer["difficulty"])
    assert book(pressured, 20, solution).status_code == 201
    # The meter drains at 5 a second and the flag drops HOLD_SECONDS after the last excess.
    wait_until(
        lambda: pressured.get("/api/v1/challenge").json()["required"] is False,
        "the pressure flag never dropped",
    )
    assert book(pressured, 30).status_code == 201


def test_a_valid_solution_is_harmless_when_none_is_needed(pressured: TestClient) -> None:
    offer = pressured.get("/api/v1/challenge").json()
    solution = challenge.solve(offer["challenge"], offer["difficulty"])
    assert book(pressured, 40, solution).status_code == 201
    assert book(pressured, 41, "garbage").status_code == 201
