"""The JSON API's callers: a bearer token, and the role it must hold."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from reservations import db
from reservations.accounts import service
from reservations.accounts.models import ADMIN, STAFF
from reservations.accounts.service import Principal
from reservations.errors import Unauthorized

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def current_principal(token: Annotated[str | None, Depends(bearer)]) -> Principal:
    """Who holds the request's bearer token: known to this process since at most a second
    (``service.KnownBearers``), without a thread or a query; otherwise one short read of
    its own on a thread, apart from the request's transaction."""
    if not token:
        raise Unauthorized()
    known = service.bearers.find(token)
    if known is not None:
        return known
    return await anyio.to_thread.run_sync(_resolve, token)


def _resolve(token: str) -> Principal:
    with db.transaction(write=False) as session:
        return service.resolve(session, token)


# Plain checks without I/O: async, so that they run on the event loop instead of taking a
# trip to the thread pool.
async def staff(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    return service.require(principal, STAFF)


async def admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    return service.require(principal, ADMIN)


StaffUser = Annotated[Principal, Depends(staff)]
AdminUser = Annotated[Principal, Depends(admin)]
