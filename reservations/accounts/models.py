from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime

STAFF = "staff"
ADMIN = "admin"
ROLE_RANK = {STAFF: 1, ADMIN: 2}


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    disabled: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    password_changed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AccessToken(SQLModel, table=True):
    """A bearer token or a page session; only its SHA-256 is stored."""

    __tablename__ = "access_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    kind: str = Field(default="bearer", max_length=16)
    csrf_token: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


class SignInThrottle(SQLModel, table=True):
    """Wrong sign-ins counted per account and address, and per address (keyed hashes only).

    Per account *and* address, so that guesses from one address never hold back a colleague
    signing in from another; the account alone is kept (hashed) so admins see that someone
    is being held back and a password reset lifts it.
    """

    __tablename__ = "sign_in_throttle"

    key: str = Field(primary_key=True, max_length=64)
    account: str | None = Field(default=None, max_length=64, index=True)
    failures: int = 0
    window_started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    blocked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
