"""A scan's answer as the API and the scanner page send it: the verdict in words, the
server's time of the verdict, and the ticket's entry window (so "too early" says from when)."""

from __future__ import annotations

from reservations import clock
from reservations.gate import service
from reservations.gate.messages import verdict_message
from reservations.gate.schemas import ScanOut
from reservations.rules import service as rules_service


def scan_answer(outcome: service.ScanOutcome, language: str) -> ScanOut:
    at = clock.now()
    ticket = outcome.ticket
    window = None
    time = None
    if ticket is not None:
        # The rules the verdict was reached with, at most a second old: no second read.
        rules = rules_service.recent()
        window = service.entry_window(rules, ticket.day, ticket.slot_start, ticket.slot_end)
        if outcome.reason == service.TOO_EARLY:
            time = f"{window[0]:%H:%M}"
        elif outcome.reason == service.TOO_LATE and ticket.day == at.date():
            time = f"{window[1]:%H:%M}"
    message = verdict_message(outcome.verdict, language, time=time)
    return ScanOut.of(outcome, message, at=at, window=window)
