"""``/api/v1/tickets/{id}/messages``: the conversation, oldest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from cloudcx.api import pagination
from cloudcx.api.auth import api_access
from cloudcx.api.idempotency import IdempotencyDep
from cloudcx.api.openapi import problems
from cloudcx.api.pagination import Keyset, Page, PageDep
from cloudcx.deps import SessionDep
from cloudcx.oauth.tokens import AccessToken
from cloudcx.tickets import service
from cloudcx.tickets.activity import Actor
from cloudcx.tickets.api import TicketDep
from cloudcx.tickets.models import Message
from cloudcx.tickets.schemas import MessageCreate, MessagePublic

router = APIRouter(
    prefix="/api/v1/tickets/{ticket_id}/messages",
    tags=["Messages"],
)

OLDEST_FIRST = Keyset("created_at", Message.created_at, Message.id, descending=False)


@router.get(
    "",
    response_model=Page[MessagePublic],
    summary="List a ticket's replies and internal notes",
    responses=problems(404),
)
async def list_messages(
    session: SessionDep,
    _: Annotated[AccessToken, Depends(api_access("tickets:read"))],
    ticket: TicketDep,
    params: PageDep,
) -> Page[MessagePublic]:
    query = select(Message).where(
        Message.tenant_id == ticket.tenant_id, Message.ticket_id == ticket.id
    )
    rows = (await session.scalars(pagination.apply(query, OLDEST_FIRST, params))).all()
    return pagination.page(rows, OLDEST_FIRST, params, MessagePublic)


@router.post(
    "",
    status_code=201,
    response_model=MessagePublic,
    summary="Add a public reply or an internal note",
    description="An agent's reply to a `new` ticket moves it to `open`.",
    responses=problems(404),
)
async def add_message(
    request: Request,
    session: SessionDep,
    token: Annotated[AccessToken, Depends(api_access("tickets:write"))],
    ticket: TicketDep,
    idem: IdempotencyDep,
    payload: MessageCreate,
) -> Response:
    if replay := await idem.replay(session, request, payload):
        return replay
    actor = Actor.of_token(token)
    message = await service.add_message(session, ticket, payload, token.user_id, actor)
    result = MessagePublic.model_validate(message)
    return await idem.commit(session, request, payload, result)
