"""The API's ticket list: one statement per page, its rows written straight to JSON.

``GET /api/v1/tickets`` is the busiest read of the API. A page is one Core
statement of exactly the public columns, with each ticket's tags aggregated
in the same statement, and its rows go to orjson as plain dicts: no ORM
entities, no second query for the tags, no pydantic validation of what the
database has just returned. ``TicketPublic`` still documents the items (the
tests hold the two in step).

The statement of each shape (dialect, filters set, sort, first page or not)
is built once and run with the request's values bound.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.api import pagination
from cloudcx.api.pagination import Keyset, PageParams
from cloudcx.tickets.filters import TAGS, TICKETS, TicketFilters, conditions
from cloudcx.tickets.models import Ticket

SORTS = {
    "created_at": Keyset("created_at", Ticket.created_at, Ticket.id, descending=False),
    "-created_at": Keyset("-created_at", Ticket.created_at, Ticket.id, descending=True),
    "updated_at": Keyset("updated_at", Ticket.updated_at, Ticket.id, descending=False),
    "-updated_at": Keyset("-updated_at", Ticket.updated_at, Ticket.id, descending=True),
}
Sort = Literal["created_at", "-created_at", "updated_at", "-updated_at"]

# TicketPublic's fields, in its order.
FIELDS = (
    "id", "number", "subject", "description", "status", "priority", "channel",
    "requester_id", "assignee_id", "tags", "created_at", "updated_at", "solved_at",
)  # fmt: skip

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
    values = filters.values(tenant_id)
    values.update(pagination.bound(keyset, params))
    query = statement(dialect, frozenset(values), keyset, after_cursor="cursor_value" in values)
    rows = (await session.execute(query, values)).all()
    tags = _pg_tags if dialect == "postgresql" else _sqlite_tags
    items = [dict(zip(FIELDS, row, strict=True)) for row in rows]
    for item in items:
        item["tags"] = tags(item["tags"])
    return items


def statement(
    dialect: str, names: frozenset[str], keyset: Keyset, *, after_cursor: bool
) -> Select[Any]:
    """The page statement of this shape; its parameters are ``names`` and the page's."""
    shape = (dialect, names, keyset.name, after_cursor)
    found = _statements.get(shape)
    if found is None:
        columns = [_tags(dialect) if f == "tags" else TICKETS[f] for f in FIELDS]
        query = select(*columns).where(*conditions(names, dialect))
        found = _statements[shape] = pagination.ordered(query, keyset, after_cursor=after_cursor)
    return found


def _tags(dialect: str) -> ColumnElement[Any]:
    """A ticket's tags in one column, by a subquery on the ``ticket_tags`` primary key."""
    tags: ColumnElement[Any]
    if dialect == "postgresql":
        tags = func.array_agg(aggregate_order_by(TAGS.tag, TAGS.tag))
    else:
        # A JSON array in index order: SQLite's default BINARY order is Python's,
        # so sorted() gives what ORDER BY tag would.
        tags = func.json_group_array(TAGS.tag)
    return select(tags).where(TAGS.ticket_id == TICKETS.id).scalar_subquery().label("tags")


def _pg_tags(value: list[str] | None) -> list[str]:
    return value or []


def _sqlite_tags(value: str) -> list[str]:
    return sorted(orjson.loads(value))
