"""DPoP (RFC 9449): a client's "Require DPoP" and refresh tokens bound to a key.

``oauth_clients.require_dpop`` refuses the client's token requests that carry
no DPoP proof (existing clients: false, unchanged). ``oauth_refresh_tokens.dpop_jkt``
is the RFC 7638 thumbprint of the key a public client's refresh token is bound
to (existing tokens: none, unbound); ``oauth_authorization_codes.dpop_jkt`` the
key an authorization request's ``dpop_jkt`` (RFC 9449 §10) binds its code to.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.add_column(
            sa.Column("require_dpop", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("oauth_refresh_tokens") as batch_op:
        batch_op.add_column(sa.Column("dpop_jkt", sa.String(length=43), nullable=True))
    with op.batch_alter_table("oauth_authorization_codes") as batch_op:
        batch_op.add_column(sa.Column("dpop_jkt", sa.String(length=43), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_authorization_codes") as batch_op:
        batch_op.drop_column("dpop_jkt")
    with op.batch_alter_table("oauth_refresh_tokens") as batch_op:
        batch_op.drop_column("dpop_jkt")
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.drop_column("require_dpop")
