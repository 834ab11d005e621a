"""two-factor sign-in: TOTP secrets on users, recovery codes, the tenant's requirement

The enrolment is kept on the user row so that sign-in and the password grant
read it with the user they already load; the requirement is kept on the tenant
row so that it travels with the cached tenant of every request.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("totp_pending_secret", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(
            sa.Column(
                "two_factor_required", sa.String(length=16), nullable=False, server_default="off"
            )
        )
    op.create_table(
        "two_factor_recovery_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_two_factor_recovery_codes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_two_factor_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_two_factor_recovery_codes")),
    )
    with op.batch_alter_table("two_factor_recovery_codes") as batch_op:
        batch_op.create_index(
            "ix_two_factor_recovery_codes_user_digest", ["user_id", "digest"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("two_factor_recovery_codes") as batch_op:
        batch_op.drop_index("ix_two_factor_recovery_codes_user_digest")
    op.drop_table("two_factor_recovery_codes")
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("two_factor_required")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_pending_secret")
        batch_op.drop_column("totp_secret")
