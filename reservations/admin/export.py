"""A day's bookings as CSV for Excel: UTF-8 with a byte-order mark (so Excel reads the
Chinese correctly), CRLF line ends, one row per named visitor, personal data masked only.

Cells that a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return) are prefixed with an apostrophe: organisation and visitor names are
typed by the public.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlmodel import Session, col, select

from reservations import clock, languages
from reservations.admin import labels
from reservations.audit import service as audit
from reservations.booking.models import Booking, Visitor
from reservations.tickets.models import Ticket
from reservations.web import i18n

N_ = labels.N_

COLUMNS = (
    N_("预约号"),
    N_("渠道"),
    N_("状态"),
    N_("时段"),
    N_("预约人数"),
    N_("单位"),
    N_("身份"),
    N_("姓名"),
    N_("证件类型"),
    N_("证件号码"),
    N_("手机号码"),
    N_("已入馆人数"),
    N_("预约时间"),
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def filename(day: date) -> str:
    return f"bookings-{day.isoformat()}.csv"


def bookings_csv(
    session: Session, day: date, language: str = languages.DEFAULT
) -> tuple[bytes, int]:
    """The CSV document and how many bookings it lists."""
    bookings = list(
        session.exec(
            select(Booking)
            .where(col(Booking.day) == day)
            .order_by(col(Booking.slot_start), col(Booking.channel), col(Booking.id))
        )
    )
    ids = [booking.id for booking in bookings if booking.id is not None]
    visitors: dict[int, list[Visitor]] = {booking_id: [] for booking_id in ids}
    tickets: dict[int, list[Ticket]] = {booking_id: [] for booking_id in ids}
    if ids:
        for named in session.exec(
            select(Visitor).where(col(Visitor.booking_id).in_(ids)).order_by(col(Visitor.position))
        ):
            assert named.booking_id is not None  # selected by booking
            visitors[named.booking_id].append(named)
        for issued in session.exec(select(Ticket).where(col(Ticket.booking_id).in_(ids))):
            tickets[issued.booking_id].append(issued)

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    _ = i18n.gettext
    with i18n.speaking(language):
        writer.writerow([_(column) for column in COLUMNS])
        for booking in bookings:
            assert booking.id is not None
            people: list[Visitor | None] = list(visitors[booking.id]) or [None]
            party_ticket = next((t for t in tickets[booking.id] if t.visitor_id is None), None)
            for visitor in people:
                own = next(
                    (t for t in tickets[booking.id] if visitor and t.visitor_id == visitor.id),
                    None,
                )
                ticket = own or (party_ticket if visitor is None or visitor.position == 0 else None)
                writer.writerow(
                    safe_cell(value)
                    for value in (
                        booking.reference,
                        _(labels.CHANNELS.get(booking.channel, booking.channel)),
                        _(labels.STATUSES.get(booking.status, booking.status)),
                        f"{booking.slot_start}-{booking.slot_end}",
                        booking.party_size,
                        booking.organization,
                        _(labels.VISITOR_ROLES.get(visitor.role, visitor.role)) if visitor else "",
                        visitor.name_masked if visitor else "",
                        _(labels.ID_TYPES.get(visitor.id_type, visitor.id_type)) if visitor else "",
                        visitor.id_masked if visitor else "",
                        booking.phone_masked,
                        ticket.admitted_count if ticket else 0,
                        booking.created_at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M"),
                    )
                )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8"), len(bookings)


def export_day(session: Session, day: date, actor: str, language: str = languages.DEFAULT) -> bytes:
    """The day's CSV, once the export is on the audit trail (which day, how many bookings)."""
    body, count = bookings_csv(session, day, language)
    audit.record_on_its_own(
        actor=actor, action="bookings.export", target=day.isoformat(), after={"bookings": count}
    )
    return body
