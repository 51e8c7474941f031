"""Pages every visitor and staff member shares: language switch, staff login and logout."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from reservations import languages
from reservations.accounts import service as accounts
from reservations.accounts.router import sign_in
from reservations.auth import staff_session
from reservations.auth.staff_session import StaffPage
from reservations.errors import DomainError, RateLimited
from reservations.http import DbSession, language_of
from reservations.protection.guard import guard_login
from reservations.settings import get_settings
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: never redirect to another host."""
    if not target:
        return default
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next or request.headers.get("referer")), status_code=303)
    if languages.is_known(language):
        response.set_cookie("lang", language, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/staff/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render_page(request, "staff/login.html", {"next": safe_next(next, "/staff")})


@router.post("/staff/login", dependencies=[Depends(guard_login)])
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/staff",
) -> Response:
    csrf.check(request, csrf_token)
    try:
        # No request transaction: see reservations.accounts.signin.
        signed_in = await sign_in(request, username, password, "session")
    except DomainError as exc:
        refused = render_page(
            request,
            "staff/login.html",
            {
                "next": safe_next(next, "/staff"),
                "error": exc.message(language_of(request)),
                "username": username,
            },
            status_code=exc.status,
        )
        if isinstance(exc, RateLimited):
            refused.headers["Retry-After"] = str(exc.retry_after_seconds)
        return refused
    response = RedirectResponse(safe_next(next, "/staff"), status_code=303)
    staff_session.start(response, signed_in.token, get_settings().token_ttl_minutes * 60)
    return response


@router.post("/staff/logout")
def logout(
    request: Request,
    session: DbSession,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    token = request.cookies.get(staff_session.COOKIE)
    if token:
        accounts.revoke(session, token)
    response = RedirectResponse("/staff/login", status_code=303)
    staff_session.end(response)
    return response


@router.get("/staff")
def staff_home(request: Request, principal: StaffPage) -> Response:
    return render_page(request, "staff/home.html", {"principal": principal})
