"""``/api/v1/tickets/{id}/events``: a ticket's changes, oldest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from cloudcx.api import pagination
from cloudcx.api.auth import api_access
from cloudcx.api.openapi import problems
from cloudcx.api.pagination import Keyset, Page, PageDep
from cloudcx.deps import SessionDep
from cloudcx.oauth.tokens import AccessToken
from cloudcx.tickets.api import TicketDep
from cloudcx.tickets.models import TicketEvent
from cloudcx.tickets.schemas import TicketEventPublic

router = APIRouter(prefix="/api/v1/tickets/{ticket_id}/events", tags=["Tickets"])

OLDEST_FIRST = Keyset("created_at", TicketEvent.created_at, TicketEvent.id, descending=False)


@router.get(
    "",
    response_model=Page[TicketEventPublic],
    summary="List a ticket's changes",
    description="Every change of the subject, status, priority, assignee, requester, "
    "channel or tags: one item per field, with its value before and after, who made it "
    "and when. Oldest first.",
    responses=problems(404),
)
async def list_events(
    session: SessionDep,
    _: Annotated[AccessToken, Depends(api_access("tickets:read"))],
    ticket: TicketDep,
    params: PageDep,
) -> Page[TicketEventPublic]:
    query = select(TicketEvent).where(
        TicketEvent.tenant_id == ticket.tenant_id, TicketEvent.ticket_id == ticket.id
    )
    rows = (await session.scalars(pagination.apply(query, OLDEST_FIRST, params))).all()
    return pagination.page(rows, OLDEST_FIRST, params, TicketEventPublic)
