from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Integer
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class TicketStatus(StrEnum):
    """``Ticket.status``: stored and shown as these values."""

    VALID = "valid"
    VOID = "void"


class UseState(StrEnum):
    """``Ticket.use_state``: a ticket admits once; "left" once its party was checked out."""

    UNUSED = "unused"
    INSIDE = "inside"
    LEFT = "left"


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"

    id: str = Field(primary_key=True, max_length=32)
    booking_id: int = Field(foreign_key="booking.id", index=True)
    visitor_id: int | None = Field(default=None, foreign_key="visitor.id")
    day: date = Field(index=True)
    slot_id: str = Field(max_length=16)
    party_size: int
    kid: str = Field(max_length=32)
    qr_payload: str = Field(max_length=512)
    status: str = Field(default=TicketStatus.VALID, max_length=16)
    use_state: str = Field(default=UseState.UNUSED, max_length=16)
    # People admitted on it so far (a team's arrive in parts, up to its party size), and
    # those of them checked out.
    admitted_count: int = 0
    # Written by the gate only: rows are inserted without it (the database's default).
    exited_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    entered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    entered_gate: str | None = Field(default=None, max_length=64)
    exited_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
