from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class FrozenClock(SQLModel, table=True):
    """The instant a rehearsal's clock is frozen at, shared by every worker."""

    __tablename__ = "frozen_clock"

    id: int = Field(default=1, primary_key=True)
    now: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
