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
import logging
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

log = logging.getLogger("reservations.tickets")

VERSION = "ZT1"
# How an offline scanner reads a token (also published by GET /api/v1/gate/keys).
FORMAT = (
    "ZT1.<kid>.<ticket id>.<YYYYMMDD>.<slot id>.<party size>.<signature>: the signature is "
    "Ed25519 over the UTF-8 text before the last dot, in unpadded RFC 4648 base32"
)
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
    # Rotation order: the newest key (highest serial) signs. Creation times cannot order
    # keys under a frozen rehearsal clock.
    serial: int = 0

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public.public_bytes_raw()).decode()


def _order(key: SigningKey) -> tuple[int, str, str]:
    return (key.serial, key.created, key.kid)


class Keyring:
    """Ed25519 keys kept as owner-only files in the data directory.

    Every worker process reads the same directory. A key rotated or retired by the
    ``reservations keys`` command reaches running workers within ``RECHECK_SECONDS``.
    """

    RECHECK_SECONDS = 1.0

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._keys: dict[str, SigningKey] = {}
        self._lock = threading.Lock()
        self._seen: tuple[tuple[str, int, int], ...] | None = None
        self._checked_at = 0.0
        self.reload()

    def _signature(self) -> tuple[tuple[str, int, int], ...]:
        if not self.directory.is_dir():
            return ()
        entries = []
        with os.scandir(self.directory) as listing:
            for entry in listing:
                if entry.name.endswith(".json") and not entry.name.startswith("."):
                    status = entry.stat()
                    entries.append((entry.name, status.st_ino, status.st_mtime_ns))
        return tuple(sorted(entries))

    def reload(self) -> None:
        signature = self._signature()
        keys: dict[str, SigningKey] = {}
        for name, _inode, _mtime in signature:
            path = self.directory / name
            if path.stat().st_mode & 0o077:
                log.warning("signing key file %s was readable by others; made owner-only", name)
                os.chmod(path, 0o600)
            record = json.loads(path.read_text())
            private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(record["private_key"]))
            keys[record["kid"]] = SigningKey(
                record["kid"],
                private,
                record["created"],
                bool(record.get("retired")),
                int(record.get("serial", 0)),
            )
        with self._lock:
            self._keys = keys
            self._seen = signature
            self._checked_at = clock.monotonic()

    def refresh(self) -> None:
        """Pick up keys another process rotated or retired (at most once a second)."""
        if clock.monotonic() - self._checked_at < self.RECHECK_SECONDS:
            return
        signature = self._signature()
        if signature != self._seen:
            self.reload()
        else:
            self._checked_at = clock.monotonic()

    def ensure_active(self) -> SigningKey:
        active = self.active()
        return active if active is not None else self.rotate()

    def active(self) -> SigningKey | None:
        usable = [key for key in self._keys.values() if not key.retired]
        return max(usable, key=_order) if usable else None

    def all_keys(self) -> list[SigningKey]:
        """Every key, retired ones too, newest first."""
        return sorted(self._keys.values(), key=_order, reverse=True)

    def get(self, kid: str) -> SigningKey | None:
        return self._keys.get(kid)

    def rotate(self) -> SigningKey:
        """Create a new signing key; earlier keys keep verifying until retired."""
        private = Ed25519PrivateKey.generate()
        kid = key_id(private.public_key())
        serial = max((key.serial for key in self._keys.values()), default=0) + 1
        created = clock.now().isoformat()
        self._write(kid, private, created, retired=False, serial=serial)
        self.reload()
        return self._keys[kid]

    def retire(self, kid: str) -> None:
        """Stop trusting a key: tokens it signed no longer verify."""
        key = self._keys.get(kid)
        if key is None:
            raise KeyError(kid)
        self._write(kid, key.private, key.created, retired=True, serial=key.serial)
        self.reload()

    def _write(
        self, kid: str, private: Ed25519PrivateKey, created: str, *, retired: bool, serial: int
    ) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        record = {
            "kid": kid,
            "created": created,
            "retired": retired,
            "serial": serial,
            "private_key": base64.b64encode(private.private_bytes_raw()).decode(),
        }
        # Written whole under a temporary name and renamed: a reader in another process
        # sees the old file or the new one, never half of one.
        temporary = self.directory / f".{kid}.{os.getpid()}.{threading.get_ident()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                json.dump(record, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.directory / f"{kid}.json")
        finally:
            temporary.unlink(missing_ok=True)

    def verifying_keys(self) -> list[SigningKey]:
        """The keys a scanner must trust: every key not retired, the signing one first."""
        self.refresh()
        return sorted(
            (key for key in self._keys.values() if not key.retired), key=_order, reverse=True
        )

    def sign(self, ticket_id: str, day: date, slot_id: str, party_size: int) -> str:
        self.refresh()
        key = self.active()
        if key is None:
            raise RuntimeError("no active signing key")
        body = f"{VERSION}.{key.kid}.{ticket_id}.{day:%Y%m%d}.{slot_id}.{party_size}"
        return f"{body}.{_b32(key.private.sign(body.encode()))}"

    def verify(self, token: str) -> TicketClaims:
        self.refresh()
        match = _TOKEN.match(token.strip())
        if match is None:
            raise InvalidToken("not a ticket token")
        key = self._keys.get(match["kid"])
        if key is None and self._signature() != self._seen:
            # Another process rotated keys a moment ago. Only a changed directory is read
            # again, so a flood of made-up key ids costs nothing but a directory listing.
            self.reload()
            key = self._keys.get(match["kid"])
        if key is None or key.retired:
            raise InvalidToken("unknown or retired key")
        body, _, signature = token.strip().rpartition(".")
        raw_signature = _unb32(signature)
        if _b32(raw_signature) != signature:
            # The last base32 character carries 3 unused bits: only the one canonical
            # spelling of a signature is accepted, so no second text verifies.
            raise InvalidToken("non-canonical signature")
        try:
            key.public.verify(raw_signature, body.encode())
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
