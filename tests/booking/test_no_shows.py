"""mark-no-shows: a confirmed booking nobody used becomes no_show after closing; the third
no-show within the window bans the person until the ban ends."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.gate.factories import staff_headers
from tests.jobs.helpers import book, error_code, read_booking, run_at, run_job
from tests.support import people
from tests.teams.factories import team_request
from tests.teams.helpers import approve, request_visit

MARK = "mark-no-shows"


def test_a_booking_whose_day_closed_unused_becomes_no_show(any_client: TestClient) -> None:
    missed = book(any_client, TOMORROW, people.visitor("张三"))
    came = book(any_client, TOMORROW, people.visitor("李四"))

    # The day is not over before closing time (17:00).
    early = run_at(any_client, "2026-03-10T09:00:00+08:00", MARK)
    assert early == {"through": "2026-03-09", "no_shows": 0, "strikes": 0, "bans": 0}
    scan = any_client.post(
        "/api/v1/gate/scan",
        json={"payload": came["tickets"][0]["qr_payload"], "gate": "east-1", "direction": "in"},
        headers=staff_headers(any_client),
    )
    assert scan.json()["admitted"] is True, scan.text
    assert run_at(any_client, "2026-03-10T16:59:00+08:00", MARK)["no_shows"] == 0
    assert read_booking(any_client, missed)["status"] == "confirmed"

    result = run_at(any_client, "2026-03-10T17:00:00+08:00", MARK)
    assert result == {"through": "2026-03-10", "no_shows": 1, "strikes": 1, "bans": 0}
    assert read_booking(any_client, missed)["status"] == "no_show"
    assert read_booking(any_client, came)["status"] == "checked_in"

    # Idempotent: running again marks and counts nothing more.
    again = run_job(any_client, MARK)
    assert again == {"through": "2026-03-10", "no_shows": 0, "strikes": 0, "bans": 0}


def test_the_third_no_show_bans_until_the_ban_ends(any_client: TestClient) -> None:
    person = people.visitor("王五", born=date(1985, 7, 1))
    days = [date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)]
    for day in days:
        book(any_client, day, person)

    assert run_at(any_client, "2026-03-10T17:30:00+08:00", MARK)["strikes"] == 1
    second = run_at(any_client, "2026-03-11T17:30:00+08:00", MARK)
    assert second["strikes"] == 1 and second["bans"] == 0
    # Two no-shows: still allowed to book.
    allowed = any_client.post(
        "/api/v1/bookings", json=people.booking(date(2026, 3, 14), visitors=[person])
    )
    assert allowed.status_code == 201, allowed.text
    any_client.post(
        f"/api/v1/bookings/{allowed.json()['reference']}/cancel",
        headers={"X-Booking-Token": allowed.json()["manage_token"]},
    )

    third = run_at(any_client, "2026-03-12T17:30:00+08:00", MARK)
    assert third == {"through": "2026-03-12", "no_shows": 1, "strikes": 1, "bans": 1}
    refused = any_client.post(
        "/api/v1/bookings", json=people.booking(date(2026, 3, 14), visitors=[person])
    )
    assert refused.status_code == 403 and error_code(refused) == "visitor_banned"
    # 60 days from the third no-show: banned through 2026-05-11.
    assert refused.json()["error"]["details"]["until"] == "2026-05-11"
    # Someone else on the same phone is not banned.
    other = any_client.post(
        "/api/v1/bookings", json=people.booking(date(2026, 3, 14), visitors=[people.visitor()])
    )
    assert other.status_code == 201, other.text

    set_clock(any_client, "2026-05-11T10:00:00+08:00")
    still = any_client.post(
        "/api/v1/bookings", json=people.booking(date(2026, 5, 12), visitors=[person])
    )
    assert still.status_code == 403 and error_code(still) == "visitor_banned"

    set_clock(any_client, "2026-05-12T10:00:00+08:00")
    # The old strikes are still in the window, but only a new no-show bans again.
    assert run_job(any_client, MARK)["bans"] == 0
    back = any_client.post(
        "/api/v1/bookings", json=people.booking(date(2026, 5, 13), visitors=[person])
    )
    assert back.status_code == 201, back.text


def test_strikes_outside_the_window_do_not_count(client: TestClient) -> None:
    changed = client.patch(
        "/api/v1/admin/rules", json={"no_show": {"window_days": 2}}, headers=admin_headers(client)
    )
    assert changed.status_code == 200, changed.text
    person = people.visitor("郑六", born=date(1992, 2, 2))
    for day in (date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)):
        book(client, day, person)
    run_at(client, "2026-03-10T18:00:00+08:00", MARK)
    run_at(client, "2026-03-11T18:00:00+08:00", MARK)
    third = run_at(client, "2026-03-12T18:00:00+08:00", MARK)
    # Only 3-11 and 3-12 lie within two days of the third no-show.
    assert third["strikes"] == 1 and third["bans"] == 0


def test_a_team_that_did_not_come_is_a_no_show_without_a_strike(client: TestClient) -> None:
    team = request_visit(client, team_request(TOMORROW)).json()
    assert approve(client, team["reference"], admin_headers(client)).status_code == 200
    result = run_at(client, "2026-03-10T17:00:00+08:00", MARK)
    assert result["no_shows"] == 1 and result["strikes"] == 0
    # Reviewers find it among the team bookings by that status too.
    listed = client.get(
        "/api/v1/admin/team-bookings?status=no_show", headers=admin_headers(client)
    ).json()["bookings"]
    assert [booking["reference"] for booking in listed] == [team["reference"]]
