"""Ticket list indexes: the default order, each filter in that order, and subject search.

Each page of ``GET /api/v1/tickets`` becomes one range of one index, read in
the page's order: (tenant_id, created_at, id) for the default order, the same
with status, assignee or requester before the time for those filters, and
(tenant_id, updated_at, id) for the updated_at orders and ``updated_since``.
The id breaks ties as the cursor does, so no page needs a sort. The time-only
indexes they replace were their prefixes. ``tag`` reads the ids of the
tickets with the tag from (tag, ticket_id) alone, where the (tag) index sent
each one back to the table for its ticket_id.

``q`` (text anywhere in the subject, any case) cannot use a b-tree. On
PostgreSQL a pg_trgm GIN index answers it; pg_trgm is a trusted extension
(PostgreSQL 13+), which the owner of the database may create. SQLite has no
such index: there the search reads the tenant's tickets newest first and
stops at the first page of matches, so its default-order index carries the
subject too, and a ticket that does not match costs an index entry, not a
row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ORDER = {
    "postgresql": ("ix_tickets_tenant_created", ["tenant_id", "created_at", "id"]),
    "sqlite": ("ix_tickets_tenant_created_subject", ["tenant_id", "created_at", "id", "subject"]),
}
LIST_INDEXES = {
    "ix_tickets_tenant_updated": ["tenant_id", "updated_at", "id"],
    "ix_tickets_tenant_status_created": ["tenant_id", "status", "created_at", "id"],
    "ix_tickets_tenant_assignee_created": ["tenant_id", "assignee_id", "created_at", "id"],
    "ix_tickets_tenant_requester_created": ["tenant_id", "requester_id", "created_at", "id"],
}
TIME_INDEXES = {
    "ix_tickets_tenant_created": ["tenant_id", "created_at"],
    "ix_tickets_tenant_updated": ["tenant_id", "updated_at"],
}


def _list_indexes() -> dict[str, list[str]]:
    name, columns = DEFAULT_ORDER[op.get_bind().dialect.name]
    return {name: columns, **LIST_INDEXES}


def upgrade() -> None:
    with op.batch_alter_table("ticket_tags") as batch_op:
        batch_op.drop_index("ix_ticket_tags_tag")
        batch_op.create_index("ix_ticket_tags_tag", ["tag", "ticket_id"])
    with op.batch_alter_table("tickets") as batch_op:
        for name in TIME_INDEXES:
            batch_op.drop_index(name)
        for name, columns in _list_indexes().items():
            batch_op.create_index(name, columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_tickets_subject_trgm",
            "tickets",
            ["subject"],
            postgresql_using="gin",
            postgresql_ops={"subject": "gin_trgm_ops"},
        )


def downgrade() -> None:
    # pg_trgm stays: it may have been there before, and other objects may use it.
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_tickets_subject_trgm", table_name="tickets")
    with op.batch_alter_table("tickets") as batch_op:
        for name in _list_indexes():
            batch_op.drop_index(name)
        for name, columns in TIME_INDEXES.items():
            batch_op.create_index(name, columns)
    with op.batch_alter_table("ticket_tags") as batch_op:
        batch_op.drop_index("ix_ticket_tags_tag")
        batch_op.create_index("ix_ticket_tags_tag", ["tag"])
