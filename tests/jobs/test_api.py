"""POST /api/v1/admin/jobs/{name}/run and GET /api/v1/admin/jobs, and ``reservations
run-job``: admins only, every job by name, the history of runs."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from reservations import cli
from reservations.jobs.registry import JOBS
from tests.conftest import REPO, TOMORROW, Service, admin_headers, set_clock
from tests.gate.factories import staff_headers
from tests.jobs.helpers import book, error_code, run_job
from tests.support import people

NAMES = [
    "mark-no-shows",
    "reset-occupancy",
    "purge-personal-data",
    "send-reminders",
    "expire-team-requests",
    "check-counters",
    "backup",
    "process-waiting-list",
]


def test_every_job_runs_on_demand_and_is_recorded(any_client: TestClient) -> None:
    admin = admin_headers(any_client)
    book(any_client, TOMORROW, people.visitor("周十"))
    set_clock(any_client, "2026-03-10T17:05:00+08:00")
    admin = admin_headers(any_client)
    results = {name: run_job(any_client, name, admin) for name in NAMES}
    assert results["mark-no-shows"]["no_shows"] == 1
    assert results["reset-occupancy"] == {
        "day": "2026-03-10",
        "days_closed": 1,
        "people_counted_out": 0,
        "tickets_checked_out": 0,
    }
    assert results["purge-personal-data"]["bookings_erased"] == 0
    assert results["send-reminders"]["day"] == "2026-03-11"
    assert results["expire-team-requests"] == {"expired": 0}
    assert results["check-counters"]["drift"] == 0
    assert results["backup"]["archive"].startswith("reservations-backup-")
    assert results["process-waiting-list"]["offered"] == 0

    listed = any_client.get("/api/v1/admin/jobs", headers=admin)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["scheduler"] == "rehearsal"
    assert [job["name"] for job in body["jobs"]] == NAMES
    schedule = {job["name"]: job["schedule"] for job in body["jobs"]}
    assert schedule["mark-no-shows"] == {
        "daily_at": "17:00",
        "every_minutes": None,
        "next_run_at": None,
    }
    assert schedule["send-reminders"]["daily_at"] == "18:00"
    assert schedule["process-waiting-list"] == {
        "daily_at": None,
        "every_minutes": 1,
        "next_run_at": None,
    }
    runs = body["runs"]
    assert [run["job"] for run in runs] == list(reversed(NAMES))
    for run in runs:
        assert run["trigger"] == "manual" and run["outcome"] == "succeeded"
        assert run["occurrence"] is None and run["finished_at"] >= run["started_at"]
    last = {job["name"]: job["last_run"] for job in body["jobs"]}
    assert last["mark-no-shows"]["result"] == results["mark-no-shows"]

    only = any_client.get("/api/v1/admin/jobs?job=send-reminders&limit=1", headers=admin)
    assert [run["job"] for run in only.json()["runs"]] == ["send-reminders"]

    audit = any_client.get("/api/v1/admin/audit?limit=5", headers=admin).json()["entries"]
    assert audit[0]["action"] == "job.run" and audit[0]["target"] == NAMES[-1]


def test_only_admins_run_jobs_and_names_are_checked(client: TestClient) -> None:
    anonymous = client.post("/api/v1/admin/jobs/mark-no-shows/run")
    assert anonymous.status_code == 401 and error_code(anonymous) == "unauthorized"
    staff = staff_headers(client)
    forbidden = client.post("/api/v1/admin/jobs/mark-no-shows/run", headers=staff)
    assert forbidden.status_code == 403 and error_code(forbidden) == "forbidden"
    assert client.get("/api/v1/admin/jobs", headers=staff).status_code == 403

    unknown = client.post("/api/v1/admin/jobs/drop-tables/run", headers=admin_headers(client))
    assert unknown.status_code == 404 and error_code(unknown) == "not_found"
    unknown_filter = client.get("/api/v1/admin/jobs?job=nope", headers=admin_headers(client))
    assert unknown_filter.status_code == 404
    assert client.get("/api/v1/admin/jobs", headers=admin_headers(client)).json()["runs"] == []


def test_a_failing_job_answers_503_and_is_recorded(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("13800138000 is not reachable")  # a message that must not leak

    job = JOBS["send-reminders"]
    monkeypatch.setitem(JOBS, job.name, dataclasses.replace(job, run=broken))
    admin = admin_headers(client)
    failed = client.post("/api/v1/admin/jobs/send-reminders/run", headers=admin)
    assert failed.status_code == 503 and error_code(failed) == "job_failed"
    assert "13800138000" not in failed.text
    [run] = client.get("/api/v1/admin/jobs", headers=admin).json()["runs"]
    assert run["outcome"] == "failed" and run["result"] == {"error": "RuntimeError"}
    assert failed.json()["error"]["details"] == {"run_id": run["id"], "error": "RuntimeError"}


def _command(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESERVATIONS_")}
    env.update(service.env)
    return subprocess.run(
        [sys.executable, "-m", "reservations.cli", "run-job", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_run_job_command_uses_the_service_clock(
    sqlite_service: Service, client: TestClient
) -> None:
    created = book(client, TOMORROW)
    set_clock(client, "2026-03-10T17:30:00+08:00")
    done = _command(sqlite_service, "mark-no-shows")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["job"] == "mark-no-shows" and answer["outcome"] == "succeeded"
    assert answer["result"] == {"through": "2026-03-10", "no_shows": 1, "strikes": 1, "bans": 0}
    status = client.get(
        f"/api/v1/bookings/{created['reference']}",
        headers={"X-Booking-Token": created["manage_token"]},
    ).json()["status"]
    assert status == "no_show"
    [run] = client.get("/api/v1/admin/jobs", headers=admin_headers(client)).json()["runs"]
    assert run["trigger"] == "command"


@pytest.mark.parametrize("args", [["no-such-job"], [], ["mark-no-shows", "--due"]])
def test_run_job_command_wants_one_job_or_due(args: list[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run-job", *args])
    assert stopped.value.code == 2
