"""Password hashes: Argon2id, memory-hard (64 MiB a verification) and deliberately slow.

A verification is called only where no transaction is open and no write slot is held
(see ``reservations.accounts.signin``): it must never keep anyone else waiting.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the username is unknown or the account disabled, so every refusal
# costs the same time.
UNKNOWN_ACCOUNT_HASH = _hasher.hash("no account has this password")


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def verify(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return bool(_hasher.check_needs_rehash(password_hash))
