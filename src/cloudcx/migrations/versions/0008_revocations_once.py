"""One revocation row per revoked thing, however often it is revoked.

Revoking one token again and again added a row each time, and every process
reloads the live rows: 105,000 repeats of one revocation stalled bearer reads
for seconds. Duplicates are folded into the newest row before the unique index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM revocations WHERE id NOT IN "
        "(SELECT MAX(id) FROM revocations GROUP BY tenant_id, kind, value)"
    )
    with op.batch_alter_table("revocations") as batch_op:
        batch_op.create_index(
            "uq_revocations_tenant_kind_value", ["tenant_id", "kind", "value"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("revocations") as batch_op:
        batch_op.drop_index("uq_revocations_tenant_kind_value")
