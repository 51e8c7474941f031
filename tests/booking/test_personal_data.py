"""Personal data is encrypted at rest, masked in answers, and never logged."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TOMORROW, Service
from tests.support import people


def test_database_holds_no_personal_data_in_clear(
    client: TestClient, sqlite_service: Service
) -> None:
    person = people.visitor("欧阳娜月")
    response = client.post(
        "/api/v1/bookings",
        json=people.booking(
            TOMORROW, visitors=[person], phone="13912345678", email="parent@example.com"
        ),
    )
    assert response.status_code == 201
    data_dir = Path(sqlite_service.env["RESERVATIONS_DATA_DIR"])
    with sqlite3.connect(data_dir / "reservations.sqlite3") as connection:
        connection.execute("PRAGMA wal_checkpoint(FULL)")
        dump = "\n".join(connection.iterdump())
    raw = b"".join(path.read_bytes() for path in data_dir.glob("reservations.sqlite3*"))
    for secret in (person["id_number"], "13912345678", "欧阳娜月", "parent@example.com"):
        assert secret not in dump
        assert secret.encode() not in raw
    assert "欧**月" in dump  # the masked form is stored for display


def test_nothing_personal_reaches_the_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    person = people.visitor("李小龙")
    bad_phone = people.booking(TOMORROW, visitors=[person], phone="12345678901")
    client.post("/api/v1/bookings", json=bad_phone)
    client.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=[person]))
    client.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=[person]))
    client.post(
        "/api/v1/bookings/lookup",
        json={"phone": "13800138000", "id_type": "resident_id", "id_number": person["id_number"]},
    )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (person["id_number"], "13800138000", "12345678901", "李小龙"):
        assert secret not in logged


def test_data_directory_is_owner_only(client: TestClient, sqlite_service: Service) -> None:
    data_dir = Path(sqlite_service.env["RESERVATIONS_DATA_DIR"])
    assert data_dir.stat().st_mode & 0o077 == 0
    assert (data_dir / "master.key").stat().st_mode & 0o077 == 0


def test_rehearsal_clock_route_exists_only_with_a_frozen_clock(
    client: TestClient, sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        client.put("/api/v1/test/clock", json={"now": "2026-03-10T10:00:00+08:00"}).status_code
        == 200
    )
    assert client.get("/api/v1/test/clock").json()["now"].startswith("2026-03-10T10:00:00")
    naive = client.put("/api/v1/test/clock", json={"now": "2026-03-10T10:00:00"})
    assert naive.status_code == 422
    from tests.conftest import start_in_process

    del sqlite_service.env["RESERVATIONS_FAKE_NOW"]
    # The real clock never runs on a rehearsal's data: a directory of its own.
    sqlite_service.env["RESERVATIONS_DATA_DIR"] += "-real"
    with start_in_process(sqlite_service, monkeypatch) as real_clock:
        response = real_clock.put("/api/v1/test/clock", json={"now": "2026-03-10T10:00:00+08:00"})
        assert response.status_code == 404
