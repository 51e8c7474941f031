"""Signing in that a stranger cannot turn against staff: wrong guesses are held back per
account and address and per address, a colleague elsewhere is never locked out, every
refusal answers alike, and the password check keeps no booking waiting."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from reservations import clock
from reservations.accounts import passwords
from reservations.accounts import router as accounts_router
from reservations.bootstrap import reset_process_state
from tests.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    TOMORROW,
    Service,
    admin_headers,
    set_clock,
    start_in_process,
)
from tests.support import people
from tests.support.waiting import wait_until

OFFICE = "198.51.100.7"
STRANGER = "203.0.113.66"


def at(client: TestClient, address: str) -> TestClient:
    """The same running service, reached from another client address."""
    return TestClient(client.app, client=(address, 50000), raise_server_exceptions=False)


def sign_in(client: TestClient, username: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_a_strangers_guesses_never_lock_out_a_colleague(any_client: TestClient) -> None:
    stranger, office = at(any_client, STRANGER), at(any_client, OFFICE)
    assert [sign_in(stranger, ADMIN_USERNAME, "guess").status_code for _ in range(5)] == [401] * 5
    # The stranger's address is held back, even with the right password...
    held = sign_in(stranger, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert held.status_code == 429 and held.json()["error"]["code"] == "rate_limited"
    assert int(held.headers["Retry-After"]) == 15 * 60
    # ...while the admin signs in from the office.
    assert sign_in(office, ADMIN_USERNAME, ADMIN_PASSWORD).status_code == 200


def test_a_right_password_clears_the_count_for_its_address(any_client: TestClient) -> None:
    office = at(any_client, OFFICE)
    for _ in range(4):
        assert sign_in(office, ADMIN_USERNAME, "typo").status_code == 401
    assert sign_in(office, ADMIN_USERNAME, ADMIN_PASSWORD).status_code == 200
    for _ in range(4):
        assert sign_in(office, ADMIN_USERNAME, "typo").status_code == 401
    assert sign_in(office, ADMIN_USERNAME, ADMIN_PASSWORD).status_code == 200


def test_the_hold_ends_after_the_window(any_client: TestClient) -> None:
    stranger = at(any_client, STRANGER)
    for _ in range(5):
        sign_in(stranger, ADMIN_USERNAME, "guess")
    assert sign_in(stranger, ADMIN_USERNAME, ADMIN_PASSWORD).status_code == 429
    set_clock(any_client, clock.now() + timedelta(minutes=15, seconds=1))
    assert sign_in(stranger, ADMIN_USERNAME, ADMIN_PASSWORD).status_code == 200


@pytest.fixture
def few_per_address(service: Service, monkeypatch: pytest.MonkeyPatch) -> Any:
    service.env["RESERVATIONS_LOGIN_MAX_FAILURES_PER_ADDRESS"] = "3"
    with start_in_process(service, monkeypatch) as client:
        yield client
    reset_process_state()


def test_an_address_guessing_at_many_accounts_is_held_back(few_per_address: TestClient) -> None:
    stranger = at(few_per_address, STRANGER)
    for name in ("alice", "bob", "carol"):
        assert sign_in(stranger, name, "guess").status_code == 401
    assert sign_in(stranger, ADMIN_USERNAME, ADMIN_PASSWORD).status_code == 429
    assert sign_in(at(few_per_address, OFFICE), ADMIN_USERNAME, ADMIN_PASSWORD).status_code == 200


def counting_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = passwords.verify

    def verify(password_hash: str, password: str) -> bool:
        calls.append(password_hash[:9])
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify", verify)
    return calls


def test_every_refusal_answers_alike(
    any_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = admin_headers(any_client)
    for name in ("gate-east", "gate-west"):
        created = any_client.post(
            "/api/v1/admin/users",
            json={"username": name, "password": "gate-password-2026", "role": "staff"},
            headers=headers,
        )
        assert created.status_code == 201
    assert any_client.post("/api/v1/admin/users/gate-west/disable", headers=headers).is_success
    calls = counting_verifications(monkeypatch)
    attempts: dict[str, Callable[[TestClient], httpx.Response]] = {
        "wrong password": lambda c: sign_in(c, "gate-east", "wrong-password"),
        "unknown account": lambda c: sign_in(c, "gate-north", "wrong-password"),
        "disabled account, right password": lambda c: sign_in(c, "gate-west", "gate-password-2026"),
    }
    refusals: dict[str, list[httpx.Response]] = {}
    for index, (case, attempt) in enumerate(attempts.items()):
        client = at(any_client, f"192.0.2.{index + 10}")
        refusals[case] = [attempt(client) for _ in range(6)]
    # Five refusals that each cost one Argon2 verification, then held back without one.
    assert calls.count(calls[0]) == len(calls) == 15 and calls[0] == "$argon2id"
    shapes = {
        case: [
            (
                r.status_code,
                r.json(),
                r.headers.get("Retry-After"),
                r.headers.get("WWW-Authenticate"),
            )
            for r in answers
        ]
        for case, answers in refusals.items()
    }
    first, *others = shapes.values()
    assert all(other == first for other in others), shapes
    assert [status for status, *_ in first] == [401] * 5 + [429]
    assert first[0][1]["error"]["code"] == "unauthorized"
    assert first[-1][1]["error"] == {
        "code": "rate_limited",
        "message": "请求过于频繁，请稍后再试。",
        "details": {"retry_after": 900},
    }


@pytest.fixture
def open_doors(service: Service, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The service with the sign-in throttle out of the way: every guess is checked."""
    service.env.update(
        RESERVATIONS_LOGIN_MAX_FAILURES="1000", RESERVATIONS_LOGIN_MAX_FAILURES_PER_ADDRESS="1000"
    )
    return service


class StoppedChecks:
    """Password checks that stop inside until released, counting how many are inside."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = threading.Event()
        self.inside = 0
        self.most_inside = 0
        self._lock = threading.Lock()
        real = passwords.verify

        def verify(password_hash: str, password: str) -> bool:
            with self._lock:
                self.inside += 1
                self.most_inside = max(self.most_inside, self.inside)
            try:
                self.release.wait(60)
                return real(password_hash, password)
            finally:
                with self._lock:
                    self.inside -= 1

        monkeypatch.setattr(passwords, "verify", verify)


def guessing(client: TestClient, count: int, answers: list[int]) -> list[threading.Thread]:
    threads = [
        threading.Thread(
            target=lambda: answers.append(sign_in(client, ADMIN_USERNAME, "guess").status_code)
        )
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads


def book_meanwhile(client: TestClient) -> httpx.Response:
    booked: list[httpx.Response] = []
    booking = threading.Thread(
        target=lambda: booked.append(client.post("/api/v1/bookings", json=people.booking(TOMORROW)))
    )
    booking.start()
    booking.join(timeout=30)
    assert booked, "the booking waited for the sign-ins"
    return booked[0]


def test_a_booking_is_not_held_up_by_sign_ins_in_progress(
    open_doors: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixteen wrong sign-ins stopped inside their password check at once (as many as there
    are write slots): a booking still goes through, because none of them holds a
    transaction, a database lock or a write slot while its password is checked."""
    open_doors.env["RESERVATIONS_SIGN_IN_CONCURRENCY"] = "16"
    checks = StoppedChecks(monkeypatch)
    answers: list[int] = []
    with start_in_process(open_doors, monkeypatch) as client:
        threads = guessing(client, 16, answers)
        try:
            wait_until(lambda: checks.inside == 16, "the sign-ins did not all reach the check")
            booked = book_meanwhile(client)
            assert booked.status_code == 201, booked.text
            assert checks.inside == 16 and answers == []
        finally:
            checks.release.set()
            for thread in threads:
                thread.join(timeout=60)
    reset_process_state()
    assert answers == [401] * 16


def test_password_checks_queue_without_taking_the_cpus(
    open_doors: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One Argon2 check at a time per process (the default): the others wait in the event
    loop, holding no thread; past the queue's bound they are told to come back."""
    checks = StoppedChecks(monkeypatch)
    monkeypatch.setattr(accounts_router, "MAX_WAITING_SIGN_INS", 7)
    answers: list[int] = []
    with start_in_process(open_doors, monkeypatch) as client:
        threads = guessing(client, 8, answers)
        try:
            slots = accounts_router._verifier_slots()
            wait_until(
                lambda: checks.inside == 1 and slots.statistics().tasks_waiting == 7,
                "the sign-ins did not queue",
            )
            busy = sign_in(client, ADMIN_USERNAME, "guess")
            assert busy.status_code == 503 and busy.json()["error"]["code"] == "service_busy"
            assert book_meanwhile(client).status_code == 201
        finally:
            checks.release.set()
            for thread in threads:
                thread.join(timeout=60)
    reset_process_state()
    assert answers == [401] * 8 and checks.most_inside == 1
