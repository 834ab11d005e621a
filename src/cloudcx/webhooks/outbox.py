"""The transactional outbox: events written in the transaction of the change.

``emit`` adds the event and one delivery per subscribed endpoint to the
caller's session; they commit with the change or roll back with it, so no
committed change is without its event and no event exists for a change that
never happened. Workers (``webhooks.worker``) send them after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.contacts.models import Contact
from cloudcx.contacts.schemas import ContactPublic
from cloudcx.db import utcnow
from cloudcx.tickets.models import Message, Ticket
from cloudcx.tickets.schemas import MessagePublic, TicketPublic
from cloudcx.webhooks.events import EVENT_TYPES
from cloudcx.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

# Set in a session's ``info`` when it wrote deliveries: after its commit the
# process's worker is woken at once rather than at its next poll.
PENDING_FLAG = "webhooks_pending"


def payload_bytes(event: WebhookEvent, data: dict[str, Any]) -> str:
    body = {
        "id": str(event.id),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "tenant": str(event.tenant_id),
        "data": data,
    }
    return orjson.dumps(body).decode()


async def subscribers(
    session: AsyncSession, tenant_id: uuid.UUID, event_type: str
) -> list[WebhookEndpoint]:
    rows = await session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id,
            WebhookEndpoint.enabled,
            WebhookEndpoint.paused_reason.is_(None),
        )
    )
    # Events are a JSON list, not portably indexable: filtered here (a tenant has few).
    return [e for e in rows if event_type in e.events]


async def emit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    event_type: str,
    resource_key: str,
    data: Callable[[], dict[str, Any]],
) -> WebhookEvent | None:
    """Queue ``event_type`` for every endpoint subscribed to it; None when none is.
    ``data`` is only called then: a tenant without webhooks pays one query."""
    assert event_type in EVENT_TYPES, event_type
    endpoints = await subscribers(session, tenant_id, event_type)
    if not endpoints:
        return None
    event = WebhookEvent(
        id=uuid.uuid4(), tenant_id=tenant_id, type=event_type, occurred_at=utcnow()
    )
    event.payload = payload_bytes(event, data())
    session.add(event)
    # One INSERT for every delivery; the autoflush before it writes the event first.
    await session.execute(
        insert(WebhookDelivery),
        [
            {
                "tenant_id": tenant_id,
                "endpoint_id": endpoint.id,
                "event_id": event.id,
                "resource_key": resource_key,
                "next_attempt_at": event.occurred_at,
                "created_at": event.occurred_at,
            }
            for endpoint in endpoints
        ],
    )
    session.info[PENDING_FLAG] = True
    return event


def _ticket(ticket: Ticket) -> dict[str, Any]:
    return TicketPublic.model_validate(ticket).model_dump(mode="json")


def _contact(contact: Contact) -> dict[str, Any]:
    return ContactPublic.model_validate(contact).model_dump(mode="json")


async def ticket_event(
    session: AsyncSession, ticket: Ticket, event_type: str, **extra: Any
) -> WebhookEvent | None:
    def data() -> dict[str, Any]:
        return {"ticket": _ticket(ticket), **extra}

    return await emit(session, ticket.tenant_id, event_type, f"ticket:{ticket.id}", data)


async def reply_event(
    session: AsyncSession, ticket: Ticket, message: Message, event_type: str
) -> WebhookEvent | None:
    def data() -> dict[str, Any]:
        return {
            "ticket": _ticket(ticket),
            "message": MessagePublic.model_validate(message).model_dump(mode="json"),
        }

    return await emit(session, ticket.tenant_id, event_type, f"ticket:{ticket.id}", data)


async def contact_event(
    session: AsyncSession, contact: Contact, event_type: str
) -> WebhookEvent | None:
    def data() -> dict[str, Any]:
        return {"contact": _contact(contact)}

    return await emit(session, contact.tenant_id, event_type, f"contact:{contact.id}", data)
