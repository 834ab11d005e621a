"""``/api/v1/tickets``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from cloudcx.api.auth import require_scope
from cloudcx.deps import SessionDep, TenantDep
from cloudcx.oauth.tokens import AccessToken
from cloudcx.tickets.models import Ticket
from cloudcx.tickets.schemas import TicketList, TicketPublic

router = APIRouter(prefix="/api/v1/tickets", tags=["Tickets"])


@router.get("", response_model=TicketList, summary="List the tenant's tickets")
async def list_tickets(
    session: SessionDep,
    tenant: TenantDep,
    _: Annotated[AccessToken, Depends(require_scope("tickets:read"))],
) -> TicketList:
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.tenant_id == tenant.id)
        .order_by(Ticket.created_at.desc(), Ticket.id)
        .limit(100)
    )
    return TicketList(data=[TicketPublic.model_validate(t) for t in rows])
