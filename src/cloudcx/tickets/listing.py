"""The API's ticket list: one statement per page, its rows written straight to JSON.

``GET /api/v1/tickets`` is the busiest read of the API. A page is one Core
statement of exactly the public columns, with each ticket's tags aggregated
in the same statement, and its rows go to orjson as plain dicts made from
the driver's values: no ORM entities, no second query for the tags, no
pydantic validation of what the database has just returned. ``TicketPublic``
still documents the items (the tests hold the two in step).

The statement of each shape (dialect, filters set, sort, first page or not)
is built once and run with the request's values bound.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, Select, func, literal_column, select, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from cloudcx.api import pagination
from cloudcx.api.pagination import Keyset, PageParams, Rank
from cloudcx.tickets import search
from cloudcx.tickets.filters import NAMES, TAGS, TICKETS, TicketFilters, conditions
from cloudcx.tickets.models import PRIORITY_RANK, PRIORITY_RANK_SQL, Ticket

# Priority, then creation time, then id, all one way: the order of the index
# ix_tickets_tenant_priority_created, read forwards or backwards.
BY_PRIORITY = Rank(literal_column(PRIORITY_RANK_SQL), "priority", PRIORITY_RANK)
SORTS = {
    "created_at": Keyset("created_at", Ticket.created_at, Ticket.id, descending=False),
    "-created_at": Keyset("-created_at", Ticket.created_at, Ticket.id, descending=True),
    "updated_at": Keyset("updated_at", Ticket.updated_at, Ticket.id, descending=False),
    "-updated_at": Keyset("-updated_at", Ticket.updated_at, Ticket.id, descending=True),
    "priority": Keyset("priority", Ticket.created_at, Ticket.id, False, BY_PRIORITY),
    "-priority": Keyset("-priority", Ticket.created_at, Ticket.id, True, BY_PRIORITY),
}
Sort = Literal["created_at", "-created_at", "updated_at", "-updated_at", "priority", "-priority"]

# TicketPublic's fields, in its order.
FIELDS = (
    "id", "number", "subject", "description", "status", "priority", "channel",
    "requester_id", "assignee_id", "tags", "created_at", "updated_at", "solved_at",
)  # fmt: skip

FILTERS = NAMES
_Shape = tuple[str, frozenset[str], str, bool]
_statements: dict[_Shape, Select[Any]] = {}


async def page_items(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    filters: TicketFilters,
    keyset: Keyset,
    params: PageParams,
) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` tickets as TicketPublic JSON, for ``pagination.json_page``."""
    dialect = session.get_bind().dialect.name
    values = filters.values(tenant_id, dialect)
    if filters.q:
        await search.settle(session, values)
    values.update(pagination.bound(keyset, params))
    query = statement(dialect, frozenset(values), keyset, after_cursor="cursor_value" in values)
    rows = (await session.execute(query, values)).all()
    item = _pg_item if dialect == "postgresql" else _sqlite_item
    return [item(row) for row in rows]


def statement(
    dialect: str, names: frozenset[str], keyset: Keyset, *, after_cursor: bool
) -> Select[Any]:
    """The page statement of this shape; its parameters are ``names`` and the page's."""
    shape = (dialect, names, keyset.name, after_cursor)
    found = _statements.get(shape)
    if found is None:
        # Typed columns bound, filter and order the page (values are converted
        # for the driver as usual); the select list is the driver's (below).
        query = select(TICKETS.id, TICKETS.created_at, TICKETS.updated_at)
        query = pagination.ordered(
            query.where(*conditions(names, dialect)),
            keyset,
            after_cursor=after_cursor,
            # Unfiltered, every order is read from its own index whoever the
            # tenant; a filter's best plan depends on its value (a rare word or
            # a common one, one status or three).
            one_plan=not names & FILTERS,
        )
        found = _statements[shape] = query.with_only_columns(*_driver_columns(dialect))
    return found


def _driver_columns(dialect: str) -> list[ColumnElement[Any]]:
    """The item's columns, their values left as the driver gives them.

    SQLAlchemy's types would build UUID, datetime and enum objects from them,
    which orjson would only write out again; that was a third of a page's cost.
    """
    columns = [_tags(dialect) if f == "tags" else TICKETS[f] for f in FIELDS]
    return [type_coerce(c, NullType()).label(f) for f, c in zip(FIELDS, columns, strict=True)]


def _tags(dialect: str) -> ColumnElement[Any]:
    """A ticket's tags in one column, by a subquery on the ``ticket_tags`` primary key."""
    tags: ColumnElement[Any]
    if dialect == "postgresql":
        tags = func.array_agg(aggregate_order_by(TAGS.tag, TAGS.tag))
    else:
        tags = func.json_group_array(TAGS.tag)
    return select(tags).where(TAGS.ticket_id == TICKETS.id).scalar_subquery()


def _pg_item(row: Sequence[Any]) -> dict[str, Any]:
    """asyncpg's values are what orjson writes: UUIDs (json_page converts asyncpg's
    own class), UTC datetimes, text; the tags come sorted, or NULL for none."""
    item = dict(zip(FIELDS, row, strict=True))
    item["tags"] = item["tags"] or []
    return item


def _sqlite_item(row: Sequence[Any]) -> dict[str, Any]:
    """SQLite's values: UUIDs as 32 hex digits, UTC times as text without an offset,
    the tags as a JSON array in index order. SQLite's default BINARY order is
    Python's, so sorted() gives what ORDER BY tag would."""
    (id_, number, subject, description, status, priority, channel) = row[:7]
    (requester, assignee, tags, created, updated, solved) = row[7:]
    return {
        "id": _uuid(id_),
        "number": number,
        "subject": subject,
        "description": description,
        "status": status,
        "priority": priority,
        "channel": channel,
        "requester_id": requester and _uuid(requester),
        "assignee_id": assignee and _uuid(assignee),
        "tags": sorted(orjson.loads(tags)),
        "created_at": _utc(created),
        "updated_at": _utc(updated),
        "solved_at": solved and _utc(solved),
    }


def _uuid(hex_digits: str) -> str:
    h = hex_digits
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _utc(text: str) -> str | datetime:
    """The time as pydantic and orjson write a UTC datetime (``…T…[.ffffff]Z``).

    SQLAlchemy stores ``YYYY-MM-DD HH:MM:SS.ffffff``: that shape is rewritten
    as text, without building a datetime (a page has 75 of them); any other is
    parsed.
    """
    if len(text) == 26 and text[10] == " " and text[19] == ".":
        if text.endswith(".000000"):
            return f"{text[:10]}T{text[11:19]}Z"
        return f"{text[:10]}T{text[11:]}Z"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
