"""Team leaders' page keys: random, stored as a hash only, ending with the visit day, and
renewed by proving again, which shuts out the browser that held the previous key."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from reservations import clock, db
from tests.conftest import TOMORROW, set_clock
from tests.teams import factories
from tests.teams.pages import csrf_token, form_fields, page_form, request_on_page, submit

ORGANIZATION = "郑州市第一中学"  # shown on the status page only to the key's holder


def opens(client: TestClient, reference: str) -> bool:
    page = client.get(f"/teams/requests/{reference}")
    assert page.status_code == 200
    return ORGANIZATION in page.text


def other_device(client: TestClient) -> TestClient:
    return TestClient(client.app, raise_server_exceptions=False)


def prove(client: TestClient, reference: str, body: dict[str, object]) -> None:
    leader = body["leader"]
    assert isinstance(leader, dict)
    found = page_form(
        client,
        f"/teams/requests/{reference}/find",
        {"phone": leader["phone"], "id_type": "resident_id", "id_number": leader["id_number"]},
    )
    assert found.status_code == 303, found.text


def test_the_key_is_random_stored_hashed_and_ends_with_the_visit_day(
    any_client: TestClient,
) -> None:
    reference, _body = request_on_page(any_client, day=TOMORROW)
    key = any_client.cookies.get("zz_team")
    assert key and opens(any_client, reference)
    with db.transaction(write=False) as session:
        stored = session.connection().execute(text("SELECT key_hash FROM team_page_key")).all()
    assert len(stored) == 1 and key not in stored[0].key_hash
    set_clock(any_client, clock.localize(TOMORROW, "23:59"))
    assert opens(any_client, reference)
    set_clock(any_client, clock.localize(TOMORROW + timedelta(days=1), "00:00"))
    assert not opens(any_client, reference)


def test_the_cookie_expires_with_the_key(any_client: TestClient) -> None:
    fields = form_fields(factories.team_request(day=TOMORROW))
    response = submit(any_client, fields, csrf_token(any_client))
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/teams/requests/" in cookie
    max_age = int(cookie.split("Max-Age=")[1].split(";")[0])
    end = clock.localize(TOMORROW + timedelta(days=1), "00:00")
    assert max_age == int((end - clock.now()).total_seconds())


def test_proving_again_renews_the_key_and_revokes_the_old_one(any_client: TestClient) -> None:
    reference, body = request_on_page(any_client, day=TOMORROW)
    first_key = any_client.cookies.get("zz_team")
    laptop = other_device(any_client)
    assert not opens(laptop, reference)
    prove(laptop, reference, body)
    assert opens(laptop, reference)
    assert laptop.cookies.get("zz_team") != first_key
    # The browser with the previous key is out, and cannot cancel either.
    assert not opens(any_client, reference)
    refused = page_form(any_client, f"/teams/requests/{reference}/cancel", {"confirm": "yes"})
    assert refused.status_code == 404
    # Proving again on the first device brings it back and shuts out the laptop.
    any_client.cookies.clear()
    prove(any_client, reference, body)
    assert opens(any_client, reference) and not opens(laptop, reference)


def test_a_key_for_one_request_opens_no_other(any_client: TestClient) -> None:
    first, _ = request_on_page(any_client, day=TOMORROW)
    key = any_client.cookies.get("zz_team", path=f"/teams/requests/{first}")
    second, _ = request_on_page(
        other_device(any_client), day=TOMORROW, organization="郑州市第二中学"
    )
    stranger = other_device(any_client)
    stranger.cookies.set("zz_team", key or "", path=f"/teams/requests/{second}")
    assert "郑州市第二中学" not in stranger.get(f"/teams/requests/{second}").text


def test_after_the_visit_day_proving_again_opens_nothing(any_client: TestClient) -> None:
    reference, body = request_on_page(any_client, day=TOMORROW)
    set_clock(any_client, clock.localize(TOMORROW + timedelta(days=2), "09:00"))
    any_client.cookies.clear()
    found = page_form(
        any_client,
        f"/teams/requests/{reference}/find",
        {
            "phone": body["leader"]["phone"],
            "id_type": "resident_id",
            "id_number": body["leader"]["id_number"],
        },
    )
    assert found.status_code == 404
    assert not opens(any_client, reference)
