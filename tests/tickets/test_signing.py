"""Signed ticket tokens: what verifies, what never does, and how keys rotate."""

from __future__ import annotations

import base64
import stat
import string
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from reservations.tickets import qr
from reservations.tickets.signing import InvalidToken, Keyring

DAY = date(2026, 3, 10)


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    keys = Keyring(tmp_path / "signing-keys")
    keys.ensure_active()
    return keys


@pytest.fixture
def token(keyring: Keyring) -> str:
    return keyring.sign("7K2M9QX4HJ3N", DAY, "0900", 1)


def test_a_token_carries_its_claims_and_verifies(keyring: Keyring, token: str) -> None:
    active = keyring.active()
    assert active is not None
    assert token.startswith(f"ZT1.{active.kid}.7K2M9QX4HJ3N.20260310.0900.1.")
    claims = keyring.verify(token)
    assert (claims.kid, claims.ticket_id, claims.day, claims.slot_id, claims.party_size) == (
        active.kid,
        "7K2M9QX4HJ3N",
        DAY,
        "0900",
        1,
    )


def test_a_token_fits_a_low_qr_version_at_medium_correction(keyring: Keyring) -> None:
    # The longest party size a team can have, still version 6 (41 x 41 modules).
    widest = keyring.sign("7K2M9QX4HJ3N", DAY, "0900", 9999)
    assert set(widest) <= set(string.ascii_uppercase + string.digits + ".")
    assert len(widest) <= 154  # alphanumeric capacity of version 6-M
    assert qr.version(widest) <= 6


def _changed(text: str, position: int) -> str:
    original = text[position]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" if original.isalpha() else "0123456789"
    replacement = next(c for c in alphabet if c != original)
    return text[:position] + replacement + text[position + 1 :]


def test_any_changed_character_is_refused(keyring: Keyring, token: str) -> None:
    for position, character in enumerate(token):
        if character == ".":
            continue
        with pytest.raises(InvalidToken):
            keyring.verify(_changed(token, position))


def test_the_last_signature_character_has_one_spelling(keyring: Keyring, token: str) -> None:
    # Base32's last character carries unused bits: a neighbour decodes to the same bytes.
    last = token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    neighbour = alphabet[alphabet.index(last) ^ 1]
    assert base64.b32decode(token.rpartition(".")[2] + "=") == base64.b32decode(
        token.rpartition(".")[2][:-1] + neighbour + "="
    )
    with pytest.raises(InvalidToken):
        keyring.verify(token[:-1] + neighbour)


def test_truncated_and_extended_tokens_are_refused(keyring: Keyring, token: str) -> None:
    for length in (0, 1, 4, 20, len(token) // 2, len(token) - 1):
        with pytest.raises(InvalidToken):
            keyring.verify(token[:length])
    with pytest.raises(InvalidToken):
        keyring.verify(token + "A")
    with pytest.raises(InvalidToken):
        keyring.verify(token.rpartition(".")[0])


def test_a_claim_changed_and_signed_again_by_another_key_is_refused(
    keyring: Keyring, token: str, tmp_path: Path
) -> None:
    forger = Keyring(tmp_path / "forger")
    forger_key = forger.ensure_active()
    # Signed by a key this service never issued: unknown key id.
    with pytest.raises(InvalidToken):
        keyring.verify(forger.sign("7K2M9QX4HJ3N", DAY, "0900", 5))
    # The forger claims our key id and signs the body with its own key.
    active = keyring.active()
    assert active is not None
    body = f"ZT1.{active.kid}.7K2M9QX4HJ3N.20260310.0900.5"
    signature = base64.b32encode(forger_key.private.sign(body.encode())).decode().rstrip("=")
    with pytest.raises(InvalidToken):
        keyring.verify(f"{body}.{signature}")
    # Our own signature moved onto another ticket's claims.
    other = token.replace(".7K2M9QX4HJ3N.", ".7K2M9QX4HJ3P.")
    with pytest.raises(InvalidToken):
        keyring.verify(other)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        "hello",
        "https://example.com/ticket/123",
        "ZT1",
        "ZT1........",
        "ZT2.AAAAAAAA.7K2M9QX4HJ3N.20260310.0900.1." + "A" * 103,
        "ZT1.AAAAAAAA.7K2M9QX4HJ3N.20261310.0900.1." + "A" * 103,
        "ZT1.AAAAAAAA.7K2M9QX4HJ3N.20260310.0900.0." + "A" * 103,
        "票码" * 40,
        "\x00" * 50,
        "A" * 5000,
    ],
)
def test_garbage_is_refused(keyring: Keyring, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        keyring.verify(garbage)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_edits_never_verify(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    keyring = Keyring(tmp_path_factory.mktemp("keys"))
    keyring.ensure_active()
    token = keyring.sign("7K2M9QX4HJ3N", DAY, "0900", 3)
    position = data.draw(st.integers(0, len(token) - 1))
    edit = data.draw(st.sampled_from(["replace", "delete", "insert"]))
    character = data.draw(st.sampled_from(string.ascii_uppercase + string.digits + ".-"))
    if edit == "replace":
        edited = token[:position] + character + token[position + 1 :]
    elif edit == "delete":
        edited = token[:position] + token[position + 1 :]
    else:
        edited = token[:position] + character + token[position:]
    if edited == token:
        return
    with pytest.raises(InvalidToken):
        keyring.verify(edited)


def test_a_new_key_signs_and_the_old_one_verifies_until_retired(
    keyring: Keyring, token: str
) -> None:
    old = keyring.active()
    assert old is not None
    new = keyring.rotate()
    assert keyring.active() == new and new.serial > old.serial
    assert keyring.sign("7K2M9QX4HJ3N", DAY, "0900", 1).split(".")[1] == new.kid
    assert keyring.verify(token).kid == old.kid
    assert [key.kid for key in keyring.verifying_keys()] == [new.kid, old.kid]
    keyring.retire(old.kid)
    with pytest.raises(InvalidToken):
        keyring.verify(token)
    assert [key.kid for key in keyring.verifying_keys()] == [new.kid]


def test_another_process_sees_rotation_and_retirement(keyring: Keyring, token: str) -> None:
    # Two keyrings on one directory stand for two worker processes.
    worker = Keyring(keyring.directory)
    old = keyring.active()
    assert old is not None
    new = keyring.rotate()
    worker.RECHECK_SECONDS = 0.0
    assert worker.sign("7K2M9QX4HJ3N", DAY, "0900", 1).split(".")[1] == new.kid
    keyring.retire(old.kid)
    with pytest.raises(InvalidToken):
        worker.verify(token)


def test_rotation_orders_keys_even_when_the_clock_stands_still(keyring: Keyring) -> None:
    # Under a frozen rehearsal clock every key has the same creation time.
    kids = [keyring.rotate().kid for _ in range(4)]
    assert keyring.active() is not None and keyring.active().kid == kids[-1]  # type: ignore[union-attr]
    reloaded = Keyring(keyring.directory)
    assert reloaded.active() is not None and reloaded.active().kid == kids[-1]  # type: ignore[union-attr]


def test_private_keys_are_owner_only_files(keyring: Keyring) -> None:
    keyring.rotate()
    assert stat.S_IMODE(keyring.directory.stat().st_mode) == 0o700
    files = list(keyring.directory.iterdir())
    assert len(files) == 2 and all(path.suffix == ".json" for path in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_key_file_opened_up_by_mistake_is_closed_again(keyring: Keyring) -> None:
    (path,) = keyring.directory.iterdir()
    path.chmod(0o644)
    Keyring(keyring.directory)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_published_public_key_verifies_offline(keyring: Keyring, token: str) -> None:
    """What an offline scanner does with GET /gate/keys: no service code involved."""
    (key,) = keyring.verifying_keys()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key_b64))
    body, _, signature = token.rpartition(".")
    public.verify(base64.b32decode(signature + "=" * (-len(signature) % 8)), body.encode())
