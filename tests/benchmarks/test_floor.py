"""The benchmark's floor books as the contract says, on both databases: if it stopped doing
the booking's work (or did it wrongly), the benchmark's ratios to it would mean nothing."""

from __future__ import annotations

import base64
import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.benchmarks import floor
from tests.support import pgcluster

NOW = "2026-03-09T10:00:00+08:00"
DAY = date(2026, 3, 10)
SMALL_DAY = date(2026, 3, 11)
VALID_ID = "11010519491231002X"
TOKEN = re.compile(r"^ZT1\.[A-Z2-7]{8}\.[0-9A-Z]{12}\.20260310\.1100\.1\.[A-Z2-7]{103}$")


def booking(id_number: str = VALID_ID, day: date = DAY, **changes: Any) -> dict[str, Any]:
    body = {
        "date": day.isoformat(),
        "slot_id": "1100",
        "phone": "+86 138 0013 8000",
        "consent": True,
        "visitors": [{"name": "张三丰", "id_type": "resident_id", "id_number": id_number}],
    }
    body.update(changes)
    return body


class Floor:
    def __init__(self, client: TestClient, database: str, secret: str) -> None:
        self.client, self.database, self.keys = client, database, floor.Keys(bytes.fromhex(secret))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.database.startswith("postgresql"):
            url = self.database.replace("postgresql+psycopg://", "postgresql://", 1)
            with psycopg.connect(url) as connection:
                return list(connection.execute(sql.encode()).fetchall())
        with sqlite3.connect(self.database) as connection:
            return list(connection.execute(sql).fetchall())

    def sold(self, day: date) -> tuple[int, int]:
        [(stored, counted)] = self.rows(
            f"SELECT (SELECT count(*) FROM booking WHERE day = '{day}'), "
            f"(SELECT booked FROM day_counter WHERE day = '{day}')"
        )
        return int(stored), int(counted)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def plain(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Floor]:
    if request.param == "postgres":
        cluster: pgcluster.Cluster = request.getfixturevalue("postgres")
        database = cluster.create_database(f"floor_{uuid.uuid4().hex[:10]}")
    else:
        database = str(tmp_path / "floor.sqlite3")
    floor.prepare(database, {DAY: 100, SMALL_DAY: 1})
    env = floor.environment(database, NOW, [DAY, SMALL_DAY])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with TestClient(floor.create_app()) as client:
        yield Floor(client, database, env["FLOOR_SECRET"])


def test_books_a_visitor_as_the_contract_says(plain: Floor) -> None:
    answer = plain.client.post("/api/v1/bookings", json=booking())

    assert answer.status_code == 201
    body = answer.json()
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{8}", body["reference"])
    assert len(body["manage_token"]) >= 24
    assert (body["status"], body["date"]) == ("confirmed", "2026-03-10")
    assert body["slot"] == {"id": "1100", "start": "11:00", "end": "13:00"}
    [ticket] = body["tickets"]
    assert ticket["visitor"] == {"name": "张*丰", "id_masked": "1101**********002X"}
    assert ticket["party_size"] == 1
    # A ticket signed with the floor's Ed25519 key, in the service's format.
    assert TOKEN.match(ticket["qr_payload"])
    signed, _, signature = ticket["qr_payload"].rpartition(".")
    raw = base64.b32decode(signature + "=" * (-len(signature) % 8))
    plain.keys.signing.public_key().verify(raw, signed.encode())
    # Stored sealed: neither the name, the phone nor the document in the clear.
    stored = repr(plain.rows("SELECT * FROM booking") + plain.rows("SELECT * FROM visitor"))
    for secret in ("张三丰", "13800138000", VALID_ID):
        assert secret not in stored
    assert plain.rows("SELECT qr_payload FROM ticket") == [(ticket["qr_payload"],)]
    assert plain.sold(DAY) == (1, 1)


def test_refuses_a_wrong_check_character_and_books_nothing(plain: Floor) -> None:
    answer = plain.client.post("/api/v1/bookings", json=booking(VALID_ID[:-1] + "1"))

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_id_number"
    assert error["details"]["problem"] == "check_character"
    assert plain.sold(DAY) == (0, 0)


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"phone": "12345"}, 422, "invalid_phone"),
        ({"consent": False}, 422, "consent_required"),
        ({"slot_id": "0800"}, 422, "validation_error"),
        ({"unknown": 1}, 422, "validation_error"),
        ({"date": "2026-03-09"}, 409, "booking_window"),
    ],
)
def test_refuses_bad_requests_in_the_contracts_shape(
    plain: Floor, changes: dict[str, Any], status: int, code: str
) -> None:
    answer = plain.client.post("/api/v1/bookings", json=booking(**changes))

    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert plain.sold(DAY) == (0, 0)


def test_one_booking_per_person_and_day_and_never_beyond_capacity(plain: Floor) -> None:
    assert plain.client.post("/api/v1/bookings", json=booking()).status_code == 201
    again = plain.client.post("/api/v1/bookings", json=booking())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_visitor"
    assert plain.sold(DAY) == (1, 1)

    # The small day has one place: the second visitor is told it is sold out.
    first = plain.client.post("/api/v1/bookings", json=booking(day=SMALL_DAY))
    someone_else = "11010519491231003" + _check("11010519491231003")
    second = plain.client.post("/api/v1/bookings", json=booking(someone_else, day=SMALL_DAY))
    assert first.status_code == 201
    assert second.status_code == 409
    error = second.json()["error"]
    assert (error["code"], error["details"]) == ("sold_out", {"scope": "day"})
    assert error["message"]
    assert plain.sold(SMALL_DAY) == (1, 1)


def test_health(plain: Floor) -> None:
    assert plain.client.get("/health").json() == {"status": "ok"}


def _check(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(digit) * weight for digit, weight in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]
