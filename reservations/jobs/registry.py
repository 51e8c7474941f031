"""The jobs: what each one does and when it is due.

Every job is idempotent: it acts on everything that is due at the moment it runs, not only
on its own occurrence's day, so a missed or failed run is made good by the next one.

Most jobs run daily, each occurrence claimed once across workers and machines. A frequent
job (``every``) runs on every scheduler that often, unclaimed: it must be safe to run in
several places at once, each of its changes being claimed in the database by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from reservations import clock, db
from reservations.booking import noshows
from reservations.gate import service as gate_service
from reservations.notifications import reminders
from reservations.ops import jobs as ops_jobs
from reservations.privacy import retention
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.settings import get_settings
from reservations.teams import service as teams_service
from reservations.waitlist import offers as waiting_list

JobResult = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    # Chinese; the pages translate them (templates/locale/en/jobs.po).
    title: str
    summary: str
    run: Callable[[], JobResult]
    # The time of day of its daily occurrence, in the museum's zone (daily jobs).
    time_of_day: Callable[[Rules], str] | None = None
    # How late a missed occurrence may still run; None: as soon as a scheduler is back.
    catch_up: timedelta | None = None
    # A frequent job: how often it runs (instead of daily).
    every: timedelta | None = None

    def daily_time(self, rules: Rules) -> str | None:
        """The time of day of a daily job; None for a frequent one."""
        return self.time_of_day(rules) if self.time_of_day is not None else None


def _mark_no_shows() -> JobResult:
    with db.transaction() as session:
        return noshows.mark(session, rules_service.current(session))


def _reset_occupancy() -> JobResult:
    with db.transaction() as session:
        db.one_at_a_time(session, "reset-occupancy")
        rules = rules_service.current(session)
        return gate_service.close_days_through(session, noshows.last_closed_day(rules, clock.now()))


def _expire_team_requests() -> JobResult:
    with db.transaction() as session:
        db.one_at_a_time(session, "expire-team-requests")
        return {"expired": teams_service.expire_pending(session)}


def _closing_time(rules: Rules) -> str:
    return rules.hours.closes


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            name=noshows.NAME,
            title="标记未到馆",
            summary="闭馆后，将当天未入馆的有效预约标记为未到馆，记录失约并按规则暂停预约资格。",
            run=_mark_no_shows,
            time_of_day=_closing_time,
        ),
        Job(
            name="reset-occupancy",
            title="闭馆清零在馆人数",
            summary="闭馆时所有人均已离馆：在馆人数归零，仍在馆的票记为已离馆。",
            run=_reset_occupancy,
            time_of_day=_closing_time,
        ),
        Job(
            name=retention.NAME,
            title="清除过期个人信息",
            summary="参观日超过保存期限的预约，删除姓名、证件号码、手机号码和邮箱，仅保留匿名统计。",
            run=retention.run,
            time_of_day=lambda _rules: get_settings().purge_time,
        ),
        Job(
            name=reminders.NAME,
            title="发送参观提醒",
            summary="参观前一天，通过邮件（未留邮箱的通过短信）提醒预约的参观者。",
            run=reminders.send_due,
            time_of_day=lambda _rules: get_settings().reminder_time,
            # Nobody wants a reminder in the middle of the night.
            catch_up=timedelta(hours=3),
        ),
        Job(
            name="expire-team-requests",
            title="过期未审核团队申请",
            summary="参观日开始仍未审核的团队预约申请作过期处理，名额退回。",
            run=_expire_team_requests,
            time_of_day=lambda _rules: teams_service.REVIEW_CLOSES_AT,
        ),
        Job(
            name=ops_jobs.CHECK_JOB,
            title="核对名额与在馆计数",
            summary="按预约、门票和扫码记录重新清点每个名额计数和在馆人数，报告不一致之处（不作修改）。",
            run=ops_jobs.run_check,
            time_of_day=lambda _rules: get_settings().check_time,
        ),
        Job(
            name=ops_jobs.BACKUP_JOB,
            title="备份数据库",
            summary=(
                "在服务运行时备份内置数据库和票据签名密钥，只保留最近几份"
                "（PostgreSQL 请用 pg_dump）。"
            ),
            run=ops_jobs.run_backup,
            time_of_day=lambda _rules: get_settings().backup_time,
        ),
        Job(
            name=waiting_list.NAME,
            title="处理候补名单",
            summary=(
                "每分钟运行：过期未确认的名额退回并通知下一位候补者；有空余名额（如调高名额）时"
                "按候补顺序通知；无法再预约的日期的候补结束；参观日已过的候补删除个人信息。"
            ),
            run=waiting_list.run,
            every=timedelta(minutes=1),
        ),
    )
}
