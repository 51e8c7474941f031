"""/admin/jobs: the schedule, "run now" behind CSRF, the history, in Chinese and English."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi.testclient import TestClient

from reservations.jobs.registry import JOBS
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, TOMORROW, admin_headers, set_clock
from tests.gate.factories import STAFF_PASSWORD
from tests.jobs.helpers import book


def sign_in(client: TestClient, username: str, password: str) -> str:
    client.get("/staff/login")
    token = client.cookies.get("zz_csrf")
    assert token
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/staff"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return token


def test_admins_see_the_jobs_and_run_one_now(client: TestClient) -> None:
    assert client.get("/admin/jobs", follow_redirects=False).status_code == 303
    book(client, TOMORROW)
    set_clock(client, "2026-03-10T17:30:00+08:00")
    csrf = sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)

    page = client.get("/admin/jobs")
    assert page.status_code == 200
    for name in JOBS:
        assert f'action="/admin/jobs/{name}/run"' in page.text
    assert "演练模式" in page.text and "还没有运行记录" in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)|\sstyle=", page.text)

    refused = client.post("/admin/jobs/mark-no-shows/run", data={}, follow_redirects=False)
    assert refused.status_code == 403
    ran = client.post(
        "/admin/jobs/mark-no-shows/run", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert ran.status_code == 303
    location = ran.headers["location"]
    run_id = re.fullmatch(r"/admin/jobs\?ran=(\d+)#run-\1", location)
    assert run_id, location

    after = client.get(location)
    assert "“标记未到馆”已运行完毕" in after.text
    assert f'id="run-{run_id.group(1)}"' in after.text
    assert "标记未到馆的预约：1" in after.text and "手动" in after.text and "成功" in after.text
    assert "missing" not in client.get("/admin/jobs/nope/run").text  # GET is not a route

    client.cookies.set("lang", "en")
    english = client.get("/admin/jobs")
    for text in ("Scheduled jobs", "Run now", "Mark no-shows", "Bookings marked no-show: 1"):
        assert text in english.text
    assert "标记未到馆" not in english.text


def test_a_failed_run_says_so(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("boom")

    job = JOBS["purge-personal-data"]
    monkeypatch.setitem(JOBS, job.name, dataclasses.replace(job, run=broken))
    csrf = sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    after = client.post("/admin/jobs/purge-personal-data/run", data={"csrf_token": csrf})
    assert after.status_code == 200
    assert "“清除过期个人信息”运行失败" in after.text and "RuntimeError" in after.text


def test_staff_and_unknown_jobs_are_refused(client: TestClient) -> None:
    created = client.post(
        "/api/v1/admin/users",
        json={"username": "desk-staff", "password": STAFF_PASSWORD, "role": "staff"},
        headers=admin_headers(client),
    )
    assert created.status_code == 201, created.text
    csrf = sign_in(client, "desk-staff", STAFF_PASSWORD)
    assert client.get("/admin/jobs").status_code == 403
    assert (
        client.post("/admin/jobs/mark-no-shows/run", data={"csrf_token": csrf}).status_code == 403
    )
    client.cookies.clear()
    csrf = sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert client.post("/admin/jobs/nope/run", data={"csrf_token": csrf}).status_code == 404
