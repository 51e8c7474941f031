"""The console page where admins post, change and remove notices to visitors."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from reservations import clock
from reservations.accounts.service import Principal
from reservations.admin.labels import N_
from reservations.admin.pages.console import base_context, redirect
from reservations.auth.staff_session import AdminPage
from reservations.http import DbSession
from reservations.museum import service
from reservations.museum.router import NoticeId
from reservations.museum.service import NoticeIn
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]
DayField = Annotated[str, Form(max_length=20)]

DONE = {
    "created": N_("公告已发布。"),
    "updated": N_("公告已修改。"),
    "deleted": N_("公告已删除。"),
}
PROBLEMS = {
    "text": N_("请填写公告内容（最多500字）。"),
    "text_en": N_("英文内容最多500个字符。"),
    "starts_on": N_("请按 年-月-日 填写日期，或留空。"),
    "ends_on": N_("请按 年-月-日 填写日期，或留空；结束日期不能早于开始日期。"),
}


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    done: str | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    editing: int | None = None,
    status_code: int = 200,
) -> Response:
    today = clock.today()
    notices = service.all_notices(session)
    return render_page(
        request,
        "admin/notices.html",
        base_context(
            principal,
            notices=notices,
            showing={notice.id for notice in service.current(session, today)},
            notice=DONE.get(done or ""),
            form=form or {},
            errors=errors or {},
            editing=editing,
        ),
        status_code=status_code,
    )


@router.get("/admin/notices")
def notices_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _page(request, session, principal, done=done)


def _parse(text: str, text_en: str, starts_on: str, ends_on: str) -> NoticeIn | dict[str, str]:
    values: dict[str, Any] = {"text": text, "text_en": text_en}
    errors: dict[str, str] = {}
    for name, raw in (("starts_on", starts_on), ("ends_on", ends_on)):
        try:
            values[name] = date.fromisoformat(raw.strip()) if raw.strip() else None
        except ValueError:
            errors[name] = PROBLEMS[name]
    if errors:
        return errors
    try:
        return NoticeIn.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            field = str(error["loc"][0]) if error["loc"] else "ends_on"
            errors.setdefault(field if field in PROBLEMS else "ends_on", PROBLEMS.get(field, ""))
        return {key: value or PROBLEMS["ends_on"] for key, value in errors.items()}


def notice_form(
    text: Text = "", text_en: Text = "", starts_on: DayField = "", ends_on: DayField = ""
) -> dict[str, str]:
    return {"text": text, "text_en": text_en, "starts_on": starts_on, "ends_on": ends_on}


NoticeForm = Annotated[dict[str, str], Depends(notice_form)]


def _save(
    request: Request,
    session: Session,
    principal: Principal,
    form: dict[str, str],
    notice_id: int | None,
) -> Response:
    parsed = _parse(**form)
    if isinstance(parsed, dict):
        return _page(
            request,
            session,
            principal,
            form=form,
            errors=parsed,
            editing=notice_id,
            status_code=422,
        )
    if notice_id is None:
        service.create(session, parsed, principal.username)
        return redirect("/admin/notices", done="created")
    service.update(session, notice_id, parsed, principal.username)
    return redirect("/admin/notices", done="updated")


@router.post("/admin/notices")
def post_notice(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    form: NoticeForm,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    return _save(request, session, principal, form, None)


@router.post("/admin/notices/{notice_id}")
def change_notice(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    notice_id: NoticeId,
    form: NoticeForm,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    return _save(request, session, principal, form, notice_id)


@router.post("/admin/notices/{notice_id}/delete")
def delete_notice(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    notice_id: NoticeId,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    service.delete(session, notice_id, principal.username)
    return redirect("/admin/notices", done="deleted")
