"""Request and response shapes of the team channel (``../shared/API.md``).

Plain pydantic, shared by the router, the pages and the service.
"""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from reservations.booking.schemas import BookingOut, Email, MaskedPerson, Phone, VisitorIn
from reservations.languages import LanguageCode

Organization = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
ReviewReason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
]

# Far above any museum's team size: the rules decide the real range (team_size_out_of_range).
MAX_MEMBERS_LISTED = 1000


class LeaderIn(VisitorIn):
    """The responsible person: real name, document, and the phone the museum calls."""

    phone: Phone


class TeamBookingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    day: Date = Field(alias="date")
    slot_id: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    organization: Organization
    # Everybody who comes, the leader included: the party ticket admits this many.
    size: Annotated[int, Field(strict=True)]
    leader: LeaderIn
    consent: bool
    # Everybody besides the leader; required when the rules say team.members_required.
    members: Annotated[list[VisitorIn], Field(max_length=MAX_MEMBERS_LISTED)] = Field(
        default_factory=list
    )
    email: Email | None = None
    language: LanguageCode | None = None
    # The page asks for these separately (PIPL Art. 29 and 31); API clients that send only
    # ``consent: true`` give both through it.
    sensitive_consent: bool | None = None
    guardian_consent: bool | None = None


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ReviewReason


class TeamRequestOut(BookingOut):
    """A team booking as reviewers see it: the booking plus its review facts."""

    members: list[MaskedPerson]
    review_deadline: datetime | None
    reviewed_at: datetime | None
    reviewed_by: str | None


class TeamRequestList(BaseModel):
    bookings: list[TeamRequestOut]
