"""Pushed authorization requests (RFC 9126): the pushed requests and a client's "Require PAR"

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 20:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.add_column(
            sa.Column("require_par", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "oauth_pushed_requests",
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("client_pk", sa.Uuid(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shown_to", sa.Uuid(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_oauth_pushed_requests_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["oauth_clients.id"],
            name=op.f("fk_oauth_pushed_requests_client_pk_oauth_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shown_to"],
            ["users.id"],
            name=op.f("fk_oauth_pushed_requests_shown_to_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_digest", name=op.f("pk_oauth_pushed_requests")),
    )
    with op.batch_alter_table("oauth_pushed_requests") as batch_op:
        batch_op.create_index("ix_oauth_pushed_requests_expires", ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_oauth_pushed_requests_client_pk"), ["client_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_pushed_requests") as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_pushed_requests_client_pk"))
        batch_op.drop_index("ix_oauth_pushed_requests_expires")
    op.drop_table("oauth_pushed_requests")
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.drop_column("require_par")
