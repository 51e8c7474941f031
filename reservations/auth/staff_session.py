"""Staff and admin sessions for the pages: an HttpOnly cookie holding an access token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from reservations import db
from reservations.accounts import service as accounts
from reservations.accounts.models import ADMIN, STAFF
from reservations.accounts.service import Principal
from reservations.errors import Unauthorized

COOKIE = "zz_staff"


class LoginRequired(Unauthorized):
    """A page for staff was opened without a session: the page layer sends to the login."""


def start(response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        path="/",  # Secure over HTTPS: reservations.web.headers
    )


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def current(request: Request) -> Principal:
    # Its own short read, as for bearer tokens (see reservations.auth.bearer).
    try:
        with db.transaction(write=False) as session:
            return accounts.resolve(session, request.cookies.get(COOKIE), "session")
    except Unauthorized:
        raise LoginRequired() from None


def _staff(principal: Annotated[Principal, Depends(current)]) -> Principal:
    return accounts.require(principal, STAFF)


def _admin(principal: Annotated[Principal, Depends(current)]) -> Principal:
    return accounts.require(principal, ADMIN)


StaffPage = Annotated[Principal, Depends(_staff)]
AdminPage = Annotated[Principal, Depends(_admin)]
