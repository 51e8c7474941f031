"""The admin calendar: per day, booked against capacity in every channel, closures,
overrides and the projected peak, read from the same availability visitors see."""

from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session

from reservations import clock
from reservations.booking import service as booking_service
from reservations.booking.schemas import DayAvailability
from reservations.rules import channels
from reservations.rules import service as rules_service
from reservations.rules.channels import Channel
from reservations.rules.models import DayOverride
from reservations.rules.projection import Projection, project
from reservations.rules.schema import Rules

# Today and the 61 days after it: two months, within one availability call.
SPAN_DAYS = booking_service.MAX_AVAILABILITY_DAYS


@dataclass(frozen=True, slots=True)
class ChannelDay:
    """One channel's figures in one day's cell."""

    channel: Channel
    closed: bool
    booked: int
    capacity: int

    @property
    def share(self) -> int:
        """Booked as a percentage of capacity, for the cell's bar (0-100)."""
        return _share(self.booked, self.capacity)


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: date
    availability: DayAvailability
    override: DayOverride | None
    # Every channel's figures, in the registry's order.
    channels: tuple[ChannelDay, ...]
    projection: Projection

    def of(self, channel: str) -> ChannelDay:
        return next(entry for entry in self.channels if entry.channel.name == channel)

    @property
    def is_closed(self) -> bool:
        return all(entry.closed for entry in self.channels)

    @property
    def over_capacity(self) -> bool:
        """More people booked than a channel's quota now allows (a quota lowered later)."""
        return any(entry.booked > entry.capacity for entry in self.channels)

    @property
    def is_past(self) -> bool:
        return self.day < clock.today()

    @property
    def is_today(self) -> bool:
        return self.day == clock.today()


def _share(booked: int, capacity: int) -> int:
    if capacity <= 0:
        return 100 if booked else 0
    return min(100, round(100 * booked / capacity))


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int
    # Weeks from Monday; None pads the days outside the span.
    weeks: list[list[CalendarDay | None]]


def day_projection(rules: Rules, figures: tuple[ChannelDay, ...]) -> Projection:
    return project(
        rules, {entry.channel.name: 0 if entry.closed else entry.capacity for entry in figures}
    )


def days_between(session: Session, start: date, end: date) -> list[CalendarDay]:
    rules = rules_service.current(session)
    overrides = rules_service.overrides_between(session, start, end)
    found = []
    for availability in booking_service.availability(session, start, end).days:
        override = overrides.get(availability.day)
        figures = tuple(
            ChannelDay(
                channel,
                rules_service.is_closed(rules, override, channel.name, availability.day),
                availability.of(channel.name).booked,
                availability.of(channel.name).capacity,
            )
            for channel in channels.CHANNELS
        )
        found.append(
            CalendarDay(
                day=availability.day,
                availability=availability,
                override=override,
                channels=figures,
                projection=day_projection(rules, figures),
            )
        )
    return found


def one_day(session: Session, day: date) -> CalendarDay:
    return days_between(session, day, day)[0]


def months(session: Session, start: date | None = None) -> list[Month]:
    """The calendar from ``start`` (today) for SPAN_DAYS days, as month grids."""
    first = start or clock.today()
    last = first + timedelta(days=SPAN_DAYS - 1)
    by_day = {entry.day: entry for entry in days_between(session, first, last)}
    grids = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        weeks = [
            [by_day.get(day) if day.month == month else None for day in week]
            for week in gregorian.Calendar(firstweekday=0).monthdatescalendar(year, month)
        ]
        grids.append(Month(year, month, [week for week in weeks if any(week)]))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return grids
