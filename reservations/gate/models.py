from datetime import date, datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class OccupancyCounter(SQLModel, table=True):
    """People inside the building on a day; entries take places with a conditional UPDATE."""

    __tablename__ = "occupancy_counter"

    day: date = Field(primary_key=True)
    inside: int = 0
    entered: int = 0
    exited: int = 0


class GateScan(SQLModel, table=True):
    """Every scan and exit count, whatever its verdict."""

    __tablename__ = "gate_scan"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    ticket_id: str | None = Field(default=None, max_length=32, index=True)
    gate: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    direction: str = Field(max_length=8)
    verdict: str = Field(max_length=32)
    people: int = 0
