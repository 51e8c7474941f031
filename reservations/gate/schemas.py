"""Request and response shapes of the gate API (``POST /gate/scan`` and friends)."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from reservations.booking.schemas import DocumentNumber, IdTypeName, MaskedPerson, SlotOut
from reservations.gate.service import (
    MAX_PAYLOAD_LENGTH,
    MAX_TICKET_NUMBER_LENGTH,
    Occupancy,
    PresentedDocument,
    ScannedTicket,
    ScanOutcome,
)
from reservations.tickets.signing import SigningKey

# A gate's (or a scanner's) name as staff and turnstiles call it: printable, no control
# characters.
GATE_NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
GateName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=GATE_NAME_PATTERN
    ),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DocumentIn(_Request):
    """What a card reader read from the visitor's identity document, or staff typed."""

    id_type: IdTypeName
    id_number: DocumentNumber

    def presented(self) -> PresentedDocument:
        return PresentedDocument(self.id_type, self.id_number)


class ScanIn(_Request):
    # Exactly one of these three names the ticket.
    payload: Annotated[str, StringConstraints(max_length=MAX_PAYLOAD_LENGTH)] | None = None
    document: DocumentIn | None = None
    ticket_number: (
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_TICKET_NUMBER_LENGTH)] | None
    ) = None
    gate: GateName
    direction: Literal["in", "out"] = "in"
    # Team tickets: admit fewer people than the party (1 ≤ headcount ≤ party size).
    headcount: Annotated[int, Field(ge=1, le=100_000)] | None = None
    # The booking's other unused tickets enter in the same step, all or none.
    party: StrictBool = False

    @model_validator(mode="after")
    def _one_way_to_the_ticket(self) -> ScanIn:
        given = [self.payload, self.document, self.ticket_number]
        if sum(value is not None for value in given) != 1:
            raise ValueError("exactly one of payload, document or ticket_number")
        return self


class LookupIn(_Request):
    ticket_number: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_TICKET_NUMBER_LENGTH)
    ]


class PartyTicketOut(BaseModel):
    ticket_id: str
    visitor: MaskedPerson
    # unused, inside or left
    state: str
    # Not cancelled: a party scan would admit it while unused.
    valid: bool


class LookupOut(BaseModel):
    # Whether a ticket with that number exists.
    found: bool
    ticket: ScannedTicketOut | None
    remaining: int | None
    # What a scan of it would answer now (null: it would be admitted), in words too.
    reason: str | None
    message: str
    entry_opens_at: datetime | None = None
    entry_closes_at: datetime | None = None
    # The booking's other tickets, for a party entering together.
    party: list[PartyTicketOut]


class ExitsIn(_Request):
    gate: GateName
    count: Annotated[int, Field(ge=1, le=10_000)]


class OccupancyOut(BaseModel):
    inside: int
    limit: int
    entered_today: int
    exited_today: int

    @classmethod
    def of(cls, occupancy: Occupancy) -> OccupancyOut:
        return cls(
            inside=occupancy.inside,
            limit=occupancy.limit,
            entered_today=occupancy.entered_today,
            exited_today=occupancy.exited_today,
        )


class ScannedTicketOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    ticket_id: str
    day: Date = Field(serialization_alias="date")
    slot: SlotOut
    party_size: int
    visitor: MaskedPerson
    channel: str
    organization: str | None
    # unused, inside or left, after this scan
    state: str
    admitted_count: int
    entered_at: datetime | None
    entered_gate: str | None

    @classmethod
    def of(cls, ticket: ScannedTicket) -> ScannedTicketOut:
        return cls(
            ticket_id=ticket.ticket_id,
            day=ticket.day,
            slot=SlotOut(id=ticket.slot_id, start=ticket.slot_start, end=ticket.slot_end),
            party_size=ticket.party_size,
            visitor=MaskedPerson(name=ticket.name_masked, id_masked=ticket.id_masked),
            channel=ticket.channel,
            organization=ticket.organization,
            state=ticket.state,
            admitted_count=ticket.admitted_count,
            entered_at=ticket.entered_at,
            entered_gate=ticket.entered_gate,
        )


class AdmittedTicketOut(BaseModel):
    ticket_id: str
    visitor: MaskedPerson
    # People this ticket let in (a team's part, or 1).
    people: int


class ScanOut(BaseModel):
    admitted: bool
    reason: str | None
    # The verdict in the request's language, for a screen or a turnstile's display.
    message: str
    direction: str
    # People let in (or checked out) by this scan.
    people: int
    ticket: ScannedTicketOut | None
    # Every ticket this scan let in (the scanned one, and its party's with "party"), or
    # checked out; empty when it let nobody through.
    admitted_tickets: list[AdmittedTicketOut]
    # People of the ticket's party not yet in (a team arriving in parts); null without a
    # ticket.
    remaining: int | None
    occupancy: OccupancyOut
    # The server's time of the verdict, in the museum's zone.
    at: datetime | None = None
    # The ticket's entry window (its slot less and plus the gate's margins, never after
    # last entry): "too early" and "too late" say from and until when.
    entry_opens_at: datetime | None = None
    entry_closes_at: datetime | None = None

    @classmethod
    def of(
        cls,
        outcome: ScanOutcome,
        message: str,
        *,
        at: datetime | None = None,
        window: tuple[datetime, datetime] | None = None,
    ) -> ScanOut:
        ticket = outcome.ticket
        return cls(
            at=at,
            entry_opens_at=window[0] if window else None,
            entry_closes_at=window[1] if window else None,
            admitted=outcome.admitted,
            reason=outcome.reason,
            message=message,
            direction=outcome.direction,
            people=outcome.people,
            ticket=None if ticket is None else ScannedTicketOut.of(ticket),
            admitted_tickets=[
                AdmittedTicketOut(
                    ticket_id=item.ticket_id,
                    visitor=MaskedPerson(name=item.name_masked, id_masked=item.id_masked),
                    people=item.people,
                )
                for item in outcome.admitted_tickets
            ],
            remaining=outcome.remaining,
            occupancy=OccupancyOut.of(outcome.occupancy),
        )


class ExitsOut(BaseModel):
    occupancy: OccupancyOut


class PublicKeyOut(BaseModel):
    kid: str
    alg: Literal["Ed25519"] = "Ed25519"
    # The raw 32-byte Ed25519 public key, base64.
    public_key: str
    created: str
    # True for the key that signs new tickets; the others only verify.
    signing: bool


def public_keys(keys: list[SigningKey]) -> list[PublicKeyOut]:
    """The keys a scanner trusts, the signing one (the first) marked."""
    signing_kid = keys[0].kid if keys else None
    return [
        PublicKeyOut(
            kid=key.kid,
            public_key=key.public_key_b64,
            created=key.created,
            signing=key.kid == signing_kid,
        )
        for key in keys
    ]


class KeysOut(BaseModel):
    # The token format these keys verify (see reservations.tickets.signing).
    format: str
    keys: list[PublicKeyOut]
