"""``/api/v1/admin/jobs``: run a job now, and the history of runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from reservations import clock
from reservations.audit import service as audit
from reservations.auth.bearer import AdminUser
from reservations.http import DbSession
from reservations.jobs import runner
from reservations.jobs import service as jobs_service
from reservations.jobs.errors import JobFailed
from reservations.jobs.models import JobRun, RunOutcome

router = APIRouter(prefix="/admin/jobs", tags=["admin: jobs"])


class JobRunOut(BaseModel):
    id: int
    job: str
    trigger: Literal["scheduled", "manual", "command"]
    occurrence: str | None
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    outcome: Literal["running", "succeeded", "failed", "interrupted"]
    result: dict[str, Any]


class ScheduleOut(BaseModel):
    # A daily job's time of day; a frequent job's interval instead.
    daily_at: str | None
    every_minutes: int | None = None
    next_run_at: datetime | None


class JobOut(BaseModel):
    name: str
    schedule: ScheduleOut
    last_run: JobRunOut | None


class JobsOut(BaseModel):
    scheduler: Literal["on", "off", "rehearsal"]
    jobs: list[JobOut]
    runs: list[JobRunOut]


class RunOut(BaseModel):
    job: str
    result: dict[str, Any]
    run: JobRunOut


def run_out(run: JobRun) -> JobRunOut:
    assert run.id is not None
    return JobRunOut(
        id=run.id,
        job=run.name,
        trigger=run.trigger,
        occurrence=run.occurrence,
        attempt=run.attempt,
        started_at=run.started_at.astimezone(clock.zone()),
        finished_at=run.finished_at.astimezone(clock.zone()) if run.finished_at else None,
        outcome=jobs_service.outcome_of(run),
        result=run.result,
    )


@router.get("", response_model=JobsOut)
def list_jobs(
    session: DbSession,
    _: AdminUser,
    job: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobsOut:
    """The jobs with their schedule and last run, and the most recent runs."""
    return JobsOut(
        scheduler=jobs_service.scheduler_state(),
        jobs=[
            JobOut(
                name=info.job.name,
                schedule=ScheduleOut(
                    daily_at=info.daily_at,
                    every_minutes=info.every_minutes,
                    next_run_at=info.next_run_at,
                ),
                last_run=run_out(info.last_run) if info.last_run else None,
            )
            for info in jobs_service.jobs(session)
        ],
        runs=[run_out(run) for run in jobs_service.history(session, job, limit)],
    )


@router.post("/{name}/run", response_model=RunOut)
def run_job(name: str, session: DbSession, admin: AdminUser) -> RunOut:
    """Run the job now, with the service's clock; answers when it has finished."""
    runner.get_job(name)
    # The job runs in its own transactions, exactly as when scheduled; end the request's
    # first so it holds no lock meanwhile (SQLite has one writer at a time).
    session.commit()
    run = jobs_service.run_for_admin(name, admin.username)
    audit.record(
        session,
        actor=admin.username,
        action="job.run",
        target=name,
        before=None,
        after={"run_id": run.id, "outcome": run.outcome},
    )
    if run.outcome == RunOutcome.FAILED:
        raise JobFailed({"run_id": run.id, "error": run.result.get("error")})
    return RunOut(job=name, result=run.result, run=run_out(run))
