"""Tickets and their conversations: numbering, references, status rules."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.api.problems import invalid
from cloudcx.contacts import service as contacts
from cloudcx.contacts.models import Contact
from cloudcx.db import upsert, utcnow
from cloudcx.tickets import search
from cloudcx.tickets.activity import Actor, record, snapshot
from cloudcx.tickets.models import (
    Message,
    MessageKind,
    Ticket,
    TicketCounter,
    TicketStatus,
    TicketTag,
)
from cloudcx.tickets.schemas import MessageCreate, TicketCreate, TicketUpdate
from cloudcx.webhooks import outbox


async def next_number(session: AsyncSession, tenant_id: uuid.UUID, count: int = 1) -> int:
    """The tenant's next ticket number, from its counter row locked until commit.

    ``count`` reserves that many numbers at once (a bulk load); the last one is returned.
    """
    bump = (
        update(TicketCounter)
        .where(TicketCounter.tenant_id == tenant_id)
        .values(last_number=TicketCounter.last_number + count)
        .returning(TicketCounter.last_number)
        .execution_options(synchronize_session=False)
    )
    number = (await session.execute(bump)).scalar_one_or_none()
    if number is not None:
        return int(number)
    # First ticket of the tenant (or tickets made before counters existed).
    start = await session.scalar(
        select(func.max(Ticket.number)).where(Ticket.tenant_id == tenant_id)
    )
    await session.execute(
        upsert(session, TicketCounter)
        .values(tenant_id=tenant_id, last_number=start or 0)
        .on_conflict_do_nothing()
    )
    return int((await session.execute(bump)).scalar_one())


async def get_ticket(
    session: AsyncSession, tenant_id: uuid.UUID, ticket_id: uuid.UUID, *, lock: bool = False
) -> Ticket | None:
    """``lock`` holds the row until commit, so an If-Match check stays true while writing."""
    query = select(Ticket).where(Ticket.tenant_id == tenant_id, Ticket.id == ticket_id)
    return await session.scalar(query.with_for_update() if lock else query)


async def check_requester(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    contact_id: uuid.UUID | None,
    field: str = "requester_id",
) -> None:
    if contact_id is None:
        return
    found = await session.scalar(
        select(Contact.id).where(Contact.tenant_id == tenant_id, Contact.id == contact_id)
    )
    if found is None:
        raise invalid(field, "No contact with this id exists.")


async def check_assignee(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID | None
) -> None:
    if user_id is None:
        return
    found = await session.scalar(
        select(User.id).where(User.tenant_id == tenant_id, User.id == user_id, User.is_active)
    )
    if found is None:
        raise invalid("assignee_id", "No active agent with this id exists.")


def set_status(ticket: Ticket, status: TicketStatus) -> None:
    """``solved_at`` records when the ticket was last solved; reopening clears it."""
    if status == ticket.status:
        return
    ticket.status = status
    if status is TicketStatus.SOLVED:
        ticket.solved_at = utcnow()
    elif status is not TicketStatus.CLOSED:
        ticket.solved_at = None


async def create_ticket(session: AsyncSession, tenant_id: uuid.UUID, data: TicketCreate) -> Ticket:
    requester_id = data.requester_id
    if data.requester_email is not None:
        # Found or created in this tenant just now: no need to look it up again.
        requester_id = (await contacts.find_or_create(session, tenant_id, data.requester_email)).id
    else:
        await check_requester(session, tenant_id, requester_id)
    await check_assignee(session, tenant_id, data.assignee_id)
    ticket = Ticket(
        tenant_id=tenant_id,
        number=await next_number(session, tenant_id),
        subject=data.subject,
        description=data.description,
        status=TicketStatus.NEW,
        priority=data.priority,
        channel=data.channel,
        requester_id=requester_id,
        assignee_id=data.assignee_id,
        tag_rows=[TicketTag(tag=t) for t in data.tags],
    )
    set_status(ticket, data.status)
    session.add(ticket)
    await session.flush()
    await search.reindex(session, [ticket.id])
    await outbox.ticket_event(session, ticket, "ticket.created")
    return ticket


# What the search document is made of, on the ticket itself (messages aside).
_INDEXED = ("subject", "description", "requester_id")


async def update_ticket(
    session: AsyncSession, ticket: Ticket, data: TicketUpdate, actor: Actor
) -> None:
    """Apply ``data``; each tracked field that changes is recorded as ``actor``'s."""
    before = snapshot(ticket)
    old_description = ticket.description
    sent = data.model_fields_set
    was = (ticket.status, ticket.assignee_id)
    for name in ("subject", "status", "priority", "channel", "description", "tags"):
        if name in sent and getattr(data, name) is None:
            raise invalid(name, "This field cannot be null.")
    if "requester_id" in sent:
        await check_requester(session, ticket.tenant_id, data.requester_id)
        ticket.requester_id = data.requester_id
    if "assignee_id" in sent:
        await check_assignee(session, ticket.tenant_id, data.assignee_id)
        ticket.assignee_id = data.assignee_id
    for name in ("subject", "description", "priority", "channel"):
        if name in sent:
            setattr(ticket, name, getattr(data, name))
    if data.status is not None:
        set_status(ticket, data.status)
    if data.tags is not None:
        ticket.set_tags(data.tags)
    ticket.updated_at = utcnow()
    changed = record(session, ticket, before, actor)
    await session.flush()
    if ticket.description != old_description or set(changed) & set(_INDEXED):
        await search.reindex(session, [ticket.id])
    await _changed_events(session, ticket, *was)


async def _changed_events(
    session: AsyncSession,
    ticket: Ticket,
    status: TicketStatus,
    assignee_id: uuid.UUID | None,
) -> None:
    """The webhook events of a change, in this transaction (``webhooks.outbox``)."""
    if ticket.status != status:
        change = {"previous": status.value, "current": ticket.status.value}
        await outbox.ticket_event(session, ticket, "ticket.status_changed", status=change)
    if ticket.assignee_id != assignee_id:
        assignee = {
            "previous": str(assignee_id) if assignee_id else None,
            "current": str(ticket.assignee_id) if ticket.assignee_id else None,
        }
        await outbox.ticket_event(session, ticket, "ticket.assignee_changed", assignee=assignee)


async def add_message(
    session: AsyncSession,
    ticket: Ticket,
    data: MessageCreate,
    user_id: uuid.UUID | None,
    actor: Actor | None = None,
) -> Message:
    """An agent's reply opens a ``new`` ticket; a customer's reply reopens a waiting one.

    The status change this makes is recorded as ``actor``'s (by default the user).
    """
    if data.author_contact_id is not None:
        await check_requester(
            session, ticket.tenant_id, data.author_contact_id, "author_contact_id"
        )
        if data.kind is MessageKind.NOTE:
            raise invalid("kind", "Internal notes are written by agents, not contacts.")
        author_user = None
    elif user_id is None:
        raise invalid("author_contact_id", "Required when the token acts for no user.")
    else:
        author_user = user_id
    was = (ticket.status, ticket.assignee_id)
    message = Message(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        kind=data.kind,
        author_user_id=author_user,
        author_contact_id=data.author_contact_id,
        body=data.body,
    )
    session.add(message)
    before = snapshot(ticket)
    if data.kind is MessageKind.REPLY and ticket.status in _reopened_by(author_user is None):
        set_status(ticket, TicketStatus.OPEN)
    ticket.updated_at = utcnow()
    record(session, ticket, before, actor or Actor(user_id))
    await session.flush()
    await search.reindex(session, [ticket.id])
    if data.kind is MessageKind.REPLY:
        replied = "ticket.customer_replied" if author_user is None else "ticket.agent_replied"
        await outbox.reply_event(session, ticket, message, replied)
    await _changed_events(session, ticket, *was)
    return message


def _reopened_by(customer: bool) -> tuple[TicketStatus, ...]:
    """Statuses a reply moves to ``open``: an agent starts work on a new ticket;
    a customer's answer puts a waiting or solved ticket back in the queue."""
    if customer:
        return (TicketStatus.PENDING, TicketStatus.SOLVED)
    return (TicketStatus.NEW,)
