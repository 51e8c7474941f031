"""Encryption at rest and keyed hashes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from reservations.privacy.vault import (
    MASTER_KEY_FILE,
    DecryptionError,
    Vault,
    load_master_key,
    read_or_create_secret_file,
)
from reservations.settings import Settings


def test_round_trip_with_fresh_nonces() -> None:
    vault = Vault(b"k" * 32)
    first, second = vault.encrypt("张三", "name"), vault.encrypt("张三", "name")
    assert first != second
    assert vault.decrypt(first, "name") == "张三"


def test_a_value_cannot_be_moved_to_another_column() -> None:
    vault = Vault(b"k" * 32)
    sealed = vault.encrypt("13800138000", "phone")
    with pytest.raises(DecryptionError):
        vault.decrypt(sealed, "name")


def test_tampering_and_other_keys_are_detected() -> None:
    vault = Vault(b"k" * 32)
    sealed = vault.encrypt("secret", "name")
    middle = len(sealed) // 2
    tampered = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1 :]
    with pytest.raises(DecryptionError):
        vault.decrypt(tampered, "name")
    with pytest.raises(DecryptionError):
        Vault(b"other" * 8).decrypt(sealed, "name")
    with pytest.raises(DecryptionError):
        vault.decrypt("garbage", "name")


def test_keyed_hashes_are_stable_per_key_and_purpose() -> None:
    vault = Vault(b"k" * 32)
    assert vault.blind_index("x", "phone") == vault.blind_index("x", "phone")
    assert vault.blind_index("x", "phone") != vault.blind_index("x", "identity")
    assert vault.blind_index("x", "phone") != Vault(b"j" * 32).blind_index("x", "phone")


def test_generated_master_key_is_owner_only_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = load_master_key(settings)
    path = settings.data_dir / MASTER_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(settings) == first
    assert len(first) == 32


def test_master_key_from_settings_wins(tmp_path: Path) -> None:
    configured = "a configured secret of more than 32 bytes"
    settings = Settings(data_dir=tmp_path, secret_key=configured)  # type: ignore[arg-type]
    assert load_master_key(settings) == configured.encode()
    assert not (tmp_path / MASTER_KEY_FILE).exists()


def test_secret_file_is_created_once(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "secret"
    assert read_or_create_secret_file(path, 16) == read_or_create_secret_file(path, 16)
