"""One person under every spelling, on both databases: a passport or permit typed with
full-width digits, dashes or spaces is the same person for one-booking-per-day, bans and
lookups, and its mask shows no more than a third of it, in answers and at the gate."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from reservations import clock, db
from reservations.booking import identities
from reservations.booking.models import VisitorBan
from reservations.privacy import documents
from tests.conftest import TOMORROW, set_clock
from tests.gate.factories import OPENING, scan, staff_headers
from tests.support import people


def book(client: TestClient, id_type: str, id_number: str, phone: str = "13800138000") -> Any:
    visitor = {"name": "Jane Doe", "id_type": id_type, "id_number": id_number}
    return client.post(
        "/api/v1/bookings", json=people.booking(TOMORROW, visitors=[visitor], phone=phone)
    )


def test_a_passport_in_full_width_digits_is_the_same_person(any_client: TestClient) -> None:
    first = book(any_client, "passport", "E24685506")
    assert first.status_code == 201, first.text
    assert first.json()["tickets"][0]["visitor"]["id_masked"] == "E******06"
    for spelling in ("E２４６８５５０６", "e 2468-5506", "Ｅ２４６８\u200b５５０６"):
        again = book(any_client, "passport", spelling, phone="13900139000")
        assert again.status_code == 409, (spelling, again.text)
        assert again.json()["error"]["code"] == "duplicate_visitor"


def test_a_permit_renewal_in_full_width_is_the_same_person(any_client: TestClient) -> None:
    assert book(any_client, "hk_macau_permit", "H12345678").status_code == 201
    renewed = book(any_client, "hk_macau_permit", "Ｈ１２３４５６７８０１", phone="13900139000")
    assert renewed.json()["error"]["code"] == "duplicate_visitor"
    assert book(any_client, "taiwan_permit", "87654321").status_code == 201
    wide = book(any_client, "taiwan_permit", "８７６５ ４３２１", phone="13700137000")
    assert wide.json()["error"]["code"] == "duplicate_visitor"


def test_digits_of_another_script_are_refused(any_client: TestClient) -> None:
    arabic_indic = "E" + "".join(chr(0x0660 + int(digit)) for digit in "24685506")
    refused = book(any_client, "passport", arabic_indic)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_id_number"
    assert arabic_indic not in refused.text
    phone = book(any_client, "passport", "E24685506", phone="138\u0660\u06600138000")
    assert phone.json()["error"]["code"] == "invalid_phone"


def test_a_ban_holds_whatever_the_spelling(any_client: TestClient) -> None:
    document = documents.parse_document("passport", "E24685506", clock.today())
    with db.transaction() as session:
        session.add(
            VisitorBan(
                identity_hash=identities.identity_hash(document),
                until=date(2026, 5, 1),
                created_at=clock.now(),
            )
        )
    refused = book(any_client, "passport", "Ｅ２４６８５５０６")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "visitor_banned"


def test_lookup_finds_a_booking_typed_in_full_width(any_client: TestClient) -> None:
    booked = book(any_client, "passport", "Ｅ２４６８５５０６", phone="１３８ ００１３ ８０００")
    assert booked.status_code == 201, booked.text
    assert booked.json()["phone_masked"] == "138****8000"
    found = any_client.post(
        "/api/v1/bookings/lookup",
        json={"phone": "+86 13800138000", "id_type": "passport", "id_number": "e24685506"},
    )
    assert [b["reference"] for b in found.json()["bookings"]] == [booked.json()["reference"]]


def test_the_gate_shows_the_short_mask(any_client: TestClient) -> None:
    booked = book(any_client, "passport", "E２４６８５５０６").json()
    set_clock(any_client, OPENING)
    headers = staff_headers(any_client)
    verdict = scan(any_client, headers, booked["tickets"][0]["qr_payload"])
    assert verdict["admitted"] is True
    assert verdict["ticket"]["visitor"]["id_masked"] == "E******06"
