"""The event types an endpoint can subscribe to, and the payload each one sends.

Every payload has the same envelope: the event's ``id`` (the ``webhook-id``
header too, the same on every retry, so a receiver can drop duplicates),
``type``, ``occurred_at``, ``tenant`` and ``data`` holding the resource as the
API returns it. The models below are the OpenAPI 3.1 ``webhooks`` section.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cloudcx.contacts.schemas import ContactPublic
from cloudcx.tickets.models import TicketStatus
from cloudcx.tickets.schemas import MessagePublic, TicketPublic


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    group: Literal["Tickets", "Contacts"]
    label: str
    description: str


EVENT_TYPES: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("ticket.created", "Tickets", "Ticket created", "A ticket was created."),
        EventType(
            "ticket.status_changed",
            "Tickets",
            "Status changed",
            "A ticket's status changed (by an update or by a reply that reopened it).",
        ),
        EventType(
            "ticket.assignee_changed",
            "Tickets",
            "Assignee changed",
            "A ticket was assigned to another agent, or unassigned.",
        ),
        EventType(
            "ticket.agent_replied",
            "Tickets",
            "Agent replied",
            "An agent added a public reply (internal notes send no event).",
        ),
        EventType(
            "ticket.customer_replied",
            "Tickets",
            "Customer replied",
            "A contact's reply was added to a ticket.",
        ),
        EventType("contact.created", "Contacts", "Contact created", "A contact was created."),
        EventType("contact.updated", "Contacts", "Contact updated", "A contact was changed."),
        EventType(
            "contact.deleted",
            "Contacts",
            "Contact deleted",
            "A contact was deleted; `data.contact` is as it was last.",
        ),
    )
}
TEST_EVENT = "webhook.test"


def grouped() -> dict[str, list[EventType]]:
    groups: dict[str, list[EventType]] = {}
    for event in EVENT_TYPES.values():
        groups.setdefault(event.group, []).append(event)
    return groups


class Envelope(BaseModel):
    id: uuid.UUID = Field(description="Event id; also `webhook-id`. The same on every retry.")
    occurred_at: datetime
    tenant: uuid.UUID = Field(description="The tenant (company) where it happened.")


class StatusChange(BaseModel):
    previous: TicketStatus
    current: TicketStatus


class AssigneeChange(BaseModel):
    previous: uuid.UUID | None
    current: uuid.UUID | None


class TicketData(BaseModel):
    ticket: TicketPublic


class StatusChangedData(TicketData):
    status: StatusChange


class AssigneeChangedData(TicketData):
    assignee: AssigneeChange


class ReplyData(TicketData):
    message: MessagePublic


class ContactData(BaseModel):
    contact: ContactPublic


class TicketCreatedEvent(Envelope):
    type: Literal["ticket.created"]
    data: TicketData


class TicketStatusChangedEvent(Envelope):
    type: Literal["ticket.status_changed"]
    data: StatusChangedData


class TicketAssigneeChangedEvent(Envelope):
    type: Literal["ticket.assignee_changed"]
    data: AssigneeChangedData


class TicketAgentRepliedEvent(Envelope):
    type: Literal["ticket.agent_replied"]
    data: ReplyData


class TicketCustomerRepliedEvent(Envelope):
    type: Literal["ticket.customer_replied"]
    data: ReplyData


class ContactCreatedEvent(Envelope):
    type: Literal["contact.created"]
    data: ContactData


class ContactUpdatedEvent(Envelope):
    type: Literal["contact.updated"]
    data: ContactData


class ContactDeletedEvent(Envelope):
    type: Literal["contact.deleted"]
    data: ContactData


PAYLOADS: dict[str, type[Envelope]] = {
    "ticket.created": TicketCreatedEvent,
    "ticket.status_changed": TicketStatusChangedEvent,
    "ticket.assignee_changed": TicketAssigneeChangedEvent,
    "ticket.agent_replied": TicketAgentRepliedEvent,
    "ticket.customer_replied": TicketCustomerRepliedEvent,
    "contact.created": ContactCreatedEvent,
    "contact.updated": ContactUpdatedEvent,
    "contact.deleted": ContactDeletedEvent,
}
