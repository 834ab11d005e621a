"""``/api/v1/contacts``: CRUD, search by email, phone or name, and a contact's tickets."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from cloudcx.api import pagination
from cloudcx.api.auth import api_access
from cloudcx.api.etag import check_if_match, tagged
from cloudcx.api.idempotency import IdempotencyDep
from cloudcx.api.inputs import NO_NUL
from cloudcx.api.openapi import problems
from cloudcx.api.pagination import Keyset, Page, PageDep
from cloudcx.api.problems import NotFound
from cloudcx.contacts import service
from cloudcx.contacts.models import Contact
from cloudcx.contacts.schemas import ContactCreate, ContactPublic, ContactUpdate
from cloudcx.deps import SessionDep, TenantDep
from cloudcx.oauth.tokens import AccessToken
from cloudcx.tickets import listing
from cloudcx.tickets.filters import TicketFilters
from cloudcx.tickets.listing import SORTS as TICKET_SORTS
from cloudcx.tickets.schemas import TicketPublic

router = APIRouter(prefix="/api/v1/contacts", tags=["Contacts"])

Read = Annotated[AccessToken, Depends(api_access("contacts:read"))]
Write = Annotated[AccessToken, Depends(api_access("contacts:write"))]
NEWEST_FIRST = Keyset("-created_at", Contact.created_at, Contact.id, descending=True)


async def load(
    request: Request, session: SessionDep, tenant: TenantDep, contact_id: uuid.UUID
) -> Contact:
    writing = request.method != "GET"
    contact = await service.get_contact(session, tenant.id, contact_id, lock=writing)
    if contact is None:
        raise NotFound("The contact does not exist.")
    return contact


ContactDep = Annotated[Contact, Depends(load)]


@router.get(
    "", response_model=Page[ContactPublic], summary="List or search contacts", responses=problems()
)
async def list_contacts(
    session: SessionDep,
    tenant: TenantDep,
    _: Read,
    params: PageDep,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL, description="Part of name, email or phone."),
    ] = None,
    email: Annotated[
        str | None, Query(max_length=320, pattern=NO_NUL, description="Exact email.")
    ] = None,
    phone: Annotated[
        str | None, Query(max_length=40, pattern=NO_NUL, description="Exact phone.")
    ] = None,
) -> Page[ContactPublic]:
    query = pagination.apply(service.search(tenant.id, q, email, phone), NEWEST_FIRST, params)
    rows = (await session.scalars(query)).all()
    return pagination.page(rows, NEWEST_FIRST, params, ContactPublic)


@router.post(
    "",
    status_code=201,
    response_model=ContactPublic,
    summary="Create a contact",
    responses=problems(409),
)
async def create_contact(
    request: Request,
    session: SessionDep,
    tenant: TenantDep,
    _: Write,
    idem: IdempotencyDep,
    payload: ContactCreate,
) -> Response:
    if replay := await idem.replay(session, request, payload):
        return replay
    contact = await service.create_contact(session, tenant.id, payload)
    result = ContactPublic.model_validate(contact)
    return await idem.commit(session, request, payload, result, f"{router.prefix}/{contact.id}")


@router.get(
    "/{contact_id}",
    response_model=ContactPublic,
    summary="Read a contact",
    responses=problems(304, 404),
)
async def read_contact(request: Request, _: Read, contact: ContactDep) -> Response:
    return tagged(request, ContactPublic.model_validate(contact))


@router.patch(
    "/{contact_id}",
    response_model=ContactPublic,
    summary="Update a contact",
    responses=problems(404, 409, 412),
)
async def update_contact(
    request: Request, session: SessionDep, _: Write, contact: ContactDep, payload: ContactUpdate
) -> Response:
    check_if_match(request, ContactPublic.model_validate(contact))
    await service.update_contact(session, contact, payload)
    await session.commit()
    return tagged(request, ContactPublic.model_validate(contact))


@router.delete(
    "/{contact_id}",
    status_code=204,
    summary="Delete a contact (their tickets stay)",
    responses=problems(404, 412),
)
async def delete_contact(
    request: Request, session: SessionDep, _: Write, contact: ContactDep
) -> Response:
    check_if_match(request, ContactPublic.model_validate(contact))
    await service.delete_contact(session, contact)
    await session.commit()
    return Response(status_code=204)


@router.get(
    "/{contact_id}/tickets",
    response_model=Page[TicketPublic],
    summary="Tickets requested by a contact",
    responses=problems(404),
)
async def contact_tickets(
    session: SessionDep,
    _: Annotated[AccessToken, Depends(api_access("contacts:read", "tickets:read"))],
    contact: ContactDep,
    params: PageDep,
) -> Response:
    keyset = TICKET_SORTS["-created_at"]
    filters = TicketFilters(requester=contact.id)
    items = await listing.page_items(session, contact.tenant_id, filters, keyset, params)
    return pagination.json_page(items, keyset, params)
