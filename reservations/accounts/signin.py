"""Signing in, at no cost to anybody else.

The password check (Argon2id, 64 MiB, tens of milliseconds of CPU) runs with no transaction
open and no write slot held: a short read finds the account and whether this sign-in is
held back, the password is verified, and then one short write records a failure or issues
the token. A flood of wrong passwords therefore never makes a visitor's booking wait.

Wrong guesses are counted per account *and* client address (``login_max_failures`` within
``login_lockout_minutes``) and per address (``login_max_failures_per_address``); past
either, that address waits ``login_lockout_minutes`` (``429 rate_limited`` with
``Retry-After``). A colleague at another address is never held back by somebody else's
guesses. The account is the name as typed, so an unknown name is held back exactly like a
real one: every refused sign-in answers alike, whether the account exists, is disabled,
is held back or the password is wrong, and each that is not held back costs one Argon2
verification.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, text
from sqlmodel import Session, col, delete, select

from reservations import clock, db
from reservations.accounts import passwords
from reservations.accounts.errors import BadCredentials
from reservations.accounts.models import AccessToken, SignInThrottle, User
from reservations.accounts.service import issue_token
from reservations.dbtypes import UTCDateTime
from reservations.errors import RateLimited
from reservations.ops import metrics
from reservations.privacy.vault import get_vault
from reservations.settings import get_settings

UNKNOWN = passwords.UNKNOWN_ACCOUNT_HASH
_ACCOUNT = "sign-in-account"
_PAIR = "sign-in-account-address"
# The metrics' scope of a sign-in refused because its address is held back.
LOCKED_OUT = "sign_in_lockout"
_ADDRESS = "sign-in-address"


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    token: str
    record: AccessToken


@dataclass(frozen=True, slots=True)
class _Keys:
    account: str
    pair: str
    address: str


def account_key(username: str) -> str:
    return get_vault().blind_index(username.strip().casefold(), _ACCOUNT)


def _keys(username: str, address: str) -> _Keys:
    vault = get_vault()
    account = account_key(username)
    return _Keys(
        account=account,
        pair=vault.blind_index(f"{account}\x00{address}", _PAIR),
        address=vault.blind_index(address, _ADDRESS),
    )


def sign_in(username: str, password: str, address: str, kind: str = "bearer") -> SignedIn:
    """A token for the account, or ``BadCredentials`` / ``RateLimited`` (see the module).

    ``address`` is the client's address as the rate limits key it. Opens its own short
    transactions: call it with none open.
    """
    keys = _keys(username, address)
    now = clock.now()
    with db.transaction(write=False) as session:
        held_until = session.exec(
            select(func.max(SignInThrottle.blocked_until)).where(
                col(SignInThrottle.key).in_([keys.pair, keys.address]),
                col(SignInThrottle.blocked_until) > now,
            )
        ).one()
        user = session.exec(select(User).where(User.username == username)).first()
    if held_until is not None:
        metrics.refusal(LOCKED_OUT, RateLimited.code)
        raise RateLimited(max(1, math.ceil((held_until - now).total_seconds())))

    usable = user is not None and not user.disabled
    stored_hash = user.password_hash if user is not None and usable else UNKNOWN
    if not passwords.verify(stored_hash, password) or user is None or not usable:
        _record_failure(keys, now)
        raise BadCredentials()
    rehashed = passwords.hash_password(password) if passwords.needs_rehash(stored_hash) else None

    with db.transaction() as session:
        current = session.get(User, user.id)
        # Disabled or given a new password while this one was being checked.
        if current is None or current.disabled or current.password_hash != stored_hash:
            raise BadCredentials()
        session.connection().execute(
            delete(SignInThrottle).where(col(SignInThrottle.key) == keys.pair)
        )
        if rehashed is not None:
            current.password_hash = rehashed
            session.add(current)
        token, record = issue_token(session, current, kind)
    return SignedIn(current, token, record)


_COUNT_FAILURE = text(
    """
    INSERT INTO sign_in_throttle (key, account, failures, window_started_at, blocked_until)
    VALUES (:key, :account, 1, :now, :first_block)
    ON CONFLICT (key) DO UPDATE SET
      failures = CASE WHEN sign_in_throttle.window_started_at <= :window_start THEN 1
                      ELSE sign_in_throttle.failures + 1 END,
      blocked_until = CASE
        WHEN (CASE WHEN sign_in_throttle.window_started_at <= :window_start THEN 1
                   ELSE sign_in_throttle.failures + 1 END) >= :limit THEN :block_end
        ELSE sign_in_throttle.blocked_until END,
      window_started_at = CASE WHEN sign_in_throttle.window_started_at <= :window_start
                               THEN :now ELSE sign_in_throttle.window_started_at END
    """
).bindparams(
    bindparam("now", type_=UTCDateTime()),
    bindparam("first_block", type_=UTCDateTime()),
    bindparam("window_start", type_=UTCDateTime()),
    bindparam("block_end", type_=UTCDateTime()),
)
_FORGET_OLD = text(
    "DELETE FROM sign_in_throttle WHERE window_started_at <= :window_start"
    " AND (blocked_until IS NULL OR blocked_until <= :now)"
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("window_start", type_=UTCDateTime()))


def _record_failure(keys: _Keys, now: datetime) -> None:
    """One short transaction of its own: each counter moves in one statement."""
    settings = get_settings()
    window = timedelta(minutes=settings.login_lockout_minutes)
    block_end = now + window
    limits = (
        (keys.pair, keys.account, settings.login_max_failures),
        (keys.address, None, settings.login_max_failures_per_address),
    )
    with db.transaction() as session:
        connection = session.connection()
        connection.execute(_FORGET_OLD, {"window_start": now - window, "now": now})
        for key, account, limit in limits:
            connection.execute(
                _COUNT_FAILURE,
                {
                    "key": key,
                    "account": account,
                    "now": now,
                    "first_block": block_end if limit <= 1 else None,
                    "window_start": now - window,
                    "block_end": block_end,
                    "limit": limit,
                },
            )


def held_back(session: Session, usernames: Iterable[str]) -> set[str]:
    """Which of these accounts some address is held back from signing in to right now."""
    by_key = {account_key(name): name for name in usernames}
    if not by_key:
        return set()
    rows = session.exec(
        select(SignInThrottle.account).where(
            col(SignInThrottle.account).in_(list(by_key)),
            col(SignInThrottle.blocked_until) > clock.now(),
        )
    )
    return {by_key[key] for key in rows if key is not None}


def lift(session: Session, username: str) -> None:
    """Forget every wrong guess at this account (its password was just reset)."""
    session.connection().execute(
        delete(SignInThrottle).where(col(SignInThrottle.account) == account_key(username))
    )
