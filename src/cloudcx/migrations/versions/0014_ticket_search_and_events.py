"""Ticket search, activity and list orders: ticket_search, ticket_events, two indexes

- ``ticket_search``: one row per ticket holding its words (subject, description,
  messages, requester's name and email, number), made by ``tickets.search``.
  SQLite indexes it with an FTS5 table kept in step by triggers; on PostgreSQL
  ``document`` is a ``tsvector`` with a GIN index. Existing tickets are indexed
  here, with a copy of the application's word splitting as of this revision.
- ``ticket_events``: who changed which field of a ticket, from what to what.
- ``ix_tickets_tenant_priority_created``: the order of ``sort=priority`` (an
  expression index on the priority's rank, then creation time and id).
- ``ix_tickets_tenant_solved`` and ``ix_tickets_tenant_assignee_status``: the
  counts of the agents' home page ("solved today", "my open tickets",
  "unassigned"), each a count of one range of one index.
- PostgreSQL: the trigram index of the subject (0006) goes; ``q`` no longer
  reads it, and every write paid for it. pg_trgm itself stays.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRIORITY_RANK_SQL = (
    "(CASE priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 "
    "WHEN 'high' THEN 3 WHEN 'urgent' THEN 4 END)"
)
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE ticket_search_fts USING fts5("
    "document, content='ticket_search', content_rowid='id', tokenize='ascii', detail=none)",
    "CREATE TRIGGER ticket_search_ai AFTER INSERT ON ticket_search BEGIN "
    "INSERT INTO ticket_search_fts(rowid, document) VALUES (new.id, new.document); END",
    "CREATE TRIGGER ticket_search_ad AFTER DELETE ON ticket_search BEGIN "
    "INSERT INTO ticket_search_fts(ticket_search_fts, rowid, document) "
    "VALUES ('delete', old.id, old.document); END",
    "CREATE TRIGGER ticket_search_au AFTER UPDATE ON ticket_search BEGIN "
    "INSERT INTO ticket_search_fts(ticket_search_fts, rowid, document) "
    "VALUES ('delete', old.id, old.document); "
    "INSERT INTO ticket_search_fts(rowid, document) VALUES (new.id, new.document); END",
)
SQLITE_FTS_DROP = (
    "DROP TRIGGER IF EXISTS ticket_search_au",
    "DROP TRIGGER IF EXISTS ticket_search_ad",
    "DROP TRIGGER IF EXISTS ticket_search_ai",
    "DROP TABLE IF EXISTS ticket_search_fts",
)
BATCH = 1000
MAX_WORD = 60
MAX_DOCUMENT_BYTES = 400_000

tickets = sa.table(
    "tickets",
    sa.column("id", sa.Uuid()),
    sa.column("number", sa.Integer()),
    sa.column("subject", sa.String()),
    sa.column("description", sa.Text()),
    sa.column("requester_id", sa.Uuid()),
)
contacts = sa.table(
    "contacts",
    sa.column("id", sa.Uuid()),
    sa.column("first_name", sa.String()),
    sa.column("last_name", sa.String()),
    sa.column("email", sa.String()),
)
messages = sa.table(
    "messages",
    sa.column("id", sa.Uuid()),
    sa.column("ticket_id", sa.Uuid()),
    sa.column("body", sa.Text()),
    sa.column("created_at", sa.DateTime()),
)


def _document_type() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")


# A copy of tickets.search as of this revision: a migration must not change when
# the application code does.
def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for c in unicodedata.normalize("NFD", folded):
        if unicodedata.combining(c) and out and out[-1] < "\u0250":
            continue
        out.append(c)
    found, word = [], []
    for c in unicodedata.normalize("NFC", "".join(out)) + " ":
        if unicodedata.category(c)[0] in "LNM":
            word.append(c)
        elif word:
            if len(word) <= MAX_WORD:
                found.append("".join(word))
            word = []
    return found


def _document(parts: Iterable[str], dialect: str) -> str:
    seen: dict[str, None] = {}
    size = 0
    for part in parts:
        for word in _words(part):
            if word in seen:
                continue
            size += len(word.encode()) + 1
            if size > MAX_DOCUMENT_BYTES:
                break
            seen[word] = None
    if dialect == "postgresql":
        return " ".join(f"'{w}'" for w in seen)
    return " ".join(seen)


def _create_tables() -> None:
    op.create_table(
        "ticket_search",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("document", _document_type(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_search_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_search")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_ticket_search_ticket_id")),
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("old_value", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("new_value", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_client_id", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ticket_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_ticket_events_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events") as batch_op:
        batch_op.create_index(
            "ix_ticket_events_ticket_created", ["ticket_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ticket_events_actor_user_id"), ["actor_user_id"], unique=False
        )


def _backfill(dialect: str) -> None:
    """Every existing ticket's words, a batch of tickets at a time."""
    bind = op.get_bind()
    search = sa.table(
        "ticket_search", sa.column("ticket_id", sa.Uuid()), sa.column("document", _document_type())
    )
    after: uuid.UUID | None = None
    while True:
        query = (
            sa.select(
                tickets.c.id,
                tickets.c.number,
                tickets.c.subject,
                tickets.c.description,
                contacts.c.first_name,
                contacts.c.last_name,
                contacts.c.email,
            )
            .outerjoin(contacts, contacts.c.id == tickets.c.requester_id)
            .order_by(tickets.c.id)
            .limit(BATCH)
        )
        if after is not None:
            query = query.where(tickets.c.id > after)
        rows = bind.execute(query).all()
        if not rows:
            return
        after = rows[-1].id
        bodies: dict[uuid.UUID, list[str]] = {row.id: [] for row in rows}
        for ticket_id, body in bind.execute(
            sa.select(messages.c.ticket_id, messages.c.body)
            .where(messages.c.ticket_id.in_(list(bodies)))
            .order_by(messages.c.created_at, messages.c.id)
        ):
            bodies[ticket_id].append(body)
        values = []
        for row in rows:
            name = f"{row.first_name or ''} {row.last_name or ''}"
            parts = [str(row.number), row.subject, name, row.email or "", row.description]
            values.append(
                {"ticket_id": row.id, "document": _document([*parts, *bodies[row.id]], dialect)}
            )
        bind.execute(search.insert(), values)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _create_tables()
    if dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.create_index(
            "ix_ticket_search_document", "ticket_search", ["document"], postgresql_using="gin"
        )
        op.drop_index("ix_tickets_subject_trgm", table_name="tickets")
    _backfill(dialect)
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.create_index(
            "ix_tickets_tenant_priority_created",
            ["tenant_id", sa.text(PRIORITY_RANK_SQL), "created_at", "id"],
        )
        batch_op.create_index("ix_tickets_tenant_solved", ["tenant_id", "solved_at"])
        batch_op.create_index(
            "ix_tickets_tenant_assignee_status", ["tenant_id", "assignee_id", "status"]
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index("ix_tickets_tenant_assignee_status")
        batch_op.drop_index("ix_tickets_tenant_solved")
        batch_op.drop_index("ix_tickets_tenant_priority_created")
    op.drop_table("ticket_events")
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS_DROP:
            op.execute(statement)
    else:
        op.create_index(
            "ix_tickets_subject_trgm",
            "tickets",
            ["subject"],
            postgresql_using="gin",
            postgresql_ops={"subject": "gin_trgm_ops"},
        )
    op.drop_table("ticket_search")
