"""/health stays a cheap liveness answer; /health/ready says whether this server can serve."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reservations.bootstrap import reset_process_state
from tests.conftest import Service, start_in_process
from tests.protection.conftest import RedisServer, start_redis
from tests.support.pgcluster import free_port


def test_ready_when_the_database_answers(any_client: TestClient) -> None:
    ready = any_client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert any_client.get("/health").json() == {"status": "ok"}


@pytest.fixture
def redis_client(
    sqlite_service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, RedisServer]]:
    server = start_redis(tmp_path)
    sqlite_service.env["RESERVATIONS_REDIS_URL"] = server.url
    try:
        with start_in_process(sqlite_service, monkeypatch) as test_client:
            yield test_client, server
    finally:
        server.stop()
        reset_process_state()


def test_not_ready_when_redis_is_away(redis_client: tuple[TestClient, RedisServer]) -> None:
    client, server = redis_client
    assert client.get("/health/ready").json()["checks"] == {"database": "ok", "redis": "ok"}
    server.stop()
    down = client.get("/health/ready")
    assert down.status_code == 503
    assert down.headers["retry-after"] == "5"
    error = down.json()["error"]
    assert error["code"] == "not_ready"
    assert error["details"]["checks"] == {"database": "ok", "redis": "down"}
    assert client.get("/health").status_code == 200


def test_not_ready_answers_in_the_error_shape_in_english(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_service.env["RESERVATIONS_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    with start_in_process(sqlite_service, monkeypatch) as client:
        down = client.get("/health/ready", headers={"Accept-Language": "en"})
    reset_process_state()
    assert down.status_code == 503
    assert down.json()["error"]["message"].startswith("The service is not ready")
