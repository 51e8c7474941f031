"""``GET /challenge``: a proof-of-work challenge for the next booking."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from reservations.http import DbSession
from reservations.protection import policy
from reservations.protection.challenge import ALGORITHM, FIELD, HEADER
from reservations.rules import service as rules_service

router = APIRouter(tags=["protection"])


class ChallengeOut(BaseModel):
    required: bool = Field(
        description="whether POST /bookings and /team-bookings need a solution right now"
    )
    mode: policy.Mode
    challenge: str | None = Field(
        description="the challenge to solve; null when proof of work is off"
    )
    algorithm: str = ALGORITHM
    difficulty: int | None = Field(
        description="leading zero bits SHA-256('<challenge>:<counter>') must start with"
    )
    expires_at: datetime | None
    header: str = HEADER
    field: str = FIELD


@router.get(
    "/challenge",
    response_model=ChallengeOut,
    summary="A proof-of-work challenge for the next booking",
    description=(
        "Find a decimal counter such that SHA-256 of the UTF-8 text `<challenge>:<counter>` "
        "starts with `difficulty` zero bits, and send `<challenge>:<counter>` in the "
        "`X-Challenge-Solution` header (or the form field `challenge_solution`) of one "
        "booking before `expires_at`. Each challenge is good for one booking; the same "
        "request sent again (same body and `Idempotency-Key`) may present it again."
    ),
)
def get_challenge(session: DbSession, response: Response) -> ChallengeOut:
    offer = policy.offer(rules_service.current(session).protection)
    response.headers["Cache-Control"] = "no-store"
    issued = offer.challenge
    return ChallengeOut(
        required=offer.required,
        mode=offer.mode,
        challenge=issued.token if issued else None,
        difficulty=issued.difficulty if issued else None,
        expires_at=issued.expires_at if issued else None,
    )
