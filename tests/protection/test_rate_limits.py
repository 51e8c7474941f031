"""Rate limits on booking and lookup: per client address (generous: carrier NAT) and per
phone or document number (tight), answered with 429 rate_limited and Retry-After."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reservations.app import create_app
from reservations.bootstrap import reset_process_state
from reservations.protection.identities import address_key
from tests.conftest import TOMORROW, Service, admin_headers, start_in_process
from tests.support import people


def book(client: TestClient, index: int, phone: str = "13800138000", **headers: str):
    body = people.booking(
        TOMORROW, phone=phone, visitors=[people.visitor(born=date(1980, 1, 1), sequence=index)]
    )
    return client.post("/api/v1/bookings", json=body, headers=headers)


def lookup(client: TestClient, phone: str, id_number: str):
    body = {"phone": phone, "id_type": "resident_id", "id_number": id_number}
    return client.post("/api/v1/bookings/lookup", json=body)


def assert_rate_limited(response) -> int:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["message"]
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    assert error["details"] == {"retry_after": retry_after}
    return retry_after


def test_one_phone_gets_ten_bookings_a_minute(limited: TestClient) -> None:
    statuses = [book(limited, index).status_code for index in range(10)]
    assert statuses == [201] * 10
    retry_after = assert_rate_limited(book(limited, 10))
    # 10/minute: the next place in the bucket comes free within six seconds.
    assert 1 <= retry_after <= 6
    # Another phone from the same address is not held back.
    assert book(limited, 11, phone="13900139000").status_code == 201


def test_the_limit_message_follows_the_language(limited: TestClient) -> None:
    for index in range(10):
        book(limited, index)
    response = limited.post(
        "/api/v1/bookings",
        json=people.booking(TOMORROW, visitors=[people.visitor(sequence=99)]),
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 429
    assert response.json()["error"]["message"].startswith("Too many requests")


def test_one_document_number_is_limited_whatever_the_phone(limited: TestClient) -> None:
    id_number = people.resident_id(sequence=7)
    phones = [f"1380013{index:04d}" for index in range(11)]
    statuses = [lookup(limited, phone, id_number).status_code for phone in phones]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    # Written differently (lower-case x, spaces), it is the same document.
    other = "11010519491231002X"
    for _ in range(10):
        assert lookup(limited, "13700137000", other).status_code == 200
    assert_rate_limited(lookup(limited, "137 0013 7001", f" {other.lower()} "))


def test_dashes_and_full_width_digits_are_the_same_document(limited: TestClient) -> None:
    id_number = people.resident_id(sequence=8)
    spellings = [
        id_number,
        f"{id_number[:6]}-{id_number[6:14]}-{id_number[14:]}",
        "".join(chr(ord(c) + 0xFEE0) for c in id_number),
        f"{id_number[:4]}\u2014{id_number[4:]}",
    ]
    phones = iter(f"1350013{index:04d}" for index in range(20))
    for index in range(10):
        assert lookup(limited, next(phones), spellings[index % 4]).status_code == 200
    for spelling in spellings:
        assert_rate_limited(lookup(limited, next(phones), spelling))


def test_a_passport_is_limited_under_every_spelling(limited: TestClient) -> None:
    def passport_lookup(phone: str, number: str):
        body = {"phone": phone, "id_type": "passport", "id_number": number}
        return limited.post("/api/v1/bookings/lookup", json=body)

    for index in range(10):
        assert passport_lookup(f"1330013{index:04d}", "E24685506").status_code == 200
    assert_rate_limited(passport_lookup("13300139999", "Ｅ２４６８ ５５０６"))


def test_phone_numbers_written_differently_are_one_identity(limited: TestClient) -> None:
    for index in range(10):
        assert book(limited, index, phone="13800138000").status_code == 201
    assert_rate_limited(book(limited, 10, phone="+86 138-0013-8000"))
    assert_rate_limited(book(limited, 11, phone="＋８６ １３８ ００１３ ８０００"))


def test_each_visitor_of_a_booking_counts(limited: TestClient) -> None:
    shared = people.visitor(born=date(1975, 3, 3), sequence=1)
    for index in range(10):
        body = people.booking(
            TOMORROW,
            phone=f"1390013{index:04d}",
            visitors=[people.visitor(born=date(1981, 1, 1), sequence=index), shared],
        )
        # The shared visitor books once; the other attempts are refused but counted.
        assert limited.post("/api/v1/bookings", json=body).status_code in (201, 409)
    body = people.booking(TOMORROW, phone="13700137000", visitors=[shared])
    assert_rate_limited(limited.post("/api/v1/bookings", json=body))


@pytest.fixture
def narrow(limited_service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    limited_service.rules_file(
        tmp_path, protection={"rate_limit_per_ip": "5/minute", "rate_limit_per_identity": "off"}
    )
    with start_in_process(limited_service, monkeypatch) as client:
        yield client
    reset_process_state()


def test_one_address_gets_its_per_address_allowance(narrow: TestClient) -> None:
    statuses = [book(narrow, index, phone=f"1380000{index:04d}").status_code for index in range(6)]
    assert statuses == [201] * 5 + [429]
    retry_after = int(book(narrow, 6, phone="13800007777").headers["Retry-After"])
    assert 1 <= retry_after <= 12  # one request every 12 seconds
    # Booking and lookup have allowances of their own.
    assert lookup(narrow, "13800138000", people.resident_id()).status_code == 200


def test_another_address_has_its_own_allowance(
    limited_service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited_service.rules_file(
        tmp_path, protection={"rate_limit_per_ip": "3/minute", "rate_limit_per_identity": "off"}
    )
    start_in_process(limited_service, monkeypatch)
    app = create_app()
    with (
        TestClient(app, client=("203.0.113.7", 40000)) as first,
        TestClient(app, client=("203.0.113.8", 40000)) as second,
    ):
        codes = Counter(
            book(first, index, phone=f"1380000{index:04d}").status_code for index in range(5)
        )
        assert codes == {201: 3, 429: 2}
        assert book(second, 10, phone="13800009999").status_code == 201
    reset_process_state()


def test_ipv6_clients_are_counted_by_their_64_prefix() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:198.51.100.4") == "198.51.100.4"
    assert address_key("198.51.100.4") != address_key("198.51.100.5")
    assert address_key(None) == "unknown"


def test_rate_limits_off_lets_everything_through(client: TestClient) -> None:
    # The shared fixture runs with RESERVATIONS_RATE_LIMITS=off.
    statuses = Counter(book(client, index).status_code for index in range(25))
    assert statuses == {201: 25}


def test_rules_can_switch_each_limit_off(
    limited_service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited_service.rules_file(
        tmp_path, protection={"rate_limit_per_ip": "off", "rate_limit_per_identity": "off"}
    )
    with start_in_process(limited_service, monkeypatch) as client:
        statuses = Counter(book(client, index).status_code for index in range(25))
    reset_process_state()
    assert statuses == {201: 25}


def test_an_admin_change_to_the_limits_applies_at_once(limited: TestClient) -> None:
    headers = admin_headers(limited)
    response = limited.patch(
        "/api/v1/admin/rules",
        json={"protection": {"rate_limit_per_identity": "2/hour"}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert [book(limited, index).status_code for index in range(3)] == [201, 201, 429]
    retry_after = int(book(limited, 3).headers["Retry-After"])
    assert 1700 <= retry_after <= 1800  # one every half hour


def test_form_posts_are_limited_per_phone_field(limited: TestClient) -> None:
    # Pages post forms; the guard reads the phone field whatever the endpoint makes of it.
    statuses = []
    for index in range(11):
        response = limited.post(
            "/api/v1/bookings",
            data={"phone": "138 0013 8000", "id_number": people.resident_id(sequence=index)},
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429


def test_a_limited_request_never_reaches_the_database(limited: TestClient) -> None:
    for index in range(10):
        book(limited, index)
    refused = [book(limited, 100 + index).status_code for index in range(5)]
    assert refused == [429] * 5
    day = limited.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}").json()
    assert day["days"][0]["individual"]["booked"] == 10


@pytest.fixture
def redis_limited(
    limited_service: Service, redis_server, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    limited_service.env["RESERVATIONS_REDIS_URL"] = redis_server.url
    with start_in_process(limited_service, monkeypatch) as client:
        yield client
    reset_process_state()


def test_with_redis_limits_live_in_redis_under_keyed_hashes(
    redis_limited: TestClient, redis_server
):
    assert [book(redis_limited, index).status_code for index in range(11)] == [201] * 10 + [429]
    keys = redis_server.client().keys("*")
    assert keys and all(key.startswith("reservations:rl:booking:") for key in keys)
    joined = " ".join(keys)
    assert "13800138000" not in joined and "testclient" not in joined
    assert all(len(key.rsplit(":", 1)[1]) == 32 for key in keys)
