"""A scan's answer as the API and the scanner page send it: the verdict in words, the
server's time of the verdict, and the ticket's entry window (so "too early" says from when);
and the answer to a ticket number looked up before anybody is admitted."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from reservations import clock
from reservations.booking.schemas import MaskedPerson
from reservations.gate import service
from reservations.gate.messages import ADMISSIBLE, verdict_message
from reservations.gate.schemas import (
    LookupOut,
    PartyTicketOut,
    ScanIn,
    ScannedTicketOut,
    ScanOut,
)
from reservations.rules import service as rules_service


def scan(session: Session, body: ScanIn, actor: str) -> service.ScanOutcome:
    """The scan a request asks for, by whichever of its three ways it names the ticket."""
    return service.scan(
        session,
        body.payload,
        gate=body.gate,
        actor=actor,
        direction=body.direction,
        headcount=body.headcount,
        party=body.party,
        document=body.document.presented() if body.document is not None else None,
        ticket_number=body.ticket_number,
    )


def _window_and_time(
    ticket: service.ScannedTicket | None, reason: str | None, at: datetime
) -> tuple[tuple[datetime, datetime] | None, str | None]:
    if ticket is None:
        return None, None
    # The rules the verdict was reached with, at most a second old: no second read.
    rules = rules_service.recent()
    window = service.entry_window(rules, ticket.day, ticket.slot_start, ticket.slot_end)
    time = None
    if reason == service.TOO_EARLY:
        time = f"{window[0]:%H:%M}"
    elif reason == service.TOO_LATE and ticket.day == at.date():
        time = f"{window[1]:%H:%M}"
    return window, time


def scan_answer(outcome: service.ScanOutcome, language: str) -> ScanOut:
    at = clock.now()
    window, time = _window_and_time(outcome.ticket, outcome.reason, at)
    message = verdict_message(outcome.verdict, language, time=time)
    return ScanOut.of(outcome, message, at=at, window=window)


def lookup_answer(found: service.LookedUp, language: str) -> LookupOut:
    at = clock.now()
    window, time = _window_and_time(found.ticket, found.reason, at)
    verdict = found.reason or ADMISSIBLE
    return LookupOut(
        found=found.ticket is not None,
        ticket=None if found.ticket is None else ScannedTicketOut.of(found.ticket),
        remaining=None if found.ticket is None else found.ticket.remaining,
        reason=found.reason,
        message=verdict_message(verdict, language, time=time),
        entry_opens_at=window[0] if window else None,
        entry_closes_at=window[1] if window else None,
        party=[
            PartyTicketOut(
                ticket_id=ticket.ticket_id,
                visitor=MaskedPerson(name=ticket.name_masked, id_masked=ticket.id_masked),
                state=state,
                valid=valid,
            )
            for ticket, state, valid in found.companions
        ],
    )
