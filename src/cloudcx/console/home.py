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

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import ColumnElement, func, select
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


async def _count(session: AsyncSession, tenant_id: uuid.UUID, *where: ColumnElement[bool]) -> int:
    found = await session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.tenant_id == tenant_id, *where)
    )
    return int(found or 0)


async def counts(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[Count]:
    unsolved = Ticket.status.in_(UNSOLVED)
    mine = await _count(session, tenant_id, Ticket.assignee_id == user_id, unsolved)
    nobody = await _count(session, tenant_id, Ticket.assignee_id.is_(None), unsolved)
    pending = await _count(session, tenant_id, Ticket.status == TicketStatus.PENDING)
    solved = await _count(session, tenant_id, Ticket.solved_at >= start_of_today())
    return [
        Count("My open tickets", mine, "/tickets?view=mine"),
        Count("Unassigned", nobody, "/tickets?view=unassigned"),
        Count("Pending", pending, "/tickets?status=pending"),
        Count("Solved today", solved, "/tickets?view=solved_today"),
    ]


@router.get("/")
async def home(cx: ConsoleDep, session: SessionDep) -> Response:
    user = cx.require_user()
    return cx.render("home.html", counts=await counts(session, cx.tenant.id, user.id))
