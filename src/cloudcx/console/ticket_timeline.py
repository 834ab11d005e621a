"""A ticket's conversation as the Control Panel shows it: the messages and the
recorded changes (``TicketEvent``) in one timeline, oldest first.

The fields changed by one save share one time and one actor and are shown as one
entry ("Ada changed status from Open to Solved, priority from Normal to High").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.oauth.models import OAuthClient
from cloudcx.tickets.activity import TRACKED
from cloudcx.tickets.models import Message, Ticket, TicketEvent

LABELS = {
    "subject": "subject",
    "status": "status",
    "priority": "priority",
    "assignee_id": "assignee",
    "requester_id": "requester",
    "channel": "channel",
    "tags": "tags",
}


_ORDER = {name: n for n, name in enumerate(TRACKED)}


@dataclass
class Change:
    """One save: who, when, through which application, and each field's before and after."""

    at: datetime
    actor_user_id: uuid.UUID | None
    actor_client_id: str | None
    fields: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Entry:
    at: datetime
    kind: str
    item: Message | Change


async def load(session: AsyncSession, ticket: Ticket) -> tuple[list[Message], list[TicketEvent]]:
    messages = await session.scalars(
        select(Message)
        .where(Message.tenant_id == ticket.tenant_id, Message.ticket_id == ticket.id)
        .order_by(Message.created_at, Message.id)
    )
    events = await session.scalars(
        select(TicketEvent)
        .where(TicketEvent.tenant_id == ticket.tenant_id, TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.created_at, TicketEvent.id)
    )
    return list(messages), list(events)


def mentioned(events: list[TicketEvent]) -> tuple[set[uuid.UUID | None], set[uuid.UUID | None]]:
    """Contacts and users the events name, for one lookup of their names."""
    contacts: set[uuid.UUID | None] = set()
    users: set[uuid.UUID | None] = {e.actor_user_id for e in events}
    for e in events:
        if e.field in ("assignee_id", "requester_id"):
            target = users if e.field == "assignee_id" else contacts
            target.update(_uuid(v) for v in (e.old_value, e.new_value))
    return contacts, users


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def client_names(
    session: AsyncSession, tenant_id: uuid.UUID, events: list[TicketEvent]
) -> dict[str, str]:
    wanted = {e.actor_client_id for e in events if e.actor_client_id}
    if not wanted:
        return {}
    rows = await session.execute(
        select(OAuthClient.client_id, OAuthClient.client_name).where(
            OAuthClient.tenant_id == tenant_id, OAuthClient.client_id.in_(wanted)
        )
    )
    names = {client_id: name for client_id, name in rows}
    return {c: names.get(c, "an API key" if c.startswith("apikey:") else c) for c in wanted}


def _shown(name: str, value: Any, names: dict[uuid.UUID, str]) -> str:
    if value is None or value == []:
        return "nobody" if name == "assignee_id" else "none"
    if name in ("assignee_id", "requester_id"):
        found = _uuid(value)
        return names.get(found, "someone removed") if found else "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    text = str(value)
    return text.replace("_", " ").capitalize() if name in ("status", "priority") else text


def timeline(
    messages: list[Message], events: list[TicketEvent], names: dict[uuid.UUID, str]
) -> list[Entry]:
    entries = [Entry(m.created_at, "message", m) for m in messages]
    key = lambda e: (e.created_at, e.actor_user_id, e.actor_client_id)  # noqa: E731
    for (at, user_id, client_id), group in groupby(events, key=key):
        change = Change(at, user_id, client_id)
        for e in sorted(group, key=lambda e: _ORDER.get(e.field, len(_ORDER))):
            before, after = _shown(e.field, e.old_value, names), _shown(e.field, e.new_value, names)
            change.fields.append((LABELS.get(e.field, e.field), before, after))
        entries.append(Entry(at, "change", change))
    entries.sort(key=lambda entry: entry.at)
    return entries
