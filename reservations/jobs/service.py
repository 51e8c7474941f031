"""What the API and the console show of the jobs, and an admin's "run now"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from reservations import clock
from reservations.jobs import runner, runtime
from reservations.jobs.models import JobRun, RunOutcome, RunTrigger
from reservations.jobs.registry import JOBS, Job
from reservations.jobs.schedule import following
from reservations.rules import service as rules_service
from reservations.settings import get_settings

# What a run's counts mean, in Chinese (English in templates/locale/en/jobs.po).
RESULT_LABELS = {
    "through": "截至日期",
    "no_shows": "标记未到馆的预约",
    "strikes": "新增失约记录",
    "bans": "暂停预约资格",
    "day": "日期",
    "days_closed": "清零的日期数",
    "people_counted_out": "计为离馆的人数",
    "tickets_checked_out": "计为离馆的票",
    "before": "清除此日期之前的参观",
    "bookings_erased": "清除个人信息的预约",
    "visitors_erased": "清除个人信息的参观人",
    "waiting_entries_erased": "清除个人信息的候补",
    "strikes_forgotten": "删除的过期失约记录",
    "bans_ended": "删除的已结束暂停",
    "idempotency_records": "删除的过期重复提交记录",
    "no_shows_settled": "先行标记的未到馆预约",
    "log_truncated": "已清空数据库预写日志",
    "email": "邮件",
    "sms": "短信",
    "fell_back": "邮件失败改发短信",
    "failed": "未能送达",
    "expired": "过期的团队申请",
    "offers_expired": "过期未确认的候补名额",
    "entries_expired": "结束的候补（已无法预约）",
    "offered": "发出的候补名额",
    "notified": "已通知",
    "not_delivered": "未能送达的通知",
    "entries_discarded": "删除个人信息的候补",
    "error": "错误",
}

SCHEDULER_ON = "on"
SCHEDULER_OFF = "off"
SCHEDULER_REHEARSAL = "rehearsal"


@dataclass(frozen=True, slots=True)
class JobInfo:
    job: Job
    daily_at: str | None
    next_run_at: datetime | None
    last_run: JobRun | None

    @property
    def every_minutes(self) -> int | None:
        every = self.job.every
        return int(every.total_seconds() // 60) if every is not None else None


def scheduler_state() -> str:
    if clock.is_fake():
        return SCHEDULER_REHEARSAL
    return SCHEDULER_ON if get_settings().scheduler == "on" else SCHEDULER_OFF


def outcome_of(run: JobRun, now: datetime | None = None) -> str:
    """``interrupted`` for a run whose process stopped before it finished."""
    now = now or clock.now()
    if run.outcome == RunOutcome.RUNNING and run.lease_until is not None and run.lease_until < now:
        return RunOutcome.INTERRUPTED
    return run.outcome


def jobs(session: Session) -> list[JobInfo]:
    rules = rules_service.current(session)
    now = clock.now()
    last = runner.last_runs(session)
    scheduled = runtime.enabled()
    infos = []
    for job in JOBS.values():
        at = job.daily_time(rules)
        if at is None:
            next_run = now + job.every if scheduled and job.every is not None else None
        else:
            next_run = following(at, now) if scheduled else None
        infos.append(JobInfo(job, at, next_run, last.get(job.name)))
    return infos


def history(session: Session, name: str | None = None, limit: int = 50) -> list[JobRun]:
    if name is not None:
        runner.get_job(name)
    return runner.recent_runs(session, name, limit)


def get_run(session: Session, run_id: int) -> JobRun | None:
    return session.get(JobRun, run_id)


def run_for_admin(name: str, username: str) -> JobRun:
    """Run now, recorded as the admin's. Opens its own transactions, like a scheduled run."""
    return runner.run_now(name, trigger=RunTrigger.MANUAL, holder=f"admin:{username}")


def result_items(result: dict[str, Any]) -> list[tuple[str, Any]]:
    """The counts of a run as (Chinese label, value), in a stable order."""
    return [(RESULT_LABELS.get(key, key), value) for key, value in result.items()]
