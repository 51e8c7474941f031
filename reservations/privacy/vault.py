"""Encryption at rest and keyed hashes for personal data.

Names, phone numbers and document numbers are stored encrypted with AES-256-GCM (a fresh
nonce per value, the column's purpose bound in as associated data so a value cannot be
moved to another column) and matched through HMAC-SHA256 keyed hashes. Both keys are
derived from one master secret: ``RESERVATIONS_SECRET_KEY`` when set, else a random key
generated once into the data directory with owner-only permissions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reservations.settings import Settings, get_settings

_FORMAT = "v1"
MASTER_KEY_FILE = "master.key"


class DecryptionError(Exception):
    """A stored value does not decrypt under this service's key."""


def _derive(master: bytes, label: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"zz-museum-reservations", info=label.encode()
    ).derive(master)


class Vault:
    def __init__(self, master: bytes) -> None:
        self._aead = AESGCM(_derive(master, "personal-data-encryption"))
        self._index_key = _derive(master, "personal-data-index")
        self._token_key = _derive(master, "secret-token-hash")

    def encrypt(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"{_FORMAT}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, purpose: str) -> str:
        try:
            version, _, body = stored.partition(":")
            if version != _FORMAT:
                raise DecryptionError("unknown format")
            raw = base64.urlsafe_b64decode(body)
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except DecryptionError:
            raise
        except Exception as exc:  # InvalidTag, padding: never show the value
            raise DecryptionError("value does not decrypt") from exc

    def blind_index(self, value: str, purpose: str) -> str:
        """A keyed hash to find equal values without storing them in the clear."""
        message = purpose.encode() + b"\x00" + value.encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    def token_hash(self, token: str) -> str:
        """Hash of a secret handed to a person (a booking's manage token)."""
        return hmac.new(self._token_key, token.encode(), hashlib.sha256).hexdigest()


def load_master_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    return read_or_create_secret_file(settings.data_dir / MASTER_KEY_FILE, 32)


def read_or_create_secret_file(path: Path, size: int) -> bytes:
    """Read a random secret, creating it owner-only on first use; safe between processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes()
        if not data:  # another process is between creating and writing it
            for _ in range(50):
                threading.Event().wait(0.02)
                data = path.read_bytes()
                if data:
                    break
        return base64.b64decode(data)
    secret = secrets.token_bytes(size)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(base64.b64encode(secret))
    return secret


_vault: Vault | None = None
_vault_lock = threading.Lock()


def get_vault() -> Vault:
    global _vault
    with _vault_lock:
        if _vault is None:
            _vault = Vault(load_master_key(get_settings()))
        return _vault


def reset_vault() -> None:
    global _vault
    with _vault_lock:
        _vault = None
