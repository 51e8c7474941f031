"""The museum's rules as a validated document: the shape of ``config/museum.toml``,
of ``GET /api/v1/admin/rules`` and of what ``PATCH`` may change.

Every ``Rules`` object is valid as a whole: the cross-field checks live here, so rules read
from the file, the database or a patch all obey them. Numbers and switches are strict (no
``"800"`` for 800, no ``true`` for 1): a typo in a client must not quietly become a quota.
Each refusal carries a stable ``type`` and, where one field is to blame, a ``field`` in its
context, so the console can point at the input and say it in the reader's language.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    model_validator,
)
from pydantic_core import PydanticCustomError

from reservations.rules import channels

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_RATE = re.compile(r"^\d+/(second|minute|hour|day)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class EditAs:
    """How the admin console edits a value whose Python type alone does not say it."""

    kind: str


TIME_OF_DAY = EditAs("time")


def problem(kind: str, message: str, **context: Any) -> PydanticCustomError:
    """A refusal with a stable type; ``field`` in the context names the input to blame."""
    return PydanticCustomError(kind, message, context)


def _check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise problem("time_format", "expected a time of day as HH:MM")
    return value


def _check_rate(value: str) -> str:
    if value != "off" and not _RATE.match(value):
        raise problem("rate_format", "expected a rate such as 60/minute, or off")
    return value


def _check_iso_date(value: object) -> object:
    # Lax pydantic would read 0 as 1970-01-01 and accept datetimes; a rule date is a date.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise problem("date_format", "expected a date as YYYY-MM-DD")


_Item = TypeVar("_Item")


def _distinct(values: list[_Item]) -> list[_Item]:
    if len(set(values)) != len(values):
        raise problem("duplicate_items", "each value may appear only once")
    return values


HHMM = Annotated[str, AfterValidator(_check_hhmm), TIME_OF_DAY]
Rate = Annotated[str, AfterValidator(_check_rate)]
Day = Annotated[date, BeforeValidator(_check_iso_date)]
Int = Annotated[int, Strict()]
NonNegative = Annotated[Int, Field(ge=0, le=1_000_000)]
Positive = Annotated[Int, Field(ge=1, le=1_000_000)]
DaysAhead = Annotated[Int, Field(ge=0, le=365)]
Minutes = Annotated[Int, Field(ge=0, le=24 * 60)]
Weekdays = Annotated[list[Weekday], AfterValidator(_distinct)]
SlotId = Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{1,16}$")]


def minutes_of(hhmm: str) -> int:
    parsed = time.fromisoformat(hhmm)
    return parsed.hour * 60 + parsed.minute


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hours(_Strict):
    opens: HHMM = "09:00"
    closes: HHMM = "17:00"
    last_entry: HHMM = "16:00"
    closed_weekdays: Weekdays = Field(default_factory=lambda: list[Weekday](["monday"]))

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not minutes_of(self.opens) < minutes_of(self.closes):
            raise problem("closes_before_opens", "closes must be after opens", field="closes")
        if not minutes_of(self.opens) <= minutes_of(self.last_entry) <= minutes_of(self.closes):
            raise problem(
                "last_entry_outside_hours",
                "last_entry must lie between opens and closes",
                field="last_entry",
            )
        return self


class ChannelRules(_Strict):
    """What every channel's section holds (``reservations.rules.channels``)."""

    daily_quota: NonNegative
    cancel_minutes_before_start: Annotated[Int, Field(ge=0, le=60 * 24 * 30)] = 0

    def receives_on(self, weekday: str) -> bool:
        """Whether the channel receives visitors on ``weekday`` when the museum is open."""
        return True


class AheadChannelRules(ChannelRules):
    """A channel booked days ahead (``Window.AHEAD``)."""

    opens_on: Day
    min_days_ahead: DaysAhead = 1
    max_days_ahead: DaysAhead = 7
    release_time: HHMM = "00:00"

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.min_days_ahead > self.max_days_ahead:
            raise problem(
                "window_order",
                "min_days_ahead must not exceed max_days_ahead",
                field="max_days_ahead",
            )
        return self


class IndividualRules(AheadChannelRules):
    opens_on: Day = date(2020, 9, 28)
    daily_quota: NonNegative = 1000
    max_visitors_per_booking: Annotated[Int, Field(ge=1, le=20)] = 5


class TeamRules(AheadChannelRules):
    opens_on: Day = date(2020, 10, 8)
    daily_quota: NonNegative = 400
    max_days_ahead: DaysAhead = 14
    min_size: Positive = 10
    max_size: Positive = 50
    requires_approval: StrictBool = True
    # Whether a request must list every member besides the leader (names and documents).
    members_required: StrictBool = False
    received_weekdays: Weekdays = Field(
        default_factory=lambda: list[Weekday](
            ["tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        )
    )

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        if self.min_size > self.max_size:
            raise problem("team_size_order", "min_size must not exceed max_size", field="max_size")
        return self

    def receives_on(self, weekday: str) -> bool:
        return weekday in self.received_weekdays


class WalkInRules(ChannelRules):
    """Places of the day itself, booked by staff at the desk for visitors who come without
    a booking (``0`` switches the desk's same-day booking off)."""

    daily_quota: NonNegative = 50


class OccupancyRules(_Strict):
    instantaneous_limit: Positive = 600
    building_limit: Positive = 1300
    typical_visit_minutes: Annotated[Int, Field(ge=1, le=24 * 60)] = 120

    @model_validator(mode="after")
    def _within_building(self) -> Self:
        if self.instantaneous_limit > self.building_limit:
            raise problem(
                "above_building_limit",
                "instantaneous_limit must not exceed building_limit ({building_limit})",
                field="instantaneous_limit",
                building_limit=self.building_limit,
            )
        return self


class GateRules(_Strict):
    entry_opens_minutes_before: Minutes = 30
    entry_closes_minutes_after_end: Minutes = 0
    # A scanner's share of the live limit while it may lose the network: people it may
    # admit offline at most (never more than the places left), and for how long.
    offline_allowance: NonNegative = 20
    offline_lease_minutes: Annotated[Int, Field(ge=1, le=24 * 60)] = 30
    # A child under 14 enters only with an adult of the same booking.
    minors_need_adult: StrictBool = True


class NoShowRules(_Strict):
    strikes: Positive = 3
    window_days: Positive = 180
    ban_days: NonNegative = 60


class PrivacyRules(_Strict):
    retention_days: Annotated[Int, Field(ge=1, le=3650)] = 30


class ProtectionRules(_Strict):
    rate_limit_per_ip: Rate = "120/minute"
    rate_limit_per_identity: Rate = "10/minute"
    proof_of_work: Literal["off", "under_pressure", "always"] = "off"
    # Booking attempts across the service above this rate put it under pressure (and
    # ``under_pressure`` then asks for proof of work until a minute after it calms down).
    pressure_threshold: Rate = "300/minute"


# Printable text only: no control characters in what every page shows.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
ShortText = Annotated[str, Field(max_length=200, pattern=_PRINTABLE)]
LongText = Annotated[str, Field(max_length=1000, pattern=_PRINTABLE)]
MapLink = Annotated[str, Field(max_length=500, pattern=r"^(https://\S+)?$")]


class WaitingListRules(_Strict):
    """A fair waiting list for sold-out days (individual channel)."""

    enabled: StrictBool = True
    # How long an offered place is held for the visitor to confirm (never past the booking
    # window's close for that day).
    offer_minutes: Annotated[Int, Field(ge=1, le=24 * 60)] = 30


class MuseumInfo(_Strict):
    """How visitors find the museum: shown on the home page and with every booking."""

    address: ShortText = "河南省郑州市高新技术产业开发区"
    address_en: ShortText = "Zhengzhou High-tech Industrial Development Zone, Zhengzhou, Henan"
    directions: LongText = (
        "在地图应用中搜索“郑州网络安全科技馆”，可查看步行、公交、地铁和驾车路线。"
    )
    directions_en: LongText = (
        "Search for 郑州网络安全科技馆 (Zhengzhou Cybersecurity Science and Technology Museum) "
        "in a map app for walking, bus, metro and driving directions."
    )
    # A link that opens the museum in a map (left empty, none is shown).
    map_url: MapLink = (
        "https://uri.amap.com/search?keyword="
        "%E9%83%91%E5%B7%9E%E7%BD%91%E7%BB%9C%E5%AE%89%E5%85%A8%E7%A7%91%E6%8A%80%E9%A6%86"
    )
    phone: Annotated[str, Field(max_length=40, pattern=r"^[0-9+() -]*$")] = ""


class Slot(_Strict):
    id: SlotId
    start: HHMM
    end: HHMM
    individual_capacity: NonNegative
    team_capacity: NonNegative = 0

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if minutes_of(self.end) <= minutes_of(self.start):
            raise problem(
                "slot_ends_before_start",
                "slot {slot} must end after it starts",
                field="end",
                slot=self.id,
            )
        return self


def _slot_problems(slots: Sequence[Slot], hours: Hours) -> None:
    seen: dict[str, int] = {}
    for index, slot in enumerate(slots):
        if slot.id in seen:
            raise problem(
                "duplicate_slot_id",
                "slot id {slot} is used twice",
                field=f"slots.{index}.id",
                slot=slot.id,
            )
        seen[slot.id] = index
    opens, closes = minutes_of(hours.opens), minutes_of(hours.closes)
    for index, slot in enumerate(slots):
        if minutes_of(slot.start) < opens or minutes_of(slot.end) > closes:
            raise problem(
                "slot_outside_hours",
                "slot {slot} lies outside opening hours ({opens}-{closes})",
                field=f"slots.{index}.start",
                slot=slot.id,
                opens=hours.opens,
                closes=hours.closes,
            )
        if minutes_of(slot.start) > minutes_of(hours.last_entry):
            # The gate admits nobody after last entry: such a slot's tickets would be useless.
            raise problem(
                "slot_after_last_entry",
                "slot {slot} starts after the last entry ({last_entry})",
                field=f"slots.{index}.start",
                slot=slot.id,
                last_entry=hours.last_entry,
            )
    ordered = sorted(enumerate(slots), key=lambda item: minutes_of(item[1].start))
    for (_, earlier), (later_index, later) in itertools.pairwise(ordered):
        if minutes_of(later.start) < minutes_of(earlier.end):
            raise problem(
                "slots_overlap",
                "slots {slot} and {other} overlap",
                field=f"slots.{later_index}.start",
                slot=later.id,
                other=earlier.id,
            )


class Rules(_Strict):
    hours: Hours = Field(default_factory=Hours)
    individual: IndividualRules = Field(default_factory=IndividualRules)
    team: TeamRules = Field(default_factory=TeamRules)
    walk_in: WalkInRules = Field(default_factory=WalkInRules)
    occupancy: OccupancyRules = Field(default_factory=OccupancyRules)
    gate: GateRules = Field(default_factory=GateRules)
    no_show: NoShowRules = Field(default_factory=NoShowRules)
    privacy: PrivacyRules = Field(default_factory=PrivacyRules)
    protection: ProtectionRules = Field(default_factory=ProtectionRules)
    waiting_list: WaitingListRules = Field(default_factory=WaitingListRules)
    museum: MuseumInfo = Field(default_factory=MuseumInfo)
    slots: list[Slot] = Field(min_length=1, max_length=48)

    @model_validator(mode="after")
    def _slots_fit_the_day(self) -> Self:
        _slot_problems(self.slots, self.hours)
        return self

    def slot(self, slot_id: str) -> Slot | None:
        return next((slot for slot in self.slots if slot.id == slot_id), None)

    def channel(self, name: str) -> ChannelRules:
        """The section of the channel called ``name`` (``reservations.rules.channels``)."""
        section = getattr(self, channels.get(name).name)
        assert isinstance(section, ChannelRules)
        return section

    def ahead(self, name: str) -> AheadChannelRules:
        """The section of a channel booked days ahead."""
        section = self.channel(name)
        assert isinstance(section, AheadChannelRules), name
        return section
