"""A ticket's activity: who changed which field, from what to what, and when.

``tickets.service`` takes a ``snapshot`` before it changes a ticket and calls
``record`` after: one ``TicketEvent`` per field that differs, added to the
session of the change so that both are committed together or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.db import utcnow
from cloudcx.oauth.tokens import AccessToken
from cloudcx.tickets.models import Ticket, TicketEvent

# The fields whose changes are recorded, in the order a change lists them.
TRACKED = ("subject", "status", "priority", "assignee_id", "requester_id", "channel", "tags")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: an agent, through the Control Panel (no client) or
    through an application acting for them (the token's client), or an
    application acting for nobody (client credentials)."""

    user_id: uuid.UUID | None
    client_id: str | None = None

    @classmethod
    def of_token(cls, token: AccessToken) -> Actor:
        return cls(user_id=token.user_id, client_id=token.client_id)


Snapshot = dict[str, Any]


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):  # enums are StrEnums: stored as their plain value
        return str(value)
    return value


def snapshot(ticket: Ticket) -> Snapshot:
    """The tracked fields as JSON values; tags sorted, as the API lists them."""
    values = {name: _json(getattr(ticket, name)) for name in TRACKED}
    values["tags"] = sorted(values["tags"])
    return values


def record(session: AsyncSession, ticket: Ticket, before: Snapshot, actor: Actor) -> list[str]:
    """Add an event for each tracked field that changed since ``before``; the fields."""
    after = snapshot(ticket)
    changed = [name for name in TRACKED if before[name] != after[name]]
    at = utcnow()  # one change, one time: the timeline shows its fields together
    session.add_all(
        TicketEvent(
            created_at=at,
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.id,
            field=name,
            old_value=before[name],
            new_value=after[name],
            actor_user_id=actor.user_id,
            actor_client_id=actor.client_id,
        )
        for name in changed
    )
    return changed
