from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel

from reservations import db
from reservations.accounts import service
from reservations.accounts.models import ADMIN, STAFF
from reservations.accounts.service import Principal
from reservations.http import DbSession
from reservations.protection.guard import guard_login

router = APIRouter(tags=["auth"])

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    role: str
    expires_at: str


@router.post("/auth/token", response_model=TokenOut, dependencies=[Depends(guard_login)])
def login(
    session: DbSession,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> TokenOut:
    user = service.authenticate(session, username, password)
    token, record = service.issue_token(session, user)
    return TokenOut(access_token=token, role=user.role, expires_at=record.expires_at.isoformat())


def current_principal(token: Annotated[str | None, Depends(bearer)]) -> Principal:
    # Its own short read, apart from the request's transaction: on SQLite a writing request
    # would otherwise hold the database's write lock while it only checks who is asking.
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
