"""``/admin/gates``: the scanners' offline leases (each device's share of the live limit,
which an admin may end), and the offline scans that need a person (tickets admitted at two
gates, admissions no lease covered, admissions past the live limit)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from reservations import clock
from reservations.accounts.service import Principal
from reservations.auth.staff_session import AdminPage
from reservations.errors import DomainError
from reservations.gate import offline
from reservations.gate.messages import verdict_messages
from reservations.gate.offline_router import end_lease, leases_answer
from reservations.http import DbSession, language_of, undo_refused
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

NOTICES = {"lease_ended": "已结束该设备的离线名额，未用的名额已退回。"}


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    day: date,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render_page(
        request,
        "gate/admin.html",
        {
            "principal": principal,
            "leases": leases_answer(session, day),
            "day": day,
            "today": clock.today(),
            "problems": offline.problems(session, day),
            "reasons": verdict_messages(language_of(request)),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/admin/gates")
def gates_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    day: Annotated[str | None, Query(alias="date", max_length=10)] = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    try:
        shown = date.fromisoformat(day) if day else clock.today()
    except ValueError:
        shown = clock.today()
    return _page(request, session, principal, shown, notice=NOTICES.get(done or ""))


@router.post("/admin/gates/end-lease")
def end_device_lease(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    device: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    try:
        end_lease(session, device.strip(), principal.username)
    except DomainError as exc:
        undo_refused(session, exc)
        return _page(
            request,
            session,
            principal,
            clock.today(),
            error=exc.message(language_of(request)),
            status_code=exc.status,
        )
    return RedirectResponse("/admin/gates?done=lease_ended", status_code=303)
