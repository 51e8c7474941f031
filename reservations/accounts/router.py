from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel

from reservations.accounts import service
from reservations.accounts.models import ADMIN, STAFF
from reservations.accounts.service import Principal
from reservations.http import DbSession

router = APIRouter(tags=["auth"])

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    role: str
    expires_at: str


@router.post("/auth/token", response_model=TokenOut)
def login(
    session: DbSession,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> TokenOut:
    user = service.authenticate(session, username, password)
    token, record = service.issue_token(session, user)
    return TokenOut(access_token=token, role=user.role, expires_at=record.expires_at.isoformat())


def current_principal(
    session: DbSession, token: Annotated[str | None, Depends(bearer)]
) -> Principal:
    principal, _ = service.resolve(session, token)
    return principal


def staff(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    return service.require(principal, STAFF)


def admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    return service.require(principal, ADMIN)


StaffUser = Annotated[Principal, Depends(staff)]
AdminUser = Annotated[Principal, Depends(admin)]
