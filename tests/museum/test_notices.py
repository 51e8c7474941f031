"""The museum shows itself: address, hours and directions from the rules, and notices that
admins post (audited), on the home page and with every booking."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlmodel import SQLModel

from reservations import db
from tests.admin.test_pages import sign_in
from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.support import people
from tests.teams.helpers import staff_headers


def post_notice(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/admin/notices", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def audit_actions(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    entries = client.get("/api/v1/admin/audit?limit=20", headers=headers).json()["entries"]
    return [entry for entry in entries if entry["action"].startswith("notice.")]


def test_notices_show_while_current_and_every_change_is_audited(client: TestClient) -> None:
    admin = admin_headers(client)
    now = post_notice(client, admin, text="今日二层展区维护。", text_en="Floor 2 is closed today.")
    later = post_notice(client, admin, text="下周起延长开放。", starts_on="2026-03-16")
    post_notice(client, admin, text="已经过去的公告。", ends_on="2026-03-08")
    shown = client.get("/api/v1/museum").json()
    assert [notice["text"] for notice in shown["notices"]] == ["今日二层展区维护。"]
    assert shown["address"] and shown["directions"] and shown["map_url"].startswith("https://")
    assert shown["hours"] == {
        "opens": "09:00",
        "closes": "17:00",
        "last_entry": "16:00",
        "closed_weekdays": ["monday"],
    }

    changed = client.put(
        f"/api/v1/admin/notices/{now['id']}",
        json={"text": "今日二层展区维护，其余照常。", "ends_on": "2026-03-09"},
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json()["text_en"] == ""
    assert client.delete(f"/api/v1/admin/notices/{later['id']}", headers=admin).status_code == 204
    assert client.delete(f"/api/v1/admin/notices/{later['id']}", headers=admin).status_code == 404

    entries = audit_actions(client, admin)
    assert [entry["action"] for entry in entries][:3] == [
        "notice.delete",
        "notice.update",
        "notice.create",
    ]
    update = entries[1]
    assert update["actor"] == "admin" and update["target"] == f"notice:{now['id']}"
    assert update["before"]["text"] == "今日二层展区维护。"
    assert update["after"]["text"] == "今日二层展区维护，其余照常。"

    set_clock(client, "2026-03-10T09:00:00+08:00")
    assert client.get("/api/v1/museum").json()["notices"] == []


def test_only_admins_post_notices_and_nonsense_is_refused(client: TestClient) -> None:
    admin = admin_headers(client)
    staff = staff_headers(client, admin)
    body = {"text": "公告"}
    assert client.post("/api/v1/admin/notices", json=body).status_code == 401
    assert client.post("/api/v1/admin/notices", json=body, headers=staff).status_code == 403
    for bad in (
        {"text": ""},
        {"text": "x" * 501},
        {"text": "公告", "starts_on": "2026-03-12", "ends_on": "2026-03-11"},
        {"text": "公告", "colour": "red"},
        {"text": "公告\u0000"},
    ):
        response = client.post("/api/v1/admin/notices", json=bad, headers=admin)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "validation_error"
    assert client.get("/api/v1/admin/notices", headers=admin).json() == {"notices": []}


def test_the_home_page_and_the_booking_show_the_museum_and_its_notices(
    client: TestClient,
) -> None:
    admin = admin_headers(client)
    post_notice(client, admin, text="3月14日二层展区维护。", text_en="Floor 2 closed on 14 March.")
    home = client.get("/").text
    assert "3月14日二层展区维护。" in home
    assert "河南省郑州市高新技术产业开发区" in home
    assert "09:00–17:00，16:00停止入馆。" in home and "每周一闭馆。" in home
    assert "在地图应用中搜索“郑州网络安全科技馆”" in home
    assert 'href="https://uri.amap.com/search?keyword=' in home

    body = people.booking(TOMORROW)
    booking = client.post("/api/v1/bookings", json=body).json()
    page = client.get(f"/my/{booking['reference']}/{booking['manage_token']}?booked=1").text
    assert "3月14日二层展区维护。" in page and "河南省郑州市高新技术产业开发区" in page
    assert "16:00停止入馆" in page

    client.cookies.set("lang", "en")
    english = client.get("/").text
    assert "Floor 2 closed on 14 March." in english
    assert "Zhengzhou High-tech Industrial Development Zone" in english
    assert "09:00–17:00, last entry 16:00." in english


def test_the_address_is_a_rule_admins_change_with_the_rest(client: TestClient) -> None:
    admin = admin_headers(client)
    patch = {"museum": {"address": "郑州市高新区某路1号", "phone": "0371-00000000"}}
    assert client.patch("/api/v1/admin/rules", json=patch, headers=admin).status_code == 200
    home = client.get("/").text
    assert "郑州市高新区某路1号" in home and 'href="tel:0371-00000000"' in home
    bad = client.patch(
        "/api/v1/admin/rules", json={"museum": {"map_url": "javascript:alert(1)"}}, headers=admin
    )
    assert bad.status_code == 422
    nul = {"museum": {"address": "地址\u0000"}}
    assert client.patch("/api/v1/admin/rules", json=nul, headers=admin).status_code == 422


def test_admins_post_change_and_delete_notices_in_the_console(client: TestClient) -> None:
    token = sign_in(client)
    page = client.get("/admin/notices")
    assert page.status_code == 200 and "发布公告" in page.text
    posted = client.post(
        "/admin/notices",
        data={"csrf_token": token, "text": "春节期间闭馆三天。", "text_en": "", "starts_on": ""},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    assert "春节期间闭馆三天。" in client.get("/").text
    notice_id = client.get("/api/v1/museum").json()["notices"][0]["id"]

    refused = client.post(
        f"/admin/notices/{notice_id}",
        data={"csrf_token": token, "text": "春节闭馆", "starts_on": "2026-02-30"},
    )
    assert refused.status_code == 422 and "年-月-日" in refused.text
    changed = client.post(
        f"/admin/notices/{notice_id}",
        data={"csrf_token": token, "text": "春节期间闭馆四天。", "ends_on": "2026-03-20"},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert "春节期间闭馆四天。" in client.get("/").text
    deleted = client.post(
        f"/admin/notices/{notice_id}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert deleted.status_code == 303
    assert "春节期间" not in client.get("/").text
    forged = client.post("/admin/notices", data={"csrf_token": "x" * 30, "text": "伪造"})
    assert forged.status_code == 403


@pytest.mark.empty_database
def test_the_migrated_notice_table_matches_the_model(any_client: TestClient) -> None:
    with db.get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        differences = [
            d for d in compare_metadata(context, SQLModel.metadata) if "'notice'" in str(d)
        ]
    assert differences == []
