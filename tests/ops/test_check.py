"""The recount: drift found counter by counter, repaired in one audited transaction, shown
to admins; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from reservations import cli, db
from reservations.ops import check
from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.ops.helpers import book
from tests.support import people
from tests.teams.pages import sign_in_admin
from tests.waitlist.helpers import cancel, counted, fill, join_body, joined, read, settled


def execute(sql: str) -> None:
    with db.transaction() as session:
        session.connection().execute(text(sql))


def recount() -> check.Report:
    with db.transaction(write=False) as session:
        return check.check(session)


def admitted_booking(client: TestClient) -> None:
    """Two bookings (three people), one of them cancelled, and one visitor admitted."""
    kept = book(client, TOMORROW, visitors=[people.visitor(), people.visitor("李四")])
    assert kept.status_code == 201, kept.text
    gone = book(client, TOMORROW, slot_id="1100")
    assert gone.status_code == 201, gone.text
    cancelled = client.post(
        f"/api/v1/bookings/{gone.json()['reference']}/cancel",
        headers={"X-Booking-Token": gone.json()["manage_token"]},
    )
    assert cancelled.status_code == 200
    set_clock(client, "2026-03-10T09:05:00+08:00")
    scan = {
        "payload": kept.json()["tickets"][0]["qr_payload"],
        "gate": "east-1",
        "direction": "in",
        "headcount": None,
    }
    assert client.post("/api/v1/gate/scan", headers=admin_headers(client), json=scan).json()[
        "admitted"
    ]


def test_counters_kept_by_the_service_never_drift(any_client: TestClient) -> None:
    admitted_booking(any_client)
    report = recount()
    assert report.drift == []
    assert report.counters_checked == 4  # the day, its two slots, its occupancy


def test_drift_is_found_counter_by_counter_and_repaired_with_an_audit_entry(
    any_client: TestClient,
) -> None:
    admitted_booking(any_client)
    execute("UPDATE capacity_counter SET booked = booked + 5 WHERE slot_id = '0900'")
    execute("UPDATE capacity_counter SET booked = 0 WHERE slot_id = '*'")
    execute("UPDATE occupancy_counter SET entered = 7, inside = 9, exited = 0")
    found = {
        (d.kind, d.day.isoformat(), d.counter): (d.counted, d.expected) for d in recount().drift
    }
    day = TOMORROW.isoformat()
    assert found == {
        ("places", day, "individual/0900"): (7, 2),
        ("places", day, "individual/*"): (0, 2),
        ("occupancy", day, "entered"): (7, 1),
        ("occupancy", day, "inside"): (9, 1),
    }

    with db.transaction() as session:
        repaired = check.repair(session, actor="admin")
    assert repaired.repaired and len(repaired.drift) == 4
    assert recount().drift == []
    places = any_client.get(f"/api/v1/availability?start={day}&end={day}").json()["days"][0]
    assert places["individual"]["booked"] == 2
    assert any_client.get("/api/v1/occupancy").json()["inside"] == 1

    audit = any_client.get("/api/v1/admin/audit?limit=5", headers=admin_headers(any_client))
    entry = audit.json()["entries"][0]
    assert entry["action"] == "ops.counters_repaired"
    assert {(e["counter"], e["value"]) for e in entry["before"]} >= {("individual/0900", 7)}
    assert {(e["counter"], e["value"]) for e in entry["after"]} >= {("individual/0900", 2)}


def test_a_counter_without_bookings_and_bookings_without_a_counter(client: TestClient) -> None:
    assert book(client, TOMORROW).status_code == 201
    execute("DELETE FROM capacity_counter WHERE slot_id = '0900'")
    execute(
        "INSERT INTO capacity_counter (day, channel, slot_id, booked) "
        "VALUES ('2026-03-12', 'team', '1300', 30)"
    )
    found = {(d.day.isoformat(), d.counter): (d.counted, d.expected) for d in recount().drift}
    assert found == {
        (TOMORROW.isoformat(), "individual/0900"): (0, 1),
        ("2026-03-12", "team/1300"): (30, 0),
    }
    with db.transaction() as session:
        check.repair(session, actor="admin")
    assert recount().drift == []


def test_the_command_reports_repairs_and_the_console_shows_drift(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert book(client, TOMORROW).status_code == 201
    assert cli.main(["check"]) == 0
    assert "0 drifted" in capsys.readouterr().out
    execute("UPDATE capacity_counter SET booked = 40 WHERE slot_id = '0900'")

    admin = admin_headers(client)
    ran = client.post("/api/v1/admin/jobs/check-counters/run", headers=admin)
    assert ran.json()["result"]["drift"] == 1
    sign_in_admin(client, "/admin")
    console = client.get("/admin")
    assert console.status_code == 200
    assert 'id="counter-drift"' in console.text
    assert "individual/0900" in console.text and "reservations check --repair" in console.text

    assert cli.main(["check"]) == 1
    printed = capsys.readouterr().out
    assert "1 drifted" in printed and "counted 40, recounted 1" in printed
    assert cli.main(["check", "--repair"]) == 0
    assert "repaired" in capsys.readouterr().out
    assert cli.main(["check", "--json"]) == 0
    assert '"drift": 0' in capsys.readouterr().out
    client.post("/api/v1/admin/jobs/check-counters/run", headers=admin)
    assert 'id="counter-drift"' not in client.get("/admin").text


def test_places_held_for_a_waiting_list_offer_are_no_drift(any_client: TestClient) -> None:
    booking = fill(any_client, 1)[0]
    entry = joined(any_client, join_body())
    cancel(any_client, booking)
    settled()
    assert read(any_client, entry)["status"] == "offered"
    # The offer holds the day's only place without a booking yet: nothing to repair.
    assert recount().drift == []
    with db.transaction() as session:
        assert check.repair(session, actor="admin").drift == []
    assert counted(any_client) == {"capacity": 1, "booked": 1, "remaining": 0}
