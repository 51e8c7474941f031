"""The gate's own statements: the day's occupancy counter, the scan records, and the one
read that finds a scanned ticket with its booking and holder.

The scan path runs these on every scan, so they are built once, with bound parameters, and
run as ``db.DriverStatement``s: building SQLAlchemy expressions anew on every scan would cost
more than running them. Changes to bookings and tickets are theirs to make
(``booking.service.check_in``, ``tickets.service.enter`` and ``leave``), in the same
transaction.

The occupancy counter keeps the live limit in the database: people are counted in by one
conditional upsert that applies only while ``inside + n`` stays within the limit, less the
places offline scanners' leases hold (``leased``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Integer, and_, bindparam, case, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlmodel import col

from reservations import db
from reservations.booking.models import Booking, BookingStatus, Visitor
from reservations.gate.models import GateScan, OccupancyCounter
from reservations.rules import service as rules_service
from reservations.tickets.models import Ticket, TicketStatus

_COUNTER = OccupancyCounter.__table__  # type: ignore[attr-defined]
_SCAN = GateScan.__table__  # type: ignore[attr-defined]

# --- the occupancy counter ---------------------------------------------------------------

_DAY = bindparam("o_day", type_=_COUNTER.c.day.type)
_ROW = (_COUNTER.c.inside, _COUNTER.c.entered, _COUNTER.c.exited, _COUNTER.c.leased)
# A counter row: (inside, entered, exited, leased), or None when nobody was counted in that
# day.
_READ_OCCUPANCY = db.DriverStatement(select(*_ROW).where(_COUNTER.c.day == _DAY))
_PEOPLE = bindparam("o_people", type_=Integer)
_COUNTED_OUT = case((_COUNTER.c.inside >= _PEOPLE, _PEOPLE), else_=_COUNTER.c.inside)
# Both SET expressions see the old ``inside``, so ``exited`` grows by exactly what
# ``inside`` shrinks: inside = entered - exited, and never below zero.
_COUNT_OUT = db.DriverStatement(
    update(_COUNTER)
    .where(_COUNTER.c.day == bindparam("o_day", type_=_COUNTER.c.day.type))
    .values(inside=_COUNTER.c.inside - _COUNTED_OUT, exited=_COUNTER.c.exited + _COUNTED_OUT)
    .returning(*_ROW)
)
_count_in_statements: dict[str, db.DriverStatement] = {}


def _count_in_statement(dialect: str) -> db.DriverStatement:
    """The conditional upsert that counts people in while ``inside + n + leased <= limit``:
    online admissions never take the places offline scanners hold."""
    statement = _count_in_statements.get(dialect)
    if statement is None:
        insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = db.DriverStatement(
            insert_for(_COUNTER)
            .values(
                day=bindparam("o_day", type_=_COUNTER.c.day.type),
                inside=_PEOPLE,
                entered=_PEOPLE,
                exited=0,
                leased=0,
            )
            .on_conflict_do_update(
                index_elements=["day"],
                set_={
                    "inside": _COUNTER.c.inside + _PEOPLE,
                    "entered": _COUNTER.c.entered + _PEOPLE,
                },
                where=(_COUNTER.c.inside + _PEOPLE + _COUNTER.c.leased)
                <= bindparam("o_limit", type_=Integer),
            )
            .returning(*_ROW)
        )
        _count_in_statements[dialect] = statement
    return statement


def occupancy_row(connection: Connection, day: date) -> Any:
    """The day's counter row, or None."""
    return _READ_OCCUPANCY.first(connection, {"o_day": day})


def count_in(connection: Connection, day: date, people: int, limit: int) -> Any:
    """Count ``people`` in unless that would pass ``limit``: one conditional upsert. The
    counter row after it, or None when it did not apply."""
    statement = _count_in_statement(connection.dialect.name)
    parameters = {"o_day": day, "o_people": people, "o_limit": limit}
    # RETURNING rather than rowcount: drivers disagree on rowcount for upserts.
    return statement.first(connection, parameters)


def count_out(connection: Connection, day: date, people: int) -> Any:
    """Count ``people`` out of ``day``, never below zero; the counter row after it."""
    return _COUNT_OUT.first(connection, {"o_day": day, "o_people": people})


# --- places held by offline scanners' leases -----------------------------------------------

_PLACES = bindparam("o_places", type_=Integer)
_RELEASING = bindparam("o_release", type_=Integer)
_hold_statements: dict[str, db.DriverStatement] = {}


def _hold_statement(dialect: str) -> db.DriverStatement:
    """A lease's hold changes from ``o_release`` places to ``o_places``: applies only while
    the day stays within the limit with it, or when the hold shrinks."""
    statement = _hold_statements.get(dialect)
    if statement is None:
        insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = db.DriverStatement(
            insert_for(_COUNTER)
            .values(day=_DAY, inside=0, entered=0, exited=0, leased=_PLACES)
            .on_conflict_do_update(
                index_elements=["day"],
                set_={"leased": _COUNTER.c.leased - _RELEASING + _PLACES},
                where=or_(
                    _PLACES <= _RELEASING,
                    _COUNTER.c.inside + _COUNTER.c.leased - _RELEASING + _PLACES
                    <= bindparam("o_limit", type_=Integer),
                ),
            )
            .returning(*_ROW)
        )
        _hold_statements[dialect] = statement
    return statement


def hold(connection: Connection, day: date, *, release: int, places: int, limit: int) -> Any:
    """A lease that held ``release`` places now holds ``places``, within ``limit``: one
    conditional upsert. The counter row after it, or None when the places are not free."""
    if places > limit:
        return None
    parameters = {"o_day": day, "o_release": release, "o_places": places, "o_limit": limit}
    return _hold_statement(connection.dialect.name).first(connection, parameters)


_RELEASE = db.DriverStatement(
    update(_COUNTER)
    .where(_COUNTER.c.day == _DAY)
    .values(leased=case((_COUNTER.c.leased >= _PLACES, _COUNTER.c.leased - _PLACES), else_=0))
    .returning(*_ROW)
)
# People a lease held places for are inside now: its places become theirs.
_COUNT_IN_HELD = db.DriverStatement(
    update(_COUNTER)
    .where(_COUNTER.c.day == _DAY)
    .values(
        inside=_COUNTER.c.inside + _PEOPLE,
        entered=_COUNTER.c.entered + _PEOPLE,
        leased=case((_COUNTER.c.leased >= _PEOPLE, _COUNTER.c.leased - _PEOPLE), else_=0),
    )
    .returning(*_ROW)
)


def release(connection: Connection, day: date, places: int) -> Any:
    """Places a lease held return, never below zero; the counter row after it."""
    return _RELEASE.first(connection, {"o_day": day, "o_places": places})


def count_in_held(connection: Connection, day: date, people: int) -> Any:
    """Count in ``people`` a live lease held places for; the counter row after it."""
    return _COUNT_IN_HELD.first(connection, {"o_day": day, "o_people": people})


def empty_leases(connection: Connection, day: date) -> None:
    """The day is over: no lease holds places on it any more."""
    connection.execute(update(_COUNTER).where(_COUNTER.c.day == day).values(leased=0))


def days_with_people_inside(connection: Connection, start: date, before: date) -> list[date]:
    """The days from ``start`` until (without) ``before`` whose counter says people are
    inside, in order."""
    earlier = select(_COUNTER.c.day).where(
        _COUNTER.c.day < before,
        _COUNTER.c.day >= start,
        _COUNTER.c.inside > 0,
    )
    return sorted(connection.execute(earlier).scalars())


def empty_day(connection: Connection, day: date) -> int:
    """Everybody the day's counter has inside is counted out: how many they were."""
    row = connection.execute(
        select(_COUNTER.c.inside).where(_COUNTER.c.day == day).with_for_update()
    ).first()
    people = int(row[0]) if row is not None else 0
    if people > 0:
        connection.execute(
            update(_COUNTER)
            .where(_COUNTER.c.day == day)
            .values(inside=_COUNTER.c.inside - people, exited=_COUNTER.c.exited + people)
        )
    return people


# --- scan records ------------------------------------------------------------------------

_RECORD_SCAN = db.DriverStatement(
    insert(_SCAN),
    column_keys=("at", "ticket_id", "gate", "actor", "direction", "verdict", "people"),
)


def record_scan(
    connection: Connection,
    *,
    at: datetime,
    ticket_id: str | None,
    gate: str,
    actor: str,
    direction: str,
    verdict: str,
    people: int,
) -> None:
    _RECORD_SCAN.run(
        connection,
        {
            "at": at,
            "ticket_id": ticket_id,
            "gate": gate,
            "actor": actor,
            "direction": direction,
            "verdict": verdict,
            "people": people,
        },
    )


# --- the scanned ticket ------------------------------------------------------------------

_holder = aliased(Visitor)
_leader = aliased(Visitor)

# The rules' version in force comes with the ticket: a scan's whole read is one statement.
_FIND_TICKET = db.DriverStatement(
    select(
        rules_service.VERSION_IN_FORCE,
        col(Ticket.id),
        col(Ticket.day),
        col(Ticket.slot_id),
        col(Ticket.party_size),
        col(Ticket.qr_payload),
        col(Ticket.status),
        col(Ticket.use_state),
        col(Ticket.admitted_count),
        col(Ticket.entered_at),
        col(Ticket.entered_gate),
        col(Booking.id),
        col(Booking.status),
        col(Booking.channel),
        col(Booking.slot_start),
        col(Booking.slot_end),
        col(Booking.organization),
        col(_holder.name_masked),
        col(_holder.id_masked),
        col(_leader.name_masked),
        col(_leader.id_masked),
        col(Ticket.exited_count),
        col(_holder.is_minor),
    )
    .join(Booking, col(Booking.id) == col(Ticket.booking_id))
    .outerjoin(_holder, col(_holder.id) == col(Ticket.visitor_id))
    .outerjoin(
        _leader,
        and_(
            col(Ticket.visitor_id).is_(None),
            col(_leader.booking_id) == col(Ticket.booking_id),
            col(_leader.role) == "leader",
        ),
    )
    .where(col(Ticket.id) == bindparam("t_id"))
)


def ticket_row(connection: Connection, ticket_id: str) -> Any:
    """The rules' version in force, the ticket, its booking and the masked holder (a team's
    leader), in the order ``_FIND_TICKET`` selects them; None for an unknown ticket."""
    return _FIND_TICKET.first(connection, {"t_id": ticket_id})


_ACTIVE = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)
# The tickets of a day that a person's document leads to: their own, or their team's (a
# leader's or a member's), the one of a booking that still stands first.
_TICKETS_OF_PERSON = db.DriverStatement(
    select(col(Ticket.id), col(Visitor.role))
    .select_from(Visitor)
    .join(Booking, col(Booking.id) == col(Visitor.booking_id))
    .join(
        Ticket,
        and_(
            col(Ticket.booking_id) == col(Booking.id),
            or_(col(Ticket.visitor_id) == col(Visitor.id), col(Ticket.visitor_id).is_(None)),
        ),
    )
    .where(
        col(Visitor.identity_hash) == bindparam("p_hash"),
        col(Booking.day) == bindparam("p_day", type_=Date()),
    )
    .order_by(
        # (no IN list: statements rendered once take no expanding parameters)
        case(
            (
                or_(*(col(Booking.status) == status for status in _ACTIVE)),
                0,
            ),
            else_=1,
        ),
        case((col(Ticket.status) == TicketStatus.VALID, 0), else_=1),
        col(Ticket.created_at).desc(),
    )
    .limit(1)
)


def ticket_of_person(connection: Connection, identity_hash: str, day: date) -> Any:
    """(ticket id, the person's role on its booking) of the person's ticket for ``day``, or
    None: found by the document's keyed hash, never by its number."""
    return _TICKETS_OF_PERSON.first(connection, {"p_hash": identity_hash, "p_day": day})


_BOOKING_TICKETS = db.DriverStatement(
    select(
        col(Ticket.id),
        col(Ticket.party_size),
        col(Ticket.admitted_count),
        col(Ticket.use_state),
        col(Ticket.status),
        col(Visitor.is_minor),
        col(Visitor.id_type),
        col(Visitor.id_number_enc),
        col(Visitor.name_masked),
        col(Visitor.id_masked),
    )
    .select_from(Ticket)
    .outerjoin(Visitor, col(Visitor.id) == col(Ticket.visitor_id))
    .where(col(Ticket.booking_id) == bindparam("b_id"))
    .order_by(col(Ticket.id))
)


def booking_tickets(connection: Connection, booking_id: int) -> list[tuple[Any, ...]]:
    """Every ticket of a booking with its holder, in the order ``_BOOKING_TICKETS`` selects
    them (the holder's sealed document number included, for the age of a companion)."""
    return _BOOKING_TICKETS.all(connection, {"b_id": booking_id})
