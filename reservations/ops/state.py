"""What the metrics read from the database when scraped: the same for every worker and
every server, since it is the database's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from reservations import clock, db
from reservations.booking import capacity
from reservations.booking.models import WHOLE_DAY
from reservations.gate import service as gate_service
from reservations.jobs.models import JobRun
from reservations.rules import channels
from reservations.rules import service as rules_service

ALL_SLOTS = "all"


@dataclass(frozen=True, slots=True)
class PlacesLeft:
    which: str  # "today" or "release": the newest day released for booking
    day: date
    channel: str
    slot: str  # a slot id, or ALL_SLOTS for the whole day
    left: int


@dataclass(frozen=True, slots=True)
class State:
    inside: int
    limit: int
    places: list[PlacesLeft]
    # (job, outcome) -> when the last such run finished
    last_runs: dict[tuple[str, str], datetime]
    # The newest recount's drifted counters, None before the first.
    drift: int | None


def read() -> State:
    now = clock.now()
    today = now.date()
    with db.transaction(write=False) as session:
        connection = db.begin_read(session)
        rules = rules_service.current_on(connection)
        release = {
            channel: rules_service.last_released_day(rules, channel, now)
            for channel in channels.NAMES
        }
        last = max(release.values())
        _rules, _version, overrides = rules_service.for_range(connection, today, last)
        booked = capacity.read_counts(connection, today, last)
        places: list[PlacesLeft] = []
        for channel in channels.NAMES:
            for which, day in (("today", today), ("release", release[channel])):
                override = overrides.get(day)
                places.extend(_places_left(rules, override, channel, which, day, now, booked))
        occupancy = gate_service.current_occupancy(session)
        last_runs = _last_runs(session)
        drift = _latest_drift(session)
    return State(occupancy.inside, occupancy.limit, places, last_runs, drift)


def _places_left(
    rules: Any,
    override: Any,
    channel: str,
    which: str,
    day: date,
    now: datetime,
    booked: dict[tuple[date, str, str], int],
) -> list[PlacesLeft]:
    plan = rules_service.plan_day(rules, override, channel, day, now)
    closed = rules_service.is_closed(rules, override, channel, day)
    found = [
        PlacesLeft(
            which,
            day,
            channel,
            ALL_SLOTS,
            0 if closed else max(0, plan.daily_capacity - booked.get((day, channel, WHOLE_DAY), 0)),
        )
    ]
    for slot_id, slot_capacity in plan.slot_capacities.items():
        left = max(0, slot_capacity - booked.get((day, channel, slot_id), 0))
        found.append(PlacesLeft(which, day, channel, slot_id, 0 if closed else left))
    return found


def _last_runs(session: Session) -> dict[tuple[str, str], datetime]:
    rows = session.exec(
        select(JobRun.name, JobRun.outcome, func.max(JobRun.finished_at))  # type: ignore[call-overload]
        .where(col(JobRun.finished_at).is_not(None))
        .group_by(col(JobRun.name), col(JobRun.outcome))
    )
    return {(name, outcome): finished for name, outcome, finished in rows}


def _latest_drift(session: Session) -> int | None:
    from reservations.ops.jobs import latest_check

    report = latest_check(session)
    return None if report is None else int(report.get("drift", 0))
