"""API shapes of webhook endpoints and of the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cloudcx.api.inputs import InputModel
from cloudcx.webhooks.models import WebhookEndpoint

EventName = Literal[
    "ticket.created",
    "ticket.status_changed",
    "ticket.assignee_changed",
    "ticket.agent_replied",
    "ticket.customer_replied",
    "contact.created",
    "contact.updated",
    "contact.deleted",
]


class WebhookCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Ticket sync",
                    "url": "https://hooks.example.com/cloudcx",
                    "events": ["ticket.created", "ticket.status_changed"],
                    "enabled": True,
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100)
    url: str = Field(max_length=2000, description="`https://` URL receiving a POST for each event.")
    events: list[EventName] = Field(min_length=1, max_length=20)
    enabled: bool = True


class WebhookUpdate(InputModel):
    """Send only the fields to change. Enabling a paused endpoint resumes it."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, max_length=2000)
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=20)
    enabled: bool | None = None


class WebhookPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    url: str
    events: list[str]
    enabled: bool
    status: Literal["active", "disabled", "paused"] = Field(
        description="`paused`: the platform stopped delivering; `paused_reason` says why."
    )
    paused_reason: str | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret replaced by the last rotation signs too."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookPublic:
        status: Literal["active", "disabled", "paused"] = "active"
        if endpoint.paused_reason is not None:
            status = "paused"
        elif not endpoint.enabled:
            status = "disabled"
        return cls.model_validate(
            {
                **{k: getattr(endpoint, k) for k in cls.model_fields if k != "status"},
                "status": status,
            }
        )


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(description="`whsec_…`: shown in this answer only.")


class AttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    attempt: int
    url: str
    request_headers: dict[str, str]
    request_body: str
    started_at: datetime
    duration_ms: int
    response_status: int | None
    response_body: str = Field(description="The first 2 KiB of the receiver's answer.")
    error: str | None
    success: bool


class Redelivery(InputModel):
    event_id: uuid.UUID


class RedeliveryQueued(BaseModel):
    event_id: uuid.UUID
    status: Literal["pending"] = "pending"
