"""Request and response shapes of the waiting list API (``../shared/API.md``, "Public:
waiting list"). Plain pydantic: the router, the pages and the service share them."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from reservations.booking.schemas import BookingOut, BookingRequest, MaskedPerson, SlotOut

EntryStatus = Literal["waiting", "offered", "booked", "expired", "left"]


class WaitingListRequest(BookingRequest):
    """The body of ``POST /bookings``; ``slot_id`` may be left out (or null): any slot."""

    slot_id: Annotated[str, StringConstraints(min_length=1, max_length=16)] | None = None  # type: ignore[assignment]


class NotifyOut(BaseModel):
    """How the visitor will be told of an offer (masked), and how long it will hold."""

    sms: str | None
    email: str | None
    offer_minutes: int


class OfferOut(BaseModel):
    slot: SlotOut
    offered_at: datetime
    expires_at: datetime


class WaitingEntryOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    reference: str
    manage_token: str | None = None
    status: EntryStatus
    day: Date = Field(serialization_alias="date")
    slot_id: str | None
    # Place in line among the day's entries still waiting (1 is next); null once offered
    # or ended.
    position: int | None
    party_size: int
    visitors: list[MaskedPerson]
    notify: NotifyOut
    created_at: datetime
    offer: OfferOut | None = None
    booking: BookingOut | None = None


class AdminEntryOut(BaseModel):
    """One entry of a day's list, as admins see it (masked)."""

    joined: int  # 1 for the first to join that day
    reference: str
    status: EntryStatus
    slot_id: str | None
    party_size: int
    visitors: list[MaskedPerson]
    phone_masked: str | None
    created_at: datetime
    offer: OfferOut | None
    notified_by: str | None
    booking_reference: str | None
    ended_at: datetime | None


class AdminDayOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    day: Date = Field(serialization_alias="date")
    enabled: bool
    counts: dict[str, int]
    entries: list[AdminEntryOut]
