"""job runs claim their scheduled occurrence

A scheduled occurrence of a job (its name and day) is claimed by inserting its ``job_run``
row under a unique index, so exactly one scheduler runs it; ``lease_until`` lets another
take over a run whose process died. The per-job lease table is no longer needed.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occurrence", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("uq_job_run_occurrence", ["name", "occurrence"], unique=True)
    op.drop_table("job_lease")


def downgrade() -> None:
    op.create_table(
        "job_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_occurrence", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index("uq_job_run_occurrence")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("attempt")
        batch_op.drop_column("occurrence")
