"""Signed ticket tokens, verifiable offline with the public keys alone.

A token is the exact text inside the QR code::

    ZT1.<kid>.<ticket id>.<YYYYMMDD>.<slot id>.<party size>.<Ed25519 signature, base32>

Upper-case letters, digits and dots only, so the QR encoder uses its dense alphanumeric
mode: a ticket fits QR version 6 at error correction level M. The signature covers
everything before the last dot. Keys rotate: the newest key signs, older keys keep
verifying until retired.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from reservations import clock
from reservations.settings import get_settings

VERSION = "ZT1"
KEY_DIR = "signing-keys"
_TOKEN = re.compile(
    r"^ZT1\.(?P<kid>[A-Z2-7]{8})\.(?P<ticket>[0-9A-Z]{8,16})\.(?P<day>\d{8})"
    r"\.(?P<slot>[0-9A-Za-z_-]{1,16})\.(?P<party>[1-9]\d{0,3})\.(?P<sig>[A-Z2-7]{103})$"
)


class InvalidToken(Exception):
    """Unreadable, forged, truncated, or signed by a key this service does not trust."""


@dataclass(frozen=True, slots=True)
class TicketClaims:
    kid: str
    ticket_id: str
    day: date
    slot_id: str
    party_size: int


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _unb32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def key_id(public: Ed25519PublicKey) -> str:
    return _b32(hashlib.sha256(public.public_bytes_raw()).digest())[:8]


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey
    created: str
    retired: bool = False

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


class Keyring:
    """Ed25519 keys kept as owner-only files in the data directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._keys: dict[str, SigningKey] = {}
        self._lock = threading.Lock()
        self.reload()

    def reload(self) -> None:
        keys: dict[str, SigningKey] = {}
        if self.directory.is_dir():
            for path in sorted(self.directory.glob("*.json")):
                record = json.loads(path.read_text())
                private = Ed25519PrivateKey.from_private_bytes(
                    base64.b64decode(record["private_key"])
                )
                keys[record["kid"]] = SigningKey(
                    record["kid"], private, record["created"], bool(record.get("retired"))
                )
        with self._lock:
            self._keys = keys

    def ensure_active(self) -> SigningKey:
        active = self.active()
        return active if active is not None else self.rotate()

    def active(self) -> SigningKey | None:
        usable = [key for key in self._keys.values() if not key.retired]
        return max(usable, key=lambda key: key.created) if usable else None

    def rotate(self) -> SigningKey:
        """Create a new signing key; earlier keys keep verifying until retired."""
        private = Ed25519PrivateKey.generate()
        kid = key_id(private.public_key())
        created = clock.now().isoformat()
        self._write(kid, private, created, retired=False, exclusive=True)
        self.reload()
        return self._keys[kid]

    def retire(self, kid: str) -> None:
        key = self._keys.get(kid)
        if key is None:
            raise KeyError(kid)
        self._write(kid, key.private, key.created, retired=True, exclusive=False)
        self.reload()

    def _write(
        self, kid: str, private: Ed25519PrivateKey, created: str, *, retired: bool, exclusive: bool
    ) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        record = {
            "kid": kid,
            "created": created,
            "retired": retired,
            "private_key": base64.b64encode(private.private_bytes_raw()).decode(),
        }
        path = self.directory / f"{kid}.json"
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
        descriptor = os.open(path, flags, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(record, handle)

    def verifying_keys(self) -> list[SigningKey]:
        return sorted(
            (key for key in self._keys.values() if not key.retired),
            key=lambda key: key.created,
            reverse=True,
        )

    def sign(self, ticket_id: str, day: date, slot_id: str, party_size: int) -> str:
        key = self.active()
        if key is None:
            raise RuntimeError("no active signing key")
        body = f"{VERSION}.{key.kid}.{ticket_id}.{day:%Y%m%d}.{slot_id}.{party_size}"
        return f"{body}.{_b32(key.private.sign(body.encode()))}"

    def verify(self, token: str) -> TicketClaims:
        match = _TOKEN.match(token.strip())
        if match is None:
            raise InvalidToken("not a ticket token")
        key = self._keys.get(match["kid"])
        if key is None:  # perhaps another worker rotated keys since this one loaded them
            self.reload()
            key = self._keys.get(match["kid"])
        if key is None or key.retired:
            raise InvalidToken("unknown or retired key")
        body, _, signature = token.strip().rpartition(".")
        try:
            key.public.verify(_unb32(signature), body.encode())
            day = date(int(match["day"][:4]), int(match["day"][4:6]), int(match["day"][6:]))
        except (InvalidSignature, ValueError):
            raise InvalidToken("bad signature") from None
        return TicketClaims(match["kid"], match["ticket"], day, match["slot"], int(match["party"]))


_keyring: Keyring | None = None
_keyring_lock = threading.Lock()


def get_keyring() -> Keyring:
    global _keyring
    with _keyring_lock:
        if _keyring is None:
            _keyring = Keyring(get_settings().data_dir / KEY_DIR)
            _keyring.ensure_active()
        return _keyring


def reset_keyring() -> None:
    global _keyring
    with _keyring_lock:
        _keyring = None
