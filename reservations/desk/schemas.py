"""Request and answer shapes of the desk's API (``/api/v1/desk/...``)."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from reservations.booking.schemas import (
    BookingOut,
    BookingRequest,
    DocumentNumber,
    IdTypeName,
    Phone,
)

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class DeskBookingRequest(BookingRequest):
    """The body of ``POST /bookings``; the visitor may have no phone. ``consent: true``
    records that the staff member read the notice to the visitor and the visitor agreed."""

    phone: Phone | None = None  # type: ignore[assignment]


class DeskBookingOut(BookingOut):
    """A booking made at the desk: the booking's shape, with its tickets' print page."""

    print_url: str


class DeskBookingView(BookingOut):
    """A booking as the desk sees it: masked, without its manage token."""

    booked_by: str | None = None


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentityRequest(_Request):
    id_type: IdTypeName
    id_number: DocumentNumber


class LiftBanRequest(IdentityRequest):
    reason: Reason


class CancelRequest(_Request):
    """Why the desk cancels (said to the audit trail; no personal data in it)."""

    reason: Reason | None = None


class StrikeOut(BaseModel):
    day: Date = Field(serialization_alias="date")
    reference: str

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class BanOut(BaseModel):
    until: Date
    strikes: list[StrikeOut]


class LiftedOut(BaseModel):
    at: datetime
    by: str
    reason: str
    until: Date | None
    strikes_forgiven: int


class IdentityOut(BaseModel):
    bookings: list[DeskBookingView]
    ban: BanOut | None
    # The strikes that count now, with or without a ban.
    strikes: list[StrikeOut]
    lifted: LiftedOut | None = None
