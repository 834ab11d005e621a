"""The audit log is read newest first by the time of each event.

Events queued off the request path (audit.writer) get their ids when written,
so the id no longer follows time; the list indexes lead with the time instead.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_index("ix_audit_events_tenant_id_desc")
        batch_op.drop_index("ix_audit_events_tenant_action")
        batch_op.create_index("ix_audit_events_tenant_time", ["tenant_id", "time", "id"])
        batch_op.create_index(
            "ix_audit_events_tenant_action_time", ["tenant_id", "action", "time", "id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_index("ix_audit_events_tenant_action_time")
        batch_op.drop_index("ix_audit_events_tenant_time")
        batch_op.create_index("ix_audit_events_tenant_action", ["tenant_id", "action", "id"])
        batch_op.create_index("ix_audit_events_tenant_id_desc", ["tenant_id", "id"])
