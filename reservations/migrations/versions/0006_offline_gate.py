"""offline scanners: uploaded offline scans and per-gate settings

``offline_scan`` keeps every scan a scanner made without the network, keyed by the id the
device chose, so uploads are idempotent; ``gate_setting`` holds the offline safety margin
admins set per entrance.

Revision ID: 0006_offline_gate
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_offline_gate"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offline_scan",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("gate", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=True),
        sa.Column("headcount", sa.Integer(), nullable=True),
        sa.Column("device_admitted", sa.Boolean(), nullable=False),
        sa.Column("device_reason", sa.String(length=32), nullable=True),
        sa.Column("admitted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("conflict", sa.Boolean(), nullable=False),
        sa.Column("over_limit", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("offline_scan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offline_scan_day"), ["day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_offline_scan_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_offline_scan_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offline_scan_conflict"), ["conflict"], unique=False)
    op.create_table(
        "gate_setting",
        sa.Column("gate", sa.String(length=64), nullable=False),
        sa.Column("offline_margin", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("gate"),
    )


def downgrade() -> None:
    op.drop_table("gate_setting")
    with op.batch_alter_table("offline_scan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offline_scan_conflict"))
        batch_op.drop_index(batch_op.f("ix_offline_scan_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_offline_scan_received_at"))
        batch_op.drop_index(batch_op.f("ix_offline_scan_day"))
    op.drop_table("offline_scan")
