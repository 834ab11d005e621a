"""What a ticket list is narrowed by: the filters as SQL conditions with bound values.

A condition depends only on which filter is set, never on its value, so a
statement built from them is built once and run again with new values
(``tickets.listing``): building and keying a fresh statement costs more than
running it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from cloudcx.tickets import search, words
from cloudcx.tickets.models import Ticket, TicketPriority, TicketStatus, TicketTag

TICKETS = Ticket.__table__.c
TAGS = TicketTag.__table__.c
# Not solved or closed: what "open" means for the views and the agents' home.
UNSOLVED = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD)


@dataclass(frozen=True, slots=True)
class TicketFilters:
    status: list[TicketStatus] | None = None
    priority: TicketPriority | None = None
    assignee: uuid.UUID | None = None
    requester: uuid.UUID | None = None
    tag: str | None = None
    updated_since: datetime | None = None
    q: str | None = None
    unassigned: bool = False
    solved_since: datetime | None = None

    def values(self, tenant_id: uuid.UUID, dialect: str) -> dict[str, Any]:
        """The bound value of each filter that is set, by the name its condition binds.

        ``q`` becomes ``q_match``, the query of the backend's full-text search, or
        ``q_nothing`` when it holds no word at all (punctuation only): nothing matches.
        """
        values: dict[str, Any] = {"tenant_id": tenant_id}
        if self.status:
            values["status"] = list(self.status)
        if self.priority is not None:
            values["priority"] = self.priority
        if self.assignee is not None:
            values["assignee"] = self.assignee
        if self.requester is not None:
            values["requester"] = self.requester
        if self.tag:
            values["tag"] = self.tag.strip().lower()
        if self.updated_since is not None:
            values["updated_since"] = self.updated_since
        if self.q and self.q.strip():
            match = words.match_value(dialect, self.q)
            if match is None:
                values["q_nothing"] = True
            else:
                values["q_match"] = match
        if self.unassigned:
            values["unassigned"] = True
        if self.solved_since is not None:
            values["solved_since"] = self.solved_since
        return values


class _Unindexed:
    """The tickets columns as ``+column``: SQLite uses no index for such a term."""

    def __getattr__(self, name: str) -> ColumnElement[Any]:
        column = TICKETS[name]
        return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


_Columns = Any  # TICKETS, or _Unindexed()

_CONDITIONS: dict[str, Callable[[_Columns], ColumnElement[bool]]] = {
    "tenant_id": lambda c: c.tenant_id == bindparam("tenant_id"),
    "status": lambda c: c.status.in_(bindparam("status", expanding=True)),
    "priority": lambda c: c.priority == bindparam("priority"),
    "assignee": lambda c: c.assignee_id == bindparam("assignee"),
    "requester": lambda c: c.requester_id == bindparam("requester"),
    "tag": lambda c: c.id.in_(select(TAGS.ticket_id).where(TAGS.tag == bindparam("tag"))),
    "updated_since": lambda c: c.updated_at >= bindparam("updated_since"),
    "unassigned": lambda c: c.assignee_id.is_(None),
    "solved_since": lambda c: c.solved_at >= bindparam("solved_since"),
    "q_nothing": lambda c: false(),
}
# Every name a filter's value is bound by: a statement with any of them set is a filtered one.
# ``q_common`` binds nothing: it marks a search of common words (``search.settle``).
NAMES = frozenset(_CONDITIONS) - {"tenant_id"} | {"q_match", "q_common"}


def conditions(names: Collection[str], dialect: str) -> list[ColumnElement[bool]]:
    """The conditions of the filters named (keys of ``TicketFilters.values``).

    With a search on SQLite, the page is read from the full-text index: its
    matches are looked up by id and sorted. Left to itself SQLite (which has no
    statistics) would rather walk the tenant's tickets in the page's order and
    test each, every one of them when the words are rare; so the other
    conditions are written so that no index of ``tickets`` but its primary key
    can serve. Unless the words are common (``q_common``): then that walk, which
    stops at the first page of matches, is the cheaper way, and is left to it.
    PostgreSQL weighs both ways with its statistics.
    """
    searching = "q_match" in names
    by_id = searching and dialect == "sqlite" and "q_common" not in names
    columns = _Unindexed() if by_id else TICKETS
    found = [make(columns) for name, make in _CONDITIONS.items() if name in names]
    return [*found, search.matches(dialect)] if searching else found


async def filtered(session: AsyncSession, tenant_id: uuid.UUID, f: TicketFilters) -> Select[Any]:
    """The tenant's tickets that pass ``f``, as ORM entities (the console's list)."""
    dialect = session.get_bind().dialect.name
    values = f.values(tenant_id, dialect)
    await search.settle(session, values)
    return select(Ticket).where(*conditions(values, dialect)).params(values)
