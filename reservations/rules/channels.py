"""The booking channels: the one list of the ways places are booked, and all that depends on
the channel.

Each channel declares its API name (also the key of its section in the rules, the value of
``Booking.channel`` and the channel of its capacity counters), who may book it, its booking
window, where its places per slot come from, whether it books a party under one ticket,
whether a no-show gives strikes, and its labels. The rules (``Rules.channel``), the day's
plan (``rules.service.DayPlan``), the day's override (one quota per channel), availability,
the capacity counters, the projection of people inside, the reports, the console's calendar
and forms, the export and the metrics all read this list: a new channel is an entry here,
its rules section in ``rules/schema.py`` and its texts' English in
``templates/locale/en/channels.po``.

Pure data with no imports of the service: everything may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Window(StrEnum):
    """When a channel's day can be booked."""

    # From ``min_days_ahead`` to ``max_days_ahead`` days before, once the channel opened
    # (``opens_on``), a new day released at ``release_time``.
    AHEAD = "ahead"
    # Only on the day itself, during opening hours until the last entry.
    SAME_DAY = "same_day"


class Booker(StrEnum):
    """Who places a channel's bookings."""

    VISITOR = "visitor"  # anybody, online
    STAFF = "staff"  # staff signed in, at the desk or on the phone


@dataclass(frozen=True, slots=True)
class Channel:
    """One way of booking, and what the rest of the service needs to know of it.

    Its texts are Chinese msgids, shown in the reader's language through
    ``templates/locale/en/channels.po``.
    """

    name: str  # API name, rules section, Booking.channel, counters' channel (16 at most)
    label: str  # its bookings, as a heading: 个人预约
    short: str  # in a table cell or a chart's legend: 个人
    quota_label: str  # its places of a day: 个人名额
    window: Window
    booked_by: frozenset[Booker]
    # The ``Slot`` field that holds its places per slot; None: only the day's quota limits
    # it, in any slot.
    slot_field: str | None = None
    # Booked by a leader for a party: one ticket admits the whole party; the booking shows
    # its organisation and leader.
    party: bool = False
    # A no-show on one of its bookings gives each person on it a strike.
    strikes: bool = False
    # Its ``bookable``/``reason`` are the day's own in ``GET /availability`` (the public
    # channel of the contract); every other channel's block carries its own.
    the_days_own: bool = False

    @property
    def quota_field(self) -> str:
        """The day override's field for its quota: ``individual_quota``."""
        return f"{self.name}_quota"

    @property
    def booked_field(self) -> str:
        """The reports' field for its people booked: ``individual_booked``."""
        return f"{self.name}_booked"

    @property
    def capacity_field(self) -> str:
        """Availability's per-slot field for its places: ``individual_capacity``."""
        return f"{self.name}_capacity"

    @property
    def remaining_field(self) -> str:
        return f"{self.name}_remaining"


INDIVIDUAL = "individual"
TEAM = "team"
WALK_IN = "walk_in"

# In the order pages, reports and answers list them.
CHANNELS: tuple[Channel, ...] = (
    Channel(
        INDIVIDUAL,
        label="个人预约",
        short="个人",
        quota_label="个人名额",
        window=Window.AHEAD,
        booked_by=frozenset({Booker.VISITOR, Booker.STAFF}),
        slot_field="individual_capacity",
        strikes=True,
        the_days_own=True,
    ),
    Channel(
        TEAM,
        label="团队预约",
        short="团队",
        quota_label="团队名额",
        window=Window.AHEAD,
        booked_by=frozenset({Booker.VISITOR}),
        slot_field="team_capacity",
        party=True,
    ),
    # Places of the day itself for visitors who come without a booking (older visitors
    # without a smartphone above all), booked for them by staff at the desk.
    Channel(
        WALK_IN,
        label="现场预约",
        short="现场",
        quota_label="现场名额",
        window=Window.SAME_DAY,
        booked_by=frozenset({Booker.STAFF}),
    ),
)
_BY_NAME = {channel.name: channel for channel in CHANNELS}
NAMES: tuple[str, ...] = tuple(_BY_NAME)


def get(name: str) -> Channel:
    """The channel called ``name``; KeyError for a name no channel has."""
    return _BY_NAME[name]


def find(name: str) -> Channel | None:
    return _BY_NAME.get(name)


def is_party(name: str) -> bool:
    """Whether ``name``'s bookings are one party under one ticket (unknown names: no)."""
    channel = _BY_NAME.get(name)
    return channel is not None and channel.party


def giving_strikes() -> tuple[str, ...]:
    return tuple(channel.name for channel in CHANNELS if channel.strikes)
