"""The gate API: scans, exit counts, live occupancy and the keys an offline scanner needs."""

from typing import Any

from fastapi import APIRouter

from reservations.auth.bearer import StaffUser
from reservations.gate import answers, service
from reservations.gate.answers import lookup_answer, scan_answer
from reservations.gate.schemas import (
    ExitsIn,
    ExitsOut,
    KeysOut,
    LookupIn,
    LookupOut,
    OccupancyOut,
    ScanIn,
    ScanOut,
    public_keys,
)
from reservations.http import DbSession, Language, view_response
from reservations.tickets import signing

router = APIRouter(tags=["gate"])


@router.post("/gate/scan", response_model=ScanOut)
def scan(body: ScanIn, session: DbSession, staff: StaffUser, language: Language) -> Any:
    """Admit (or check out) the holder of a ticket, found by its QR code, its printed number
    or its holder's identity document; with "party", the booking's other unused tickets
    too. 200 whatever the verdict."""
    outcome = answers.scan(session, body, staff.username)
    return view_response(scan_answer(outcome, language))


@router.post("/gate/lookup", response_model=LookupOut)
def lookup(body: LookupIn, session: DbSession, _staff: StaffUser, language: Language) -> Any:
    """The ticket a printed ticket number names, masked, with what a scan would answer now
    and its booking's other tickets: for staff to compare with the visitor's document
    before they admit it. Changes nothing."""
    return view_response(lookup_answer(service.look_up(session, body.ticket_number), language))


@router.post("/gate/exits", response_model=ExitsOut)
def exits(body: ExitsIn, session: DbSession, staff: StaffUser) -> ExitsOut:
    """People counted out by an exit turnstile, without a ticket."""
    occupancy = service.count_exits(session, gate=body.gate, count=body.count, actor=staff.username)
    return ExitsOut(occupancy=OccupancyOut.of(occupancy))


@router.get("/occupancy", response_model=OccupancyOut)
def occupancy(session: DbSession) -> OccupancyOut:
    return OccupancyOut.of(service.current_occupancy(session))


@router.get("/gate/keys", response_model=KeysOut)
def keys(_staff: StaffUser) -> KeysOut:
    """Every public key that verifies a valid ticket, the signing one first."""
    return KeysOut(format=signing.FORMAT, keys=public_keys(signing.get_keyring().verifying_keys()))
