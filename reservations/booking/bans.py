"""Strikes and bans as the desk sees them, and lifting a ban.

Strikes and bans are kept under keyed hashes (``booking.noshows`` counts and bans; the
booking path refuses the banned). Here they are read for one subject (a person's identity
document; the booking phone may follow as another ``BanSubject``), and an admin lifts a
ban: the ban ends, the strikes that led to it no longer count towards another
(``NoShowStrike.forgiven_at``), and a ``BanLift`` row keeps who lifted it and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from reservations import clock
from reservations.booking.models import (
    BanLift,
    BanSubject,
    Booking,
    NoShowStrike,
    Visitor,
    VisitorBan,
)
from reservations.rules.schema import Rules


@dataclass(frozen=True, slots=True)
class Strike:
    day: date
    reference: str


@dataclass(frozen=True, slots=True)
class Standing:
    """What counts against a subject now: its ban in force (or None) and its strikes."""

    ban: VisitorBan | None
    strikes: list[Strike]


def counted_since(rules: Rules, today: date) -> date:
    """Strikes after this day still count, or led to a ban that may still be in force."""
    policy = rules.no_show
    return today - timedelta(days=policy.window_days + policy.ban_days)


def standing(session: Session, subject_hash: str, rules: Rules) -> Standing:
    today = clock.today()
    ban = session.get(VisitorBan, subject_hash)
    if ban is not None and ban.until < today:
        ban = None
    rows = session.execute(
        select(col(NoShowStrike.day), col(Booking.reference))
        .join(Booking, col(Booking.id) == col(NoShowStrike.booking_id))
        .where(
            col(NoShowStrike.identity_hash) == subject_hash,
            col(NoShowStrike.forgiven_at).is_(None),
            col(NoShowStrike.day) > counted_since(rules, today),
        )
        .order_by(col(NoShowStrike.day).desc())
    )
    return Standing(ban, [Strike(day, reference) for day, reference in rows])


def lift(
    session: Session,
    subject_hash: str,
    rules: Rules,
    *,
    actor: str,
    reason: str,
    masked: str | None,
    subject: BanSubject = BanSubject.DOCUMENT,
) -> BanLift | None:
    """End the subject's ban and forgive the strikes that count; None when there was
    neither a ban in force nor a strike to forgive (nothing changed)."""
    now = clock.now()
    found = standing(session, subject_hash, rules)
    if found.ban is None and not found.strikes:
        return None
    ban = found.ban
    session.execute(delete(VisitorBan).where(col(VisitorBan.identity_hash) == subject_hash))
    forgiven = session.execute(
        update(NoShowStrike)
        .where(
            col(NoShowStrike.identity_hash) == subject_hash,
            col(NoShowStrike.forgiven_at).is_(None),
        )
        .values(forgiven_at=now)
    )
    lifted = BanLift(
        subject=subject,
        subject_hash=subject_hash,
        subject_masked=masked,
        banned_at=ban.created_at if ban is not None else None,
        until=ban.until if ban is not None else None,
        strikes=int(getattr(forgiven, "rowcount", 0) or 0),
        lifted_at=now,
        lifted_by=actor,
        reason=reason,
    )
    session.add(lifted)
    session.flush()
    return lifted


def in_force(session: Session, limit: int = 200) -> list[VisitorBan]:
    statement = (
        select(VisitorBan)
        .where(col(VisitorBan.until) >= clock.today())
        .order_by(col(VisitorBan.until).desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def lifted_recently(session: Session, limit: int = 100) -> list[BanLift]:
    statement = select(BanLift).order_by(col(BanLift.lifted_at).desc()).limit(limit)
    return list(session.scalars(statement))


def masked_documents(session: Session, hashes: list[str]) -> dict[str, str]:
    """The masked document of each hash while a booking still keeps one (erased ones not)."""
    if not hashes:
        return {}
    rows = session.execute(
        select(col(Visitor.identity_hash), col(Visitor.id_masked)).where(
            col(Visitor.identity_hash).in_(hashes), col(Visitor.id_masked).is_not(None)
        )
    )
    return {str(identity): str(masked) for identity, masked in rows}
