"""the gate: offline scanners' leases, teams in parts, scans outside a lease

Revision ID: 0013_gate
Revises: 0012_walk_in
Create Date: 2026-12-10

- ``offline_lease``: each scanner's share of the live limit while it may lose the network;
  ``occupancy_counter.leased`` is what the leases hold, so that the online admission's one
  conditional statement leaves it free;
- ``offline_scan.lease_id`` / ``problem``: the lease that covered an uploaded admission, or
  why none did;
- ``ticket.exited_count``: a team's ticket admits its party in parts, and its people leave
  in parts;
- the per-gate offline margins (``gate_setting``, rules key ``gate.offline_margin``) go:
  the leases hold the places they kept. The rules in force lose that key and take the
  leases' keys from their defaults.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013_gate"
down_revision: str | Sequence[str] | None = "0012_walk_in"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW_GATE_KEYS = ("offline_allowance", "offline_lease_minutes", "minors_need_adult")
_OLD_MARGIN = 20
_RULES = sa.table("rules_document", sa.column("id", sa.Integer), sa.column("document", sa.JSON))


def _edit_rules(change: Any) -> None:
    """Apply ``change`` to the ``gate`` section of the stored rules document, if any."""
    bind = op.get_bind()
    for row_id, stored in bind.execute(sa.select(_RULES.c.id, _RULES.c.document)).all():
        document = dict(stored)
        gate = dict(document.get("gate") or {})
        change(gate)
        document["gate"] = gate
        bind.execute(_RULES.update().where(_RULES.c.id == row_id).values(document=document))


def upgrade() -> None:
    op.create_table(
        "offline_lease",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("issued_to", sa.String(length=64), nullable=False),
        sa.Column("began_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("covers_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("allowance", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("offline_lease", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offline_lease_device"), ["device"], unique=False)
        batch_op.create_index(batch_op.f("ix_offline_lease_day"), ["day"], unique=False)
        batch_op.create_index(
            "uq_offline_lease_live_device",
            ["device"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
    with op.batch_alter_table("occupancy_counter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leased", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("exited_count", sa.Integer(), nullable=False, server_default="0")
        )
    # A party that left before counts its people as exited.
    op.execute("UPDATE ticket SET exited_count = admitted_count WHERE use_state = 'left'")
    with op.batch_alter_table("offline_scan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("problem", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_offline_scan_problem"), ["problem"], unique=False)
    op.drop_table("gate_setting")

    def drop_margin(gate: dict[str, Any]) -> None:
        gate.pop("offline_margin", None)

    _edit_rules(drop_margin)


def downgrade() -> None:
    def restore_margin(gate: dict[str, Any]) -> None:
        for key in _NEW_GATE_KEYS:
            gate.pop(key, None)
        gate.setdefault("offline_margin", _OLD_MARGIN)

    _edit_rules(restore_margin)
    op.create_table(
        "gate_setting",
        sa.Column("gate", sa.String(length=64), nullable=False),
        sa.Column("offline_margin", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("gate"),
    )
    with op.batch_alter_table("offline_scan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offline_scan_problem"))
        batch_op.drop_column("problem")
        batch_op.drop_column("lease_id")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("exited_count")
    with op.batch_alter_table("occupancy_counter", schema=None) as batch_op:
        batch_op.drop_column("leased")
    with op.batch_alter_table("offline_lease", schema=None) as batch_op:
        batch_op.drop_index("uq_offline_lease_live_device")
        batch_op.drop_index(batch_op.f("ix_offline_lease_day"))
        batch_op.drop_index(batch_op.f("ix_offline_lease_device"))
    op.drop_table("offline_lease")
