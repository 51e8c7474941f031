"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)

    op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot_id", sa.String(length=16), nullable=False),
        sa.Column("slot_start", sa.String(length=5), nullable=False),
        sa.Column("slot_end", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("manage_token_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("phone_enc", sa.String(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_masked", sa.String(length=32), nullable=True),
        sa.Column("email_enc", sa.String(), nullable=True),
        sa.Column("email_masked", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("review_note", sa.String(length=500), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("personal_data_erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.create_index(
            "ix_booking_day_channel_status", ["day", "channel", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_booking_phone_hash"), ["phone_hash"], unique=False)

    op.create_table(
        "capacity_counter",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("slot_id", sa.String(length=16), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "slot_id"),
    )
    op.create_table(
        "day_override",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=True),
        sa.Column("individual_quota", sa.Integer(), nullable=True),
        sa.Column("team_quota", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "gate_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=True),
        sa.Column("gate", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gate_scan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_scan_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gate_scan_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "idempotency_record",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_enc", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_record_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "job_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_occurrence", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_run_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_run_started_at"), ["started_at"], unique=False)

    op.create_table(
        "no_show_strike",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identity_hash", "booking_id", name="uq_strike_booking"),
    )
    with op.batch_alter_table("no_show_strike", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_no_show_strike_identity_hash"), ["identity_hash"], unique=False
        )

    op.create_table(
        "occupancy_counter",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("inside", sa.Integer(), nullable=False),
        sa.Column("entered", sa.Integer(), nullable=False),
        sa.Column("exited", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "rules_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "visitor_ban",
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("identity_hash"),
    )
    op.create_table(
        "access_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_token_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_access_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "visitor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("id_type", sa.String(length=24), nullable=False),
        sa.Column("name_enc", sa.String(), nullable=True),
        sa.Column("name_masked", sa.String(length=64), nullable=True),
        sa.Column("id_number_enc", sa.String(), nullable=True),
        sa.Column("id_masked", sa.String(length=32), nullable=True),
        sa.Column("identity_hash", sa.String(length=64), nullable=True),
        sa.Column("claim_date", sa.Date(), nullable=True),
        sa.Column("is_minor", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identity_hash", "claim_date", name="uq_visitor_claim"),
    )
    with op.batch_alter_table("visitor", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visitor_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_visitor_identity_hash"), ["identity_hash"], unique=False
        )

    op.create_table(
        "ticket",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot_id", sa.String(length=16), nullable=False),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=32), nullable=False),
        sa.Column("qr_payload", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("use_state", sa.String(length=16), nullable=False),
        sa.Column("admitted_count", sa.Integer(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entered_gate", sa.String(length=64), nullable=True),
        sa.Column("exited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitor.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_day"), ["day"], unique=False)

    _forbid_audit_changes()


# The audit trail is append-only: the database itself refuses to change or remove entries.
_SQLITE_AUDIT_TRIGGERS = [
    f"""CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry
        BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END"""
    for verb in ("UPDATE", "DELETE")
]
_POSTGRES_AUDIT_TRIGGER = [
    """CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit entries are append-only'; END $$""",
    """CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
       ON audit_entry FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()""",
]


def _forbid_audit_changes() -> None:
    dialect = op.get_bind().dialect.name
    statements = _POSTGRES_AUDIT_TRIGGER if dialect == "postgresql" else _SQLITE_AUDIT_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_day"))
        batch_op.drop_index(batch_op.f("ix_ticket_booking_id"))

    op.drop_table("ticket")
    with op.batch_alter_table("visitor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visitor_identity_hash"))
        batch_op.drop_index(batch_op.f("ix_visitor_booking_id"))

    op.drop_table("visitor")
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_token_user_id"))
        batch_op.drop_index(batch_op.f("ix_access_token_expires_at"))

    op.drop_table("access_token")
    op.drop_table("visitor_ban")
    op.drop_table("rules_document")
    op.drop_table("occupancy_counter")
    with op.batch_alter_table("no_show_strike", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_no_show_strike_identity_hash"))

    op.drop_table("no_show_strike")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_run_started_at"))
        batch_op.drop_index(batch_op.f("ix_job_run_name"))

    op.drop_table("job_run")
    op.drop_table("job_lease")
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_record_created_at"))

    op.drop_table("idempotency_record")
    with op.batch_alter_table("gate_scan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_scan_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_gate_scan_at"))

    op.drop_table("gate_scan")
    op.drop_table("day_override")
    op.drop_table("capacity_counter")
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_phone_hash"))
        batch_op.drop_index("ix_booking_day_channel_status")

    op.drop_table("booking")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))

    op.drop_table("audit_entry")
    op.drop_table("app_user")
