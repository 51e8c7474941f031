"""walk-in places and the desk: a day's quota per channel, bookings made by staff, lifted bans

Revision ID: 0012_walk_in
Revises: 0010_waiting_list
Create Date: 2026-12-20

- ``day_override.quotas``: the day's quota of each channel it changes, by channel name
  (``rules.channels``), instead of one column per channel; the individual and team
  quotas move into it (and back on downgrade, where other channels' quotas are dropped).
- ``booking.booked_by``: the staff user who booked at the desk or on the phone.
- ``no_show_strike.forgiven_at``: a strike an admin forgave by lifting its ban.
- ``ban_lift``: the bans admins lifted, who lifted them and why.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_walk_in"
down_revision: str | Sequence[str] | None = "0010_waiting_list"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channels that had columns of their own before.
_OLD_COLUMNS = (("individual", "individual_quota"), ("team", "team_quota"))


def _override_table(*quota_columns: str) -> sa.TableClause:
    return sa.table(
        "day_override",
        sa.column("day", sa.Date()),
        sa.column("quotas", sa.JSON()),
        *(sa.column(name, sa.Integer()) for name in quota_columns),
    )


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("day_override") as batch:
        batch.add_column(sa.Column("quotas", sa.JSON(), nullable=False, server_default="{}"))
    table = _override_table(*(column for _channel, column in _OLD_COLUMNS))
    for row in bind.execute(sa.select(table)).mappings().all():
        quotas = {
            channel: row[column] for channel, column in _OLD_COLUMNS if row[column] is not None
        }
        bind.execute(sa.update(table).where(table.c.day == row["day"]).values(quotas=quotas))
    with op.batch_alter_table("day_override") as batch:
        batch.alter_column("quotas", server_default=None)
        batch.drop_column("individual_quota")
        batch.drop_column("team_quota")

    op.add_column("booking", sa.Column("booked_by", sa.String(length=64), nullable=True))
    op.add_column(
        "no_show_strike", sa.Column("forgiven_at", sa.DateTime(timezone=True), nullable=True)
    )

    op.create_table(
        "ban_lift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("subject_masked", sa.String(length=64), nullable=True),
        sa.Column("banned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ban_lift") as batch:
        batch.create_index(batch.f("ix_ban_lift_subject_hash"), ["subject_hash"], unique=False)
        batch.create_index(batch.f("ix_ban_lift_lifted_at"), ["lifted_at"], unique=False)


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("ban_lift") as batch:
        batch.drop_index(batch.f("ix_ban_lift_lifted_at"))
        batch.drop_index(batch.f("ix_ban_lift_subject_hash"))
    op.drop_table("ban_lift")
    # Other tables refer to ``booking``, which a batch operation would copy and drop:
    # SQLite (3.35 and later) and PostgreSQL both drop a plain column in place.
    op.execute("ALTER TABLE no_show_strike DROP COLUMN forgiven_at")
    op.execute("ALTER TABLE booking DROP COLUMN booked_by")

    with op.batch_alter_table("day_override") as batch:
        batch.add_column(sa.Column("individual_quota", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("team_quota", sa.Integer(), nullable=True))
    table = _override_table(*(column for _channel, column in _OLD_COLUMNS))
    for row in bind.execute(sa.select(table)).mappings().all():
        quotas = row["quotas"] or {}
        bind.execute(
            sa.update(table)
            .where(table.c.day == row["day"])
            .values({column: quotas.get(channel) for channel, column in _OLD_COLUMNS})
        )
    with op.batch_alter_table("day_override") as batch:
        batch.drop_column("quotas")
