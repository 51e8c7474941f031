"""Shared fixtures: the service on SQLite or on a real PostgreSQL server, in-process or as
real worker processes, with its clock frozen at a known instant."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from reservations import db
from reservations.accounts import passwords
from reservations.app import create_app
from reservations.bootstrap import reset_process_state
from tests.support import pgcluster, server
from tests.support.server import REPO as REPO  # where tests find the repository's files
from tests.support.server import Server, launch, rules_file

# A Monday (closed): Tuesday 2026-03-10 is the first day individuals can book.
FAKE_NOW = "2026-03-09T10:00:00+08:00"
TOMORROW = date(2026, 3, 10)
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-password-for-tests"


SQLITE_FILE = "reservations.sqlite3"
MIGRATED_TEMPLATE = "migrated_template"


# --- markers from the fixtures a test uses ---------------------------------------------------

# Each marker says what a test needs, read from the fixtures it asks for (and from the
# database it is parametrised with), so that ``-m "not browser"`` or ``-m "not postgres"``
# leaves out every such test, not only those someone remembered to mark.
MARKERS_BY_FIXTURE = {
    "browser": "browser",
    "postgres": "postgres",
    "postgres_service": "postgres",
    "live": "server",
}
# Tests that start real processes (servers, Chromium, PostgreSQL clusters of their own) run
# one after another on one worker under ``pytest -n``: side by side on a small machine they
# would time each other out. The rest spread over the workers.
SERIAL_GROUP = "processes"
SERIAL_MARKERS = ("browser", "server", "slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in MARKERS_BY_FIXTURE.items():
            if fixture in names:
                item.add_marker(marker)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("service") == "postgres":
            item.add_marker("postgres")
        if any(item.get_closest_marker(marker) for marker in SERIAL_MARKERS):
            item.add_marker(pytest.mark.xdist_group(SERIAL_GROUP))


@pytest.fixture(autouse=True)
def _processes_only_where_marked(request: pytest.FixtureRequest) -> Iterator[None]:
    """Starting the service as real processes is allowed only in tests marked ``server``
    (or ``slow``, which tests written before ``server`` existed use for it)."""
    node = request.node
    server.allow_processes(any(node.get_closest_marker(name) for name in ("server", "slow")))
    yield
    server.allow_processes(None)


@pytest.fixture(scope="session", autouse=True)
def _first_admin_hashed_once() -> Iterator[None]:
    """Argon2id is slow on purpose (a third of a second of CPU and 64 MiB a hash), and every
    test's service creates the same first admin: that password's hash is made once per test
    process, with the real parameters, and reused. Every other password is hashed as always,
    and every sign-in still verifies for real."""
    real = passwords.hash_password
    made: dict[str, str] = {}

    def hash_password(password: str) -> str:
        if password != ADMIN_PASSWORD:
            return real(password)
        if password not in made:
            made[password] = real(password)
        return made[password]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "hash_password", hash_password)
        yield


# --- databases: migrated once, copied per test -----------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database with every migration applied, made once per test process (each
    xdist worker has its own): each test starts from a copy instead of migrating."""
    path = tmp_path_factory.mktemp("migrated") / SQLITE_FILE
    engine = create_engine(f"sqlite:///{path}")
    try:
        db.migrate(engine)
    finally:
        engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[pgcluster.Cluster]:
    cluster = pgcluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres: pgcluster.Cluster) -> str:
    """A database with every migration applied, which each test's database is created
    from (``CREATE DATABASE ... TEMPLATE``, a file copy inside PostgreSQL)."""
    postgres.create_database(MIGRATED_TEMPLATE)
    engine = create_engine(postgres.url(MIGRATED_TEMPLATE))
    try:
        db.migrate(engine)
    finally:
        # A template must have no connections while it is copied.
        engine.dispose()
    return MIGRATED_TEMPLATE


def migrates_from_scratch(request: pytest.FixtureRequest) -> bool:
    """Tests of the migrations themselves start from an empty database."""
    return request.node.get_closest_marker("empty_database") is not None


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
def sqlite_service(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    service = Service(_service_env(tmp_path, None), "sqlite")
    if not migrates_from_scratch(request):
        template: Path = request.getfixturevalue("sqlite_template")
        data_dir = Path(service.env["RESERVATIONS_DATA_DIR"])
        data_dir.mkdir(mode=0o700)
        shutil.copyfile(template, data_dir / SQLITE_FILE)
    return service


@pytest.fixture
def postgres_service(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: pgcluster.Cluster
) -> Iterator[Service]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    template = (
        None if migrates_from_scratch(request) else request.getfixturevalue("postgres_template")
    )
    url = postgres.create_database(name, template=template)
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
