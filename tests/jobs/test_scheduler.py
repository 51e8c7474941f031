"""Exactly once: two schedulers (threads or processes, SQLite or PostgreSQL) that fire the
same occurrence run it once; a missed occurrence is caught up at start; a run whose
process died is taken over; the scheduler follows the rules' closing time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from reservations import clock, db
from reservations.bootstrap import configure_clock
from reservations.jobs import runner, runtime
from reservations.jobs.models import JobRun, RunOutcome, RunTrigger
from reservations.jobs.scheduler import JobScheduler
from tests.conftest import REPO, Service, admin_headers, set_clock

# Tuesday 2026-03-10, after closing: mark-no-shows and reset-occupancy (17:00), the purge
# (03:00), the expiry of team requests (00:00), the recount (02:00) and the backup (03:30)
# are due today; yesterday's 18:00 reminders are too late to catch up (three hours).
AFTER_CLOSING = "2026-03-10T17:30:00+08:00"
DUE_AFTER_CLOSING = {
    "mark-no-shows",
    "reset-occupancy",
    "purge-personal-data",
    "expire-team-requests",
    "check-counters",
    "backup",
}


def scheduled_runs() -> list[tuple[str, str, str, int]]:
    with db.transaction(write=False) as session:
        result = session.connection().execute(
            text(
                "SELECT name, occurrence, outcome, attempt FROM job_run "
                "WHERE trigger = 'scheduled' ORDER BY name"
            )
        )
        return [tuple(row) for row in result]  # type: ignore[misc]


def test_two_schedulers_started_together_run_each_occurrence_once(
    any_client: TestClient,
) -> None:
    set_clock(any_client, AFTER_CLOSING)
    schedulers = [JobScheduler(holder=f"machine-{n}") for n in (1, 2)]
    starters = [threading.Thread(target=s.start) for s in schedulers]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    try:
        for scheduler in schedulers:
            assert scheduler.swept.wait(30)
        # A second sweep of each, and a trigger firing late, find nothing left to run.
        assert schedulers[0].sweep() == [] and schedulers[1].sweep() == []
        assert runner.run_scheduled("mark-no-shows", "machine-3") is None
    finally:
        for scheduler in schedulers:
            scheduler.shutdown()
    runs = scheduled_runs()
    assert {name for name, *_ in runs} == DUE_AFTER_CLOSING
    assert Counter(name for name, *_ in runs) == dict.fromkeys(DUE_AFTER_CLOSING, 1)
    assert {(occurrence, outcome) for _, occurrence, outcome, _ in runs} == {
        ("2026-03-10", "succeeded")
    }


def _run_due_in_a_process(service: Service) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESERVATIONS_")}
    env.update(service.env)
    return subprocess.Popen(
        [sys.executable, "-m", "reservations.cli", "run-job", "--due"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_two_processes_racing_for_the_same_occurrences_run_them_once(
    service: Service, any_client: TestClient
) -> None:
    set_clock(any_client, AFTER_CLOSING)
    processes = [_run_due_in_a_process(service) for _ in range(2)]
    ran: list[dict[str, Any]] = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode()
        ran.extend(json.loads(stdout)["runs"])
    assert sorted(run["job"] for run in ran) == sorted(DUE_AFTER_CLOSING)
    assert all(run["outcome"] == "succeeded" for run in ran)
    assert Counter(name for name, *_ in scheduled_runs()) == dict.fromkeys(DUE_AFTER_CLOSING, 1)


def test_a_run_whose_process_died_is_taken_over(client: TestClient) -> None:
    set_clock(client, AFTER_CLOSING)
    started = clock.now() - timedelta(hours=2)
    with db.transaction() as session:
        for name, lease_left in (("mark-no-shows", -1), ("reset-occupancy", 1)):
            session.add(
                JobRun(
                    name=name,
                    trigger=RunTrigger.SCHEDULED,
                    holder="machine-that-died",
                    occurrence="2026-03-10",
                    started_at=started,
                    lease_until=clock.now() + timedelta(minutes=lease_left),
                    outcome=RunOutcome.RUNNING,
                )
            )
    ran = {run.name: run for run in runner.run_due("machine-2")}
    assert ran["mark-no-shows"].attempt == 2 and ran["mark-no-shows"].outcome == "succeeded"
    assert ran["mark-no-shows"].holder == "machine-2"
    # A run still within its lease is alive somewhere: left alone.
    assert "reset-occupancy" not in ran

    # The history shows the live one as running and, once its lease ends, as interrupted.
    listed = client.get("/api/v1/admin/jobs?job=reset-occupancy", headers=admin_headers(client))
    assert listed.json()["runs"][0]["outcome"] == "running"
    set_clock(client, "2026-03-10T17:32:00+08:00")
    listed = client.get("/api/v1/admin/jobs?job=reset-occupancy", headers=admin_headers(client))
    assert listed.json()["runs"][0]["outcome"] == "interrupted"


def test_reminders_are_caught_up_for_three_hours_only(client: TestClient) -> None:
    set_clock(client, "2026-03-09T20:59:00+08:00")
    assert "send-reminders" in {run.name for run in runner.run_due("machine-1")}
    set_clock(client, "2026-03-10T21:01:00+08:00")
    assert "send-reminders" not in {run.name for run in runner.run_due("machine-1")}


def test_the_schedule_follows_the_rules(client: TestClient) -> None:
    scheduler = JobScheduler(holder="machine-1")
    scheduler.start()
    try:
        assert scheduler.swept.wait(30)
        times = scheduler.next_run_times()
        assert set(times) == set(runner.JOBS)
        local = {name: at.astimezone(clock.zone()) for name, at in times.items()}
        assert (local["mark-no-shows"].hour, local["mark-no-shows"].minute) == (17, 0)
        assert (local["send-reminders"].hour, local["purge-personal-data"].hour) == (18, 3)
        assert (local["expire-team-requests"].hour, local["expire-team-requests"].minute) == (0, 0)

        changed = client.patch(
            "/api/v1/admin/rules",
            json={"hours": {"closes": "18:00"}},
            headers=admin_headers(client),
        )
        assert changed.status_code == 200, changed.text
        scheduler.sweep()
        moved = scheduler.next_run_times()
        for name in ("mark-no-shows", "reset-occupancy"):
            assert moved[name].astimezone(clock.zone()).hour == 18
    finally:
        scheduler.shutdown()


def test_the_web_process_scheduler_runs_on_the_real_clock_only(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rehearsal mode (a frozen clock): the application did not start a scheduler.
    assert runtime.current() is None and not runtime.enabled()

    # With the real clock it starts and catches up with what is due today at once.
    clock.configure("Asia/Shanghai", None)
    today = clock.today()
    try:
        runtime.start()
        scheduler = runtime.current()
        assert scheduler is not None and scheduler.running
        assert scheduler.swept.wait(30)
    finally:
        runtime.stop()
        configure_clock()
    assert runtime.current() is None
    runs = scheduled_runs()
    assert runs and all(outcome == "succeeded" for _, _, outcome, _ in runs)
    assert {occurrence for _, occurrence, _, _ in runs} <= {
        today.isoformat(),
        (today - timedelta(days=1)).isoformat(),
    }

    # Switched off, as when cron runs the jobs.
    monkeypatch.setenv("RESERVATIONS_SCHEDULER", "off")
    from reservations.settings import reset_settings_cache

    reset_settings_cache()
    runtime.start()
    assert runtime.current() is None


def test_a_failed_occurrence_is_tried_again_later(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from reservations.jobs.registry import JOBS

    set_clock(client, AFTER_CLOSING)
    job = JOBS["reset-occupancy"]
    attempts: list[int] = []

    def flaky() -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("the database went away")
        return job.run()

    monkeypatch.setitem(JOBS, job.name, dataclasses.replace(job, run=flaky))
    assert {r.name: r.outcome for r in runner.run_due("m1")}["reset-occupancy"] == "failed"
    # Not at once: a sweep a few minutes later leaves it alone ...
    set_clock(client, "2026-03-10T17:35:00+08:00")
    assert runner.run_due("m1") == []
    # ... ten minutes after the failure it is tried again, and then once more.
    set_clock(client, "2026-03-10T17:41:00+08:00")
    [second] = runner.run_due("m2")
    assert (second.attempt, second.outcome) == (2, "failed")
    set_clock(client, "2026-03-10T17:52:00+08:00")
    [third] = runner.run_due("m1")
    assert (third.attempt, third.outcome, third.holder) == (3, "succeeded", "m1")
    assert third.result["day"] == "2026-03-10"
    set_clock(client, "2026-03-10T17:59:00+08:00")
    assert runner.run_due("m1") == []
    assert [(n, o, a) for n, _, o, a in scheduled_runs() if n == "reset-occupancy"] == [
        ("reset-occupancy", "succeeded", 3)
    ]
