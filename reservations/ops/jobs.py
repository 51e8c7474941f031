"""The scheduled jobs of operating it: the nightly recount and the daily backup."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from reservations import db
from reservations.jobs.models import JobRun, RunOutcome
from reservations.ops import backup, check
from reservations.settings import get_settings

CHECK_JOB = "check-counters"
BACKUP_JOB = "backup"
# The drifted counters a run records (all of them are counted).
EXAMPLES_KEPT = 100


def run_check() -> dict[str, Any]:
    with db.transaction(write=False) as session:
        report = check.check(session)
    return report.summary(examples=EXAMPLES_KEPT)


def run_backup() -> dict[str, Any]:
    return backup.run_daily(get_settings())


def latest_check(session: Session) -> dict[str, Any] | None:
    """The newest completed recount's summary (see ``check.Report.summary``), or None."""
    run = session.exec(
        select(JobRun)
        .where(col(JobRun.name) == CHECK_JOB, col(JobRun.outcome) == RunOutcome.SUCCEEDED)
        .order_by(col(JobRun.finished_at).desc(), col(JobRun.id).desc())
        .limit(1)
    ).first()
    if run is None:
        return None
    return dict(run.result or {}) | {"finished_at": run.finished_at}
