"""The gate API: scans, exit counts, live occupancy and the keys an offline scanner needs."""

from typing import Any

from fastapi import APIRouter

from reservations.auth.bearer import StaffUser
from reservations.gate import service
from reservations.gate.answers import scan_answer
from reservations.gate.schemas import (
    ExitsIn,
    ExitsOut,
    KeysOut,
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
    """Admit (or check out) the holder of a scanned ticket. 200 whatever the verdict."""
    outcome = service.scan(
        session,
        body.payload,
        gate=body.gate,
        actor=staff.username,
        direction=body.direction,
        headcount=body.headcount,
    )
    return view_response(scan_answer(outcome, language))


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
