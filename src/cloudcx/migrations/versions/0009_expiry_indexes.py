"""Indexes on the expiry of what housekeeping deletes.

Housekeeping deletes expired authorization codes, refresh tokens, revocations
and Control Panel sessions in batches of 1,000 (``cloudcx.jobs``); without an
index on ``expires_at`` each batch scans the whole table, so a backlog of n
rows costs n²/1000 row reads. With one, each batch is an index range.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 01:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("oauth_authorization_codes", "ix_oauth_authorization_codes_expires"),
    ("oauth_refresh_tokens", "ix_oauth_refresh_tokens_expires"),
    ("revocations", "ix_revocations_expires"),
    ("web_sessions", "ix_web_sessions_expires"),
)


def upgrade() -> None:
    for table, name in INDEXES:
        op.create_index(name, table, ["expires_at"])


def downgrade() -> None:
    for table, name in INDEXES:
        op.drop_index(name, table_name=table)
