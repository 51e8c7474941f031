"""Proof-of-work challenges: bot friction that needs no third-party service.

A challenge is stateless and signed, so any process or machine of the service can check
it::

    1.<expires, Unix seconds>.<difficulty>.<nonce>.<HMAC-SHA256, base64url>

The client finds a counter such that ``SHA-256("<challenge>:<counter>")`` starts with
``difficulty`` zero bits and sends ``<challenge>:<counter>`` back (header
``X-Challenge-Solution``, or the form field ``challenge_solution``). A browser needs a few
tens of thousands of hashes, well under a second; a bot pays the same for every attempt.

Each challenge is good for one booking: its nonce is remembered until it expires, in Redis
or in the database, for every process and machine (``reservations.protection.spent``).
The same request sent again (same body, same ``Idempotency-Key``) may present it again,
so a client retrying after a lost answer, or a second tap on a slow form, is not turned
away.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reservations import clock
from reservations.errors import ChallengeRequired
from reservations.privacy.vault import load_master_key
from reservations.protection import spent
from reservations.settings import Settings, get_settings

VERSION = "1"
ALGORITHM = "sha256-leading-zero-bits"
HEADER = "X-Challenge-Solution"
FIELD = "challenge_solution"
CHALLENGE_URL = "/api/v1/challenge"

_CHALLENGE = re.compile(
    r"^1\.(?P<expires>\d{1,12})\.(?P<difficulty>\d{1,2})\.(?P<nonce>[A-Za-z0-9_-]{22})"
    r"\.(?P<mac>[A-Za-z0-9_-]{43})$"
)
_COUNTER = re.compile(r"^\d{1,20}$")
MAX_SOLUTION_LENGTH = 200

# Why a solution was refused, in ``details.reason`` of ``challenge_required``.
MISSING = "missing"
MALFORMED = "malformed"
INVALID = "invalid"
EXPIRED = "expired"
INSUFFICIENT = "insufficient"
REUSED = "reused"


@dataclass(frozen=True, slots=True)
class Challenge:
    token: str
    difficulty: int
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


_key_lock = threading.Lock()
_key: tuple[Settings, bytes] | None = None


def _signing_key() -> bytes:
    """Derived from the service's master secret: every process and machine agrees on it."""
    global _key
    settings = get_settings()
    with _key_lock:
        if _key is None or _key[0] is not settings:
            derived = HKDF(
                algorithm=hashes.SHA256(),
                length=32,
                salt=b"zz-museum-reservations",
                info=b"proof-of-work-challenge",
            ).derive(load_master_key(settings))
            _key = (settings, derived)
        return _key[1]


def _mac(body: str) -> str:
    return _b64(hmac.new(_signing_key(), body.encode(), hashlib.sha256).digest())


def issue(difficulty: int, ttl_seconds: int) -> Challenge:
    expires = int(clock.now().timestamp()) + ttl_seconds
    body = f"{VERSION}.{expires}.{difficulty}.{_b64(secrets.token_bytes(16))}"
    token = f"{body}.{_mac(body)}"
    return Challenge(token, difficulty, datetime.fromtimestamp(expires, clock.zone()))


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solve(token: str, difficulty: int) -> str:
    """What a client does (for tests, the benchmark and API clients written in Python)."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"{token}:{counter}".encode()).digest()
        if leading_zero_bits(digest) >= difficulty:
            return f"{token}:{counter}"
        counter += 1


def _refuse(reason: str) -> ChallengeRequired:
    return ChallengeRequired({"reason": reason, "challenge_url": CHALLENGE_URL})


def redeem(solution: str | None, request_mark: str) -> None:
    """Accept a solution once, or raise ``ChallengeRequired`` saying why not.

    ``request_mark`` identifies the request (its body and ``Idempotency-Key``): the same
    request sent again (a retry after a lost answer, a second tap on a form) may present
    the same solution; any other request may not.
    """
    if not solution:
        raise _refuse(MISSING)
    token, _, counter = solution.strip().rpartition(":")
    match = _CHALLENGE.match(token)
    if len(solution) > MAX_SOLUTION_LENGTH or match is None or not _COUNTER.match(counter):
        raise _refuse(MALFORMED)
    body = token.rpartition(".")[0]
    if not hmac.compare_digest(match["mac"], _mac(body)):
        raise _refuse(INVALID)
    remaining = int(match["expires"]) - clock.now().timestamp()
    if remaining <= 0:
        raise _refuse(EXPIRED)
    digest = hashlib.sha256(f"{token}:{counter}".encode()).digest()
    if leading_zero_bits(digest) < int(match["difficulty"]):
        raise _refuse(INSUFFICIENT)
    expires_at = datetime.fromtimestamp(int(match["expires"]), clock.zone())
    held_by = spent.claim(match["nonce"], expires_at, request_mark)
    if held_by is not None and not hmac.compare_digest(held_by, request_mark):
        raise _refuse(REUSED)


def request_mark(idempotency_key: str | None, body: bytes) -> str:
    """What tells one request from another: its body and its ``Idempotency-Key``."""
    digest = hashlib.sha256((idempotency_key or "").encode() + b"\x00" + body)
    return digest.hexdigest()[:32]
