"""Staff and admin accounts: create, disable, enable, reset a password."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from reservations import clock
from reservations.accounts import signin
from reservations.accounts.service import MIN_PASSWORD_LENGTH, Principal, list_users
from reservations.admin import users
from reservations.admin.pages.console import (
    CsrfField,
    base_context,
    notice_of,
    problem_messages,
    redirect,
    translator,
)
from reservations.auth.staff_session import AdminPage
from reservations.errors import DomainError, ValidationFailed
from reservations.http import DbSession, language_of, undo_refused
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)


def _users_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    notice: str | None = None,
    error: str | None = None,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    accounts = list_users(session)
    return render_page(
        request,
        "admin/users.html",
        base_context(
            principal,
            users=accounts,
            held_back=signin.held_back(session, [user.username for user in accounts]),
            now=clock.now(),
            notice=notice,
            error=error,
            errors=errors or {},
            form=form or {"username": "", "role": "staff"},
            min_password=MIN_PASSWORD_LENGTH,
        ),
        status_code=status_code,
    )


@router.get("/admin/users")
def users_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    return _users_page(request, session, principal, notice=notice_of(done))


def _refused(
    request: Request, session: Session, principal: Principal, exc: DomainError, **form: str
) -> Response:
    undo_refused(session, exc)
    translate = translator(request)
    errors = problem_messages(translate, exc.details) if isinstance(exc, ValidationFailed) else {}
    return _users_page(
        request,
        session,
        principal,
        error=exc.message(language_of(request)),
        errors=errors,
        form=form or None,
        status_code=exc.status,
    )


def _change(
    request: Request,
    session: Session,
    principal: Principal,
    change: Callable[[], object],
    after: Response,
    **form: str,
) -> Response:
    """Make ``change`` and answer ``after``; the users page with the reason when it is
    refused."""
    try:
        change()
    except DomainError as exc:
        return _refused(request, session, principal, exc, **form)
    return after


@router.post("/admin/users")
def create_user(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    csrf_token: CsrfField = "",
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    role: Annotated[str, Form(max_length=10)] = "staff",
) -> Response:
    csrf.check(request, csrf_token)
    name = username.strip()
    return _change(
        request,
        session,
        principal,
        lambda: users.create(session, name, password, role, principal.username),
        redirect("/admin/users", done="user_created"),
        username=name,
        role=role,
    )


@router.post("/admin/users/{username}/disable")
def disable_user(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    username: str,
    csrf_token: CsrfField = "",
) -> Response:
    csrf.check(request, csrf_token)
    return _change(
        request,
        session,
        principal,
        lambda: users.disable(session, username, principal.username),
        redirect("/admin/users", done="user_disabled"),
    )


@router.post("/admin/users/{username}/enable")
def enable_user(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    username: str,
    csrf_token: CsrfField = "",
) -> Response:
    csrf.check(request, csrf_token)
    return _change(
        request,
        session,
        principal,
        lambda: users.enable(session, username, principal.username),
        redirect("/admin/users", done="user_enabled"),
    )


@router.post("/admin/users/{username}/reset-password")
def reset_password(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    username: str,
    csrf_token: CsrfField = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    if username == principal.username:
        # Their own sessions end with the reset, this one included: sign in again.
        after = redirect("/staff/login", next="/admin/users")
    else:
        after = redirect("/admin/users", done="password_reset")
    return _change(
        request,
        session,
        principal,
        lambda: users.reset_password(session, username, password, principal.username),
        after,
    )
