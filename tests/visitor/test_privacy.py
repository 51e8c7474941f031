"""After booking, no page shows a full document number, phone number or name, and the
visitor's personal data never travels in a URL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.visitor.support import PHONE, adult, book_ok, child, csrf


def test_no_page_shows_personal_data_after_booking(client: TestClient) -> None:
    grown, kid = adult("欧阳明月"), child()
    reference, token = book_ok(client, grown, kid, email="mingyue@example.com")
    secrets = (grown["id_number"], kid["id_number"], PHONE, "欧阳明月", "mingyue@example.com")
    lookup = {
        "csrf_token": csrf(client),
        "phone": PHONE,
        "id_type": "resident_id",
        "id_number": grown["id_number"],
    }
    pages = {
        "link": client.get(f"/my/{reference}/{token}?booked=1").text,
        "print": client.get(f"/my/{reference}/{token}/print").text,
        "calendar": client.get(f"/my/{reference}/{token}/calendar.ics").text,
        "lookup": client.post("/my", data=lookup).text,
        "home": client.get("/").text,
    }
    for name, text in pages.items():
        for secret in secrets:
            assert secret not in text, (name, secret)
    assert "欧**月" in pages["link"] and "138****8000" in pages["link"]
    masked = grown["id_number"][:4] + "*" * 10 + grown["id_number"][-4:]
    assert masked in pages["link"] and masked in pages["lookup"]


def test_forms_post_personal_data_and_links_never_carry_it(client: TestClient) -> None:
    for path in ("/book/2026-03-10", "/my"):
        html = client.get(path).text
        for form in re.findall(r"<form[^>]*>", html):
            assert 'method="post"' in form, form
    grown = adult()
    response = client.post(
        "/book/2026-03-10",
        data={"csrf_token": csrf(client), "visitor_id_number": grown["id_number"]},
        follow_redirects=False,
    )
    assert grown["id_number"] not in response.headers.get("location", "")
