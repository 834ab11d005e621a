"""The Control Panel home page: an agent's queue at a glance.

Four counts, each a link to the ticket list that shows exactly those tickets:
the signed-in user's open tickets, the unassigned ones, those pending (waiting
for the customer) and those solved today (since 00:00 UTC). Each is one count
over one index range (``tickets.models``), whatever the number of tickets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.console.web import ConsoleDep
from cloudcx.db import utcnow
from cloudcx.deps import SessionDep
from cloudcx.tickets.filters import UNSOLVED
from cloudcx.tickets.models import Ticket, TicketStatus

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Count:
    label: str
    value: int
    href: str


def start_of_today() -> datetime:
    """00:00 UTC today: what "solved today" counts from, on the home page and in the list."""
    return datetime.combine(utcnow().date(), time(), tzinfo=UTC)


def count_queries(tenant_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Select[Any]]:
    """The home page's counts, by label: each one range of one index, counted there."""
    unsolved = Ticket.status.in_(UNSOLVED)
    wheres: dict[str, tuple[ColumnElement[bool], ...]] = {
        "My open tickets": (Ticket.assignee_id == user_id, unsolved),
        "Unassigned": (Ticket.assignee_id.is_(None), unsolved),
        "Pending": (Ticket.status == TicketStatus.PENDING,),
        "Solved today": (Ticket.solved_at >= start_of_today(),),
    }
    return {
        label: select(func.count()).select_from(Ticket).where(Ticket.tenant_id == tenant_id, *where)
        for label, where in wheres.items()
    }


LINKS = {
    "My open tickets": "/tickets?view=mine",
    "Unassigned": "/tickets?view=unassigned",
    "Pending": "/tickets?status=pending",
    "Solved today": "/tickets?view=solved_today",
}


async def counts(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[Count]:
    found = []
    for label, query in count_queries(tenant_id, user_id).items():
        found.append(Count(label, int(await session.scalar(query) or 0), LINKS[label]))
    return found


@router.get("/")
async def home(cx: ConsoleDep, session: SessionDep) -> Response:
    user = cx.require_user()
    return cx.render("home.html", counts=await counts(session, cx.tenant.id, user.id))
