"""Running jobs: now on demand, or a scheduled occurrence exactly once, and their history.

A scheduled occurrence of a daily job is claimed by inserting its ``job_run`` row in its
own committed transaction before the job starts; the unique index on ``(name, occurrence)`` lets one
scheduler, worker or machine win, and the others skip it. The winner holds a lease: if
its process dies, a later sweep of any scheduler takes the occurrence over once the lease
has ended; a run that failed is tried again by a later sweep (three attempts in all).
Each run's start, end, outcome and counts stay in ``job_run`` for admins. A frequent job
runs unclaimed (it is safe to run anywhere at once) and its scheduled runs are recorded
only when they changed something or failed, not once a minute.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from reservations import clock, db
from reservations.errors import DomainError
from reservations.jobs.errors import UnknownJob
from reservations.jobs.models import JobRun, RunOutcome, RunTrigger
from reservations.jobs.registry import JOBS, Job, JobResult
from reservations.jobs.schedule import Occurrence, latest
from reservations.ops import metrics
from reservations.rules import service as rules_service

log = logging.getLogger("reservations.jobs")

# How long a run's holder is presumed alive. Jobs take seconds; a run still "running"
# after this was cut off (its process stopped) and its occurrence may be taken over.
LEASE = timedelta(hours=1)
# A scheduled occurrence that failed (the database was briefly away) is tried again by a
# later sweep, this long after, up to this many attempts in all.
RETRY_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 3

_RUN: Any = JobRun.__table__  # type: ignore[attr-defined]


def holder_name() -> str:
    """Who runs: this machine and process (never a person's data)."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}"


def get_job(name: str) -> Job:
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob({"job": name[:64]})
    return job


def run_now(name: str, *, trigger: str, holder: str) -> JobRun:
    """Run a job at once, whatever its schedule (an admin's "run now", the command line)."""
    job = get_job(name)
    now = clock.now()
    with db.transaction() as session:
        run = JobRun(
            name=job.name,
            trigger=trigger,
            holder=holder[:128],
            started_at=now,
            lease_until=now + LEASE,
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        run_id = run.id
    return _execute(job, run_id)


def due_occurrence(job: Job, now: datetime, time_of_day: str | None) -> Occurrence | None:
    """The occurrence a scheduler should make sure has run, or None if too late for it (or
    the job is not a daily one)."""
    if time_of_day is None:
        return None
    occurrence = latest(time_of_day, now)
    if job.catch_up is not None and now - occurrence.at > job.catch_up:
        return None
    return occurrence


def run_scheduled(name: str, holder: str) -> JobRun | None:
    """Run the job's latest occurrence unless it ran or runs elsewhere. None: not run here."""
    job = get_job(name)
    with db.transaction(write=False) as session:
        rules = rules_service.current(session)
    occurrence = due_occurrence(job, clock.now(), job.daily_time(rules))
    if occurrence is None:
        return None
    return run_occurrence(job, occurrence, holder)


def run_frequent(name: str, holder: str) -> JobRun | None:
    """A scheduled run of a frequent job, unclaimed; recorded only when it changed
    something or failed (None otherwise)."""
    job = get_job(name)
    started = clock.now()
    outcome, result = _call(job, name)
    if outcome == RunOutcome.SUCCEEDED and not _changed_something(result):
        return None
    with db.transaction() as session:
        run = JobRun(
            name=job.name,
            trigger=RunTrigger.SCHEDULED,
            holder=holder[:128],
            started_at=started,
            finished_at=clock.now(),
            outcome=outcome,
            result=result,
        )
        session.add(run)
        session.flush()
    log.info("job %s %s: %s", job.name, outcome, result)
    return run


def _changed_something(result: JobResult) -> bool:
    return any(
        isinstance(value, int) and not isinstance(value, bool) and value > 0
        for value in result.values()
    )


def run_due(holder: str) -> list[JobRun]:
    """Make sure every job's latest occurrence has run: the sweep and the catch-up after a
    restart. Occurrences that succeeded, or run under a live lease, are left alone; one
    whose process died, or that failed ten minutes ago, is tried again."""
    now = clock.now()
    with db.transaction(write=False) as session:
        rules = rules_service.current(session)
        wanted: dict[str, Occurrence] = {}
        for job in JOBS.values():
            occurrence = due_occurrence(job, now, job.daily_time(rules))
            if occurrence is not None:
                wanted[job.name] = occurrence
        # A cheap read first; the claim itself is what decides.
        taken = {
            run.name
            for run in session.exec(
                select(JobRun).where(
                    col(JobRun.name).in_(list(wanted)),
                    col(JobRun.occurrence).in_([o.key for o in wanted.values()]),
                )
            )
            if wanted[run.name].key == run.occurrence and not _may_take_over(run, now)
        }
    runs = []
    for name, occurrence in wanted.items():
        if name in taken:
            continue
        run = run_occurrence(JOBS[name], occurrence, holder)
        if run is not None:
            runs.append(run)
    for job in JOBS.values():
        if job.every is not None:  # always due
            frequent = run_frequent(job.name, holder)
            if frequent is not None:
                runs.append(frequent)
    return runs


def _may_take_over(run: JobRun, now: datetime) -> bool:
    if run.outcome == RunOutcome.RUNNING:
        return run.lease_until is not None and run.lease_until < now
    return (
        run.outcome == RunOutcome.FAILED
        and run.attempt < MAX_ATTEMPTS
        and run.finished_at is not None
        and run.finished_at < now - RETRY_AFTER
    )


def run_occurrence(job: Job, occurrence: Occurrence, holder: str) -> JobRun | None:
    run_id = claim(job.name, occurrence.key, holder)
    if run_id is None:
        return None
    return _execute(job, run_id)


def claim(name: str, occurrence: str, holder: str) -> int | None:
    """The run id if this holder now owns the occurrence, None if another one does."""
    now = clock.now()
    with db.transaction() as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        inserted = (
            session.connection()
            .execute(
                insert(_RUN)
                .values(
                    name=name,
                    trigger=RunTrigger.SCHEDULED,
                    holder=holder[:128],
                    occurrence=occurrence,
                    attempt=1,
                    started_at=now,
                    lease_until=now + LEASE,
                    outcome=RunOutcome.RUNNING,
                    result={},
                )
                .on_conflict_do_nothing(index_elements=["name", "occurrence"])
                .returning(_RUN.c.id)
            )
            .first()
        )
        if inserted is not None:
            return int(inserted[0])
        # Its holder stopped before finishing, or it failed a while ago: try again, in
        # one conditional statement so that only one scheduler does.
        resumed = (
            session.connection()
            .execute(
                update(_RUN)
                .where(
                    _RUN.c.name == name,
                    _RUN.c.occurrence == occurrence,
                    or_(
                        and_(_RUN.c.outcome == RunOutcome.RUNNING, _RUN.c.lease_until < now),
                        and_(
                            _RUN.c.outcome == RunOutcome.FAILED,
                            _RUN.c.attempt < MAX_ATTEMPTS,
                            _RUN.c.finished_at < now - RETRY_AFTER,
                        ),
                    ),
                )
                .values(
                    holder=holder[:128],
                    attempt=_RUN.c.attempt + 1,
                    started_at=now,
                    lease_until=now + LEASE,
                    finished_at=None,
                    outcome=RunOutcome.RUNNING,
                    result={},
                )
                .returning(_RUN.c.id, _RUN.c.attempt)
            )
            .first()
        )
    if resumed is not None:
        log.warning("job %s %s: attempt %d", name, occurrence, resumed[1])
        return int(resumed[0])
    return None


def _error_code(exc: Exception) -> str:
    return exc.code if isinstance(exc, DomainError) else type(exc).__name__


def _call(job: Job, label: str) -> tuple[str, JobResult]:
    """Run the job: its outcome and its counts (or the kind of error)."""
    try:
        result = job.run()
    except Exception as exc:
        # Where it failed, not the exception's text: a message may quote personal data
        # (a refused e-mail address). The run records the error's kind only.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("job %s failed: %s\n%s", label, type(exc).__name__, frames)
        metrics.job_run(job.name, RunOutcome.FAILED)
        return RunOutcome.FAILED, {"error": _error_code(exc)}
    metrics.job_run(job.name, RunOutcome.SUCCEEDED)
    return RunOutcome.SUCCEEDED, result


def _execute(job: Job, run_id: int) -> JobRun:
    started = clock.monotonic()
    log.info("job %s (run %d) started", job.name, run_id)
    outcome, result = _call(job, f"{job.name} (run {run_id})")
    with db.transaction() as session:
        session.connection().execute(
            update(_RUN)
            .where(_RUN.c.id == run_id)
            .values(finished_at=clock.now(), outcome=outcome, result=result)
        )
        run = session.get(JobRun, run_id)
        assert run is not None
    log.info(
        "job %s (run %d) %s in %.1fs: %s",
        job.name,
        run_id,
        outcome,
        clock.monotonic() - started,
        result,
    )
    return run


def recent_runs(session: Session, name: str | None = None, limit: int = 50) -> list[JobRun]:
    statement = select(JobRun).order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc())
    if name is not None:
        statement = statement.where(col(JobRun.name) == name)
    return list(session.exec(statement.limit(limit)))


def last_runs(session: Session) -> dict[str, JobRun]:
    """Each job's most recent run."""
    latest_ids = select(JobRun.name, func.max(JobRun.id)).group_by(col(JobRun.name)).subquery()
    statement = select(JobRun).where(col(JobRun.id).in_(select(latest_ids.c[1])))
    return {run.name: run for run in session.exec(statement)}
