"""purge-personal-data: after the retention period the lookup finds nothing and the personal
data is gone from the database, down to the bytes of the SQLite file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from reservations import db
from tests.conftest import TOMORROW, set_clock
from tests.jobs.helpers import book, read_booking, run_at, run_job
from tests.support import people

PURGE = "purge-personal-data"
PHONE = "13912345678"


def lookup(client: TestClient, person: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(
        "/api/v1/bookings/lookup",
        json={"phone": PHONE, "id_type": person["id_type"], "id_number": person["id_number"]},
    )
    assert response.status_code == 200, response.text
    return list(response.json()["bookings"])


def rows(sql: str) -> list[tuple[Any, ...]]:
    with db.transaction(write=False) as session:
        return [tuple(row) for row in session.connection().execute(text(sql))]


def stored_personal_data() -> list[str]:
    """Every stored form of the booking's personal data: ciphertexts, hashes, masks."""
    values = [
        *rows("SELECT phone_enc, phone_hash, phone_masked, email_enc, email_masked FROM booking"),
        *rows("SELECT name_enc, name_masked, id_number_enc, id_masked, identity_hash FROM visitor"),
        *rows("SELECT response_enc FROM idempotency_record"),
    ]
    found = [value for row in values for value in row if value]
    assert len(found) == 11, found
    return found


def raw_bytes(data_dir: Path) -> bytes:
    database = data_dir / "reservations.sqlite3"
    wal = database.with_name(database.name + "-wal")
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_after_retention_nothing_personal_survives_in_the_sqlite_file(
    client: TestClient, tmp_path: Path
) -> None:
    person = people.visitor("赵钱孙", born=date(1979, 2, 3))
    # With an Idempotency-Key, the reply is kept encrypted for two days too.
    created = book(
        client,
        TOMORROW,
        person,
        headers={"Idempotency-Key": "first-try"},
        phone=PHONE,
        email="zhao.qiansun@example.com",
    )
    secrets = stored_personal_data()
    before = raw_bytes(tmp_path / "data")
    assert all(value.encode() in before for value in secrets)
    assert len(lookup(client, person)) == 1

    # Thirty days after the visit the data is still needed (the stored reply is not)...
    kept = run_at(client, "2026-04-09T03:00:00+08:00", PURGE)
    assert kept["bookings_erased"] == 0 and kept["before"] == "2026-03-10"
    assert kept["idempotency_records"] == 1
    assert len(lookup(client, person)) == 1

    # ... and on the thirty-first it is erased.
    erased = run_at(client, "2026-04-10T03:00:00+08:00", PURGE)
    assert erased["bookings_erased"] == 1 and erased["visitors_erased"] == 1
    assert erased["log_truncated"] is True
    assert lookup(client, person) == []

    # Down to the bytes of the file and of its write-ahead log. The visitor did not come:
    # only the keyed hash of their document stays, in the strike, while the strike counts.
    after = raw_bytes(tmp_path / "data")
    leaked = [value for value in secrets if value.encode() in after]
    assert leaked == [row[0] for row in rows("SELECT identity_hash FROM no_show_strike")]
    for plain in (PHONE, person["id_number"], "赵钱孙", "zhao.qiansun"):
        assert plain.encode() not in after

    # What statistics need stays: the day, the party, what became of the booking.
    booking = read_booking(client, created)
    assert booking["status"] == "no_show" and booking["party_size"] == 1
    assert booking["phone_masked"] is None
    assert booking["tickets"][0]["visitor"] == {"name": None, "id_masked": None}

    # Idempotent.
    assert run_job(client, PURGE)["bookings_erased"] == 0


def test_strikes_outlive_the_booking_only_while_they_count(any_client: TestClient) -> None:
    person = people.visitor("钱二", born=date(1988, 8, 8))
    book(any_client, TOMORROW, person, phone=PHONE)

    # The purge settles the no-show first, so the strike is not lost with the identity.
    erased = run_at(any_client, "2026-04-10T03:00:00+08:00", PURGE)
    assert erased["bookings_erased"] == 1 and erased["no_shows_settled"] == 1
    assert lookup(any_client, person) == []
    assert rows("SELECT count(*) FROM visitor WHERE identity_hash IS NOT NULL") == [(0,)]
    assert rows("SELECT count(*) FROM booking WHERE phone_enc IS NOT NULL") == [(0,)]
    assert rows("SELECT count(*) FROM no_show_strike") == [(1,)]
    assert rows("SELECT status, party_size FROM booking") == [("no_show", 1)]

    # Once the strike is out of the 180-day window, its keyed hash goes too.
    assert run_at(any_client, "2026-09-05T03:00:00+08:00", PURGE)["strikes_forgotten"] == 0
    assert run_at(any_client, "2026-09-06T03:00:00+08:00", PURGE)["strikes_forgotten"] == 1
    assert rows("SELECT count(*) FROM no_show_strike") == [(0,)]


def test_ended_bans_are_forgotten(client: TestClient) -> None:
    person = people.visitor("孙三", born=date(1990, 3, 3))
    for day in (date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)):
        book(client, day, person, phone=PHONE)
    assert run_at(client, "2026-03-12T18:00:00+08:00", "mark-no-shows")["bans"] == 1

    assert run_at(client, "2026-05-11T03:00:00+08:00", PURGE)["bans_ended"] == 0
    assert rows("SELECT until FROM visitor_ban") == [("2026-05-11",)]
    assert run_at(client, "2026-05-12T03:00:00+08:00", PURGE)["bans_ended"] == 1
    assert rows("SELECT count(*) FROM visitor_ban") == [(0,)]
    set_clock(client, "2026-05-12T10:00:00+08:00")
