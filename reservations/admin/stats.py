"""Reports per day, counted in people (a booking of three is three), by visit day.

- ``individual_booked`` / ``team_booked``: people whose booking holds or held a place that
  day: pending (teams awaiting approval), confirmed, checked in and no-show. A no-show
  stays booked: the place was taken, so yesterday's figure does not drop overnight when
  the nightly job marks the no-shows.
- ``checked_in``: people the gate admitted (a team admitted with a smaller headcount
  counts that headcount).
- ``no_shows``: people in bookings marked no-show.
- ``cancelled``: people in bookings cancelled (by the visitor or staff), both channels.
  Rejected team requests are neither booked nor cancelled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from reservations.booking.models import INDIVIDUAL, TEAM, Booking, BookingStatus
from reservations.errors import field_error
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
    individual_booked: int = 0
    team_booked: int = 0
    checked_in: int = 0
    no_shows: int = 0
    cancelled: int = 0

    def as_dict(self) -> dict[str, object]:
        values = asdict(self)
        values["date"] = values.pop("day").isoformat()
        return values


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
        if status in BOOKED_STATUSES:
            if channel == INDIVIDUAL:
                stats.individual_booked += people_count
            elif channel == TEAM:
                stats.team_booked += people_count
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
        found.individual_booked += day.individual_booked
        found.team_booked += day.team_booked
        found.checked_in += day.checked_in
        found.no_shows += day.no_shows
        found.cancelled += day.cancelled
    return found
