"""The team pages are part of the visitor's site: the same navigation, the same words."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def options(html: str, select_id: str) -> list[str]:
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert select, select_id
    return [label.strip() for label in re.findall(r"<option[^>]*>([^<]*)</option>", select[1])]


def test_team_pages_share_the_visitor_navigation(client: TestClient) -> None:
    for path in ("/teams", "/teams/requests/ZZ7K2M9Q"):
        html = client.get(path).text
        nav = re.search(r'<nav class="visitor-nav" aria-label="主导航">(.*?)</nav>', html, re.S)
        assert nav, path
        assert 'href="/teams" aria-current="page"' in nav[1]
        assert 'href="/my"' in nav[1] and 'href="/"' in nav[1]


def test_document_types_have_one_name_on_every_form(client: TestClient) -> None:
    booking = options(client.get("/book/2026-03-10").text, "id_type-0")
    team = options(client.get("/teams").text, "leader_id_type")
    lookup = options(client.get("/my").text, "id_type")
    assert booking == team == lookup
    assert booking[0] == "身份证（含港澳台居住证）"
