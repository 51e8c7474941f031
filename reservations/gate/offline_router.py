"""The offline scanner API, and what admins see of it: the devices' leases and the offline
scans that need a person."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime
from sqlmodel import Session

from reservations import clock, db
from reservations.audit import service as audit
from reservations.auth.bearer import AdminUser, StaffUser
from reservations.gate import leases, offline
from reservations.gate.errors import NoLease
from reservations.gate.messages import verdict_message
from reservations.gate.offline_schemas import (
    LeaseOut,
    LeasesOut,
    OfflineDataOut,
    OfflineResultOut,
    OfflineResultsOut,
    OfflineScansIn,
    ProblemOut,
    ProblemsOut,
)
from reservations.http import DbSession, Language

router = APIRouter(tags=["gate"])
admin_router = APIRouter(prefix="/admin", tags=["admin"])

Since = Annotated[
    AwareDatetime | None,
    Query(description="generated_at of an earlier answer: list only what changed since"),
]
# Printable, no spaces at either end: the name as scanners send it.
_DEVICE_NAME = r"^[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$"
DeviceQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=_DEVICE_NAME,
        description="the scanner's own name: leases it a share of the live limit",
    ),
]
DevicePath = Annotated[str, Path(max_length=64, pattern=_DEVICE_NAME)]
DayQuery = Annotated[date | None, Query(alias="date")]


def offline_data_answer(
    session: Session, since: AwareDatetime | None, device: str | None, staff: str
) -> OfflineDataOut:
    data = offline.offline_data(session, since, device=device, staff=staff)
    return OfflineDataOut.of(data, device)


def offline_scans_answer(
    session: Session, body: OfflineScansIn, actor: str, language: str
) -> OfflineResultsOut:
    results = offline.record_offline_scans(
        session,
        body.device,
        [item.as_scan() for item in body.scans],
        actor=actor,
        more=body.more,
    )
    return OfflineResultsOut(
        results=[
            OfflineResultOut.of(result, verdict_message(result.verdict, language))
            for result in results
        ]
    )


@router.get("/gate/offline-data", response_model=OfflineDataOut)
def offline_data(
    session: DbSession, staff: StaffUser, since: Since = None, device: DeviceQuery = None
) -> OfflineDataOut:
    """What a scanner needs to judge today's tickets without the network; with ``device``,
    that device's lease: the people it may admit while offline, until when."""
    return offline_data_answer(session, since, device, staff.username)


@router.post("/gate/offline-scans", response_model=OfflineResultsOut)
def offline_scans(
    body: OfflineScansIn, session: DbSession, staff: StaffUser, language: Language
) -> OfflineResultsOut:
    """Scans a scanner made without the network: each recorded once, whatever the retries,
    and answered with the server's verdict. Admissions its lease does not cover count
    nobody in and are reported to admins. The upload ends the device's lease."""
    return offline_scans_answer(session, body, staff.username, language)


def leases_answer(session: Session, day: date) -> LeasesOut:
    with db.reading(session) as connection:
        found = leases.leases_of(connection, day)
    return LeasesOut(
        date=day,
        held=sum(max(item.allowance - item.used, 0) for item in found if item.ended_at is None),
        leases=[
            LeaseOut(
                device=item.device,
                issued_to=item.issued_to,
                began_at=item.began_at,
                renewed_at=item.renewed_at,
                until=item.until,
                allowance=item.allowance,
                used=item.used,
                live=item.live,
                ended_at=item.ended_at,
                end_reason=item.end_reason,
            )
            for item in found
        ],
    )


def end_lease(session: Session, device: str, actor: str) -> None:
    """An admin ends a device's lease (a scanner lost or out of use): its places return
    to online admissions at once; audited."""
    now = clock.now()
    with db.short_write(session) as connection:
        if not leases.end_device_lease(connection, device, now, leases.REVOKED):
            raise NoLease()
    audit.record(
        session, actor=actor, action="gate.lease_ended", target=device, before=None, after=None
    )


@admin_router.get("/offline-leases", response_model=LeasesOut)
def offline_leases(session: DbSession, _admin: AdminUser, day: DayQuery = None) -> LeasesOut:
    """The scanners' leases of a day (today by default), the newest first."""
    return leases_answer(session, day or clock.today())


@admin_router.delete("/offline-leases/{device}", status_code=204)
def end_offline_lease(device: DevicePath, session: DbSession, admin: AdminUser) -> None:
    """End a scanner's lease now: its unused places return; its later uploads of scans
    after this moment are problems. Audited."""
    end_lease(session, device, admin.username)


@admin_router.get("/offline-problems", response_model=ProblemsOut)
def problems(session: DbSession, _admin: AdminUser, day: DayQuery = None) -> ProblemsOut:
    """Offline scans that need a person on a day (today by default): tickets admitted at
    two gates or otherwise refused after the fact, admissions no lease of the device
    covered (with the staff user and device), and admissions past the live limit."""
    shown = day or clock.today()
    return ProblemsOut(
        date=shown,
        problems=[
            ProblemOut.model_validate(item, from_attributes=True)
            for item in offline.problems(session, shown)
        ],
    )
