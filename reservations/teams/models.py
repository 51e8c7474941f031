from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class LeaderPageKey(SQLModel, table=True):
    """The one key that opens a team request's page in the leader's browser: only its hash,
    valid until the end of the visit day; issuing a new one revokes the old one."""

    __tablename__ = "team_page_key"

    booking_id: int = Field(foreign_key="booking.id", primary_key=True)
    key_hash: str = Field(max_length=64, unique=True)
    issued_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
