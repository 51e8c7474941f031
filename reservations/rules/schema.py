"""The museum's rules as a validated document: the shape of ``config/museum.toml``,
of ``GET /api/v1/admin/rules`` and of what ``PATCH`` may change."""

from __future__ import annotations

import itertools
import re
from datetime import date, time
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_RATE = re.compile(r"^\d+/(second|minute|hour|day)$")


def _check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError("expected a time of day as HH:MM")
    return value


def _check_rate(value: str) -> str:
    if value != "off" and not _RATE.match(value):
        raise ValueError("expected a rate such as 60/minute, or off")
    return value


HHMM = Annotated[str, AfterValidator(_check_hhmm)]
Rate = Annotated[str, AfterValidator(_check_rate)]
NonNegative = Annotated[int, Field(ge=0, le=1_000_000)]
Positive = Annotated[int, Field(ge=1, le=1_000_000)]
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
    closed_weekdays: list[Weekday] = Field(default_factory=lambda: list[Weekday](["monday"]))

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not minutes_of(self.opens) < minutes_of(self.closes):
            raise ValueError("hours.closes must be after hours.opens")
        if not minutes_of(self.opens) <= minutes_of(self.last_entry) <= minutes_of(self.closes):
            raise ValueError("hours.last_entry must lie between opens and closes")
        return self


class _Channel(_Strict):
    opens_on: date
    daily_quota: NonNegative
    min_days_ahead: Annotated[int, Field(ge=0, le=365)] = 1
    max_days_ahead: Annotated[int, Field(ge=0, le=365)] = 7
    release_time: HHMM = "00:00"
    cancel_minutes_before_start: Annotated[int, Field(ge=0, le=60 * 24 * 30)] = 0

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.min_days_ahead > self.max_days_ahead:
            raise ValueError("min_days_ahead must not exceed max_days_ahead")
        return self


class IndividualRules(_Channel):
    opens_on: date = date(2020, 9, 28)
    daily_quota: NonNegative = 1000
    max_visitors_per_booking: Annotated[int, Field(ge=1, le=20)] = 5


class TeamRules(_Channel):
    opens_on: date = date(2020, 10, 8)
    daily_quota: NonNegative = 400
    max_days_ahead: Annotated[int, Field(ge=0, le=365)] = 14
    min_size: Positive = 10
    max_size: Positive = 50
    requires_approval: bool = True
    received_weekdays: list[Weekday] = Field(
        default_factory=lambda: list[Weekday](
            ["tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        )
    )

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        if self.min_size > self.max_size:
            raise ValueError("team.min_size must not exceed team.max_size")
        return self


class OccupancyRules(_Strict):
    instantaneous_limit: Positive = 600
    building_limit: Positive = 1300
    typical_visit_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 120

    @model_validator(mode="after")
    def _within_building(self) -> Self:
        if self.instantaneous_limit > self.building_limit:
            raise ValueError("occupancy.instantaneous_limit must not exceed the building_limit")
        return self


class GateRules(_Strict):
    entry_opens_minutes_before: Annotated[int, Field(ge=0, le=24 * 60)] = 30
    entry_closes_minutes_after_end: Annotated[int, Field(ge=0, le=24 * 60)] = 0


class NoShowRules(_Strict):
    strikes: Positive = 3
    window_days: Positive = 180
    ban_days: NonNegative = 60


class PrivacyRules(_Strict):
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 30


class ProtectionRules(_Strict):
    rate_limit_per_ip: Rate = "120/minute"
    rate_limit_per_identity: Rate = "10/minute"
    proof_of_work: Literal["off", "under_pressure", "always"] = "off"


class Slot(_Strict):
    id: SlotId
    start: HHMM
    end: HHMM
    individual_capacity: NonNegative
    team_capacity: NonNegative = 0

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if minutes_of(self.end) <= minutes_of(self.start):
            raise ValueError(f"slot {self.id} must end after it starts")
        return self


class Rules(_Strict):
    hours: Hours = Field(default_factory=Hours)
    individual: IndividualRules = Field(default_factory=IndividualRules)
    team: TeamRules = Field(default_factory=TeamRules)
    occupancy: OccupancyRules = Field(default_factory=OccupancyRules)
    gate: GateRules = Field(default_factory=GateRules)
    no_show: NoShowRules = Field(default_factory=NoShowRules)
    privacy: PrivacyRules = Field(default_factory=PrivacyRules)
    protection: ProtectionRules = Field(default_factory=ProtectionRules)
    slots: list[Slot] = Field(min_length=1, max_length=48)

    @model_validator(mode="after")
    def _slots_fit_the_day(self) -> Self:
        ids = [slot.id for slot in self.slots]
        if len(set(ids)) != len(ids):
            raise ValueError("slot ids must be unique")
        ordered = sorted(self.slots, key=lambda slot: minutes_of(slot.start))
        for earlier, later in itertools.pairwise(ordered):
            if minutes_of(later.start) < minutes_of(earlier.end):
                raise ValueError(f"slots {earlier.id} and {later.id} overlap")
        opens, closes = minutes_of(self.hours.opens), minutes_of(self.hours.closes)
        for slot in self.slots:
            if minutes_of(slot.start) < opens or minutes_of(slot.end) > closes:
                raise ValueError(f"slot {slot.id} lies outside opening hours")
        return self

    def slot(self, slot_id: str) -> Slot | None:
        return next((slot for slot in self.slots if slot.id == slot_id), None)

    def channel(self, name: str) -> IndividualRules | TeamRules:
        return self.team if name == "team" else self.individual
