"""Returned places go to the waiting list in order of joining: held for the first entry
that fits, told by SMS and e-mail (a real SMTP server), confirmed into a booking with
tickets without being taken twice, or given to the next person when the offer runs out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from reservations import db
from reservations.bootstrap import reset_process_state
from reservations.jobs import runner
from reservations.notifications.sms import recorded
from reservations.settings import get_settings
from tests.conftest import TOMORROW, Service, admin_headers, set_clock, start_in_process
from tests.notifications.conftest import MailServer
from tests.support import people
from tests.teams.factories import team_request
from tests.waitlist.helpers import (
    act,
    book,
    cancel,
    counted,
    error_code,
    fill,
    join_body,
    joined,
    read,
    set_quota,
    settled,
)

JOB = "process-waiting-list"


@pytest.fixture
def told(
    service: Service, mail_server: MailServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, MailServer]]:
    """The service in this process, on each database, with a real SMTP server to tell by."""
    service.env.update(mail_server.env())
    with start_in_process(service, monkeypatch) as client:
        yield client, mail_server
    reset_process_state()


def run_job(client: TestClient) -> dict[str, Any]:
    response = client.post(f"/api/v1/admin/jobs/{JOB}/run", headers=admin_headers(client))
    assert response.status_code == 200, response.text
    return dict(response.json()["result"])


def sms_to_entries() -> list[dict[str, Any]]:
    return [m for m in recorded(get_settings().data_dir) if m["template"] == "waitlist-offer"]


def link_in(text_: str) -> str:
    found = re.search(r"(https?://\S+/waitlist/entry/\S+?)(?=[\s。]|$)", text_)
    assert found, text_
    return found[1]


def test_a_cancellation_offers_the_place_to_the_first_in_line(
    told: tuple[TestClient, MailServer],
) -> None:
    client, mail = told
    booking = fill(client, 1)[0]
    first = joined(client, join_body(email="first@example.com", language="en"))
    second = joined(client, join_body(phone="13900139000"))

    cancel(client, booking)
    settled()
    offered = read(client, first)
    assert offered["status"] == "offered" and offered["position"] is None
    assert offered["offer"]["slot"] == {"id": "0900", "start": "09:00", "end": "11:00"}
    assert offered["offer"]["expires_at"] == "2026-03-09T10:30:00+08:00"
    still = read(client, second)
    assert still["status"] == "waiting" and still["position"] == 1
    # The offer holds the place: the day stays sold out for everybody else.
    assert counted(client) == {"capacity": 1, "booked": 1, "remaining": 0}
    refused = client.post("/api/v1/bookings", json=people.booking(TOMORROW))
    assert refused.status_code == 409 and error_code(refused) == "sold_out"

    # Told by SMS and by e-mail, in the entry's language, with its private link.
    [sms] = sms_to_entries()
    assert sms["to"] == "138****8000" and sms["language"] == "en"
    assert "10:30" in sms["text"]
    link = link_in(sms["text"])
    assert link.endswith(f"/waitlist/entry/{first['reference']}/{first['manage_token']}")
    [mail_message] = mail.inbox.messages
    assert mail_message["To"] == "first@example.com"
    assert "confirm by 10:30" in mail_message["Subject"]
    assert link in mail_message.get_content()
    entries = client.get(
        f"/api/v1/admin/waiting-list?date={TOMORROW}", headers=admin_headers(client)
    ).json()["entries"]
    assert [(e["status"], e["notified_by"]) for e in entries] == [
        ("offered", "sms,email"),
        ("waiting", None),
    ]


def test_confirming_books_with_tickets_without_taking_places_twice(
    any_client: TestClient,
) -> None:
    booking = fill(any_client, 2)[0]
    person = people.visitor("王五")
    entry = joined(any_client, join_body(visitors=[person]))
    cancel(any_client, booking)
    settled()
    assert read(any_client, entry)["status"] == "offered"
    assert counted(any_client) == {"capacity": 2, "booked": 2, "remaining": 0}

    accepted = act(any_client, entry, "accept")
    assert accepted.status_code == 201, accepted.text
    new = accepted.json()
    assert new["status"] == "confirmed" and new["manage_token"]
    assert new["slot"]["id"] == "0900" and new["date"] == TOMORROW.isoformat()
    assert [t["visitor"]["name"] for t in new["tickets"]] == ["王*"]
    assert new["tickets"][0]["qr_payload"].startswith("ZT1.")
    # The offer's place became the booking's: nothing more was taken.
    assert counted(any_client) == {"capacity": 2, "booked": 2, "remaining": 0}
    shown = any_client.get(
        f"/api/v1/bookings/{new['reference']}", headers={"X-Booking-Token": new["manage_token"]}
    )
    assert shown.status_code == 200 and shown.json()["tickets"] == [
        {**t, "used": False, "status": "valid"} for t in new["tickets"]
    ]
    after = read(any_client, entry)
    assert after["status"] == "booked" and after["booking"]["reference"] == new["reference"]
    assert after["booking"]["manage_token"] is None
    assert after["booking"]["tickets"][0]["ticket_id"] == new["tickets"][0]["ticket_id"]

    # Sent again (a lost answer), the same booking and token come back.
    again = act(any_client, entry, "accept")
    assert again.status_code == 201 and again.json() == new
    # The ticket image works as any booking's.
    image = any_client.get(new["tickets"][0]["qr_png_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    # Cancelling the new booking returns its place like any other.
    cancel(any_client, new)
    assert counted(any_client)["booked"] == 1


def test_an_offer_not_confirmed_in_time_moves_on(any_client: TestClient) -> None:
    booking = fill(any_client, 1)[0]
    first_person = people.visitor()
    first = joined(any_client, join_body(visitors=[first_person]))
    second = joined(any_client, join_body(phone="13900139000"))
    cancel(any_client, booking)
    settled()
    assert read(any_client, first)["status"] == "offered"

    set_clock(any_client, "2026-03-09T10:29:00+08:00")
    assert run_job(any_client)["offers_expired"] == 0
    set_clock(any_client, "2026-03-09T10:30:00+08:00")
    result = run_job(any_client)
    settled()
    assert result["offers_expired"] == 1
    assert read(any_client, first)["status"] == "expired"
    moved = read(any_client, second)
    assert moved["status"] == "offered"
    assert moved["offer"]["expires_at"] == "2026-03-09T11:00:00+08:00"
    late = act(any_client, first, "accept")
    assert late.status_code == 409 and error_code(late) == "no_offer"
    assert counted(any_client) == {"capacity": 1, "booked": 1, "remaining": 0}
    # The one who ran out may join again, at the end of the line.
    assert joined(any_client, join_body(visitors=[first_person]))["position"] == 1


def test_leaving_with_an_offer_gives_it_to_the_next_person(any_client: TestClient) -> None:
    booking = fill(any_client, 1)[0]
    first = joined(any_client)
    second = joined(any_client, join_body(phone="13900139000"))
    cancel(any_client, booking)
    settled()
    left = act(any_client, first, "leave")
    assert left.status_code == 200 and left.json()["status"] == "left"
    settled()
    assert read(any_client, second)["status"] == "offered"
    assert counted(any_client) == {"capacity": 1, "booked": 1, "remaining": 0}


def test_the_first_entry_that_fits_gets_the_place(any_client: TestClient) -> None:
    two_small_slots = [
        {"id": slot, "start": start, "end": end, "individual_capacity": 1, "team_capacity": 0}
        for slot, start, end in (("0900", "09:00", "11:00"), ("1100", "11:00", "13:00"))
    ]
    patched = any_client.patch(
        "/api/v1/admin/rules", json={"slots": two_small_slots}, headers=admin_headers(any_client)
    )
    assert patched.status_code == 200, patched.text
    early = book(any_client, slot_id="0900")
    book(any_client, slot_id="1100")
    pair = joined(any_client, join_body(visitors=[people.visitor(), people.visitor()]))
    later_slot = joined(any_client, join_body(slot_id="1100", phone="13900139000"))
    anyone = joined(any_client, join_body(phone="13700137000"))

    cancel(any_client, early)  # one place, in 0900
    settled()
    # The pair does not fit one place; 1100 has none: the next that fits, in order.
    assert read(any_client, pair)["status"] == "waiting"
    assert read(any_client, later_slot)["status"] == "waiting"
    offered = read(any_client, anyone)
    assert offered["status"] == "offered" and offered["offer"]["slot"]["id"] == "0900"
    assert read(any_client, pair)["position"] == 1


def test_a_raised_quota_is_offered_by_the_job(any_client: TestClient) -> None:
    fill(any_client, 1)
    entry = joined(any_client)
    set_quota(any_client, 2)
    result = run_job(any_client)
    assert result["offered"] == 1 and result["notified"] == 1
    assert read(any_client, entry)["status"] == "offered"
    # Nothing left to do: the run changed nothing.
    assert run_job(any_client)["offered"] == 0


def test_an_offer_never_runs_past_the_booking_window(any_client: TestClient) -> None:
    booking = fill(any_client, 1)[0]
    entry = joined(any_client)
    set_clock(any_client, "2026-03-09T23:45:00+08:00")
    cancel(any_client, booking)
    settled()
    offer = read(any_client, entry)["offer"]
    assert offer["expires_at"] == "2026-03-10T00:00:00+08:00"
    set_clock(any_client, "2026-03-10T00:00:00+08:00")
    late = act(any_client, entry, "accept")
    assert late.status_code == 409 and error_code(late) == "no_offer"
    run_job(any_client)
    assert read(any_client, entry)["status"] == "expired"


def test_switched_off_no_new_offers_are_made(any_client: TestClient) -> None:
    first_booking, second_booking = fill(any_client, 2)
    first = joined(any_client)
    second = joined(any_client, join_body(phone="13900139000"))
    cancel(any_client, first_booking)
    settled()
    assert read(any_client, first)["status"] == "offered"
    admin = admin_headers(any_client)
    off = {"waiting_list": {"enabled": False}}
    assert any_client.patch("/api/v1/admin/rules", json=off, headers=admin).status_code == 200
    cancel(any_client, second_booking)
    settled()
    run_job(any_client)
    assert read(any_client, second)["status"] == "waiting"
    # The offer already made still stands.
    assert act(any_client, first, "accept").status_code == 201
    on = {"waiting_list": {"enabled": True}}
    assert any_client.patch("/api/v1/admin/rules", json=on, headers=admin).status_code == 200
    assert run_job(any_client)["offered"] == 1
    assert read(any_client, second)["status"] == "offered"


def test_a_person_cannot_hold_an_offer_and_a_booking_for_the_same_day(
    any_client: TestClient,
) -> None:
    booking = fill(any_client, 1)[0]
    person = people.visitor("赵六")
    entry = joined(any_client, join_body(visitors=[person]))
    cancel(any_client, booking)
    settled()
    assert read(any_client, entry)["status"] == "offered"
    set_quota(any_client, 5)  # places now free for direct bookings
    direct = any_client.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=[person]))
    assert direct.status_code == 409 and error_code(direct) == "duplicate_visitor"
    assert act(any_client, entry, "accept").status_code == 201
    twice = any_client.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=[person]))
    assert twice.status_code == 409 and error_code(twice) == "duplicate_visitor"
    # The database holds one claim on that day for that person: the booking's.
    with db.transaction(write=False) as session:
        claims = session.connection().execute(
            text(
                "SELECT booking_id, waiting_entry_id FROM visitor"
                " WHERE claim_date = :day AND name_masked = '赵*'"
            ),
            {"day": TOMORROW},
        )
        rows = claims.all()
    assert len(rows) == 1 and rows[0][0] is not None and rows[0][1] is None


def test_team_places_are_not_offered_to_individuals(any_client: TestClient) -> None:
    fill(any_client, 1)
    entry = joined(any_client)
    request = any_client.post("/api/v1/team-bookings", json=team_request(TOMORROW))
    assert request.status_code == 201, request.text
    rejected = any_client.post(
        f"/api/v1/admin/team-bookings/{request.json()['reference']}/reject",
        json={"reason": "当天已满"},
        headers=admin_headers(any_client),
    )
    assert rejected.status_code == 200
    settled()
    assert read(any_client, entry)["status"] == "waiting"


def test_the_frequent_job_records_a_run_only_when_it_changed_something(
    any_client: TestClient,
) -> None:
    assert runner.run_frequent(JOB, "test") is None
    booking = fill(any_client, 1)[0]
    joined(any_client)
    cancel(any_client, booking)
    settled()
    set_clock(any_client, "2026-03-09T11:00:00+08:00")
    run = runner.run_frequent(JOB, "test")
    assert run is not None and run.trigger == "scheduled" and run.outcome == "succeeded"
    assert run.result["offers_expired"] == 1
    listed = any_client.get(
        f"/api/v1/admin/jobs?job={JOB}", headers=admin_headers(any_client)
    ).json()["runs"]
    assert [r["result"]["offers_expired"] for r in listed] == [1]


def test_an_undelivered_offer_is_recorded(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.env["RESERVATIONS_SMS_DRIVER"] = "off"
    with start_in_process(service, monkeypatch) as client:
        booking = fill(client, 1)[0]
        entry = joined(client)
        cancel(client, booking)
        settled()
        assert read(client, entry)["status"] == "offered"  # it stands: the page shows it
        entries = client.get(
            f"/api/v1/admin/waiting-list?date={TOMORROW}", headers=admin_headers(client)
        ).json()["entries"]
        assert entries[0]["notified_by"] == "failed"
    reset_process_state()


def test_entries_of_a_past_day_are_discarded(any_client: TestClient) -> None:
    fill(any_client, 1)
    entry = joined(any_client, join_body(email="gone@example.com"))
    set_clock(any_client, "2026-03-11T09:00:00+08:00")
    result = run_job(any_client)
    assert result["entries_expired"] == 1 and result["entries_discarded"] == 1
    with db.transaction(write=False) as session:
        connection = session.connection()
        stored = connection.execute(
            text(
                "SELECT phone_enc, phone_hash, phone_masked, email_enc, email_masked,"
                " manage_token_enc, personal_data_erased_at FROM waiting_entry"
            )
        ).one()
        people_rows = connection.execute(
            text(
                "SELECT name_enc, name_masked, id_number_enc, id_masked, identity_hash"
                " FROM visitor WHERE waiting_entry_id IS NOT NULL"
            )
        ).all()
    assert list(stored[:6]) == [None] * 6 and stored[6] is not None
    assert people_rows == [(None,) * 5]
    # The outcome stays, anonymous, for the admins.
    listed = any_client.get(
        f"/api/v1/admin/waiting-list?date={TOMORROW}", headers=admin_headers(any_client)
    ).json()
    assert listed["counts"]["expired"] == 1
    assert listed["entries"][0]["visitors"] == [] and listed["entries"][0]["phone_masked"] is None
    assert read(any_client, entry)["visitors"] == []


def test_the_purge_job_erases_entries_past_the_retention_period(any_client: TestClient) -> None:
    fill(any_client, 1)
    joined(any_client)
    set_clock(any_client, "2026-04-10T04:00:00+08:00")
    purged = any_client.post(
        "/api/v1/admin/jobs/purge-personal-data/run", headers=admin_headers(any_client)
    )
    assert purged.status_code == 200, purged.text
    assert purged.json()["result"]["waiting_entries_erased"] == 1
    with db.transaction(write=False) as session:
        phone = session.connection().execute(text("SELECT phone_enc FROM waiting_entry")).scalar()
    assert phone is None


def test_other_days_are_not_touched(any_client: TestClient) -> None:
    other = date(2026, 3, 11)
    fill(any_client, 1)
    fill(any_client, 1, other)
    waiting_other = joined(any_client, join_body(other))
    booking = book(any_client, date(2026, 3, 12))
    cancel(any_client, booking)
    settled()
    assert read(any_client, waiting_other)["status"] == "waiting"
