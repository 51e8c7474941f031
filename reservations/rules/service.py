"""The rules in force: seeding, reading, changing, per-date overrides and what they mean
for a given day and channel."""

from __future__ import annotations

import threading
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from reservations import clock
from reservations.admin import audit
from reservations.rules.errors import BookingWindow, InvalidRules
from reservations.rules.models import DayOverride, RulesDocument
from reservations.rules.schema import WEEKDAYS, Rules, minutes_of

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
        raise InvalidRules(validation_details(exc)) from None


def validation_details(exc: ValidationError) -> dict[str, Any]:
    """Pydantic's complaints without the submitted values (they may be personal data)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        location = ".".join(str(part) for part in error["loc"])
        problems.append({"field": location, "problem": error["msg"]})
    return {"fields": problems}


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


_cache_lock = threading.Lock()
_cache: tuple[int, Rules] | None = None


def current(session: Session) -> Rules:
    """The rules in force. Parsed once per version; the version check is one tiny query."""
    global _cache
    version = session.exec(select(RulesDocument.version).where(RulesDocument.id == 1)).first()
    if version is None:
        raise RuntimeError("rules were not seeded; run migrations and start the service")
    with _cache_lock:
        if _cache is not None and _cache[0] == version:
            return _cache[1]
    row = session.get(RulesDocument, 1)
    assert row is not None
    rules = Rules.model_validate(row.document)
    with _cache_lock:
        _cache = (row.version, rules)
    return rules


def forget_cached_rules() -> None:
    global _cache
    with _cache_lock:
        _cache = None


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def update(session: Session, patch: dict[str, Any], actor: str) -> Rules:
    """Apply a partial change; the whole result is validated or nothing changes."""
    row = session.get(RulesDocument, 1, with_for_update=True)
    assert row is not None
    before = dict(row.document)
    rules = parse(deep_merge(before, patch))
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
    session.flush()
    return rules


# --- per-date overrides -----------------------------------------------------------------


def get_override(session: Session, day: date) -> DayOverride | None:
    return session.get(DayOverride, day)


def overrides_between(session: Session, start: date, end: date) -> dict[date, DayOverride]:
    statement = select(DayOverride).where(
        col(DayOverride.day) >= start, col(DayOverride.day) <= end
    )
    return {override.day: override for override in session.exec(statement)}


def _override_document(override: DayOverride | None) -> dict[str, Any] | None:
    if override is None:
        return None
    return {
        "closed": override.closed,
        "individual_quota": override.individual_quota,
        "team_quota": override.team_quota,
        "note": override.note,
    }


def put_override(session: Session, day: date, changes: dict[str, Any], actor: str) -> DayOverride:
    override = session.get(DayOverride, day)
    before = _override_document(override)
    if override is None:
        override = DayOverride(day=day, updated_at=clock.now(), updated_by=actor)
    for field in ("closed", "individual_quota", "team_quota", "note"):
        if field in changes:
            setattr(override, field, changes[field])
    override.updated_at = clock.now()
    override.updated_by = actor
    session.add(override)
    audit.record(
        session,
        actor=actor,
        action="day.override",
        target=day.isoformat(),
        before=before,
        after=_override_document(override),
    )
    session.flush()
    return override


def delete_override(session: Session, day: date, actor: str) -> bool:
    override = session.get(DayOverride, day)
    if override is None:
        return False
    audit.record(
        session,
        actor=actor,
        action="day.override.delete",
        target=day.isoformat(),
        before=_override_document(override),
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


def _is_closed(rules: Rules, override: DayOverride | None, channel: str, day: date) -> bool:
    if override is not None and override.closed is not None:
        return override.closed
    weekday = WEEKDAYS[day.weekday()]
    if weekday in rules.hours.closed_weekdays:
        return True
    return channel == "team" and weekday not in rules.team.received_weekdays


def last_released_day(rules: Rules, channel: str, now: datetime) -> date:
    settings = rules.channel(channel)
    released = now.date() + timedelta(days=settings.max_days_ahead)
    if minutes_of(now.strftime("%H:%M")) < minutes_of(settings.release_time):
        released -= timedelta(days=1)
    return released


def window_reason(
    rules: Rules, override: DayOverride | None, channel: str, day: date, now: datetime
) -> str | None:
    settings = rules.channel(channel)
    today = now.date()
    if day < today:
        return PAST
    if day < settings.opens_on:
        return CHANNEL_NOT_OPEN
    if _is_closed(rules, override, channel, day):
        return CLOSED
    if day < today + timedelta(days=settings.min_days_ahead):
        return TOO_SOON
    if day > last_released_day(rules, channel, now):
        return NOT_RELEASED
    return None


def plan_day(
    rules: Rules, override: DayOverride | None, channel: str, day: date, now: datetime
) -> DayPlan:
    if channel == "team":
        daily = rules.team.daily_quota
        if override is not None and override.team_quota is not None:
            daily = override.team_quota
        slots = {slot.id: slot.team_capacity for slot in rules.slots}
    else:
        daily = rules.individual.daily_quota
        if override is not None and override.individual_quota is not None:
            daily = override.individual_quota
        slots = {slot.id: slot.individual_capacity for slot in rules.slots}
    return DayPlan(day, channel, window_reason(rules, override, channel, day, now), daily, slots)


def require_bookable(plan: DayPlan) -> None:
    if plan.reason is not None:
        raise BookingWindow(plan.reason)
