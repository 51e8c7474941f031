from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from reservations.accounts import service as accounts
from reservations.accounts.router import AdminUser
from reservations.admin import audit
from reservations.http import DbSession

router = APIRouter(prefix="/admin", tags=["admin"])


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: Any
    after: Any


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]


@router.get("/audit", response_model=AuditOut)
def read_audit(
    session: DbSession, _: AdminUser, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> AuditOut:
    return AuditOut(
        entries=[
            AuditEntryOut.model_validate(e, from_attributes=True)
            for e in audit.recent(session, limit)
        ]
    )


class NewUser(BaseModel):
    username: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    role: Literal["staff", "admin"]


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    disabled: bool
    created_at: datetime


@router.post("/users", status_code=201, response_model=UserOut)
def create_user(body: NewUser, session: DbSession, admin: AdminUser) -> UserOut:
    user = accounts.create_user(session, body.username, body.password, body.role)
    audit.record(
        session,
        actor=admin.username,
        action="user.create",
        target=body.username,
        before=None,
        after={"username": body.username, "role": body.role},
    )
    return UserOut.model_validate(user, from_attributes=True)
