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

from sqlalchemy import ColumnElement, Select, bindparam, select

from cloudcx.tickets.models import Ticket, TicketPriority, TicketStatus, TicketTag

TICKETS = Ticket.__table__.c
TAGS = TicketTag.__table__.c
LIKE_ESCAPE = "/"


@dataclass(frozen=True, slots=True)
class TicketFilters:
    status: list[TicketStatus] | None = None
    priority: TicketPriority | None = None
    assignee: uuid.UUID | None = None
    requester: uuid.UUID | None = None
    tag: str | None = None
    updated_since: datetime | None = None
    q: str | None = None

    def values(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        """The bound value of each filter that is set, by the name its condition binds."""
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
        if self.q:
            values["q"] = escape_like(self.q.strip())
        return values


def escape_like(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern: ``%`` and ``_`` are not wildcards."""
    e = LIKE_ESCAPE
    return text.replace(e, e + e).replace("%", e + "%").replace("_", e + "_")


_CONDITIONS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "tenant_id": lambda: TICKETS.tenant_id == bindparam("tenant_id"),
    "status": lambda: TICKETS.status.in_(bindparam("status", expanding=True)),
    "priority": lambda: TICKETS.priority == bindparam("priority"),
    "assignee": lambda: TICKETS.assignee_id == bindparam("assignee"),
    "requester": lambda: TICKETS.requester_id == bindparam("requester"),
    "tag": lambda: TICKETS.id.in_(select(TAGS.ticket_id).where(TAGS.tag == bindparam("tag"))),
    "updated_since": lambda: TICKETS.updated_at >= bindparam("updated_since"),
}


def _subject_contains(dialect: str) -> ColumnElement[bool]:
    """Text anywhere in the subject, in any case.

    PostgreSQL: ILIKE, which the trigram index answers. SQLite: plain LIKE,
    which already ignores case for ASCII letters and only them, exactly as
    lower() LIKE lower() would, without lowering every subject it reads.
    """
    if dialect == "sqlite":
        return TICKETS.subject.contains(bindparam("q"), escape=LIKE_ESCAPE)
    return TICKETS.subject.icontains(bindparam("q"), escape=LIKE_ESCAPE)


def conditions(names: Collection[str], dialect: str) -> list[ColumnElement[bool]]:
    """The conditions of the filters named (keys of ``TicketFilters.values``)."""
    found = [make() for name, make in _CONDITIONS.items() if name in names]
    return [*found, _subject_contains(dialect)] if "q" in names else found


def filtered(tenant_id: uuid.UUID, f: TicketFilters, dialect: str) -> Select[Any]:
    """The tenant's tickets that pass ``f``, as ORM entities (the console's list)."""
    values = f.values(tenant_id)
    return select(Ticket).where(*conditions(values, dialect)).params(values)
