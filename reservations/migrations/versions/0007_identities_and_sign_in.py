"""one person under every spelling, short masks, sign-in throttles, spent challenges,
renewable team leader page keys

Data: every stored document and phone number is brought to its canonical form (NFKC,
separators removed, upper case): the masks are made again from it (passports and permits
show at most a third), and a number stored in another spelling (full-width digits) is
sealed again with the keyed hash of its canonical form, so the person it names is one
person from now on. Where that person already holds a claim on the same day under the
canonical hash (two bookings made through the old spellings), the row keeps its old hash
rather than breaking the unique claim; its mask is still rewritten.

Revision ID: 0007_identities
Revises: 0006_offline_gate
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007_identities"
down_revision: str | Sequence[str] | None = "0006_offline_gate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    _canonical_visitors(connection)
    _canonical_phones(connection)

    # Wrong sign-ins are counted per account and address, no longer on the account.
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_throttle_account"), ["account"])
        batch_op.create_index(batch_op.f("ix_sign_in_throttle_blocked_until"), ["blocked_until"])
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")

    # Spent proof-of-work challenges, shared by every process without Redis.
    op.create_table(
        "spent_challenge",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("request_mark", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    with op.batch_alter_table("spent_challenge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spent_challenge_expires_at"), ["expires_at"])

    # Team leaders' page keys: one stored hash per request, renewable, ending with the visit
    # day. The keys handed out before (a keyed hash of the reference) stop working: leaders
    # prove who they are once more.
    op.create_table(
        "team_page_key",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.PrimaryKeyConstraint("booking_id"),
        sa.UniqueConstraint("key_hash"),
    )
    with op.batch_alter_table("team_page_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_page_key_expires_at"), ["expires_at"])


def downgrade() -> None:
    op.drop_table("team_page_key")
    op.drop_table("spent_challenge")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_table("sign_in_throttle")
    # The short masks and canonical numbers stay: the old ones showed too much.


def _vault() -> Any:
    from reservations.privacy.vault import get_vault

    return get_vault()


def _canonical_visitors(connection: sa.Connection) -> None:
    from reservations.booking.identities import DOCUMENT, IDENTITY
    from reservations.privacy import documents
    from reservations.privacy.vault import DecryptionError

    rows = connection.execute(
        sa.text(
            "SELECT id, id_type, id_number_enc, id_masked, identity_hash, claim_date"
            " FROM visitor WHERE id_number_enc IS NOT NULL"
        )
    ).all()
    if not rows:
        return
    vault = _vault()
    moved: dict[str, str] = {}
    for row in rows:
        try:
            stored = vault.decrypt(row.id_number_enc, DOCUMENT)
        except DecryptionError:
            continue  # not this service's key: nothing can be said about it
        try:
            number = documents.canonical_document(row.id_type, stored)
        except documents.InvalidDocument:
            _update(connection, "visitor", row.id, id_masked="*" * min(len(stored), 32))
            continue
        changes: dict[str, Any] = {"id_masked": documents.mask_document(row.id_type, number)}
        if number != stored:
            identity = vault.blind_index(documents.identity_key(row.id_type, number), IDENTITY)
            if identity == row.identity_hash or not _claimed(connection, identity, row.claim_date):
                changes["id_number_enc"] = vault.encrypt(number, DOCUMENT)
                changes["identity_hash"] = identity
                if row.identity_hash and identity != row.identity_hash:
                    moved[row.identity_hash] = identity
        if any(getattr(row, name) != value for name, value in changes.items()):
            _update(connection, "visitor", row.id, **changes)
    for old, new in moved.items():
        _move_strikes_and_bans(connection, old, new)


def _claimed(connection: sa.Connection, identity: str, day: Any) -> bool:
    if day is None:
        return False
    return (
        connection.execute(
            sa.text("SELECT 1 FROM visitor WHERE identity_hash = :identity AND claim_date = :day"),
            {"identity": identity, "day": day},
        ).first()
        is not None
    )


def _move_strikes_and_bans(connection: sa.Connection, old: str, new: str) -> None:
    """No-show strikes and bans follow the person to the canonical hash."""
    connection.execute(
        sa.text(
            "UPDATE no_show_strike SET identity_hash = :new WHERE identity_hash = :old"
            " AND NOT EXISTS (SELECT 1 FROM no_show_strike AS other"
            " WHERE other.identity_hash = :new AND other.booking_id = no_show_strike.booking_id)"
        ),
        {"old": old, "new": new},
    )
    connection.execute(
        sa.text("DELETE FROM no_show_strike WHERE identity_hash = :old"), {"old": old}
    )
    bans = {
        row.identity_hash: row.until
        for row in connection.execute(
            sa.text(
                "SELECT identity_hash, until FROM visitor_ban WHERE identity_hash IN (:old, :new)"
            ),
            {"old": old, "new": new},
        )
    }
    if old not in bans:
        return
    if new in bans:
        connection.execute(
            sa.text("UPDATE visitor_ban SET until = :until WHERE identity_hash = :new"),
            {"until": max(bans[old], bans[new]), "new": new},
        )
        connection.execute(
            sa.text("DELETE FROM visitor_ban WHERE identity_hash = :old"), {"old": old}
        )
    else:
        connection.execute(
            sa.text("UPDATE visitor_ban SET identity_hash = :new WHERE identity_hash = :old"),
            {"old": old, "new": new},
        )


def _canonical_phones(connection: sa.Connection) -> None:
    from reservations.booking.identities import PHONE
    from reservations.privacy import documents
    from reservations.privacy.masking import mask_phone
    from reservations.privacy.vault import DecryptionError

    rows = connection.execute(
        sa.text(
            "SELECT id, phone_enc, phone_masked, phone_hash FROM booking"
            " WHERE phone_enc IS NOT NULL"
        )
    ).all()
    if not rows:
        return
    vault = _vault()
    for row in rows:
        try:
            stored = vault.decrypt(row.phone_enc, PHONE)
        except DecryptionError:
            continue
        try:
            phone = documents.canonical_phone(stored)
        except documents.InvalidPhone:
            _update(connection, "booking", row.id, phone_masked="*" * min(len(stored), 32))
            continue
        changes: dict[str, Any] = {"phone_masked": mask_phone(phone)}
        if phone != stored:
            changes["phone_enc"] = vault.encrypt(phone, PHONE)
            changes["phone_hash"] = vault.blind_index(phone, PHONE)
        if any(getattr(row, name) != value for name, value in changes.items()):
            _update(connection, "booking", row.id, **changes)


def _update(connection: sa.Connection, table: str, row_id: int, **values: Any) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    connection.execute(
        sa.text(f"UPDATE {table} SET {assignments} WHERE id = :row_id"),  # noqa: S608 - names are ours
        {**values, "row_id": row_id},
    )
