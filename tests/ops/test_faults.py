"""Faults during a booking rush, with real processes: a worker killed, the whole service
killed, the PostgreSQL server restarted, a backup taken. Every booking answered 201 is there
afterwards, counters equal bookings, nothing is oversold, nobody gets a 500, and the
service recovers by itself."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import TOMORROW, Service, _service_env
from tests.ops.helpers import value
from tests.ops.rush import (
    Rush,
    confirmations,
    run_cli,
    sold_out,
    sqlite_bookings,
    sqlite_day_counter,
)
from tests.support import pgcluster
from tests.support.server import Server, launch

pytestmark = pytest.mark.server

QUOTA = 60


def rush_service(tmp_path: Path, database_url: str | None = None) -> Service:
    service = Service(_service_env(tmp_path, database_url), "sqlite")
    service.env["RESERVATIONS_METRICS_ALLOW"] = "127.0.0.1"
    service.rules_file(tmp_path, individual={"daily_quota": QUOTA})
    return service


def assert_no_server_errors(rush: Rush) -> None:
    statuses = {answer.status for answer in rush.answers}
    assert statuses <= {0, 201, 409, 503}, rush.summary()
    for answer in rush.answers:
        if answer.status == 503:
            assert answer.code == "service_busy" and answer.retry_after, answer
        if answer.status == 409:
            assert answer.code == "sold_out", answer


def assert_sale_exact(rush: Rush, data_dir: Path) -> None:
    stored = sqlite_bookings(data_dir)
    confirmed = {reference for reference, status in stored.items() if status == "confirmed"}
    assert rush.confirmed() <= confirmed, "a booking answered 201 is missing"
    assert len(confirmed) <= QUOTA
    assert sqlite_day_counter(data_dir, TOMORROW) == len(confirmed)


def no_drift(env: dict[str, str]) -> None:
    recount = run_cli(env, "check")
    assert recount.returncode == 0, recount.stdout + recount.stderr
    assert "0 drifted" in recount.stdout


def test_a_worker_killed_mid_rush_loses_nothing_and_is_replaced(tmp_path: Path) -> None:
    service = rush_service(tmp_path)
    server: Server = launch(service.env, tmp_path, workers=2)
    try:
        rush = Rush(server.base_url, TOMORROW)
        threads = rush.start()
        rush.wait_for(confirmations(15), timeout=120)
        victim = server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        rush.wait_for(sold_out, timeout=180)
        rush.finish(threads)
        # uvicorn's supervisor starts a new worker in its place.
        deadline = time.monotonic() + 120
        while victim in server.worker_pids() or len(server.serving_workers()) < 2:
            assert time.monotonic() < deadline, "no worker replaced the killed one"
            time.sleep(0.1)
        scraped = httpx.get(f"{server.base_url}/metrics", timeout=30).text
        assert value(scraped, "reservations_worker_processes") == 2
        booked = value(
            scraped, "reservations_bookings_total", channel="individual", outcome="confirmed"
        )
        # The killed worker's counts stay (its file does), the new worker's add to them.
        assert booked >= len(rush.confirmed()) - rush.summary().get(0, 0)
    finally:
        log = server.stop()
    assert "Traceback" not in log, log[-3000:]
    assert_no_server_errors(rush)
    assert_sale_exact(rush, tmp_path / "data")
    no_drift(service.env)


def test_the_whole_service_killed_mid_rush_comes_back_with_every_booking(tmp_path: Path) -> None:
    service = rush_service(tmp_path)
    server = launch(service.env, tmp_path, workers=2)
    rush = Rush(server.base_url, TOMORROW)
    threads = rush.start()
    try:
        rush.wait_for(confirmations(20), timeout=120)
        for pid in [*server.worker_pids(), server.process.pid]:
            os.kill(pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        rush.finish(threads)
    finally:
        server.stop()
    assert_no_server_errors(rush)
    assert_sale_exact(rush, tmp_path / "data")
    no_drift(service.env)

    again = launch(service.env, tmp_path, workers=2)
    try:
        rest = Rush(again.base_url, TOMORROW)
        rest._numbers = iter(range(10_000, 20_000))  # type: ignore[assignment]
        threads = rest.start()
        rest.wait_for(sold_out, timeout=180)
        rest.finish(threads)
    finally:
        log = again.stop()
    assert "Traceback" not in log, log[-3000:]
    assert_no_server_errors(rest)
    stored = sqlite_bookings(tmp_path / "data")
    confirmed = {reference for reference, status in stored.items() if status == "confirmed"}
    assert rush.confirmed() | rest.confirmed() <= confirmed
    assert len(confirmed) == QUOTA == sqlite_day_counter(tmp_path / "data", TOMORROW)
    no_drift(service.env)


def test_a_backup_taken_mid_rush_restores_every_booking_confirmed_before_it(
    tmp_path: Path,
) -> None:
    service = rush_service(tmp_path)
    server = launch(service.env, tmp_path, workers=2)
    archive = tmp_path / "mid-rush.tar.gz"
    try:
        rush = Rush(server.base_url, TOMORROW)
        threads = rush.start()
        rush.wait_for(confirmations(20), timeout=120)
        began = time.monotonic()
        made = run_cli(service.env, "backup", str(archive), "--with-data-key")
        assert made.returncode == 0, made.stderr
        rush.wait_for(sold_out, timeout=180)
        rush.finish(threads)
    finally:
        log = server.stop()
    assert "Traceback" not in log, log[-3000:]
    before = rush.confirmed(before=began)
    assert len(before) >= 20

    restored_dir = tmp_path / "restored"
    restored_env = dict(service.env, RESERVATIONS_DATA_DIR=str(restored_dir))
    done = run_cli(restored_env, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    stored = sqlite_bookings(restored_dir)
    assert all(stored.get(reference) == "confirmed" for reference in before)
    assert sqlite_day_counter(restored_dir, TOMORROW) == len(stored)
    no_drift(restored_env)


@pytest.mark.postgres
def test_a_postgresql_restart_mid_rush_answers_503_then_recovers(tmp_path: Path) -> None:
    cluster = pgcluster.start(durable_commits=True)
    try:
        name = f"t_{uuid.uuid4().hex[:12]}"
        service = rush_service(tmp_path, cluster.create_database(name))
        server = launch(service.env, tmp_path, workers=2)
        try:
            rush = Rush(server.base_url, TOMORROW)
            threads = rush.start()
            rush.wait_for(confirmations(15), timeout=120)
            cluster.halt()
            halted = len(rush.answers)
            rush.wait_for(lambda answers: len(answers) >= halted + 30, timeout=120)
            ready = httpx.get(f"{server.base_url}/health/ready", timeout=30)
            assert ready.status_code == 503
            assert ready.json()["error"]["details"]["checks"]["database"] == "down"
            assert httpx.get(f"{server.base_url}/health", timeout=30).status_code == 200
            cluster.resume()
            rush.wait_for(sold_out, timeout=240)
            rush.finish(threads)
            assert httpx.get(f"{server.base_url}/health/ready", timeout=30).status_code == 200
        finally:
            log = server.stop()
        assert "Traceback" not in log, log[-3000:]
        assert_no_server_errors(rush)
        assert any(answer.status == 503 for answer in rush.answers[halted:])
        rows = cluster.psql("SELECT reference FROM booking WHERE status = 'confirmed'", name)
        confirmed = set(rows.split())
        assert rush.confirmed() <= confirmed
        assert len(confirmed) == QUOTA
        counter = cluster.psql(
            f"SELECT booked FROM capacity_counter WHERE day = '{TOMORROW}' AND slot_id = '*'",
            name,
        )
        assert int(counter) == QUOTA
        no_drift(service.env)
    finally:
        cluster.stop()
