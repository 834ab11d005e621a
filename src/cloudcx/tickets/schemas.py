from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from cloudcx.api.inputs import InputModel
from cloudcx.tickets.models import MessageKind, TicketChannel, TicketPriority, TicketStatus


def _clean_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))


Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=r"^[\w\-.:/]+$", strip_whitespace=True),
]
Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_clean_tags)]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=250, strip_whitespace=True)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=65_000)]
Description = Annotated[str, Field(max_length=65_000)]


class TicketCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject": "Cannot sign in to the mobile app",
                    "description": "Since this morning the app says my password is wrong.",
                    "priority": "high",
                    "channel": "email",
                    "requester_id": "6f1c2a52-3b1e-4a4e-9a55-0d3c1c6b9f10",
                    "tags": ["mobile", "login"],
                }
            ]
        },
    )

    subject: Subject
    description: Description = ""
    status: TicketStatus = TicketStatus.NEW
    priority: TicketPriority = TicketPriority.NORMAL
    channel: TicketChannel = TicketChannel.API
    requester_id: uuid.UUID | None = None
    requester_email: EmailStr | None = Field(
        None,
        max_length=320,
        description="Instead of `requester_id`: the contact with this email, created if new.",
    )
    assignee_id: uuid.UUID | None = None
    tags: Tags = []

    @model_validator(mode="after")
    def _one_requester(self) -> Self:
        if self.requester_id is not None and self.requester_email is not None:
            raise ValueError("send requester_id or requester_email, not both")
        return self


class TicketUpdate(InputModel):
    """Only the fields sent are changed; ``null`` clears requester or assignee."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "pending", "assignee_id": None}]},
    )

    subject: Subject | None = None
    description: Description | None = None
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    channel: TicketChannel | None = None
    requester_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    tags: Tags | None = None


class TicketPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6c2f4e-8f0a-4c1e-9d0e-6a1f3b2c4d5e",
                    "number": 42,
                    "subject": "Cannot sign in to the mobile app",
                    "description": "Since this morning the app says my password is wrong.",
                    "status": "open",
                    "priority": "high",
                    "channel": "email",
                    "requester_id": "6f1c2a52-3b1e-4a4e-9a55-0d3c1c6b9f10",
                    "assignee_id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                    "tags": ["login", "mobile"],
                    "created_at": "2026-03-02T09:15:00Z",
                    "updated_at": "2026-03-02T09:40:00Z",
                    "solved_at": None,
                }
            ]
        },
    )

    id: uuid.UUID
    number: int = Field(description="Sequential per tenant, for people (“ticket #42”).")
    subject: str
    description: str
    status: TicketStatus
    priority: TicketPriority
    channel: TicketChannel
    requester_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None


class MessageCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "reply", "body": "Thanks, we are on it."}]},
    )

    kind: MessageKind = Field(
        MessageKind.REPLY, description="`reply` is public; `note` is internal to agents."
    )
    body: Body
    author_contact_id: uuid.UUID | None = Field(
        None, description="Record a message from this contact instead of the token's user."
    )


class MessagePublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
                    "ticket_id": "0b6c2f4e-8f0a-4c1e-9d0e-6a1f3b2c4d5e",
                    "kind": "reply",
                    "author_user_id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                    "author_contact_id": None,
                    "body": "Thanks, we are on it.",
                    "created_at": "2026-03-02T09:40:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    ticket_id: uuid.UUID
    kind: MessageKind
    author_user_id: uuid.UUID | None
    author_contact_id: uuid.UUID | None
    body: str
    created_at: datetime


EventField = Literal[
    "subject", "status", "priority", "assignee_id", "requester_id", "channel", "tags"
]
EventValue = str | list[str] | None


class TicketEventPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
                    "ticket_id": "0b6c2f4e-8f0a-4c1e-9d0e-6a1f3b2c4d5e",
                    "field": "status",
                    "old_value": "open",
                    "new_value": "solved",
                    "actor_user_id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                    "actor_client_id": "hQ3n0bT9x2Yc7LwKp4Vd1A",
                    "created_at": "2026-03-02T10:05:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    ticket_id: uuid.UUID
    field: EventField = Field(description="The ticket field that changed.")
    old_value: EventValue = Field(description="Its value before: text, an id, tags, or null.")
    new_value: EventValue = Field(description="Its value after the change.")
    actor_user_id: uuid.UUID | None = Field(
        description="The agent who changed it (in the Control Panel, or the user the "
        "application acted for); null for an application acting for nobody."
    )
    actor_client_id: str | None = Field(
        description="The OAuth client that made the change (`apikey:<id>` for an API key); "
        "null for a change made in the Control Panel."
    )
    created_at: datetime
