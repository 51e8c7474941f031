"""CSRF protection for forms: a double-submit token.

Every page carries a random token in a ``SameSite=Strict`` cookie and in its forms'
hidden ``csrf_token`` field; a form post is accepted only when the two agree. Staff
sessions additionally bind their own token (see ``reservations.auth.staff_session``).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from reservations.errors import Forbidden

COOKIE = "zz_csrf"
FIELD = "csrf_token"


class CsrfRejected(Forbidden):
    code = "csrf_failed"
    msgid = "页面已过期，请刷新后重试。"


@dataclass
class CsrfToken:
    value: str
    is_new: bool

    def attach(self, response: Response) -> None:
        if self.is_new:
            response.set_cookie(COOKIE, self.value, httponly=True, samesite="strict", path="/")


def csrf_token_for(request: Request) -> CsrfToken:
    existing = request.cookies.get(COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return CsrfToken(existing, False)
    cached: CsrfToken | None = getattr(request.state, "csrf", None)
    if cached is None:
        cached = CsrfToken(secrets.token_urlsafe(32), True)
        request.state.csrf = cached
    return cached


def check(request: Request, submitted: str | None) -> None:
    """Raise unless the form's token matches the cookie's."""
    cookie = request.cookies.get(COOKIE)
    # Bytes: compare_digest refuses text that is not ASCII, and anybody may send that.
    if not cookie or not submitted or not hmac.compare_digest(cookie.encode(), submitted.encode()):
        raise CsrfRejected()
