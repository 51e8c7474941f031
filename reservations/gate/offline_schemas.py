"""Request and response shapes of the offline scanner API (``/gate/offline-data``,
``/gate/offline-scans``) and of what admins see of it (leases, problems)."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from reservations import clock
from reservations.gate import offline, service
from reservations.gate.schemas import GateName, PublicKeyOut, public_keys
from reservations.tickets import signing

ScanId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{8,64}$")]
EntryReason = Literal[
    "invalid",
    "cancelled",
    "wrong_date",
    "too_early",
    "too_late",
    "already_used",
    "capacity_full",
    "not_approved",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntryWindowOut(BaseModel):
    slot_id: str
    opens_at: datetime
    closes_at: datetime


class OfflineDataOut(BaseModel):
    generated_at: datetime
    date: Date
    keys: list[PublicKeyOut]
    # Today's tickets that may not enter (cancelled, rejected, void) ...
    revoked: list[str]
    # ... and those that have entered.
    used: list[str]
    # Team tickets whose people are partly in: how many are still to come (always the
    # whole list, with or without ``since``). They are in ``used`` too.
    remaining: dict[str, int]
    limit: int
    inside: int
    # False when ``since`` was given: the lists hold what changed from then on only.
    complete: bool
    format: str
    entry_windows: list[EntryWindowOut]
    # The device's lease (with ``device``): people it may admit while offline, and until
    # when; 0 and null without a device.
    device: str | None
    allowance: int
    lease_until: datetime | None
    # How often a scanner should ask again while online (which renews its lease).
    refresh_seconds: int

    @classmethod
    def of(cls, data: offline.OfflineData, device: str | None) -> OfflineDataOut:
        return cls(
            generated_at=data.generated_at,
            date=data.day,
            keys=public_keys(data.keys),
            revoked=data.revoked,
            used=data.used,
            remaining=data.remaining,
            limit=data.occupancy.limit,
            inside=data.occupancy.inside,
            complete=data.complete,
            format=signing.FORMAT,
            entry_windows=[
                EntryWindowOut(slot_id=item.slot_id, opens_at=item.opens, closes_at=item.closes)
                for item in data.windows
            ],
            device=device,
            allowance=data.lease.allowance if data.lease is not None else 0,
            lease_until=(
                data.lease.until.astimezone(clock.zone()) if data.lease is not None else None
            ),
            refresh_seconds=offline.REFRESH_SECONDS,
        )


class OfflineScanItem(_Request):
    id: ScanId
    payload: Annotated[str, StringConstraints(max_length=service.MAX_PAYLOAD_LENGTH)]
    gate: GateName
    direction: Literal["in", "out"] = "in"
    # When the scan happened, with its offset.
    at: AwareDatetime
    headcount: Annotated[int, Field(ge=1, le=100_000)] | None = None
    # What the device decided: true when it let the people in (or out). A scan it refused
    # is uploaded too, with its reason, so every scan is on the server.
    admitted: bool = True
    reason: EntryReason | None = None

    @model_validator(mode="after")
    def _reason_with_refusal(self) -> Self:
        if self.admitted and self.reason is not None:
            raise ValueError("reason is for a scan the device refused (admitted: false)")
        if not self.admitted and self.reason is None:
            raise ValueError("a scan the device refused needs its reason")
        return self

    def as_scan(self) -> offline.OfflineScanIn:
        return offline.OfflineScanIn(
            id=self.id,
            payload=self.payload,
            gate=self.gate,
            direction=self.direction,
            at=self.at,
            headcount=self.headcount,
            admitted=self.admitted,
            reason=self.reason,
        )


class OfflineScansIn(_Request):
    device: GateName
    scans: Annotated[
        list[OfflineScanItem], Field(min_length=1, max_length=offline.MAX_SCANS_PER_UPLOAD)
    ]
    # More uploads of the same queue follow at once: the device's lease ends with the last.
    more: StrictBool = False


class OfflineResultOut(BaseModel):
    id: str
    # False only when the id was already used by a different scan: nothing was recorded.
    recorded: bool
    admitted: bool
    reason: str | None
    # The device let people in on a ticket the server does not admit (another gate
    # admitted it first, or it was cancelled): reported to admins.
    conflict: bool
    # The admission took occupancy past the live limit (the people were inside already).
    over_limit: bool
    # Why the device's lease did not cover its admission (no_lease, past_allowance,
    # before_lease, after_upload): nobody was counted in, and admins see it. Null otherwise.
    problem: str | None
    # People counted in (or out) by this scan.
    people: int
    # The time the scan was recorded at: the device's, never later than the server's.
    at: datetime | None
    ticket_id: str | None
    message: str

    @classmethod
    def of(cls, result: offline.OfflineResult, message: str) -> OfflineResultOut:
        return cls(
            id=result.id,
            recorded=result.recorded,
            admitted=result.admitted,
            reason=result.reason,
            conflict=result.conflict,
            over_limit=result.over_limit,
            problem=result.problem,
            people=result.people,
            at=result.at,
            ticket_id=result.ticket_id,
            message=message,
        )


class OfflineResultsOut(BaseModel):
    results: list[OfflineResultOut]


class LeaseOut(BaseModel):
    device: str
    # The staff user whose fetch granted or last renewed it.
    issued_to: str
    began_at: datetime
    renewed_at: datetime
    until: datetime
    allowance: int
    used: int
    # Still holding places: not ended, not past its time.
    live: bool
    ended_at: datetime | None
    # uploaded, expired, closed, revoked
    end_reason: str | None


class LeasesOut(BaseModel):
    date: Date
    # Places the live leases hold now, which online admissions leave free.
    held: int
    leases: list[LeaseOut]


class ProblemOut(BaseModel):
    scan_id: str
    at: datetime
    gate: str
    device: str
    uploaded_by: str
    ticket_id: str | None
    reason: str | None
    people: int
    conflict: bool
    over_limit: bool
    # no_lease, past_allowance, before_lease or after_upload: an admission no lease covered,
    # not counted in.
    problem: str | None
    first_gate: str | None
    first_at: datetime | None
    received_at: datetime


class ProblemsOut(BaseModel):
    date: Date
    problems: list[ProblemOut]
