"""the waiting list: its entries, whose people claim their day as visitors

Revision ID: 0010_waiting_list
Revises: 0009_notice
Create Date: 2026-12-02

A waiting entry's people are ``visitor`` rows without a booking, so that the one unique
claim index keeps one booking *or* waiting entry per person and day: ``visitor.booking_id``
may now be empty, and ``visitor.waiting_entry_id`` names the entry.

SQLite cannot change a column's NOT NULL with ALTER TABLE, and rebuilding ``visitor`` would
need foreign keys switched off, which cannot happen inside the migration's transaction
(``ticket`` refers to it). Dropping a NOT NULL or a foreign key clause changes nothing
stored, and SQLite documents editing the table's definition for exactly that
(https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
Changes"): the definition is rewritten and the schema version raised, in the transaction.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_waiting_list"
down_revision: str | Sequence[str] | None = "0009_notice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rewrite_sqlite_table(table: str, pattern: str, replacement: str) -> None:
    """Rewrite part of an SQLite table's definition; only for changes that leave every
    stored row as it is (dropping NOT NULL or a foreign key clause)."""
    bind = op.get_bind()
    definition = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar_one()
    rewritten, count = re.subn(pattern, replacement, definition)
    if count != 1:
        raise RuntimeError(f"unexpected definition of table {table}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
            (rewritten, table),
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    op.create_table(
        "waiting_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("manage_token_hash", sa.String(length=64), nullable=False),
        sa.Column("manage_token_enc", sa.String(), nullable=True),
        sa.Column("link_base", sa.String(length=200), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot_id", sa.String(length=16), nullable=True),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("phone_enc", sa.String(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_masked", sa.String(length=32), nullable=True),
        sa.Column("email_enc", sa.String(), nullable=True),
        sa.Column("email_masked", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offer_slot_id", sa.String(length=16), nullable=True),
        sa.Column("offer_slot_start", sa.String(length=5), nullable=True),
        sa.Column("offer_slot_end", sa.String(length=5), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_by", sa.String(length=32), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("personal_data_erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index("ix_waiting_entry_day_status", "waiting_entry", ["day", "status"])
    op.create_index("ix_waiting_entry_phone_hash", "waiting_entry", ["phone_hash"])

    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its REFERENCES clause in place (Alembic would ask for
        # a rebuild of the table).
        op.get_bind().exec_driver_sql(
            "ALTER TABLE visitor ADD COLUMN waiting_entry_id INTEGER REFERENCES waiting_entry (id)"
        )
        _rewrite_sqlite_table("visitor", r"\bbooking_id INTEGER NOT NULL,", "booking_id INTEGER,")
    else:
        op.add_column(
            "visitor",
            sa.Column(
                "waiting_entry_id", sa.Integer(), sa.ForeignKey("waiting_entry.id"), nullable=True
            ),
        )
        op.alter_column("visitor", "booking_id", existing_type=sa.Integer(), nullable=True)
    op.create_index("ix_visitor_waiting_entry_id", "visitor", ["waiting_entry_id"])


def downgrade() -> None:
    op.execute("DELETE FROM visitor WHERE booking_id IS NULL")
    op.drop_index("ix_visitor_waiting_entry_id", table_name="visitor")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops no column that a foreign key clause names: drop the clause first.
        _rewrite_sqlite_table(
            "visitor",
            r"\bwaiting_entry_id INTEGER REFERENCES waiting_entry \(id\)",
            "waiting_entry_id INTEGER",
        )
        op.get_bind().exec_driver_sql("ALTER TABLE visitor DROP COLUMN waiting_entry_id")
        _rewrite_sqlite_table("visitor", r"\bbooking_id INTEGER,", "booking_id INTEGER NOT NULL,")
    else:
        op.drop_column("visitor", "waiting_entry_id")
        op.alter_column("visitor", "booking_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("ix_waiting_entry_phone_hash", table_name="waiting_entry")
    op.drop_index("ix_waiting_entry_day_status", table_name="waiting_entry")
    op.drop_table("waiting_entry")
