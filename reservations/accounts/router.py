from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel

from reservations.accounts import signin
from reservations.errors import ServiceBusy
from reservations.protection.guard import client_address, guard_login
from reservations.settings import Settings, get_settings

router = APIRouter(tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    role: str
    expires_at: str


# Password checks at once in this process. Each is an Argon2id verification (64 MiB, four
# threads): a flood of sign-ins queues here, in the event loop and holding no thread,
# rather than taking the CPUs from everybody else's requests.
_verifiers: tuple[Settings, anyio.CapacityLimiter] | None = None
# Beyond this many sign-ins waiting, more are answered 503 service_busy at once.
MAX_WAITING_SIGN_INS = 100


def _verifier_slots() -> anyio.CapacityLimiter:
    global _verifiers
    settings = get_settings()
    if _verifiers is None or _verifiers[0] is not settings:
        _verifiers = (settings, anyio.CapacityLimiter(settings.sign_in_concurrency))
    return _verifiers[1]


async def sign_in(request: Request, username: str, password: str, kind: str) -> signin.SignedIn:
    """``signin.sign_in`` on a thread of its own once a password check is free."""
    slots = _verifier_slots()
    if slots.statistics().tasks_waiting >= MAX_WAITING_SIGN_INS:
        raise ServiceBusy()
    check = partial(signin.sign_in, username, password, client_address(request), kind)
    return await anyio.to_thread.run_sync(check, limiter=slots)


@router.post(
    "/auth/token",
    response_model=TokenOut,
    dependencies=[Depends(guard_login)],
    responses={401: {"description": "wrong credentials"}, 429: {"description": "held back"}},
)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> TokenOut:
    # No request transaction and no write slot: the password check runs between short
    # transactions of its own (reservations.accounts.signin).
    signed_in = await sign_in(request, username, password, "bearer")
    return TokenOut(
        access_token=signed_in.token,
        role=signed_in.user.role,
        expires_at=signed_in.record.expires_at.isoformat(),
    )
