"""Every answer is sent after its changes are committed, and a commit that fails is never
answered as a success."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from reservations import db
from tests.conftest import TOMORROW, Service, admin_headers, start_server, stop_server
from tests.support import people
from tests.visitor.support import adult, book_ok

BOOKINGS = 48


def _fresh_connection(base_url: str) -> httpx.Client:
    """A client that opens a new connection per request, so that requests land on any of
    the server's workers."""
    return httpx.Client(
        base_url=base_url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)
    )


@pytest.mark.server
def test_a_booking_reads_back_at_once_from_any_worker(service: Service, tmp_path: Path) -> None:
    server = start_server(service, tmp_path, workers=2)
    try:

        def book_and_read(index: int) -> tuple[int, int, int]:
            body = people.booking(
                TOMORROW,
                slot_id=("0900", "1100", "1300", "1500")[index % 4],
                visitors=[people.visitor(born=date(1980, 1, 1), sequence=index)],
            )
            with _fresh_connection(server.base_url) as client:
                created = client.post("/api/v1/bookings", json=body)
                assert created.status_code == 201, created.text
                reference = created.json()["reference"]
                token = created.json()["manage_token"]
                read = client.get(
                    f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token}
                )
                page = client.get(f"/my/{reference}/{token}")
            return created.status_code, read.status_code, page.status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(book_and_read, range(BOOKINGS)))
        assert answers == [(201, 200, 200)] * BOOKINGS
    finally:
        log = stop_server(server)
    assert "Traceback" not in log


@pytest.mark.server
def test_the_booking_page_redirects_to_tickets_that_exist(
    sqlite_service: Service, tmp_path: Path
) -> None:
    server = start_server(sqlite_service, tmp_path, workers=2)
    try:
        for index in range(12):
            with server.client() as form_client:
                reference, token = book_ok(form_client, adult(sequence=index))
            with _fresh_connection(server.base_url) as other:
                assert other.get(f"/my/{reference}/{token}").status_code == 200
    finally:
        log = stop_server(server)
    assert "Traceback" not in log


def _slow_commits_of_day_overrides(database_url: str) -> None:
    """On PostgreSQL, make each commit that changed a day's override take 300 ms longer (a
    deferred trigger runs at COMMIT): an answer sent before its commit would be caught."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT OR UPDATE ON day_override "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()"
                )
            )
    finally:
        engine.dispose()


@pytest.mark.server
def test_an_admin_change_is_in_force_at_once_on_every_worker(
    service: Service, tmp_path: Path
) -> None:
    server = start_server(service, tmp_path, workers=2)
    try:
        if service.backend == "postgres":
            _slow_commits_of_day_overrides(service.env["RESERVATIONS_DATABASE_URL"])
        with server.client() as admin:
            headers = admin_headers(admin)
            for quota in range(900, 900 - 20, -1):
                changed = admin.put(
                    f"/api/v1/admin/days/{TOMORROW}",
                    json={"individual_quota": quota},
                    headers=headers,
                )
                assert changed.status_code == 200, changed.text
                with _fresh_connection(server.base_url) as reader:
                    day = reader.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}")
                assert day.json()["days"][0]["individual"]["capacity"] == quota
            rules = admin.patch(
                "/api/v1/admin/rules", json={"individual": {"daily_quota": 123}}, headers=headers
            )
            assert rules.status_code == 200
            later = TOMORROW + timedelta(days=1)
            with _fresh_connection(server.base_url) as reader:
                day = reader.get(f"/api/v1/availability?start={later}&end={later}")
            assert day.json()["days"][0]["individual"]["capacity"] == 123
    finally:
        log = stop_server(server)
    assert "Traceback" not in log


# --- a commit that fails ---------------------------------------------------------------------


@pytest.fixture
def failing_commits(any_client: TestClient, service: Service) -> Iterator[None]:
    """Make the database refuse to commit what a booking wrote.

    PostgreSQL refuses for real: a deferred constraint trigger raises at COMMIT. SQLite has
    no deferred triggers, so its engine raises where the COMMIT would be sent.
    """
    engine = db.get_engine()
    if service.backend == "postgres":
        with engine.begin() as connection:
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = '40001'; "
                    "END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON booking "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()"
                )
            )
        yield
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER refuse_commit ON booking"))
            connection.execute(text("DROP FUNCTION refuse_commit()"))
        return

    wrote_booking: set[int] = set()

    # SQLite's own trace of every statement a connection runs, whichever way it was sent
    # (the hot paths run theirs on the driver's cursor, past SQLAlchemy's events).
    def trace(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        def saw(statement: str) -> None:
            if statement.startswith("INSERT INTO booking"):
                wrote_booking.add(id(dbapi_connection))

        dbapi_connection.set_trace_callback(saw)

    def refuse(connection) -> None:  # type: ignore[no-untyped-def]
        if id(connection.connection.dbapi_connection) in wrote_booking:
            wrote_booking.discard(id(connection.connection.dbapi_connection))
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    engine.dispose()  # every connection from now on is traced
    event.listen(engine, "connect", trace)
    event.listen(engine, "commit", refuse)
    yield
    event.remove(engine, "commit", refuse)
    event.remove(engine, "connect", trace)
    engine.dispose()


def _booked(client: TestClient) -> int:
    day = client.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}").json()
    return int(day["days"][0]["individual"]["booked"])


@pytest.mark.usefixtures("failing_commits")
def test_a_failed_commit_answers_503_and_books_nothing(any_client: TestClient) -> None:
    visitor = people.visitor(sequence=7)
    body = people.booking(TOMORROW, visitors=[visitor])
    answer = any_client.post(
        "/api/v1/bookings", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "service_busy"
    assert int(answer.headers["Retry-After"]) >= 1
    assert _booked(any_client) == 0
    found = any_client.post(
        "/api/v1/bookings/lookup",
        json={"phone": body["phone"], "id_type": "resident_id", "id_number": visitor["id_number"]},
    )
    assert found.json() == {"bookings": []}


@pytest.mark.usefixtures("failing_commits")
def test_a_failed_commit_on_the_booking_page_is_no_success(any_client: TestClient) -> None:
    from tests.visitor.support import book

    answer = book(any_client, adult())
    assert answer.status_code == 503
    assert "location" not in answer.headers
    assert "系统繁忙" in answer.text
    assert _booked(any_client) == 0


def test_after_a_failed_commit_the_same_booking_succeeds(
    any_client: TestClient, service: Service
) -> None:
    body = people.booking(TOMORROW, visitors=[people.visitor(sequence=8)])
    engine = db.get_engine()

    def refuse(_connection) -> None:  # type: ignore[no-untyped-def]
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(engine, "commit", refuse)
    try:
        assert any_client.post("/api/v1/bookings", json=body).status_code == 503
    finally:
        event.remove(engine, "commit", refuse)
    again = any_client.post("/api/v1/bookings", json=body)
    assert again.status_code == 201, again.text
    assert _booked(any_client) == 1
