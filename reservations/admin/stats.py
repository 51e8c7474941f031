"""Reports per day, counted in people (a booking of three is three), by visit day.

- ``<channel>_booked`` (``individual_booked``, ``team_booked``, ``walk_in_booked``: one per
  channel of ``rules.channels``): people whose booking holds or held a place that
  day: pending (teams awaiting approval), confirmed, checked in and no-show. A no-show
  stays booked: the place was taken, so yesterday's figure does not drop overnight when
  the nightly job marks the no-shows.
- ``checked_in``: people the gate admitted (a team admitted with a smaller headcount
  counts that headcount).
- ``no_shows``: people in bookings marked no-show.
- ``cancelled``: people in bookings cancelled (by the visitor or staff), every channel.
  Rejected team requests are neither booked nor cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from reservations.booking.models import Booking, BookingStatus
from reservations.errors import field_error
from reservations.rules import channels
from reservations.tickets.models import Ticket

MAX_DAYS = 62
BOOKED_STATUSES = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.CHECKED_IN,
    BookingStatus.NO_SHOW,
)


@dataclass(slots=True)
class DayStats:
    day: date
    # People booked per channel name, every channel present.
    booked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(channels.NAMES, 0))
    checked_in: int = 0
    no_shows: int = 0
    cancelled: int = 0

    @property
    def individual_booked(self) -> int:
        return self.booked[channels.INDIVIDUAL]

    @property
    def team_booked(self) -> int:
        return self.booked[channels.TEAM]

    @property
    def all_booked(self) -> int:
        return sum(self.booked.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "date": self.day.isoformat(),
            **{channel.booked_field: self.booked[channel.name] for channel in channels.CHANNELS},
            "checked_in": self.checked_in,
            "no_shows": self.no_shows,
            "cancelled": self.cancelled,
        }


def check_range(start: date, end: date, max_days: int = MAX_DAYS) -> None:
    if end < start:
        raise field_error("end", "must not be before start")
    if (end - start).days >= max_days:
        raise field_error("end", f"at most {max_days} days per call")


def daily(session: Session, start: date, end: date) -> list[DayStats]:
    check_range(start, end)
    days = {
        start + timedelta(days=offset): DayStats(start + timedelta(days=offset))
        for offset in range((end - start).days + 1)
    }
    people = (
        select(
            col(Booking.day),
            col(Booking.channel),
            col(Booking.status),
            func.sum(col(Booking.party_size)),
        )
        .where(col(Booking.day) >= start, col(Booking.day) <= end)
        .group_by(col(Booking.day), col(Booking.channel), col(Booking.status))
    )
    for day, channel, status, count in session.connection().execute(people):
        stats, people_count = days[day], int(count or 0)
        if status in BOOKED_STATUSES and channel in stats.booked:
            stats.booked[channel] += people_count
        if status == BookingStatus.NO_SHOW:
            stats.no_shows += people_count
        elif status == BookingStatus.CANCELLED:
            stats.cancelled += people_count
    admitted = (
        select(col(Ticket.day), func.sum(col(Ticket.admitted_count)))
        .where(col(Ticket.day) >= start, col(Ticket.day) <= end)
        .group_by(col(Ticket.day))
    )
    for day, count in session.connection().execute(admitted):
        days[day].checked_in += int(count or 0)
    return list(days.values())


def totals(days: list[DayStats]) -> DayStats:
    """The sums over ``days`` (dated by the first day)."""
    found = DayStats(days[0].day if days else date.min)
    for day in days:
        for channel, people in day.booked.items():
            found.booked[channel] += people
        found.checked_in += day.checked_in
        found.no_shows += day.no_shows
        found.cancelled += day.cancelled
    return found
