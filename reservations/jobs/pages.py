"""``/admin/jobs``: the jobs, their schedule, "run now", and the history of runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from reservations import clock
from reservations.audit import service as audit
from reservations.auth.staff_session import AdminPage
from reservations.http import DbSession
from reservations.jobs import runner
from reservations.jobs import service as jobs_service
from reservations.jobs.models import RunOutcome, RunTrigger
from reservations.jobs.registry import JOBS
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

TRIGGER_LABELS: dict[str, str] = {
    RunTrigger.SCHEDULED: "定时",
    RunTrigger.MANUAL: "手动",
    RunTrigger.COMMAND: "命令行",
}
OUTCOME_LABELS: dict[str, str] = {
    RunOutcome.RUNNING: "运行中",
    RunOutcome.SUCCEEDED: "成功",
    RunOutcome.FAILED: "失败",
    RunOutcome.INTERRUPTED: "中断",
}
OUTCOME_TONES: dict[str, str] = {
    RunOutcome.RUNNING: "",
    RunOutcome.SUCCEEDED: "ok",
    RunOutcome.FAILED: "bad",
    RunOutcome.INTERRUPTED: "warn",
}
HISTORY_LIMIT = 50


def local_time(instant: datetime | None) -> str:
    if instant is None:
        return ""
    return instant.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M:%S")


@router.get("/admin/jobs")
def jobs_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    job: Annotated[str | None, Query(max_length=64)] = None,
    ran: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    shown = job if job in JOBS else None
    return render_page(
        request,
        "jobs/index.html",
        {
            "principal": principal,
            "state": jobs_service.scheduler_state(),
            "jobs": jobs_service.jobs(session),
            "titles": {name: item.title for name, item in JOBS.items()},
            "runs": jobs_service.history(session, shown, HISTORY_LIMIT),
            "shown": shown,
            "ran": jobs_service.get_run(session, ran) if ran else None,
            "outcome_of": jobs_service.outcome_of,
            "result_items": jobs_service.result_items,
            "local_time": local_time,
            "trigger_labels": TRIGGER_LABELS,
            "outcome_labels": OUTCOME_LABELS,
            "outcome_tones": OUTCOME_TONES,
        },
    )


@router.post("/admin/jobs/{name}/run")
def run_job(
    request: Request,
    name: str,
    session: DbSession,
    principal: AdminPage,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    runner.get_job(name)
    # The job runs in its own transactions, as when scheduled: end the request's first.
    session.commit()
    run = jobs_service.run_for_admin(name, principal.username)
    audit.record(
        session,
        actor=principal.username,
        action="job.run",
        target=name,
        before=None,
        after={"run_id": run.id, "outcome": run.outcome},
    )
    return RedirectResponse(f"/admin/jobs?ran={run.id}#run-{run.id}", status_code=303)
