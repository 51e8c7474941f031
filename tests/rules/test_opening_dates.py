"""The channels' opening dates as the museum published them: individual booking opened on
2020-09-28 and team booking on 2020-10-08. Before its opening day nobody books a channel,
whatever the visit date. The museum's own calendar, replayed through the API and the pages."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import admin_headers, set_clock
from tests.support import people
from tests.teams import factories
from tests.visitor import support as visitor_form


def book(client: TestClient, day: date, born: date = date(1990, 5, 17)) -> httpx.Response:
    body = people.booking(day, visitors=[people.visitor(born=born)])
    return client.post("/api/v1/bookings", json=body)


def request_team(client: TestClient, day: date) -> httpx.Response:
    return client.post("/api/v1/team-bookings", json=factories.team_request(day))


def reasons(client: TestClient, start: date, end: date) -> dict[str, tuple[Any, Any]]:
    response = client.get(f"/api/v1/availability?start={start}&end={end}")
    assert response.status_code == 200, response.text
    return {day["date"]: (day["reason"], day["team"]["reason"]) for day in response.json()["days"]}


def refused_as_not_open(response: httpx.Response) -> bool:
    return response.status_code == 409 and response.json()["error"] == {
        "code": "booking_window",
        "message": response.json()["error"]["message"],
        "details": {"reason": "channel_not_open"},
    }


def test_the_museums_calendar_through_the_api(client: TestClient) -> None:
    # 2020-09-27: the booking system is online, neither channel has opened.
    set_clock(client, "2020-09-27T10:00:00+08:00")
    assert refused_as_not_open(book(client, date(2020, 9, 29)))
    assert refused_as_not_open(book(client, date(2020, 10, 3)))
    assert refused_as_not_open(request_team(client, date(2020, 10, 9)))
    days = reasons(client, date(2020, 9, 27), date(2020, 10, 11))
    assert {individual for individual, _team in days.values()} == {"channel_not_open"}
    assert {team for _individual, team in days.values()} == {"channel_not_open"}

    # 2020-09-28: individual booking opens (one day ahead: first visits on 09-29).
    set_clock(client, "2020-09-28T08:00:00+08:00")
    assert book(client, date(2020, 9, 29)).status_code == 201
    days = reasons(client, date(2020, 9, 28), date(2020, 10, 6))
    assert days["2020-09-28"][0] == "closed"  # a Monday (and today: too soon anyway)
    assert days["2020-09-29"][0] is None
    assert days["2020-10-05"][0] == "closed"  # a Monday
    assert days["2020-10-06"][0] == "not_released"
    assert {team for _individual, team in days.values()} == {"channel_not_open"}
    assert refused_as_not_open(request_team(client, date(2020, 10, 9)))

    # 2020-10-01: individuals book; a team request, even for a visit after 10-08, does not.
    set_clock(client, "2020-10-01T10:00:00+08:00")
    assert book(client, date(2020, 10, 2), born=date(1985, 3, 3)).status_code == 201
    assert refused_as_not_open(request_team(client, date(2020, 10, 9)))
    assert refused_as_not_open(request_team(client, date(2020, 10, 14)))
    days = reasons(client, date(2020, 10, 1), date(2020, 10, 15))
    assert {team for _individual, team in days.values()} == {"channel_not_open"}

    # 2020-10-08: team booking opens.
    set_clock(client, "2020-10-08T09:00:00+08:00")
    accepted = request_team(client, date(2020, 10, 9))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["status"] == "pending"
    days = reasons(client, date(2020, 10, 8), date(2020, 10, 10))
    assert days["2020-10-08"][1] == "too_soon"
    assert days["2020-10-09"][1] is None


def test_an_admin_moving_the_opening_date_moves_the_refusals(client: TestClient) -> None:
    set_clock(client, "2026-03-09T10:00:00+08:00")
    headers = admin_headers(client)
    patch = {"individual": {"opens_on": "2026-03-12"}}
    assert client.patch("/api/v1/admin/rules", json=patch, headers=headers).status_code == 200
    assert refused_as_not_open(book(client, date(2026, 3, 13)))
    set_clock(client, "2026-03-12T00:00:00+08:00")
    assert book(client, date(2026, 3, 13)).status_code == 201


def test_the_museums_calendar_on_the_pages(client: TestClient) -> None:
    set_clock(client, "2020-09-27T10:00:00+08:00")
    home = client.get("/").text
    assert home.count("个人预约将于2020年9月28日 星期一开放") >= 7
    form = client.get("/book/2020-09-29")
    assert form.status_code == 200
    assert "个人预约将于2020年9月28日 星期一开放" in form.text
    assert 'name="visitor_name"' not in form.text  # no form to fill in
    teams = client.get("/teams").text
    assert "团队预约将于2020年10月8日 星期四开通" in teams

    # Posting the form anyway (a page kept open from before) is refused in the same words.
    set_clock(client, "2020-09-28T08:00:00+08:00")
    hidden = visitor_form.open_form(client, date(2020, 9, 29))
    set_clock(client, "2020-09-27T23:59:00+08:00")
    refused = client.post(
        "/book/2020-09-29",
        data=visitor_form.form_data(hidden, visitor_form.adult()),
        follow_redirects=False,
    )
    assert refused.status_code == 409
    assert "个人预约将于2020年9月28日 星期一开放" in refused.text

    set_clock(client, "2020-10-01T10:00:00+08:00")
    assert "个人预约将于" not in client.get("/").text
    teams = client.get("/teams").text
    assert "团队预约将于2020年10月8日 星期四开通" in teams
    assert 'name="visit"' not in teams

    set_clock(client, "2020-10-08T09:00:00+08:00")
    teams = client.get("/teams").text
    assert "团队预约将于" not in teams
    assert 'value="2020-10-09|0900"' in teams
