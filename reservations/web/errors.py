"""Errors on pages: an HTML page in the visitor's language, or the login for staff pages."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from reservations.errors import DomainError
from reservations.http import language_of
from reservations.web.session import LoginRequired
from reservations.web.templating import render


def page_error(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/staff/login?next={quote(target)}", status_code=303)
    return render(
        request,
        "error.html",
        {"code": exc.code, "message": exc.message(language_of(request)), "status": exc.status},
        status_code=exc.status,
    )
