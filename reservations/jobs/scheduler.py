"""The background scheduler of a web process (APScheduler 3).

Each daily job has a cron trigger at its time in the museum's zone (from the rules or the
settings), with ``coalesce`` and a misfire grace time: a run that fires late still runs
once; each frequent job has an interval trigger. A sweep, at start and every few minutes,
runs any latest occurrence that has not run (the machine was down at closing time, a run's
process died) and follows changes of the times in the rules. Every worker of every machine
may run a scheduler: the database claim in ``reservations.jobs.runner`` lets exactly one
of them run each occurrence of a daily job.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from reservations import clock, db
from reservations.jobs import runner
from reservations.jobs.registry import JOBS
from reservations.jobs.schedule import hour_minute
from reservations.rules import service as rules_service

log = logging.getLogger("reservations.jobs")

# APScheduler says "Running job ..." at INFO for every sweep; this module logs what ran.
if logging.getLogger("apscheduler").level == logging.NOTSET:
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

SWEEP_EVERY = timedelta(minutes=5)
# A trigger that fires later than this (the process was busy or asleep) is left to the
# sweep, which knows each job's own catch-up rule.
MISFIRE_GRACE = timedelta(minutes=30)
_SWEEP = "sweep"


class JobScheduler:
    def __init__(self, holder: str | None = None, sweep_every: timedelta = SWEEP_EVERY) -> None:
        self.holder = holder or runner.holder_name()
        self.sweep_every = sweep_every
        self.swept = threading.Event()  # set after each completed sweep
        self._times: dict[str, str] = {}
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            timezone=clock.zone(),
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
            },
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        for name, time_of_day in self._read_times().items():
            self._scheduler.add_job(
                self._fire, self._trigger(time_of_day), args=[name], id=name, name=name
            )
            self._times[name] = time_of_day
        for job in JOBS.values():
            if job.every is not None:
                seconds = int(job.every.total_seconds())
                self._scheduler.add_job(
                    self._fire_frequent,
                    # Jitter: the workers of a deployment do not all run it in one instant.
                    IntervalTrigger(seconds=seconds, jitter=seconds // 10, timezone=clock.zone()),
                    args=[job.name],
                    id=job.name,
                    name=job.name,
                )
        self._scheduler.add_job(
            self.sweep,
            IntervalTrigger(seconds=int(self.sweep_every.total_seconds()), timezone=clock.zone()),
            id=_SWEEP,
            name=_SWEEP,
        )
        # Catch up at once: with no trigger, APScheduler runs a job as soon as it starts.
        self._scheduler.add_job(self.sweep, id="catch-up", name="catch-up")
        self._scheduler.start()
        log.info("scheduler started (%s)", ", ".join(f"{n} {t}" for n, t in self._times.items()))

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def next_run_times(self) -> dict[str, Any]:
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs() if job.id in JOBS}

    def _trigger(self, time_of_day: str) -> CronTrigger:
        hour, minute = hour_minute(time_of_day)
        return CronTrigger(hour=hour, minute=minute, timezone=clock.zone())

    def _read_times(self) -> dict[str, str]:
        """The daily jobs' times of day."""
        with db.transaction(write=False) as session:
            rules = rules_service.current(session)
        times = {name: job.daily_time(rules) for name, job in JOBS.items()}
        return {name: time_of_day for name, time_of_day in times.items() if time_of_day}

    def _fire(self, name: str) -> None:
        try:
            runner.run_scheduled(name, self.holder)
        except Exception as exc:  # the next sweep tries again
            log.error("scheduled run of %s could not start: %s", name, type(exc).__name__)

    def _fire_frequent(self, name: str) -> None:
        try:
            runner.run_frequent(name, self.holder)
        except Exception as exc:  # the next interval tries again
            log.error("run of %s could not be recorded: %s", name, type(exc).__name__)

    def sweep(self) -> list[Any]:
        """Follow changed times, then run every due occurrence that has not run."""
        with self._lock:
            try:
                self._follow_times()
                return runner.run_due(self.holder)
            except Exception as exc:  # a database outage: the next sweep tries again
                log.error("job sweep failed: %s", type(exc).__name__)
                return []
            finally:
                self.swept.set()

    def _follow_times(self) -> None:
        if not self._scheduler.running:
            return
        for name, time_of_day in self._read_times().items():
            if self._times.get(name) != time_of_day:
                self._scheduler.reschedule_job(name, trigger=self._trigger(time_of_day))
                self._times[name] = time_of_day
                log.info("job %s now runs daily at %s", name, time_of_day)
