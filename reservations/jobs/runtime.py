"""Starting and stopping the scheduler with the web process.

The scheduler does not start when ``RESERVATIONS_SCHEDULER=off`` (jobs then run from cron
with ``reservations run-job --due``) nor in rehearsal mode (``RESERVATIONS_FAKE_NOW``):
a frozen clock never reaches a job's time, so jobs are run on demand instead.
"""

from __future__ import annotations

import logging
import threading

from reservations import clock
from reservations.jobs.scheduler import JobScheduler
from reservations.settings import get_settings

log = logging.getLogger("reservations.jobs")

_lock = threading.Lock()
_scheduler: JobScheduler | None = None


def enabled() -> bool:
    return get_settings().scheduler == "on" and not clock.is_fake()


def start() -> None:
    """Start the background scheduler of this process."""
    global _scheduler
    if not enabled():
        reason = "rehearsal clock" if clock.is_fake() else "RESERVATIONS_SCHEDULER=off"
        log.info("scheduler not started (%s): run jobs on demand", reason)
        return
    with _lock:
        if _scheduler is None:
            scheduler = JobScheduler()
            scheduler.start()
            _scheduler = scheduler
    settings = get_settings()
    if settings.sms_driver == "dev":
        log.warning(
            "SMS reminders are only recorded in the data directory (RESERVATIONS_SMS_DRIVER=dev); "
            "set RESERVATIONS_SMS_DRIVER=http and RESERVATIONS_SMS_URL to deliver them"
        )
    if not settings.smtp_host:
        log.info("no SMTP server set (RESERVATIONS_SMTP_HOST): reminders go by SMS")


def stop() -> None:
    """Stop the background scheduler of this process."""
    global _scheduler
    with _lock:
        scheduler, _scheduler = _scheduler, None
    if scheduler is not None:
        scheduler.shutdown()


def current() -> JobScheduler | None:
    return _scheduler
