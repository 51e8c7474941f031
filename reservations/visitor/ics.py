"""A visit as an iCalendar event (RFC 5545), to add to the visitor's own calendar.

It carries no personal data: the museum, the time, the booking reference and what to bring.
"""

from __future__ import annotations

from datetime import UTC, datetime

from reservations import clock
from reservations.booking.models import BookingStatus
from reservations.booking.schemas import BookingOut

PRODUCT = "-//Zhengzhou Cybersecurity Science and Technology Museum//Reservations//EN"


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Lines of at most 75 octets, continued with a space (never splitting a character)."""
    parts: list[str] = []
    current = ""
    for character in line:
        limit = 75 if not parts else 74
        if len((current + character).encode()) > limit:
            parts.append(current)
            current = character
        else:
            current += character
    parts.append(current)
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event(
    booking: BookingOut,
    *,
    summary: str,
    location: str,
    description: str,
    reminder: str,
    host: str,
) -> bytes:
    start = clock.localize(booking.day, booking.slot.start)
    end = clock.localize(booking.day, booking.slot.end)
    cancelled = booking.status == BookingStatus.CANCELLED
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{booking.reference}@{host}",
        f"DTSTAMP:{_utc(clock.now())}",
        f"DTSTART:{_utc(start)}",
        f"DTEND:{_utc(end)}",
        f"SUMMARY:{escape_text(summary)}",
        f"LOCATION:{escape_text(location)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
    ]
    if not cancelled:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER:-P1D",
            f"DESCRIPTION:{escape_text(reminder)}",
            "END:VALARM",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode()
