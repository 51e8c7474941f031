"""The rules form: preview a change with its projected peak, then save it."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from reservations.accounts.service import Principal
from reservations.admin import rules_form
from reservations.admin.pages.console import (
    base_context,
    notice_of,
    problem_messages,
    projection_view,
    redirect,
    translator,
)
from reservations.audit import service as audit
from reservations.auth.staff_session import AdminPage
from reservations.http import DbSession, undo_refused
from reservations.rules import service as rules_service
from reservations.rules.errors import InvalidRules, RulesChanged
from reservations.rules.projection import project
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)


def _rules_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    values: rules_form.FormValues | None = None,
    errors: dict[str, list[str]] | None = None,
    preview: dict[str, Any] | None = None,
    version: int | None = None,
    notice: str | None = None,
    alert: str | None = None,
    status_code: int = 200,
) -> Response:
    translate = translator(request)
    current = rules_service.current(session)
    current_version = rules_service.version(session)
    document = rules_service.to_document(current)
    errors = errors or {}
    form_names = {item.name for section in rules_form.sections() for item in section.inputs}
    section_names = {section.key for section in rules_form.sections()}
    placed = {
        name
        for name in errors
        if name in form_names or name in section_names or name.startswith("slots.")
    }
    return render_page(
        request,
        "admin/rules.html",
        base_context(
            principal,
            sections=rules_form.sections(),
            slot_inputs=rules_form.slot_inputs(),
            values=values or rules_form.from_document(document),
            errors=errors,
            general_errors=[m for name, ms in errors.items() if name not in placed for m in ms],
            error_count=sum(len(ms) for ms in errors.values()),
            preview=preview,
            current=projection_view(translate, project(current), "current-day"),
            version=current_version if version is None else version,
            notice=notice,
            alert=alert,
        ),
        status_code=status_code,
    )


@router.get("/admin/rules")
def rules_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    return _rules_page(request, session, principal, notice=notice_of(done))


@router.post("/admin/rules")
async def submit_rules(request: Request, session: DbSession, principal: AdminPage) -> Response:
    form = await request.form()
    return await _run_sync(_submit_rules, request, session, principal, form)


async def _run_sync(function: Callable[..., Response], *args: Any) -> Response:
    # The form's fields depend on the rules schema, so it is read here, asynchronously;
    # the database work then runs on a worker thread like every other page's.
    return await run_in_threadpool(function, *args)


def _submit_rules(request: Request, session: Session, principal: Principal, form: Any) -> Response:
    csrf.check(request, str(form.get("csrf_token") or ""))
    translate = translator(request)
    intent = str(form.get("intent") or "preview")
    try:
        version = int(str(form.get("version") or ""))
    except ValueError:
        version = None
    values = rules_form.from_form(form)
    # The form again, as it was filled in, with what is wrong in it.
    refused = partial(
        _rules_page, request, session, principal, values=values, version=version, status_code=422
    )
    parsed = rules_form.parse(values)
    if parsed.problems:
        return refused(errors=problem_messages(translate, {"fields": parsed.problems}))
    current = rules_service.current(session)
    try:
        proposed = rules_service.merged(current, parsed.patch)
    except InvalidRules as exc:
        return refused(errors=problem_messages(translate, exc.details, parsed.form_field))
    projection = project(proposed)
    changes = audit.changes(rules_service.to_document(current), rules_service.to_document(proposed))
    acknowledged = form.get("acknowledge_peak") is not None
    if intent == "save" and (acknowledged or not projection.exceeds_limit):
        if not changes:
            return redirect("/admin/rules", done="rules_unchanged")
        try:
            rules_service.update(session, parsed.patch, principal.username, version)
        except RulesChanged as exc:
            undo_refused(session, exc)
            return _rules_page(
                request,
                session,
                principal,
                alert=translate("规则已被他人修改。下面是最新的规则，请重新填写您的修改。"),
                status_code=409,
            )
        return redirect("/admin/rules", done="rules_saved")
    return _rules_page(
        request,
        session,
        principal,
        values=values,
        version=version,
        preview={
            "changes": changes,
            "needs_acknowledgement": projection.exceeds_limit,
            "refused_unacknowledged": intent == "save",
            **projection_view(translate, projection, "proposed-day"),
        },
    )
