"""The home page: the calendar of the next days, in plain words."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import admin_headers, set_clock
from tests.visitor.support import adult, book_ok


def day_block(html: str, day: str) -> str:
    match = re.search(
        rf'<li class="day [^"]*" id="d-{day}">(.*?)</li>\s*(?=<li class="day|</ol>)', html, re.S
    )
    assert match, day
    return match.group(1)


def test_each_bookable_day_lists_its_slots_and_places_left(client: TestClient) -> None:
    book_ok(client, adult())
    html = client.get("/").text
    tuesday = day_block(html, "2026-03-10")
    assert "3月10日 周二" in tuesday and "可预约" in tuesday
    assert 'href="/book/2026-03-10?slot=0900"' in tuesday
    assert "剩余249个名额" in tuesday and tuesday.count("剩余250个名额") == 3
    assert 'href="/book/2026-03-15?slot=1500"' in html  # the seventh day ahead


def test_days_that_cannot_be_booked_say_why(client: TestClient) -> None:
    headers = admin_headers(client)
    client.put("/api/v1/admin/days/2026-03-12", json={"individual_quota": 0}, headers=headers)
    client.put(
        "/api/v1/admin/days/2026-03-13", json={"closed": True, "note": "设备检修"}, headers=headers
    )
    html = client.get("/").text
    assert "本馆每周一闭馆。" in day_block(html, "2026-03-09")  # today, a Monday
    assert "本馆每周一闭馆。" in day_block(html, "2026-03-16")
    assert "名额已约满" in day_block(html, "2026-03-12")
    assert "本日闭馆：设备检修" in day_block(html, "2026-03-13")
    assert "尚未开放预约，3月10日 周二 00:00起可预约。" in day_block(html, "2026-03-17")
    assert 'href="/book/2026-03-12' not in html
    # The month-like grid links every day to its explanation.
    assert 'href="#d-2026-03-12"' in html and "3月12日 周四 已约满" in html


def test_today_cannot_be_booked_and_says_so(client: TestClient) -> None:
    set_clock(client, "2026-03-10T08:00:00+08:00")
    html = client.get("/").text
    assert "不接受当天预约：请至少提前1天预约。" in day_block(html, "2026-03-10")


def test_the_home_page_links_to_my_bookings_teams_and_staff(client: TestClient) -> None:
    html = client.get("/").text
    for link in ('href="/my"', 'href="/teams"', 'href="/staff/login"'):
        assert link in html
    assert re.search(
        r'<link rel="stylesheet" href="/static/visitor/visitor\.[0-9a-f]{12}\.css">', html
    )


def test_the_home_page_in_english(client: TestClient) -> None:
    client.cookies.set("lang", "en")
    html = client.get("/").text
    assert '<html lang="en">' in html
    assert "Choose a day and a time slot" in html and "Tue 10 Mar" in html
    assert "The museum is closed on Mondays." in html
    assert "250 places left" in html
    assert "Not open for booking yet: bookings open on Tue 10 Mar 00:00." in html


def test_assets_are_served_here_and_small(client: TestClient) -> None:
    html = client.get("/book/2026-03-10").text
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        response = client.get(asset)
        assert response.status_code == 200, asset
        if asset.startswith("/static/visitor/"):
            assert len(response.content) < 16_000, asset
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
    assert " style=" not in html and "<script>" not in html and " onclick" not in html
