"""``/api/v1/tickets``: list with filters, create, read, update, delete."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from cloudcx.api import pagination
from cloudcx.api.auth import api_access
from cloudcx.api.etag import check_if_match, tagged
from cloudcx.api.idempotency import IdempotencyDep
from cloudcx.api.inputs import NO_NUL, AwareUtcTime
from cloudcx.api.openapi import problems
from cloudcx.api.pagination import Page, PageDep
from cloudcx.api.problems import NotFound
from cloudcx.deps import ReadSessionDep, SessionDep, TenantDep
from cloudcx.oauth.tokens import AccessToken
from cloudcx.tickets import listing, service
from cloudcx.tickets.activity import Actor
from cloudcx.tickets.filters import TicketFilters
from cloudcx.tickets.listing import SORTS, Sort
from cloudcx.tickets.models import Ticket, TicketPriority, TicketStatus
from cloudcx.tickets.schemas import TicketCreate, TicketPublic, TicketUpdate

router = APIRouter(prefix="/api/v1/tickets", tags=["Tickets"])

Read = Annotated[AccessToken, Depends(api_access("tickets:read"))]
Write = Annotated[AccessToken, Depends(api_access("tickets:write"))]


async def load(
    request: Request, session: SessionDep, tenant: TenantDep, ticket_id: uuid.UUID
) -> Ticket:
    """The ticket, or 404 — also for another tenant's ticket, whose existence is not told."""
    writing = request.method != "GET"
    ticket = await service.get_ticket(session, tenant.id, ticket_id, lock=writing)
    if ticket is None:
        raise NotFound("The ticket does not exist.")
    return ticket


TicketDep = Annotated[Ticket, Depends(load)]


@router.get("", response_model=Page[TicketPublic], summary="List tickets", responses=problems())
async def list_tickets(
    session: ReadSessionDep,
    tenant: TenantDep,
    _: Read,
    params: PageDep,
    status: Annotated[list[TicketStatus] | None, Query(description="Repeat for several.")] = None,
    priority: TicketPriority | None = None,
    assignee: Annotated[uuid.UUID | None, Query(description="Assignee's user id.")] = None,
    requester: Annotated[uuid.UUID | None, Query(description="Requester's contact id.")] = None,
    tag: Annotated[str | None, Query(max_length=50, pattern=NO_NUL)] = None,
    updated_since: Annotated[
        AwareUtcTime | None, Query(description="ISO 8601 with offset, e.g. 2026-01-31T00:00:00Z.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=NO_NUL,
            description="Words in the subject, description, messages, requester's name or "
            "email, or the ticket number. Every word must be found; a word also finds longer "
            "ones that start with it, a number only itself. Punctuation only separates words.",
        ),
    ] = None,
    sort: Annotated[
        Sort,
        Query(
            description="Field, `-` for descending. `priority` orders by priority "
            "(low to urgent), then by creation time."
        ),
    ] = "-created_at",
) -> Response:
    # Returned as it is: the response model above documents the items, but
    # validating them again would cost more than reading them (tickets.listing).
    filters = TicketFilters(status, priority, assignee, requester, tag, updated_since, q)
    keyset = SORTS[sort]
    items = await listing.page_items(session, tenant.id, filters, keyset, params)
    return pagination.json_page(items, keyset, params)


@router.post(
    "",
    status_code=201,
    response_model=TicketPublic,
    summary="Create a ticket",
    responses=problems(),
)
async def create_ticket(
    request: Request,
    session: SessionDep,
    tenant: TenantDep,
    _: Write,
    idem: IdempotencyDep,
    payload: TicketCreate,
) -> Response:
    if replay := await idem.replay(session, request, payload):
        return replay
    ticket = await service.create_ticket(session, tenant.id, payload)
    result = TicketPublic.model_validate(ticket)
    return await idem.commit(session, request, payload, result, f"{router.prefix}/{ticket.id}")


@router.get(
    "/{ticket_id}",
    response_model=TicketPublic,
    summary="Read a ticket",
    responses=problems(304, 404),
)
async def read_ticket(request: Request, _: Read, ticket: TicketDep) -> Response:
    return tagged(request, TicketPublic.model_validate(ticket))


@router.patch(
    "/{ticket_id}",
    response_model=TicketPublic,
    summary="Update a ticket",
    description="Send only the fields to change. Send `If-Match` with the ETag you read to "
    "refuse the change (412) if someone else changed the ticket meanwhile.",
    responses=problems(404, 412),
)
async def update_ticket(
    request: Request, session: SessionDep, token: Write, ticket: TicketDep, payload: TicketUpdate
) -> Response:
    check_if_match(request, TicketPublic.model_validate(ticket))
    await service.update_ticket(session, ticket, payload, Actor.of_token(token))
    await session.commit()
    return tagged(request, TicketPublic.model_validate(ticket))


@router.delete(
    "/{ticket_id}",
    status_code=204,
    summary="Delete a ticket and its conversation",
    responses=problems(404, 412),
)
async def delete_ticket(
    request: Request, session: SessionDep, _: Write, ticket: TicketDep
) -> Response:
    check_if_match(request, TicketPublic.model_validate(ticket))
    await session.delete(ticket)
    await session.commit()
    return Response(status_code=204)
