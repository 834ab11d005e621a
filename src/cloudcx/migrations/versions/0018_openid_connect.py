"""OpenID Connect: the sign-in a code and a refresh-token family carry, browser
session ids, and per-client post-logout redirect URIs

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 20:55:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_authorization_codes") as batch_op:
        batch_op.add_column(sa.Column("nonce", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sid", sa.String(length=64), nullable=True))
    with op.batch_alter_table("oauth_refresh_tokens") as batch_op:
        batch_op.add_column(sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sid", sa.String(length=64), nullable=True))
    with op.batch_alter_table("web_sessions") as batch_op:
        batch_op.add_column(sa.Column("sid", sa.String(length=64), nullable=True))
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.add_column(
            sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("id_token_signed_response_alg", sa.String(length=16), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.drop_column("id_token_signed_response_alg")
        batch_op.drop_column("post_logout_redirect_uris")
    with op.batch_alter_table("web_sessions") as batch_op:
        batch_op.drop_column("sid")
    with op.batch_alter_table("oauth_refresh_tokens") as batch_op:
        batch_op.drop_column("sid")
        batch_op.drop_column("auth_time")
    with op.batch_alter_table("oauth_authorization_codes") as batch_op:
        batch_op.drop_column("sid")
        batch_op.drop_column("auth_time")
        batch_op.drop_column("nonce")
