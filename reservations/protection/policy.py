"""What the protection decides for one request, free of HTTP.

- **Rate limits** (rules ``protection.rate_limit_per_ip`` and ``rate_limit_per_identity``):
  each booking or lookup counts once against its client address and once against each
  phone and document number it names. Booking and lookup have separate allowances. Many
  honest visitors share one address behind carrier NAT, so the address limit is generous
  and the identity limit tight. ``RESERVATIONS_RATE_LIMITS=off`` switches them off.
- **Proof of work** (rule ``protection.proof_of_work``): ``always``, or ``under_pressure``:
  when booking attempts across the service ran above ``protection.pressure_threshold``
  within the last ``RESERVATIONS_PRESSURE_HOLD_SECONDS``.

A refused request changes nothing but the counters; a rate-limited one spends no solution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from reservations.errors import RateLimited
from reservations.protection import challenge, rates
from reservations.protection.store import Limit, get_store
from reservations.rules import service as rules_service
from reservations.rules.schema import ProtectionRules
from reservations.settings import get_settings

BOOKING = "booking"
LOOKUP = "lookup"
LOGIN = "login"

Mode = Literal["off", "under_pressure", "always"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request as the protection sees it: keyed hashes only, never the values."""

    scope: str
    address: str
    identities: list[str] = field(default_factory=list)
    solution: str | None = None
    # Tells this request from others (its body and Idempotency-Key), see challenge.redeem.
    request_mark: str = ""


@dataclass(frozen=True, slots=True)
class Offer:
    mode: Mode
    required: bool
    challenge: challenge.Challenge | None


def protection_rules() -> ProtectionRules:
    """The protection rules in force, as of at most a second ago (never the write lock)."""
    return rules_service.recent().protection


def nothing_to_check() -> bool:
    """Whether a booking attempt has nothing to be checked against, known without I/O."""
    if get_settings().rate_limits == "on":
        return False
    known = rules_service.recent_if_known()
    return known is not None and known.protection.proof_of_work == "off"


def check_booking(attempt: Attempt, protection: ProtectionRules) -> None:
    store = get_store()
    mode = protection.proof_of_work
    pressure = False
    if mode == "under_pressure":
        pressure = store.pressure(
            rates.parse(protection.pressure_threshold),
            get_settings().pressure_hold_seconds,
            count=True,
        )
    enforce_rate_limits(attempt, protection)
    if mode == "always" or pressure:
        challenge.redeem(attempt.solution, attempt.request_mark)


def check_lookup(attempt: Attempt, protection: ProtectionRules) -> None:
    enforce_rate_limits(attempt, protection)


def enforce_rate_limits(attempt: Attempt, protection: ProtectionRules) -> None:
    if get_settings().rate_limits != "on":
        return
    limits: list[Limit] = []
    per_address = rates.parse(protection.rate_limit_per_ip)
    if per_address is not None:
        limits.append((f"rl:{attempt.scope}:ip:{attempt.address}", per_address))
    per_identity = rates.parse(protection.rate_limit_per_identity)
    if per_identity is not None:
        limits.extend((f"rl:{attempt.scope}:id:{key}", per_identity) for key in attempt.identities)
    _hit(limits)


def check_login(attempt: Attempt) -> None:
    settings = get_settings()
    if settings.rate_limits != "on":
        return
    per_address = rates.parse(settings.login_rate_limit)
    if per_address is not None:
        _hit([(f"rl:{LOGIN}:ip:{attempt.address}", per_address)])


def _hit(limits: list[Limit]) -> None:
    if not limits:
        return
    wait = get_store().hit(limits)
    if wait > 0:
        raise RateLimited(max(1, math.ceil(wait)))


def offer(protection: ProtectionRules) -> Offer:
    """What ``GET /challenge`` answers: a fresh challenge unless proof of work is off."""
    mode = protection.proof_of_work
    if mode == "off":
        return Offer(mode, False, None)
    settings = get_settings()
    required = mode == "always" or get_store().pressure(
        rates.parse(protection.pressure_threshold), settings.pressure_hold_seconds, count=False
    )
    return Offer(mode, required, challenge.issue(settings.pow_difficulty, settings.pow_ttl_seconds))
