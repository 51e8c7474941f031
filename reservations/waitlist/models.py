"""A waiting list entry: people who want a sold-out day, in the order they joined.

The people on an entry are rows of ``visitor`` (``waiting_entry_id`` set, ``booking_id``
empty): their ``claim_date`` is the day while the entry is open, so the one unique claim
index guarantees one booking *or* waiting entry per person and day, whatever races.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from reservations import languages
from reservations.dbtypes import UTCDateTime


class WaitingStatus(StrEnum):
    """``WaitingEntry.status``: stored and shown as these values."""

    WAITING = "waiting"  # in line
    OFFERED = "offered"  # places are held for it until offer_expires_at
    BOOKED = "booked"  # the offer became a booking (booking_id)
    EXPIRED = "expired"  # the offer ran out, or the day's booking window closed while waiting
    LEFT = "left"  # the visitor left the list


OPEN_STATUSES = (WaitingStatus.WAITING, WaitingStatus.OFFERED)


class WaitingEntry(SQLModel, table=True):
    __tablename__ = "waiting_entry"
    __table_args__ = (Index("ix_waiting_entry_day_status", "day", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=16, unique=True)
    manage_token_hash: str = Field(max_length=64)
    # The manage token, sealed, while the entry is open: the offer's message links to the
    # entry's private page with it. Erased when the entry ends.
    manage_token_enc: str | None = None
    # Where the visitor joined (scheme and host): the offer's link points there.
    link_base: str | None = Field(default=None, max_length=200)
    day: date
    # The preferred slot; None: any slot of the day.
    slot_id: str | None = Field(default=None, max_length=16)
    party_size: int
    status: str = Field(max_length=16)
    language: str = Field(default=languages.DEFAULT, max_length=8)

    # Personal data: encrypted, matched through a keyed hash, shown masked.
    phone_enc: str | None = None
    phone_hash: str | None = Field(default=None, max_length=64, index=True)
    phone_masked: str | None = Field(default=None, max_length=32)
    email_enc: str | None = None
    email_masked: str | None = Field(default=None, max_length=64)

    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # The offer: the slot whose places are held, when, until when, and how it was told.
    offer_slot_id: str | None = Field(default=None, max_length=16)
    offer_slot_start: str | None = Field(default=None, max_length=5)
    offer_slot_end: str | None = Field(default=None, max_length=5)
    offered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    offer_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # "sms", "email", "sms,email", or "failed": the channels that carried the offer.
    notified_by: str | None = Field(default=None, max_length=32)
    booking_id: int | None = Field(default=None, foreign_key="booking.id")
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    personal_data_erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
