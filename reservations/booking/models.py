from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reservations import languages
from reservations.dbtypes import UTCDateTime
from reservations.rules import channels


class BookingStatus(StrEnum):
    """``Booking.status``: stored and shown as these values. A team request is a booking
    too: pending until reviewed, then confirmed or rejected (or expired unreviewed)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    EXPIRED = "expired"


# The statuses that hold places and the visitors' claims on their day.
ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)

# The channels' names (``reservations.rules.channels``), where bookings code needs one.
INDIVIDUAL = channels.INDIVIDUAL
TEAM = channels.TEAM
WALK_IN = channels.WALK_IN

# CapacityCounter.slot_id of the row that counts a whole day
WHOLE_DAY = "*"


class Booking(SQLModel, table=True):
    __tablename__ = "booking"
    __table_args__ = (Index("ix_booking_day_channel_status", "day", "channel", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=16, unique=True)
    channel: str = Field(max_length=16)
    day: date
    slot_id: str = Field(max_length=16)
    # The slot's times when booked: an admin may later move or remove the slot.
    slot_start: str = Field(max_length=5)
    slot_end: str = Field(max_length=5)
    status: str = Field(max_length=16)
    party_size: int
    manage_token_hash: str = Field(max_length=64)
    language: str = Field(default=languages.DEFAULT, max_length=8)
    organization: str | None = Field(default=None, max_length=200)
    # The staff user who booked it for the visitor (the desk, the phone line); None online.
    booked_by: str | None = Field(default=None, max_length=64)

    # Personal data: encrypted, matched through a keyed hash, shown masked.
    phone_enc: str | None = None
    phone_hash: str | None = Field(default=None, max_length=64, index=True)
    phone_masked: str | None = Field(default=None, max_length=32)
    email_enc: str | None = None
    email_masked: str | None = Field(default=None, max_length=64)

    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    reviewed_by: str | None = Field(default=None, max_length=64)
    review_note: str | None = Field(default=None, max_length=500)
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    personal_data_erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Visitor(SQLModel, table=True):
    """A named person on a booking (an individual visitor, a team leader or a team member)
    or on a waiting list entry (``reservations.waitlist``): exactly one of ``booking_id``
    and ``waiting_entry_id`` is set."""

    __tablename__ = "visitor"
    # One active booking or waiting entry per person per day: claim_date is the visit day
    # while the booking or entry is active and NULL once it ended (NULLs never collide in a
    # unique index).
    __table_args__ = (UniqueConstraint("identity_hash", "claim_date", name="uq_visitor_claim"),)

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int | None = Field(default=None, foreign_key="booking.id", index=True)
    waiting_entry_id: int | None = Field(default=None, foreign_key="waiting_entry.id", index=True)
    position: int = 0
    role: str = Field(default="visitor", max_length=16)
    id_type: str = Field(max_length=24)
    name_enc: str | None = None
    name_masked: str | None = Field(default=None, max_length=64)
    id_number_enc: str | None = None
    id_masked: str | None = Field(default=None, max_length=32)
    identity_hash: str | None = Field(default=None, max_length=64, index=True)
    claim_date: date | None = None
    is_minor: bool = False


class CapacityCounter(SQLModel, table=True):
    """Places taken per day and channel (slot ``*``) and per slot and channel.

    Bookings take places with a conditional UPDATE that only succeeds while the new total
    stays within the capacity passed in, so the database, not Python, decides the last place.
    """

    __tablename__ = "capacity_counter"

    day: date = Field(primary_key=True)
    channel: str = Field(primary_key=True, max_length=16)
    slot_id: str = Field(primary_key=True, max_length=16)
    booked: int = 0


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"

    scope: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    # The first response, encrypted: it holds the booking's manage token.
    response_enc: str
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


class NoShowStrike(SQLModel, table=True):
    """A visitor who did not come. Kept (as a keyed hash only) for the no-show window."""

    __tablename__ = "no_show_strike"
    __table_args__ = (UniqueConstraint("identity_hash", "booking_id", name="uq_strike_booking"),)

    id: int | None = Field(default=None, primary_key=True)
    identity_hash: str = Field(max_length=64, index=True)
    day: date
    booking_id: int
    # When an admin lifted the ban it led to: it no longer counts towards a ban.
    forgiven_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class VisitorBan(SQLModel, table=True):
    __tablename__ = "visitor_ban"

    identity_hash: str = Field(primary_key=True, max_length=64)
    until: date
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    reason: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class BanSubject(StrEnum):
    """What a strike or a ban is kept under (``BanLift.subject``): a person's identity
    document for now; the booking phone may follow."""

    DOCUMENT = "document"


class BanLift(SQLModel, table=True):
    """A ban an admin lifted, with why: the ban itself is gone (``visitor_ban``) and the
    strikes that led to it are forgiven; this row is what the console shows of it."""

    __tablename__ = "ban_lift"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(default=BanSubject.DOCUMENT, max_length=16)
    # The keyed hash the ban was kept under (``visitor_ban.identity_hash``).
    subject_hash: str = Field(max_length=64, index=True)
    # What was shown of it when lifted (a masked document), for the console.
    subject_masked: str | None = Field(default=None, max_length=64)
    banned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    until: date | None = None
    strikes: int = 0
    lifted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    lifted_by: str = Field(max_length=64)
    reason: str = Field(max_length=500)
