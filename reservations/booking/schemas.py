"""Request and response shapes of the booking API (``../shared/API.md``).

Plain pydantic: routers, pages and services share them, none of them needs FastAPI.
"""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from reservations.languages import LanguageCode
from reservations.privacy.documents import DOCUMENT_KINDS
from reservations.rules import channels

if TYPE_CHECKING:
    IdTypeName = str
else:
    # The documents the museum accepts, by their API names in the registry's order: the
    # contract's enum, and validation's "literal_error" for any other.
    IdTypeName = Literal[tuple(kind.value for kind in DOCUMENT_KINDS)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
DocumentNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class VisitorIn(_Request):
    name: Name
    id_type: IdTypeName
    id_number: DocumentNumber


class BookingRequest(_Request):
    day: Date = Field(alias="date")
    slot_id: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    phone: Phone
    consent: bool
    visitors: Annotated[list[VisitorIn], Field(min_length=1, max_length=50)]
    email: Email | None = None
    language: LanguageCode | None = None
    # The pages ask for these separately (PIPL Art. 29 and 31); API clients that send
    # only ``consent: true`` give both through it.
    sensitive_consent: bool | None = None
    guardian_consent: bool | None = None


class LookupRequest(_Request):
    phone: Phone
    id_type: IdTypeName
    id_number: DocumentNumber


class SlotOut(BaseModel):
    id: str
    start: str
    end: str


class MaskedPerson(BaseModel):
    name: str | None
    id_masked: str | None


class TicketOut(BaseModel):
    ticket_id: str
    visitor: MaskedPerson | None
    party_size: int
    status: str
    used: bool
    qr_payload: str
    qr_png_url: str
    qr_svg_url: str


class BookingOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    reference: str
    manage_token: str | None = None
    channel: str
    status: str
    day: Date = Field(serialization_alias="date")
    slot: SlotOut
    party_size: int
    phone_masked: str | None
    visitors: list[MaskedPerson]
    tickets: list[TicketOut]
    created_at: datetime
    cancellable_until: datetime | None
    organization: str | None = None
    size: int | None = None
    leader: MaskedPerson | None = None
    review_note: str | None = None


class LookupOut(BaseModel):
    bookings: list[BookingOut]


class ChannelAvailability(BaseModel):
    capacity: int
    booked: int
    remaining: int


class ChannelState(ChannelAvailability):
    """A channel's places with whether it can be booked now, and why not."""

    bookable: bool
    reason: str | None


TeamAvailability = ChannelState


class _SlotFields(BaseModel):
    id: str
    start: str
    end: str

    def capacity_of(self, channel: str) -> int:
        return int(getattr(self, channels.get(channel).capacity_field))

    def remaining_of(self, channel: str) -> int:
        return int(getattr(self, channels.get(channel).remaining_field))


class _DayFields(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    day: Date = Field(serialization_alias="date")
    # The day's own channel's (the public individual channel: ``Channel.the_days_own``).
    bookable: bool
    reason: str | None
    slots: list[SlotAvailability]
    note: str | None = None

    def of(self, channel: str) -> ChannelAvailability:
        """``channel``'s places that day."""
        found = getattr(self, channel)
        assert isinstance(found, ChannelAvailability)
        return found

    def state_of(self, channel: str) -> tuple[bool, str | None]:
        """Whether ``channel`` can be booked that day now, and why not."""
        found = self.of(channel)
        if isinstance(found, ChannelState):
            return found.bookable, found.reason
        return self.bookable, self.reason


if TYPE_CHECKING:
    SlotAvailability = _SlotFields
    DayAvailability = _DayFields
else:
    # Per slot, each channel's ``<channel>_capacity`` and ``<channel>_remaining``.
    SlotAvailability = create_model(
        "SlotAvailability",
        __base__=_SlotFields,
        **{
            name: (int, ...)
            for channel in channels.CHANNELS
            for name in (channel.capacity_field, channel.remaining_field)
        },
    )
    # Per day, a block per channel under its name (``individual``, ``team``, ``walk_in``).
    DayAvailability = create_model(
        "DayAvailability",
        __base__=_DayFields,
        **{
            channel.name: (ChannelAvailability if channel.the_days_own else ChannelState, ...)
            for channel in channels.CHANNELS
        },
    )


class AvailabilityOut(BaseModel):
    days: list[DayAvailability]
