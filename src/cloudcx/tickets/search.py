"""Full-text search of tickets: subject, description, messages, requester, number.

Each ticket has one row in ``ticket_search`` whose ``document`` is the set of
its words, made in Python by ``tickets.words``: NFKC, case-folded, Latin accents
removed, split at anything that is not a letter, a digit or a mark. The
database indexes those words as they are, so both backends find exactly the
same tickets:

- SQLite: an FTS5 table, ``ticket_search_fts``, with ``ticket_search`` as its
  external content, kept in step by triggers on ``ticket_search``. Its
  ``ascii`` tokenizer splits at ASCII punctuation and spaces only, which the
  words never hold, so every word is one token.
- PostgreSQL: ``document`` is a ``tsvector`` (the words as lexemes, written
  as a literal without a text search configuration) with a GIN index.

A query is split by the same ``words``; every word must be found, a word as
the beginning of a longer one (``print`` finds "printer"), a number exactly
(``42`` finds ticket #42, not #420). Quotes, operators and punctuation are
only separators: what a person types is never parsed as a query language.

The service rewrites a ticket's row whenever what it indexes changes
(``reindex``), in the transaction of the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    ForeignKey,
    Index,
    Integer,
    Text,
    bindparam,
    cast,
    column,
    event,
    func,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from cloudcx.contacts.models import Contact
from cloudcx.db import Base, upsert
from cloudcx.ddl import only_on, unmapped_tables
from cloudcx.tickets.models import Message, Ticket
from cloudcx.tickets.words import document, stored

FTS_TABLE = "ticket_search_fts"


class TicketSearch(Base):
    """A ticket's words. ``id`` is an INTEGER PRIMARY KEY, so on SQLite it is the
    rowid FTS5 refers to, and VACUUM never renumbers it."""

    __tablename__ = "ticket_search"
    __table_args__ = (
        only_on(
            "postgresql", Index("ix_ticket_search_document", "document", postgresql_using="gin")
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    document: Mapped[str] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))


# The FTS5 table over ticket_search and the triggers that keep it in step
# (the external-content pattern of SQLite's FTS5 documentation).
SQLITE_DDL = (
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
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS ticket_search_au",
    "DROP TRIGGER IF EXISTS ticket_search_ad",
    "DROP TRIGGER IF EXISTS ticket_search_ai",
    "DROP TABLE IF EXISTS ticket_search_fts",
)
unmapped_tables(FTS_TABLE)


@event.listens_for(TicketSearch.__table__, "after_create")
def _create_fts(_table: Any, connection: Connection, **_: Any) -> None:
    """For ``create_all`` (the test suite); migration 0014 does it for a real database."""
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DDL:
            connection.exec_driver_sql(statement)


@event.listens_for(TicketSearch.__table__, "before_drop")
def _drop_fts(_table: Any, connection: Connection, **_: Any) -> None:
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            connection.exec_driver_sql(statement)


TICKET_SEARCH = TicketSearch.__table__.c
FTS = table(FTS_TABLE, column("rowid", Integer), column(FTS_TABLE, Text))


def matches(dialect: str) -> ColumnElement[bool]:
    """Tickets whose words hold every word of the bound ``q_match``."""
    if dialect == "postgresql":
        found = select(TICKET_SEARCH.ticket_id).where(
            TICKET_SEARCH.document.op("@@")(cast(bindparam("q_match"), TSQUERY))
        )
    else:
        # FTS5's hidden column of the table's own name is what MATCH searches.
        rowids = select(FTS.c.rowid).where(FTS.c[FTS_TABLE].op("MATCH")(bindparam("q_match")))
        found = select(TICKET_SEARCH.ticket_id).where(TICKET_SEARCH.id.in_(rowids))
    return Ticket.__table__.c.id.in_(found)


# On SQLite, a search with more matches than this (in every tenant) is read in
# the page's order instead (``tickets.filters.conditions``).
COMMON = 1000


async def settle(conn: AsyncSession | AsyncConnection, values: dict[str, Any]) -> None:
    """Choose how SQLite reads a search: ``q_common`` when the words are common.

    A search is answered from the full-text index: its matches are looked up by
    id and sorted, which costs a few microseconds per match. When there are
    many, walking the tenant's tickets in the page's order and stopping at the
    first page of matches costs less; SQLite keeps no statistics to see which,
    so the matches are counted here, up to ``COMMON + 1`` (well under a
    millisecond). PostgreSQL's planner weighs both ways itself.
    """
    bind = conn.get_bind() if isinstance(conn, AsyncSession) else conn
    if "q_match" not in values or bind.dialect.name != "sqlite":
        return
    first = select(FTS.c.rowid).where(FTS.c[FTS_TABLE].op("MATCH")(values["q_match"]))
    counted = select(func.count()).select_from(first.limit(COMMON + 1).subquery())
    if (await conn.scalar(counted) or 0) > COMMON:
        values["q_common"] = True


async def reindex(session: AsyncSession, ticket_ids: Collection[uuid.UUID]) -> None:
    """Rewrite the search rows of these tickets from what they hold now."""
    ids = list(ticket_ids)
    for start in range(0, len(ids), BATCH):
        await _reindex(session, ids[start : start + BATCH])


BATCH = 500


async def _reindex(session: AsyncSession, ticket_ids: list[uuid.UUID]) -> None:
    dialect = session.get_bind().dialect.name
    rows = await session.execute(
        select(
            Ticket.id,
            Ticket.number,
            Ticket.subject,
            Ticket.description,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
        )
        .outerjoin(Contact, Contact.id == Ticket.requester_id)
        .where(Ticket.id.in_(ticket_ids))
    )
    tickets = {row.id: row for row in rows}
    if not tickets:
        return
    bodies: dict[uuid.UUID, list[str]] = {t: [] for t in tickets}
    messages = await session.execute(
        select(Message.ticket_id, Message.body)
        .where(Message.ticket_id.in_(tickets))
        .order_by(Message.created_at, Message.id)
    )
    for ticket_id, body in messages:
        bodies[ticket_id].append(body)
    values = [
        {"ticket_id": t, "document": stored(dialect, document(_parts(row, bodies[t])))}
        for t, row in tickets.items()
    ]
    statement = upsert(session, TicketSearch)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["ticket_id"], set_={"document": statement.excluded.document}
        ),
        values,
    )


def _parts(row: Any, bodies: list[str]) -> list[str]:
    name = f"{row.first_name or ''} {row.last_name or ''}"
    return [str(row.number), row.subject, name, row.email or "", row.description, *bodies]


async def requested_by(session: AsyncSession, contact_id: uuid.UUID) -> list[uuid.UUID]:
    """The tickets whose words hold this contact's name and email."""
    return list(await session.scalars(select(Ticket.id).where(Ticket.requester_id == contact_id)))
