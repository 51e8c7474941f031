"""No-shows: a confirmed booking whose day has closed without any of its tickets used.

Each person on such an individual booking gets a strike (a keyed hash of their identity
document, never the document). A person who reaches ``no_show.strikes`` strikes within
``no_show.window_days`` days is banned from booking until ``ban_days`` days after the
no-show that reached the limit. Team bookings become ``no_show`` too but give no strike:
a group's absence is its organisation's, not the leader's own.

Everything happens in statements the database guards: a booking changes status once, a
strike is unique per person and booking, so running again marks and counts nothing new.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from reservations import clock, db
from reservations.booking.models import (
    Booking,
    BookingStatus,
    NoShowStrike,
    Visitor,
    VisitorBan,
)
from reservations.rules import channels
from reservations.rules.schema import Rules
from reservations.tickets.models import Ticket, UseState

NAME = "mark-no-shows"

_BOOKING: Any = Booking.__table__  # type: ignore[attr-defined]
_VISITOR: Any = Visitor.__table__  # type: ignore[attr-defined]
_TICKET: Any = Ticket.__table__  # type: ignore[attr-defined]
_STRIKE: Any = NoShowStrike.__table__  # type: ignore[attr-defined]
_BAN: Any = VisitorBan.__table__  # type: ignore[attr-defined]


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def last_closed_day(rules: Rules, now: datetime) -> date:
    """The latest day whose closing time has passed."""
    if now >= clock.localize(now.date(), rules.hours.closes):
        return now.date()
    return now.date() - timedelta(days=1)


def mark(session: Session, rules: Rules) -> dict[str, Any]:
    """Mark the no-shows of every closed day, count strikes, ban repeat no-shows."""
    db.one_at_a_time(session, NAME)
    now = clock.now()
    through = last_closed_day(rules, now)
    connection = session.connection()

    used = (
        select(_TICKET.c.id)
        .where(_TICKET.c.booking_id == _BOOKING.c.id, _TICKET.c.use_state != UseState.UNUSED)
        .exists()
    )
    marked = connection.execute(
        update(_BOOKING)
        .where(_BOOKING.c.status == BookingStatus.CONFIRMED, _BOOKING.c.day <= through, ~used)
        .values(status=BookingStatus.NO_SHOW, updated_at=now)
        .returning(_BOOKING.c.id)
    ).all()

    # Every no-show in the window, not only today's: a run interrupted before its strikes
    # were counted is completed by the next one; the unique index keeps strikes single.
    rules_ = rules.no_show
    people = (
        select(_VISITOR.c.identity_hash, _BOOKING.c.day, _BOOKING.c.id)
        .select_from(_VISITOR.join(_BOOKING, _VISITOR.c.booking_id == _BOOKING.c.id))
        .where(
            _BOOKING.c.status == BookingStatus.NO_SHOW,
            _BOOKING.c.channel.in_(channels.giving_strikes()),
            _BOOKING.c.day > through - timedelta(days=rules_.window_days),
            _VISITOR.c.identity_hash.is_not(None),
        )
    )
    new_strikes = connection.execute(
        _insert(session)(_STRIKE)
        .from_select(["identity_hash", "day", "booking_id"], people)
        .on_conflict_do_nothing(index_elements=["identity_hash", "booking_id"])
        .returning(_STRIKE.c.identity_hash, _STRIKE.c.day)
    ).all()

    bans = _ban_repeat_no_shows(session, rules, now, {(row[0], row[1]) for row in new_strikes})
    return {
        "through": through.isoformat(),
        "no_shows": len(marked),
        "strikes": len(new_strikes),
        "bans": bans,
    }


def _ban_repeat_no_shows(
    session: Session, rules: Rules, now: datetime, new_strikes: set[tuple[str, date]]
) -> int:
    """Ban the people whose new strike reaches the limit within the window.

    Only a new strike can start a ban: a person whose ban ended while older strikes are
    still in the window is not banned again until they fail to come again.
    """
    policy = rules.no_show
    if not new_strikes or policy.ban_days == 0:
        return 0
    latest: dict[str, date] = {}
    for identity, day in new_strikes:
        latest[identity] = max(day, latest.get(identity, day))
    window = timedelta(days=policy.window_days)
    earliest = min(latest.values()) - window
    strikes: dict[str, list[date]] = {}
    rows = session.connection().execute(
        select(_STRIKE.c.identity_hash, _STRIKE.c.day).where(
            _STRIKE.c.identity_hash.in_(list(latest)),
            _STRIKE.c.day > earliest,
            # Strikes forgiven with a lifted ban (``booking.bans``) never count again.
            _STRIKE.c.forgiven_at.is_(None),
        )
    )
    for identity, day in rows:
        strikes.setdefault(identity, []).append(day)

    banned = 0
    insert = _insert(session)
    for identity, last in sorted(latest.items()):
        count = sum(1 for day in strikes.get(identity, []) if last - window < day <= last)
        if count < policy.strikes:
            continue
        until = last + timedelta(days=policy.ban_days)
        statement = insert(_BAN).values(
            identity_hash=identity,
            until=until,
            created_at=now,
            reason={
                "no_shows": count,
                "window_days": policy.window_days,
                "last_no_show": last.isoformat(),
            },
        )
        excluded = statement.excluded
        session.connection().execute(
            statement.on_conflict_do_update(
                index_elements=["identity_hash"],
                set_={
                    # A ban in force is only ever lengthened, never shortened.
                    "until": case(
                        (_BAN.c.until < excluded.until, excluded.until), else_=_BAN.c.until
                    ),
                    "created_at": case(
                        (_BAN.c.until < now.date(), excluded.created_at), else_=_BAN.c.created_at
                    ),
                    "reason": excluded.reason,
                },
            )
        )
        banned += 1
    return banned
