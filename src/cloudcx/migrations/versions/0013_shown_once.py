"""shown_once: new secrets kept, encrypted, until the page after the redirect shows them;
api_keys.disabled_at: a key can be deactivated and reactivated.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shown_once",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("session_digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_shown_once_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_shown_once_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_digest"],
            ["web_sessions.id_digest"],
            name=op.f("fk_shown_once_session_digest_web_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shown_once")),
    )
    with op.batch_alter_table("shown_once") as batch_op:
        batch_op.create_index("ix_shown_once_expires", ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_shown_once_session_digest"), ["session_digest"], unique=False
        )
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_column("disabled_at")
    with op.batch_alter_table("shown_once") as batch_op:
        batch_op.drop_index(batch_op.f("ix_shown_once_session_digest"))
        batch_op.drop_index("ix_shown_once_expires")
    op.drop_table("shown_once")
