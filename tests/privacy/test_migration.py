"""The migration to canonical identities, on both databases: stored masks that showed too
much are made again, numbers stored in another spelling are sealed again under their
canonical hash (strikes and bans follow), and a claim that would collide keeps its hash."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from reservations import db
from reservations.booking.identities import DOCUMENT, IDENTITY, PHONE
from reservations.bootstrap import reset_process_state
from reservations.privacy.vault import get_vault
from reservations.rehearsal import separation
from tests.conftest import TOMORROW, Service, start_in_process
from tests.support import people, schema

# The migrations themselves are under test: they run on an empty database.
pytestmark = pytest.mark.empty_database

BEFORE = "0006_offline_gate"
NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


@pytest.fixture
def old_schema(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    """The service's database at the revision before, with this process configured for it."""
    for key in [k for k in os.environ if k.startswith("RESERVATIONS_")]:
        monkeypatch.delenv(key)
    for key, value in service.env.items():
        monkeypatch.setenv(key, value)
    reset_process_state()
    # Rows written by a frozen-clock service before the clock was remembered: a rehearsal's.
    data_dir = Path(service.env["RESERVATIONS_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / separation.MARK_FILE).write_text(separation.REHEARSAL + "\n")
    with db.get_engine().connect() as connection:
        command.upgrade(db.alembic_config(connection), BEFORE)
        connection.commit()
    yield service
    reset_process_state()


def old_identity(id_type: str, number: str) -> str:
    """The keyed hash the old code made: the number as typed, upper-cased."""
    key = {"hk_macau_permit": 9, "taiwan_permit": 8}.get(id_type)
    return get_vault().blind_index(f"{id_type}:{number.upper()[:key]}", IDENTITY)


def canonical_identity(id_type: str, number: str) -> str:
    key = {"hk_macau_permit": 9, "taiwan_permit": 8}.get(id_type)
    return get_vault().blind_index(f"{id_type}:{number[:key]}", IDENTITY)


def insert_booking(connection: Connection, reference: str, phone: str, masked: str) -> int:
    vault = get_vault()
    connection.execute(
        text(
            "INSERT INTO booking (reference, channel, day, slot_id, slot_start, slot_end, status,"
            " party_size, manage_token_hash, language, phone_enc, phone_hash, phone_masked,"
            " created_at, updated_at) VALUES (:reference, 'individual', :day, '0900', '09:00',"
            " '11:00', 'confirmed', 1, :token, 'zh', :phone_enc, :phone_hash, :masked,"
            " :now, :now)"
        ),
        {
            "reference": reference,
            "day": TOMORROW,
            "token": "0" * 64,
            "phone_enc": vault.encrypt(phone, PHONE),
            "phone_hash": vault.blind_index(phone, PHONE),
            "masked": masked,
            "now": NOW,
        },
    )
    return int(
        connection.execute(
            text("SELECT id FROM booking WHERE reference = :r"), {"r": reference}
        ).scalar_one()
    )


def insert_visitor(
    connection: Connection, booking_id: int, id_type: str, number: str, masked: str
) -> None:
    vault = get_vault()
    connection.execute(
        text(
            "INSERT INTO visitor (booking_id, position, role, id_type, name_enc, name_masked,"
            " id_number_enc, id_masked, identity_hash, claim_date, is_minor) VALUES"
            " (:booking_id, 0, 'visitor', :id_type, :name_enc, 'J***e', :number_enc, :masked,"
            " :identity, :day, :minor)"
        ),
        {
            "booking_id": booking_id,
            "id_type": id_type,
            "name_enc": vault.encrypt("Jane Doe", "name"),
            "number_enc": vault.encrypt(number, DOCUMENT),
            "masked": masked,
            "identity": old_identity(id_type, number),
            "day": TOMORROW,
            "minor": False,
        },
    )


def visitors(connection: Connection) -> dict[str, dict[str, Any]]:
    rows = connection.execute(
        text(
            "SELECT b.reference, v.id_masked, v.identity_hash, v.id_number_enc"
            " FROM visitor AS v JOIN booking AS b ON b.id = v.booking_id"
        )
    )
    vault = get_vault()
    return {
        row.reference: {
            "masked": row.id_masked,
            "identity": row.identity_hash,
            "number": vault.decrypt(row.id_number_enc, DOCUMENT),
        }
        for row in rows
    }


def test_stored_masks_and_spellings_become_canonical(
    old_schema: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    resident = people.resident_id(sequence=321)
    with db.get_engine().connect() as connection:
        rows = [
            ("PASSPORT", "passport", "E12345678", "E123*5678", "13800138000", "138****8000"),
            ("PERMIT", "hk_macau_permit", "H87654321", "H876*4321", "13800138001", "138****8001"),
            ("TAIWAN", "taiwan_permit", "12345678", "12******", "13800138002", "138****8002"),
            ("WIDE", "passport", "E２４６８５５０６", "E２４６*５５０６", "１３９００１３９０００",
             "１３９****９０００"),
            ("RESIDENT", "resident_id", resident, resident[:4] + "*" * 10 + resident[-4:],
             "13800138003", "138****8003"),
        ]  # fmt: skip
        for reference, id_type, number, masked, phone, phone_masked in rows:
            booking_id = insert_booking(connection, reference, phone, phone_masked)
            insert_visitor(connection, booking_id, id_type, number, masked)
        # A strike and a ban of the person stored in full-width digits.
        wide_id = connection.execute(text("SELECT id FROM booking WHERE reference = 'WIDE'"))
        old = old_identity("passport", "E２４６８５５０６")
        connection.execute(
            text(
                "INSERT INTO no_show_strike (identity_hash, day, booking_id) VALUES (:h, :day, :b)"
            ),
            {"h": old, "day": date(2026, 3, 1), "b": wide_id.scalar_one()},
        )
        connection.execute(
            text(
                "INSERT INTO visitor_ban (identity_hash, until, created_at, reason)"
                " VALUES (:h, :until, :now, '{}')"
            ),
            {"h": old, "until": date(2026, 3, 9), "now": NOW},
        )
        connection.commit()

    db.migrate()

    with db.get_engine().connect() as connection:
        after = visitors(connection)
        phones = {
            row.reference: row.phone_masked
            for row in connection.execute(text("SELECT reference, phone_masked FROM booking"))
        }
        wide = canonical_identity("passport", "E24685506")
        strikes = connection.execute(text("SELECT identity_hash FROM no_show_strike")).scalars()
        bans = connection.execute(text("SELECT identity_hash FROM visitor_ban")).scalars()
        assert list(strikes) == [wide] and list(bans) == [wide]
        wide_phone = connection.execute(
            text("SELECT phone_hash FROM booking WHERE reference = 'WIDE'")
        ).scalar_one()
    assert {reference: row["masked"] for reference, row in after.items()} == {
        "PASSPORT": "E******78",
        "PERMIT": "H******21",
        "TAIWAN": "1******8",
        "WIDE": "E******06",
        "RESIDENT": resident[:4] + "**********" + resident[-4:],
    }
    assert after["WIDE"]["number"] == "E24685506"
    assert after["WIDE"]["identity"] == wide
    assert after["PASSPORT"]["identity"] == canonical_identity("passport", "E12345678")
    assert phones["WIDE"] == "139****9000"
    assert wide_phone == get_vault().blind_index("13900139000", PHONE)

    # The service agrees: the person in full-width digits already holds that day.
    reset_process_state()
    with start_in_process(old_schema, monkeypatch) as client:
        again = client.post(
            "/api/v1/bookings",
            json=people.booking(
                TOMORROW,
                visitors=[{"name": "Jane Doe", "id_type": "passport", "id_number": "E24685506"}],
            ),
        )
        assert again.json()["error"]["code"] in ("duplicate_visitor", "visitor_banned")
        found = client.post(
            "/api/v1/bookings/lookup",
            json={"phone": "13900139000", "id_type": "passport", "id_number": "E24685506"},
        )
        assert [b["reference"] for b in found.json()["bookings"]] == ["WIDE"]


def test_a_claim_that_would_collide_keeps_its_old_hash(old_schema: Service) -> None:
    with db.get_engine().connect() as connection:
        plain = insert_booking(connection, "PLAIN", "13800138000", "138****8000")
        insert_visitor(connection, plain, "passport", "E24685506", "E246*5506")
        wide = insert_booking(connection, "WIDE", "13800138001", "138****8001")
        insert_visitor(connection, wide, "passport", "E２４６８５５０６", "E２４６*５５０６")
        connection.commit()

    db.migrate()

    with db.get_engine().connect() as connection:
        after = visitors(connection)
    assert after["PLAIN"]["identity"] == canonical_identity("passport", "E24685506")
    assert after["WIDE"]["identity"] == old_identity("passport", "E２４６８５５０６")
    assert after["WIDE"]["number"] == "E２４６８５５０６"
    assert after["PLAIN"]["masked"] == after["WIDE"]["masked"] == "E******06"


NEW_TABLES = {"sign_in_throttle", "spent_challenge", "team_page_key", "app_user"}


def test_the_migrated_tables_match_the_models(any_client: object) -> None:
    with db.get_engine().connect() as connection:
        assert schema.differences(connection, NEW_TABLES) == []


def test_the_migration_goes_down_and_up_again(old_schema: Service) -> None:
    db.migrate()
    with db.get_engine().connect() as connection:
        command.downgrade(db.alembic_config(connection), BEFORE)
        connection.commit()
        columns = {c["name"] for c in inspect(connection).get_columns("app_user")}
        assert {"failed_logins", "locked_until"} <= columns
        assert "sign_in_throttle" not in inspect(connection).get_table_names()
    db.migrate()
    with db.get_engine().connect() as connection:
        assert set(inspect(connection).get_table_names()) >= NEW_TABLES
