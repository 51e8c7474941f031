"""The offline scanner API, and the gate settings and offline problems admins look after."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime
from sqlmodel import Session

from reservations import clock
from reservations.auth.bearer import AdminUser, StaffUser
from reservations.gate import offline
from reservations.gate.messages import verdict_message
from reservations.gate.offline_schemas import (
    GateSettingIn,
    GateSettingOut,
    GatesOut,
    OfflineDataOut,
    OfflineResultOut,
    OfflineResultsOut,
    OfflineScansIn,
    ProblemOut,
    ProblemsOut,
)
from reservations.http import DbSession, Language
from reservations.rules import service as rules_service

router = APIRouter(tags=["gate"])
admin_router = APIRouter(prefix="/admin", tags=["admin"])

Since = Annotated[
    AwareDatetime | None,
    Query(description="generated_at of an earlier answer: list only what changed since"),
]
# Printable, no spaces at either end: the name as scanners send it.
GatePath = Annotated[
    str,
    Path(max_length=64, pattern=r"^[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$"),
]


def offline_data_answer(session: Session, since: AwareDatetime | None) -> OfflineDataOut:
    return OfflineDataOut.of(offline.offline_data(session, since))


def offline_scans_answer(
    session: Session, body: OfflineScansIn, actor: str, language: str
) -> OfflineResultsOut:
    results = offline.record_offline_scans(
        session, body.device, [item.as_scan() for item in body.scans], actor=actor
    )
    return OfflineResultsOut(
        results=[
            OfflineResultOut.of(result, verdict_message(result.verdict, language))
            for result in results
        ]
    )


@router.get("/gate/offline-data", response_model=OfflineDataOut)
def offline_data(session: DbSession, _staff: StaffUser, since: Since = None) -> OfflineDataOut:
    """What a scanner needs to judge today's tickets without the network."""
    return offline_data_answer(session, since)


@router.post("/gate/offline-scans", response_model=OfflineResultsOut)
def offline_scans(
    body: OfflineScansIn, session: DbSession, staff: StaffUser, language: Language
) -> OfflineResultsOut:
    """Scans a scanner made without the network: each recorded once, whatever the retries,
    and answered with the server's verdict."""
    return offline_scans_answer(session, body, staff.username, language)


def gates_answer(session: Session) -> GatesOut:
    margins = offline.margins(session)
    names = sorted(set(offline.known_gates(session, clock.today())) | set(margins.gates))
    return GatesOut(
        default_margin=margins.default,
        gates=[
            GateSettingOut(
                gate=name,
                offline_margin=margins.gates.get(name),
                effective_margin=margins.for_gate(name),
            )
            for name in names
        ],
    )


@admin_router.get("/gates", response_model=GatesOut)
def gates(session: DbSession, _admin: AdminUser) -> GatesOut:
    """Gates with their offline safety margin (the rules' gate.offline_margin by default)."""
    return gates_answer(session)


@admin_router.put("/gates/{gate}", response_model=GateSettingOut)
def set_gate(
    gate: GatePath, body: GateSettingIn, session: DbSession, admin: AdminUser
) -> GateSettingOut:
    """Set one gate's offline margin; null returns it to the default. Audited."""
    offline.set_margin(session, gate, body.offline_margin, actor=admin.username)
    default = rules_service.current(session).gate.offline_margin
    own = body.offline_margin
    return GateSettingOut(
        gate=gate, offline_margin=own, effective_margin=default if own is None else own
    )


@admin_router.get("/offline-problems", response_model=ProblemsOut)
def problems(
    session: DbSession, _admin: AdminUser, day: Annotated[date | None, Query(alias="date")] = None
) -> ProblemsOut:
    """Offline scans that need a person on a day (today by default): tickets admitted at
    two gates or otherwise refused after the fact, and admissions past the live limit."""
    shown = day or clock.today()
    return ProblemsOut(
        date=shown,
        problems=[
            ProblemOut.model_validate(item, from_attributes=True)
            for item in offline.problems(session, shown)
        ],
    )
