"""Dependencies the public booking endpoints declare: rate limits and bot friction.

They run before the request's transaction and before it queues for a write slot, so a
refused request costs the database nothing. They read what they need from the request
(JSON from API clients, form fields from the pages) and hand the decision to
``reservations.protection.policy``, off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import anyio
from fastapi import Request

from reservations.errors import ChallengeRequired, RateLimited
from reservations.ops import metrics
from reservations.protection import challenge, identities, policy
from reservations.settings import get_settings

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def guard_booking(request: Request) -> None:
    """Before a booking or team booking is created."""
    attempt = await _attempt(request, policy.BOOKING)
    if policy.nothing_to_check():
        # Rate limits off and no proof of work asked (load tests, rehearsals): no thread.
        return
    await anyio.to_thread.run_sync(_check_booking, attempt)


async def guard_lookup(request: Request) -> None:
    """Before a visitor's bookings are looked up."""
    attempt = await _attempt(request, policy.LOOKUP)
    await anyio.to_thread.run_sync(_check_lookup, attempt)


async def guard_login(request: Request) -> None:
    """Before a sign-in attempt (API token or staff page): per client address."""
    if get_settings().rate_limits != "on":
        return
    await anyio.to_thread.run_sync(_check_login, policy.Attempt(policy.LOGIN, _address(request)))


def _check_booking(attempt: policy.Attempt) -> None:
    with counted_refusals(policy.BOOKING):
        policy.check_booking(attempt, policy.protection_rules())


def _check_lookup(attempt: policy.Attempt) -> None:
    with counted_refusals(policy.LOOKUP):
        policy.check_lookup(attempt, policy.protection_rules())


def _check_login(attempt: policy.Attempt) -> None:
    with counted_refusals(policy.LOGIN):
        policy.check_login(attempt)


@contextmanager
def counted_refusals(scope: str) -> Iterator[None]:
    """Count the protection's refusals in the metrics, by scope and kind."""
    try:
        yield
    except (RateLimited, ChallengeRequired) as refused:
        metrics.refusal(scope, refused.code)
        raise


def client_address(request: Request) -> str:
    """The client's address as every limit keys it (IPv6 by its /64)."""
    return identities.address_key(request.client.host if request.client else None)


def _address(request: Request) -> str:
    return identities.blind("address", client_address(request))


async def _attempt(request: Request, scope: str) -> policy.Attempt:
    content_type = request.headers.get("content-type", "").lower()
    solution = request.headers.get(challenge.HEADER)
    idempotency_key = request.headers.get("idempotency-key")
    found: list[str] = []
    limiting = get_settings().rate_limits == "on"
    if content_type.startswith(_FORM_TYPES):
        try:
            form = await request.form()
        except Exception:  # a broken form is the endpoint's to refuse
            form = None
        items = list(form.multi_items()) if form is not None else []
        if limiting:
            found = identities.from_form(items)
        field = form.get(challenge.FIELD) if form is not None else None
        if solution is None and isinstance(field, str):
            solution = field
        body = repr(sorted((name, str(value)) for name, value in items)).encode()
    else:
        body = await request.body()
        if limiting:
            found = identities.from_json(body)
    return policy.Attempt(
        scope=scope,
        address=_address(request) if limiting else "",
        identities=found,
        solution=solution,
        request_mark=challenge.request_mark(idempotency_key, body),
    )
