"""``/admin``: the audit trail, accounts, reports and the day's bookings as CSV."""

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, create_model
from sqlmodel import Session

from reservations import clock
from reservations.accounts import signin
from reservations.accounts.models import User
from reservations.accounts.service import list_users
from reservations.admin import export, stats, users
from reservations.audit import service as audit
from reservations.audit.models import AuditEntry
from reservations.auth.bearer import AdminUser
from reservations.http import DbSession, Language
from reservations.rules import channels

router = APIRouter(prefix="/admin", tags=["admin"])


# --- audit trail -------------------------------------------------------------------------


class ChangeOut(BaseModel):
    path: str
    before: Any
    after: Any


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    changes: list[ChangeOut]

    @classmethod
    def of(cls, entry: AuditEntry) -> "AuditEntryOut":
        assert entry.id is not None
        return cls(
            id=entry.id,
            at=entry.at.astimezone(clock.zone()),
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            before=entry.before,
            after=entry.after,
            changes=[ChangeOut(**c.as_dict()) for c in audit.changes(entry.before, entry.after)],
        )


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]


@router.get(
    "/audit",
    response_model=AuditOut,
    summary="Admin actions, newest first; append-only (no way to change or remove one)",
)
def read_audit(
    session: DbSession,
    _: AdminUser,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="e.g. rules.update; day.override")
    ] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    before_id: Annotated[
        int | None, Query(ge=1, description="only entries older than this id (paging)")
    ] = None,
) -> AuditOut:
    entries = audit.recent(
        session, limit, actor=actor, action=action, target=target, before_id=before_id
    )
    return AuditOut(entries=[AuditEntryOut.of(entry) for entry in entries])


# --- accounts ----------------------------------------------------------------------------

Username = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[str, Field(min_length=1, max_length=256)]


class NewUser(BaseModel):
    username: Username
    password: Password
    role: Literal["staff", "admin"]


class PasswordReset(BaseModel):
    password: Password


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    disabled: bool
    locked: bool = Field(
        description="some address is held back from signing in to it after wrong passwords"
    )
    created_at: datetime
    password_changed_at: datetime

    @classmethod
    def of(cls, session: Session, user: User) -> "UserOut":
        return cls.all_of(session, [user])[0]

    @classmethod
    def all_of(cls, session: Session, accounts: list[User]) -> list["UserOut"]:
        held_back = signin.held_back(session, [user.username for user in accounts])
        return [cls._one(user, user.username in held_back) for user in accounts]

    @classmethod
    def _one(cls, user: User, held_back: bool) -> "UserOut":
        assert user.id is not None
        zone = clock.zone()
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            disabled=user.disabled,
            locked=held_back,
            created_at=user.created_at.astimezone(zone),
            password_changed_at=user.password_changed_at.astimezone(zone),
        )


class UsersOut(BaseModel):
    users: list[UserOut]


@router.get("/users", response_model=UsersOut)
def read_users(session: DbSession, _: AdminUser) -> UsersOut:
    return UsersOut(users=UserOut.all_of(session, list_users(session)))


@router.post("/users", status_code=201, response_model=UserOut)
def create_user(body: NewUser, session: DbSession, admin: AdminUser) -> UserOut:
    user = users.create(session, body.username, body.password, body.role, admin.username)
    return UserOut.of(session, user)


@router.post(
    "/users/{username}/disable",
    response_model=UserOut,
    summary="Disable an account; its tokens and sessions stop working at once",
)
def disable_user(username: str, session: DbSession, admin: AdminUser) -> UserOut:
    return UserOut.of(session, users.disable(session, username, admin.username))


@router.post("/users/{username}/enable", response_model=UserOut)
def enable_user(username: str, session: DbSession, admin: AdminUser) -> UserOut:
    return UserOut.of(session, users.enable(session, username, admin.username))


@router.post(
    "/users/{username}/reset-password",
    response_model=UserOut,
    summary="Set a new password; lifts a lockout and ends the account's sessions",
)
def reset_password(
    username: str, body: PasswordReset, session: DbSession, admin: AdminUser
) -> UserOut:
    user = users.reset_password(session, username, body.password, admin.username)
    return UserOut.of(session, user)


# --- reports -----------------------------------------------------------------------------


class _DayStatsFields(BaseModel):
    date: date
    checked_in: int
    no_shows: int
    cancelled: int


if TYPE_CHECKING:
    DayStatsOut = _DayStatsFields
else:
    # ``date``, each channel's ``<channel>_booked`` (rules.channels), the arrivals.
    DayStatsOut = create_model(
        "DayStatsOut",
        __base__=_DayStatsFields,
        **{channel.booked_field: (int, ...) for channel in channels.CHANNELS},
    )


class StatsOut(BaseModel):
    days: list[DayStatsOut]


@router.get(
    "/stats",
    response_model=StatsOut,
    summary="People per visit day: booked per channel, checked in, no-shows, cancelled",
)
def read_stats(
    session: DbSession,
    _: AdminUser,
    start: Annotated[date, Query()],
    end: Annotated[date, Query(description=f"at most {stats.MAX_DAYS} days after start")],
) -> StatsOut:
    return StatsOut(
        days=[DayStatsOut.model_validate(day.as_dict()) for day in stats.daily(session, start, end)]
    )


@router.get(
    "/bookings.csv",
    summary="A day's bookings as CSV for Excel (UTF-8 with BOM, masked personal data)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def bookings_csv(
    session: DbSession,
    admin: AdminUser,
    language: Language,
    day: Annotated[date, Query(alias="date")],
) -> Response:
    return export_response(session, admin.username, day, language)


def export_response(session: DbSession, actor: str, day: date, language: str) -> Response:
    """Shared by the API and the console's download link."""
    body = export.export_day(session, day, actor, language)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename(day)}"',
            "Cache-Control": "no-store",
        },
    )
