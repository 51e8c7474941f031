"""The rules in force: seeding, reading, changing, per-date overrides and what they mean
for a given day and channel."""

from __future__ import annotations

import math
import threading
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    create_model,
)
from sqlalchemy import Table, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from reservations import clock, db
from reservations.audit import service as audit
from reservations.errors import Conflict, field_error, validation_details
from reservations.rules import channels
from reservations.rules.channels import Window
from reservations.rules.errors import BookingWindow, InvalidRules, RulesChanged
from reservations.rules.models import DayOverride, RulesDocument
from reservations.rules.schema import WEEKDAYS, NonNegative, Rules, Slot, minutes_of

# Reasons a day cannot be booked (``details.reason`` in the contract).
PAST = "past"
TOO_SOON = "too_soon"
NOT_RELEASED = "not_released"
CLOSED = "closed"
CHANNEL_NOT_OPEN = "channel_not_open"
SOLD_OUT = "sold_out"


def load_file(path: Path) -> Rules:
    with path.open("rb") as handle:
        return parse(tomllib.load(handle))


def parse(document: dict[str, Any]) -> Rules:
    try:
        return Rules.model_validate(document)
    except ValidationError as exc:
        raise InvalidRules(validation_details(exc.errors(include_url=False))) from None


def to_document(rules: Rules) -> dict[str, Any]:
    document = rules.model_dump(mode="json")
    document["slots"].sort(key=lambda slot: minutes_of(slot["start"]))
    return document


def seed(session: Session, path: Path) -> bool:
    """Store the shipped rules unless the database already holds rules. True if it seeded."""
    if session.get(RulesDocument, 1) is not None:
        return False
    rules = load_file(path)
    session.add(RulesDocument(id=1, document=to_document(rules), updated_at=clock.now()))
    session.flush()
    return True


# --- the rules in force, cached per process ---------------------------------------------
#
# Each process keeps the parsed rules of one version. Every request still asks the
# database for the version in force (one primary-key read, in the request's read
# transaction, never under the write lock), so an admin's change is in force for every
# process the moment its answer is sent; only a new version is read and parsed again.

_cache_lock = threading.Lock()
_cache: tuple[int, Rules] | None = None
# When this process last learnt the version in force (clock.monotonic()).
_checked_at = -math.inf
# How old the rules handed out by ``recent`` may be.
RECENT_SECONDS = 1.0

_RULES: Table = RulesDocument.__table__  # type: ignore[attr-defined]
_OVERRIDES: Table = DayOverride.__table__  # type: ignore[attr-defined]
_RULES_VERSION = select(_RULES.c.version).where(_RULES.c.id == 1)
# The version in force, as a column of another read: one statement instead of two.
VERSION_IN_FORCE = _RULES_VERSION.scalar_subquery().label("rules_version")
_RULES_ROW = select(_RULES.c.version, _RULES.c.document).where(_RULES.c.id == 1)
_OVERRIDE_COLUMNS = (
    _OVERRIDES.c.day,
    _OVERRIDES.c.closed,
    _OVERRIDES.c.quotas,
    _OVERRIDES.c.note,
)
# The version in force and one day's override, in one read.
_DAY_RULES = (
    select(_RULES.c.version, *_OVERRIDE_COLUMNS)
    .select_from(_RULES.outerjoin(_OVERRIDES, _OVERRIDES.c.day == bindparam("day")))
    .where(_RULES.c.id == 1)
)
# The version in force and the overrides of a range of days, in one read.
_RANGE_RULES = (
    select(_RULES.c.version, *_OVERRIDE_COLUMNS)
    .select_from(
        _RULES.outerjoin(
            _OVERRIDES,
            (_OVERRIDES.c.day >= bindparam("start")) & (_OVERRIDES.c.day <= bindparam("end")),
        )
    )
    .where(_RULES.c.id == 1)
    .order_by(_OVERRIDES.c.day)
)


class Override(Protocol):
    """A day's exception to the weekly rules, as stored or as read in passing."""

    @property
    def closed(self) -> bool | None: ...
    @property
    def note(self) -> str | None: ...
    def quota(self, channel: str) -> int | None:
        """The day's quota of ``channel``, or None where it follows the rules."""


@dataclass(frozen=True, slots=True)
class OverrideValues:
    day: date
    closed: bool | None
    # (channel, quota) of the channels whose quota the day changes, in the registry's order
    quotas: tuple[tuple[str, int], ...]
    note: str | None

    def quota(self, channel: str) -> int | None:
        return next((value for name, value in self.quotas if name == channel), None)


def _quota_pairs(stored: object) -> tuple[tuple[str, int], ...]:
    found = stored if isinstance(stored, dict) else {}
    return tuple((name, int(found[name])) for name in channels.NAMES if found.get(name) is not None)


def _not_seeded() -> RuntimeError:
    return RuntimeError("rules were not seeded; run migrations and start the service")


def of_version(connection: Connection, version: int) -> Rules:
    """The parsed rules of ``version`` (read in the same transaction as the version, e.g.
    with ``VERSION_IN_FORCE``), read and parsed again only when it changed."""
    global _cache, _checked_at
    checked_at = clock.monotonic()
    with _cache_lock:
        if _cache is not None and _cache[0] == version:
            _checked_at = max(_checked_at, checked_at)
            return _cache[1]
    row = connection.execute(_RULES_ROW).first()
    if row is None:
        raise _not_seeded()
    rules = Rules.model_validate(row.document)
    with _cache_lock:
        _cache = (row.version, rules)
        _checked_at = checked_at
    return rules


def _recheck() -> None:
    """Ask the database again before handing out ``recent`` rules: this process changed them."""
    global _checked_at
    with _cache_lock:
        _checked_at = -math.inf


def recent_if_known() -> Rules | None:
    """``recent`` rules if this process knows them without reading, else None."""
    cached = _cache
    if cached is not None and clock.monotonic() - _checked_at < RECENT_SECONDS:
        return cached[1]
    return None


def recent() -> Rules:
    """The rules in force at most ``RECENT_SECONDS`` ago, for checks that may lag an admin's
    change by that much (the protection of the booking endpoints, which runs before the
    request's own read). Reads the version with a short read of its own only when no
    request of this process did within that time."""
    known = recent_if_known()
    if known is not None:
        return known
    with db.transaction(write=False) as session:
        return current(session)


def _override_of(row: Any) -> OverrideValues | None:
    if row.day is None:
        return None
    return OverrideValues(row.day, row.closed, _quota_pairs(row.quotas), row.note)


def current(session: Session) -> Rules:
    """The rules in force. Parsed once per version; the version check is one tiny query."""
    return current_on(session.connection())


def current_on(connection: Connection) -> Rules:
    version = connection.execute(_RULES_VERSION).scalar()
    if version is None:
        raise _not_seeded()
    return of_version(connection, version)


def for_day(connection: Connection, day: date) -> tuple[Rules, OverrideValues | None]:
    """The rules in force and ``day``'s override, in one read."""
    row = connection.execute(_DAY_RULES, {"day": day}).first()
    if row is None:
        raise _not_seeded()
    return of_version(connection, row.version), _override_of(row)


def for_range(
    connection: Connection, start: date, end: date
) -> tuple[Rules, int, dict[date, OverrideValues]]:
    """The rules in force, their version and the overrides of ``start``..``end``, in one read."""
    rows = connection.execute(_RANGE_RULES, {"start": start, "end": end}).all()
    if not rows:
        raise _not_seeded()
    overrides = {}
    for row in rows:
        override = _override_of(row)
        if override is not None:
            overrides[override.day] = override
    return of_version(connection, rows[0].version), rows[0].version, overrides


def forget_cached_rules() -> None:
    global _cache, _checked_at
    with _cache_lock:
        _cache = None
        _checked_at = -math.inf


def version(session: Session) -> int:
    """The version of the rules in force; it grows by one with every change."""
    found = session.connection().execute(_RULES_VERSION).scalar()
    if found is None:
        raise _not_seeded()
    return int(found)


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Objects merge key by key; anything else, lists of slots included, is replaced whole."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merged(current_rules: Rules, patch: object) -> Rules:
    """The rules ``patch`` would make, validated whole; raises InvalidRules."""
    if not isinstance(patch, dict):
        raise InvalidRules(
            {"fields": [{"field": "body", "problem": "must be a JSON object", "type": "dict_type"}]}
        )
    return parse(deep_merge(to_document(current_rules), patch))


def update(
    session: Session, patch: object, actor: str, expected_version: int | None = None
) -> Rules:
    """Apply a partial change; the whole result is validated or nothing changes.

    ``expected_version`` (the version the change was prepared against) refuses to overwrite
    a change somebody else saved in between.
    """
    row = session.get(RulesDocument, 1, with_for_update=True)
    assert row is not None
    if expected_version is not None and expected_version != row.version:
        raise RulesChanged({"version": row.version})
    before = dict(row.document)
    rules = merged(Rules.model_validate(before), patch)
    after = to_document(rules)
    if after != before:
        row.document = after
        row.version += 1
        row.updated_at = clock.now()
        row.updated_by = actor
        session.add(row)
        audit.record(
            session, actor=actor, action="rules.update", target="rules", before=before, after=after
        )
        _recheck()
    session.flush()
    return rules


# --- per-date overrides -----------------------------------------------------------------


def get_override(session: Session, day: date) -> DayOverride | None:
    return session.get(DayOverride, day)


def overrides_between(session: Session, start: date, end: date) -> dict[date, DayOverride]:
    statement = select(DayOverride).where(
        col(DayOverride.day) >= start, col(DayOverride.day) <= end
    )
    return {override.day: override for override in session.scalars(statement)}


class _DayOverrideFields(BaseModel):
    """What an admin sets for one date; a field left out follows the weekly rules. Each
    channel's quota is a field of its own, ``<channel>_quota`` (see ``DayOverrideChange``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    closed: StrictBool | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = Field(
        default=None
    )

    def quota(self, channel: str) -> int | None:
        value = getattr(self, channels.get(channel).quota_field, None)
        return None if value is None else int(value)

    @property
    def quotas(self) -> dict[str, int]:
        """The quotas it sets, by channel name."""
        return {
            channel.name: value
            for channel in channels.CHANNELS
            if (value := self.quota(channel.name)) is not None
        }

    @property
    def sets_nothing(self) -> bool:
        """Whether the day would simply follow the rules (a blank note is no note)."""
        return self.closed is None and not self.note and not self.quotas


def _quota_fields() -> dict[str, Any]:
    return {
        channel.quota_field: (NonNegative | None, Field(default=None))
        for channel in channels.CHANNELS
    }


if TYPE_CHECKING:
    DayOverrideChange = _DayOverrideFields
else:
    DayOverrideChange = create_model(
        "DayOverrideChange", __base__=_DayOverrideFields, **_quota_fields()
    )


def override_document(override: DayOverride | None) -> dict[str, Any] | None:
    """The override as the API and the audit show it: ``closed``, each channel's
    ``<channel>_quota`` and ``note``."""
    if override is None:
        return None
    return {
        "closed": override.closed,
        **{channel.quota_field: override.quota(channel.name) for channel in channels.CHANNELS},
        "note": override.note,
    }


def override_may_change(day: date) -> bool:
    """Whether ``day``'s override may still be set or removed: not once the day is past.
    Past days are history: reports and no-show strikes must keep meaning what they meant."""
    return day >= clock.today()


def _not_in_the_past(day: date) -> None:
    if not override_may_change(day):
        raise field_error("date", "must not be in the past")


def put_override(
    session: Session, day: date, change: DayOverrideChange, actor: str
) -> DayOverride | None:
    """Set the date's override to exactly ``change`` (what it leaves out follows the rules).

    A change that sets nothing leaves no override behind (None): the day follows the rules,
    and an empty override would only be a second way of saying so. Lowering a quota below
    what is already booked cancels nobody: it only stops new bookings.
    """
    _not_in_the_past(day)
    if change.sets_nothing:
        delete_override(session, day, actor)
        return None
    override = session.get(DayOverride, day, with_for_update=True)
    before = override_document(override)
    if override is None:
        override = DayOverride(day=day, updated_at=clock.now(), updated_by=actor)
    override.closed = change.closed
    override.quotas = change.quotas
    override.note = change.note or None
    after = override_document(override)
    if after != before:
        override.updated_at = clock.now()
        override.updated_by = actor
        try:
            with session.begin_nested():
                session.add(override)
                session.flush()
        except IntegrityError:
            # Another admin created this date's override in the same instant (PostgreSQL;
            # SQLite writers queue): theirs stands, this one may be sent again.
            raise Conflict({"date": day.isoformat()}) from None
        audit.record(
            session,
            actor=actor,
            action="day.override",
            target=day.isoformat(),
            before=before,
            after=after,
        )
    session.flush()
    return override


def delete_override(session: Session, day: date, actor: str) -> bool:
    override = session.get(DayOverride, day, with_for_update=True)
    if override is None:
        return False
    _not_in_the_past(day)
    audit.record(
        session,
        actor=actor,
        action="day.override.delete",
        target=day.isoformat(),
        before=override_document(override),
        after=None,
    )
    session.delete(override)
    session.flush()
    return True


# --- what the rules mean for a day -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One day in one channel, as the rules and its override make it."""

    day: date
    channel: str
    reason: str | None  # why it cannot be booked now, or None
    daily_capacity: int
    slot_capacities: dict[str, int]
    # The slots of today whose entry has closed: nobody can use a ticket of theirs.
    past_slots: frozenset[str] = frozenset()

    def slot_reason(self, slot_id: str) -> str | None:
        """Why ``slot_id`` cannot be booked even on a bookable day, or None."""
        return PAST if slot_id in self.past_slots else None


def is_closed(rules: Rules, override: Override | None, channel: str, day: date) -> bool:
    """Whether the museum receives nobody of ``channel`` that day (override first)."""
    if override is not None and override.closed is not None:
        return override.closed
    weekday = WEEKDAYS[day.weekday()]
    if weekday in rules.hours.closed_weekdays:
        return True
    return not rules.channel(channel).receives_on(weekday)


def last_released_day(rules: Rules, channel: str, now: datetime) -> date:
    """The furthest day ``channel`` takes bookings for now."""
    if channels.get(channel).window is Window.SAME_DAY:
        return now.date()
    settings = rules.ahead(channel)
    released = now.date() + timedelta(days=settings.max_days_ahead)
    if minutes_of(now.strftime("%H:%M")) < minutes_of(settings.release_time):
        released -= timedelta(days=1)
    return released


def window_reason(
    rules: Rules, override: Override | None, channel: str, day: date, now: datetime
) -> str | None:
    if channels.get(channel).window is Window.SAME_DAY:
        return _same_day_reason(rules, override, channel, day, now)
    settings = rules.ahead(channel)
    today = now.date()
    if day < today:
        return PAST
    # The published opening date is the day a channel starts taking bookings, not the
    # first day one can visit: before it nobody books that channel, for any visit date.
    if today < settings.opens_on:
        return CHANNEL_NOT_OPEN
    if is_closed(rules, override, channel, day):
        return CLOSED
    if day < today + timedelta(days=settings.min_days_ahead):
        return TOO_SOON
    if day > last_released_day(rules, channel, now):
        return NOT_RELEASED
    return None


def _same_day_reason(
    rules: Rules, override: Override | None, channel: str, day: date, now: datetime
) -> str | None:
    """A day's own places are booked on that day, from opening until the last entry."""
    today = now.date()
    if day < today:
        return PAST
    if is_closed(rules, override, channel, day):
        return CLOSED
    if day > today or now < clock.localize(day, rules.hours.opens):
        return NOT_RELEASED
    if now > clock.localize(day, rules.hours.last_entry):
        return PAST
    return None


def entry_closes(rules: Rules, day: date, slot: Slot) -> datetime:
    """When the gate stops admitting ``slot``'s tickets: its end plus the late margin,
    never after the day's last entry."""
    closes = clock.localize(day, slot.end) + timedelta(
        minutes=rules.gate.entry_closes_minutes_after_end
    )
    return min(closes, clock.localize(day, rules.hours.last_entry))


def plan_day(
    rules: Rules, override: Override | None, channel: str, day: date, now: datetime
) -> DayPlan:
    entry = channels.get(channel)
    daily = rules.channel(channel).daily_quota
    if override is not None and (changed := override.quota(channel)) is not None:
        daily = changed
    slots = {
        slot.id: daily if entry.slot_field is None else int(getattr(slot, entry.slot_field))
        for slot in rules.slots
    }
    today = day == now.date()
    past = frozenset(
        slot.id for slot in rules.slots if today and now > entry_closes(rules, day, slot)
    )
    return DayPlan(
        day, channel, window_reason(rules, override, channel, day, now), daily, slots, past
    )


def require_bookable(plan: DayPlan, slot_id: str | None = None) -> None:
    reason = plan.reason or (plan.slot_reason(slot_id) if slot_id is not None else None)
    if reason is not None:
        raise BookingWindow(reason)
