from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from reservations.accounts.router import AdminUser
from reservations.errors import NotFound
from reservations.http import DbSession
from reservations.rules import service

router = APIRouter(prefix="/admin", tags=["admin: rules"])


@router.get("/rules")
def get_rules(session: DbSession, _: AdminUser) -> dict[str, Any]:
    return service.to_document(service.current(session))


@router.patch("/rules")
def patch_rules(
    session: DbSession, admin: AdminUser, patch: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return service.to_document(service.update(session, patch, admin.username))


class DayOverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closed: bool | None = None
    individual_quota: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    team_quota: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    note: Annotated[str, Field(max_length=500)] | None = None


class DayOverrideOut(BaseModel):
    date: date
    closed: bool | None
    individual_quota: int | None
    team_quota: int | None
    note: str | None
    updated_by: str


@router.put("/days/{day}", response_model=DayOverrideOut)
def put_day(day: date, body: DayOverrideIn, session: DbSession, admin: AdminUser) -> DayOverrideOut:
    override = service.put_override(
        session, day, body.model_dump(exclude_unset=True), admin.username
    )
    return DayOverrideOut(date=override.day, **override.model_dump(exclude={"day", "updated_at"}))


@router.get("/days/{day}", response_model=DayOverrideOut)
def get_day(day: date, session: DbSession, _: AdminUser) -> DayOverrideOut:
    override = service.get_override(session, day)
    if override is None:
        raise NotFound()
    return DayOverrideOut(date=override.day, **override.model_dump(exclude={"day", "updated_at"}))


@router.delete("/days/{day}", status_code=204)
def delete_day(day: date, session: DbSession, admin: AdminUser) -> None:
    if not service.delete_override(session, day, admin.username):
        raise NotFound()
