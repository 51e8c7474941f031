"""Shared fixtures: the service on SQLite or on a real PostgreSQL server, in-process or as
real worker processes, with its clock frozen at a known instant."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from reservations.app import create_app
from reservations.bootstrap import reset_process_state
from tests.support import pgcluster
from tests.support.server import REPO as REPO  # where tests find the repository's files
from tests.support.server import Server, launch, rules_file

# A Monday (closed): Tuesday 2026-03-10 is the first day individuals can book.
FAKE_NOW = "2026-03-09T10:00:00+08:00"
TOMORROW = date(2026, 3, 10)
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-password-for-tests"


@pytest.fixture(scope="session")
def postgres() -> Iterator[pgcluster.Cluster]:
    cluster = pgcluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _service_env(tmp_path: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {
        "RESERVATIONS_DATA_DIR": str(tmp_path / "data"),
        "RESERVATIONS_FAKE_NOW": FAKE_NOW,
        "RESERVATIONS_ADMIN_USERNAME": ADMIN_USERNAME,
        "RESERVATIONS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "RESERVATIONS_RATE_LIMITS": "off",
    }
    if database_url:
        env["RESERVATIONS_DATABASE_URL"] = database_url
    env.update(extra)
    return env


class Service:
    """Where a test's service keeps its state, and how to reach it."""

    def __init__(self, env: dict[str, str], backend: str) -> None:
        self.env = env
        self.backend = backend

    def rules_file(self, tmp_path: Path, **sections: dict[str, Any]) -> None:
        """Start from museum.toml with some values changed (before the service starts)."""
        self.env["RESERVATIONS_MUSEUM_CONFIG"] = str(rules_file(tmp_path, sections))


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Service:
    return Service(_service_env(tmp_path, None), "sqlite")


@pytest.fixture
def postgres_service(tmp_path: Path, postgres: pgcluster.Cluster) -> Iterator[Service]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name)
    yield Service(_service_env(tmp_path, url), "postgres")
    reset_process_state()
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest) -> Service:
    """The service on each database in turn."""
    return request.getfixturevalue(f"{request.param}_service")  # type: ignore[no-any-return]


def start_in_process(service: Service, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    for key in [k for k in os.environ if k.startswith("RESERVATIONS_")]:
        monkeypatch.delenv(key)
    for key, item in service.env.items():
        monkeypatch.setenv(key, item)
    reset_process_state()
    return TestClient(create_app(), raise_server_exceptions=False)


@pytest.fixture
def client(sqlite_service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The service on SQLite, in this process."""
    with start_in_process(sqlite_service, monkeypatch) as test_client:
        yield test_client
    reset_process_state()


@pytest.fixture
def any_client(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The service in this process, once on SQLite and once on PostgreSQL."""
    with start_in_process(service, monkeypatch) as test_client:
        yield test_client
    reset_process_state()


def admin_headers(client: TestClient | httpx.Client) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token", data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def set_clock(client: TestClient | httpx.Client, instant: str | datetime) -> None:
    value = instant.isoformat() if isinstance(instant, datetime) else instant
    response = client.put("/api/v1/test/clock", json={"now": value})
    assert response.status_code == 200, response.text


LiveServer = Server


def start_server(service: Service, tmp_path: Path, workers: int = 2) -> Server:
    """``reservations serve`` as real worker processes on a free loopback port."""
    return launch(service.env, tmp_path, workers)


def stop_server(server: Server) -> str:
    return server.stop()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def live(sqlite_service: Service, tmp_path: Path) -> Iterator[LiveServer]:
    """The service as a real process (one worker, SQLite) for browser tests."""
    server = start_server(sqlite_service, tmp_path, workers=1)
    try:
        yield server
    finally:
        log = stop_server(server)
        assert "Traceback" not in log, log[-3000:]


PHONE_VIEWPORT = {"width": 390, "height": 844}
