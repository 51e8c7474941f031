"""Proof of work on booking: GET /api/v1/challenge hands out signed, expiring, single-use
challenges; POST /bookings and /team-bookings without a valid solution get 428."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reservations.bootstrap import reset_process_state
from reservations.protection import challenge
from tests.conftest import FAKE_NOW, TOMORROW, Service, set_clock, start_in_process
from tests.support import people

DIFFICULTY = 10


def pow_service(service: Service, tmp_path: Path, mode: str, **protection: str) -> Service:
    service.rules_file(tmp_path, protection={"proof_of_work": mode, **protection})
    service.env["RESERVATIONS_POW_DIFFICULTY"] = str(DIFFICULTY)
    return service


@pytest.fixture
def always(
    sqlite_service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    with start_in_process(pow_service(sqlite_service, tmp_path, "always"), monkeypatch) as client:
        yield client
    reset_process_state()


def booking_body(index: int = 0) -> dict:
    return people.booking(
        TOMORROW, visitors=[people.visitor(born=date(1970, 1, 1), sequence=index)]
    )


def solved(client: TestClient) -> str:
    offer = client.get("/api/v1/challenge").json()
    assert offer["required"] is True
    return challenge.solve(offer["challenge"], offer["difficulty"])


def refusal(response) -> str:
    assert response.status_code == 428, response.text
    error = response.json()["error"]
    assert error["code"] == "challenge_required"
    assert error["details"]["challenge_url"] == "/api/v1/challenge"
    return str(error["details"]["reason"])


def test_when_off_no_challenge_is_needed(client: TestClient) -> None:
    offer = client.get("/api/v1/challenge")
    assert offer.status_code == 200
    assert offer.headers["Cache-Control"] == "no-store"
    assert offer.json()["required"] is False and offer.json()["challenge"] is None
    assert client.post("/api/v1/bookings", json=booking_body()).status_code == 201


def test_the_challenge_describes_itself(always: TestClient) -> None:
    offer = always.get("/api/v1/challenge").json()
    assert offer["required"] is True
    assert offer["mode"] == "always"
    assert offer["algorithm"] == "sha256-leading-zero-bits"
    assert offer["difficulty"] == DIFFICULTY
    assert offer["header"] == "X-Challenge-Solution"
    assert offer["field"] == "challenge_solution"
    assert offer["expires_at"].startswith("2026-03-09T10:05:00")  # five minutes (frozen clock)
    assert offer["challenge"] != always.get("/api/v1/challenge").json()["challenge"]


def test_always_needs_a_solution_and_accepts_one(always: TestClient) -> None:
    assert refusal(always.post("/api/v1/bookings", json=booking_body())) == "missing"
    response = always.post(
        "/api/v1/bookings", json=booking_body(), headers={"X-Challenge-Solution": solved(always)}
    )
    assert response.status_code == 201, response.text


def test_a_solution_books_once(always: TestClient) -> None:
    solution = solved(always)
    headers = {"X-Challenge-Solution": solution}
    assert always.post("/api/v1/bookings", json=booking_body(1), headers=headers).status_code == 201
    again = always.post("/api/v1/bookings", json=booking_body(2), headers=headers)
    assert refusal(again) == "reused"


def test_the_same_request_sent_again_may_present_it_again(always: TestClient) -> None:
    headers = {"X-Challenge-Solution": solved(always), "Idempotency-Key": "retry-1"}
    first = always.post("/api/v1/bookings", json=booking_body(3), headers=headers)
    retry = always.post("/api/v1/bookings", json=booking_body(3), headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.json()["reference"] == retry.json()["reference"]
    other_key = {**headers, "Idempotency-Key": "retry-2"}
    assert refusal(always.post("/api/v1/bookings", json=booking_body(3), headers=other_key)) == (
        "reused"
    )
    # Same key, another body: another request.
    assert refusal(always.post("/api/v1/bookings", json=booking_body(4), headers=headers)) == (
        "reused"
    )
    # Without a key, the very same body again passes the challenge (and books nothing more).
    plain = {"X-Challenge-Solution": solved(always)}
    assert always.post("/api/v1/bookings", json=booking_body(5), headers=plain).status_code == 201
    again = always.post("/api/v1/bookings", json=booking_body(5), headers=plain)
    assert again.json()["error"]["code"] == "duplicate_visitor"


def test_a_second_tap_on_a_form_is_not_turned_away(always: TestClient) -> None:
    form = {"phone": "13800138000", "form_key": "k" * 32, "challenge_solution": solved(always)}
    assert always.post("/api/v1/bookings", data=form).status_code == 422  # past the guard
    assert always.post("/api/v1/bookings", data=form).status_code == 422
    changed = {**form, "phone": "13900139000"}
    assert refusal(always.post("/api/v1/bookings", data=changed)) == "reused"


def test_forged_tampered_and_lazy_solutions_are_refused(always: TestClient) -> None:
    offer = always.get("/api/v1/challenge").json()
    token = offer["challenge"]
    good = challenge.solve(token, DIFFICULTY)
    counter = good.rsplit(":", 1)[1]

    def attempt(solution: str) -> str:
        headers = {"X-Challenge-Solution": solution}
        return refusal(always.post("/api/v1/bookings", json=booking_body(), headers=headers))

    assert attempt("not a solution") == "malformed"
    assert attempt(token) == "malformed"  # no counter
    assert attempt(f"{token}:{'9' * 30}") == "malformed"
    version, expires, difficulty, nonce, mac = token.split(".")
    easier = f"{version}.{expires}.1.{nonce}.{mac}"
    assert attempt(challenge.solve(easier, 1)) == "invalid"
    later = f"{version}.{int(expires) + 3600}.{difficulty}.{nonce}.{mac}"
    assert attempt(challenge.solve(later, DIFFICULTY)) == "invalid"
    lazy = next(
        str(n)
        for n in range(10_000)
        if challenge.leading_zero_bits(hashlib.sha256(f"{token}:{n}".encode()).digest())
        < DIFFICULTY
    )
    assert attempt(f"{token}:{lazy}") == "insufficient"
    # None of those spent the challenge.
    headers = {"X-Challenge-Solution": f"{token}:{counter}"}
    assert always.post("/api/v1/bookings", json=booking_body(), headers=headers).status_code == 201


def test_a_challenge_expires(always: TestClient) -> None:
    solution = solved(always)
    set_clock(always, (FAKE_NOW_DT + timedelta(minutes=5, seconds=1)).isoformat())
    refused = always.post(
        "/api/v1/bookings", json=booking_body(), headers={"X-Challenge-Solution": solution}
    )
    assert refusal(refused) == "expired"


FAKE_NOW_DT = __import__("datetime").datetime.fromisoformat(FAKE_NOW)


def test_a_challenge_from_another_service_is_refused(
    always: TestClient, sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = challenge.solve(solved_elsewhere(monkeypatch), DIFFICULTY)
    response = always.post(
        "/api/v1/bookings", json=booking_body(), headers={"X-Challenge-Solution": foreign}
    )
    assert refusal(response) == "invalid"


def solved_elsewhere(monkeypatch: pytest.MonkeyPatch) -> str:
    from reservations.settings import Settings

    other = Settings(secret_key="another museum's secret, long enough to be one")  # type: ignore[arg-type]
    monkeypatch.setattr("reservations.protection.challenge.get_settings", lambda: other)
    try:
        return challenge.issue(DIFFICULTY, 300).token
    finally:
        monkeypatch.undo()


def test_forms_send_the_solution_in_a_field(always: TestClient) -> None:
    # The guard reads the form field; past it, this JSON endpoint refuses the form itself.
    assert refusal(always.post("/api/v1/bookings", data={"phone": "13800138000"})) == "missing"
    response = always.post(
        "/api/v1/bookings", data={"phone": "13800138000", "challenge_solution": solved(always)}
    )
    assert response.status_code == 422


def test_lookup_needs_no_proof_of_work(always: TestClient) -> None:
    body = {"phone": "13800138000", "id_type": "resident_id", "id_number": people.resident_id()}
    assert always.post("/api/v1/bookings/lookup", json=body).status_code == 200


def test_team_bookings_need_it_too(always: TestClient) -> None:
    body = {
        "date": (TOMORROW + timedelta(days=1)).isoformat(),
        "slot_id": "0900",
        "organization": "郑州市第一中学",
        "size": 20,
        "leader": {
            "name": "李四",
            "id_type": "resident_id",
            "id_number": people.resident_id(born=date(1980, 2, 2)),
            "phone": "13900139000",
        },
        "consent": True,
    }
    assert refusal(always.post("/api/v1/team-bookings", json=body)) == "missing"
    response = always.post(
        "/api/v1/team-bookings", json=body, headers={"X-Challenge-Solution": solved(always)}
    )
    assert response.status_code == 201, response.text


def test_the_booking_pages_need_it_too(always: TestClient) -> None:
    always.get("/")  # the CSRF cookie
    csrf = always.cookies.get("zz_csrf")
    for path in (f"/book/{TOMORROW}", "/teams"):
        page = always.post(path, data={"csrf_token": csrf, "phone": "13800138000"})
        assert page.status_code == 428, (path, page.status_code)
        assert "text/html" in page.headers["content-type"]
