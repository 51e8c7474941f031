"""``/admin/gates``: each gate's offline safety margin, and the offline scans that need a
person (tickets admitted at two gates, admissions past the live limit)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from reservations import clock
from reservations.accounts.service import Principal
from reservations.auth.staff_session import AdminPage
from reservations.errors import DomainError, field_error
from reservations.gate import offline
from reservations.gate.messages import verdict_messages
from reservations.gate.offline_router import gates_answer
from reservations.http import DbSession, language_of, undo_refused
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

NOTICES = {"margin_saved": "入口的预留名额已保存，扫码设备下次联网时生效。"}
MAX_MARGIN = 1_000_000


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    day: date,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    gates = gates_answer(session)
    return render_page(
        request,
        "gate/admin.html",
        {
            "principal": principal,
            "default_margin": gates.default_margin,
            "gates": gates.gates,
            "day": day,
            "problems": offline.problems(session, day),
            "reasons": verdict_messages(language_of(request)),
            "notice": notice,
            "error": error,
            "form": form or {"gate": "", "offline_margin": ""},
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


def _margin(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        value = int(text.strip())
    except ValueError:
        raise field_error("offline_margin", "a whole number of people") from None
    if not 0 <= value <= MAX_MARGIN:
        raise field_error("offline_margin", f"between 0 and {MAX_MARGIN}")
    return value


@router.post("/admin/gates")
def save_gate(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    gate: Annotated[str, Form(max_length=200)] = "",
    offline_margin: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    name = gate.strip()
    try:
        if not name or len(name) > 64 or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise field_error("gate", "1 to 64 printable characters")
        offline.set_margin(session, name, _margin(offline_margin), actor=principal.username)
    except DomainError as exc:
        undo_refused(session, exc)
        return _page(
            request,
            session,
            principal,
            clock.today(),
            error=exc.message(language_of(request)),
            form={"gate": name, "offline_margin": offline_margin},
            status_code=exc.status,
        )
    return RedirectResponse("/admin/gates?done=margin_saved", status_code=303)
