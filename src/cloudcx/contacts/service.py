"""Contacts: creation and updates with a per-tenant unique email, and search."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.api.problems import Conflict, invalid
from cloudcx.contacts.models import Contact
from cloudcx.contacts.schemas import ContactCreate, ContactUpdate
from cloudcx.db import utcnow
from cloudcx.tickets import search as ticket_search
from cloudcx.webhooks import outbox

DUPLICATE = "A contact with this email already exists."
_NOT_NULL = ("first_name", "last_name", "company", "job_title", "tags", "notes")


async def get_contact(
    session: AsyncSession, tenant_id: uuid.UUID, contact_id: uuid.UUID, *, lock: bool = False
) -> Contact | None:
    """``lock`` holds the row until commit, so an If-Match check stays true while writing."""
    query = select(Contact).where(Contact.tenant_id == tenant_id, Contact.id == contact_id)
    return await session.scalar(query.with_for_update() if lock else query)


async def _check_email_free(
    session: AsyncSession, tenant_id: uuid.UUID, email: str | None, exclude: uuid.UUID | None
) -> None:
    if email is None:
        return
    query = select(Contact.id).where(
        Contact.tenant_id == tenant_id, Contact.email_normalized == email.lower()
    )
    if exclude is not None:
        query = query.where(Contact.id != exclude)
    if await session.scalar(query):
        raise Conflict(DUPLICATE)


async def create_contact(
    session: AsyncSession, tenant_id: uuid.UUID, data: ContactCreate
) -> Contact:
    await _check_email_free(session, tenant_id, data.email, None)
    contact = Contact(
        tenant_id=tenant_id,
        email_normalized=data.email.lower() if data.email else None,
        **data.model_dump(),
    )
    session.add(contact)
    await flush(session)
    await outbox.contact_event(session, contact, "contact.created")
    return contact


async def find_or_create(session: AsyncSession, tenant_id: uuid.UUID, email: str) -> Contact:
    """The contact with this email, created when new (a ticket from an unknown customer)."""
    data = ContactCreate(email=email)
    assert data.email is not None
    found = await session.scalar(
        select(Contact).where(
            Contact.tenant_id == tenant_id, Contact.email_normalized == data.email.lower()
        )
    )
    return found or await create_contact(session, tenant_id, data)


async def update_contact(session: AsyncSession, contact: Contact, data: ContactUpdate) -> None:
    sent = data.model_fields_set
    for name in _NOT_NULL:
        if name in sent and getattr(data, name) is None:
            raise invalid(name, "This field cannot be null.")
    if "email" in sent:
        await _check_email_free(session, contact.tenant_id, data.email, contact.id)
        contact.email_normalized = data.email.lower() if data.email else None
    for name in sent:
        setattr(contact, name, getattr(data, name))
    if not (contact.first_name or contact.last_name or contact.email or contact.phone):
        raise invalid("email", "A contact needs a name, an email or a phone number.")
    contact.updated_at = utcnow()
    await flush(session)
    if sent & {"first_name", "last_name", "email"}:
        # The requester's name and email are words of their tickets' search.
        await ticket_search.reindex(session, await ticket_search.requested_by(session, contact.id))
    await outbox.contact_event(session, contact, "contact.updated")


async def delete_contact(session: AsyncSession, contact: Contact) -> None:
    """Delete the contact, with its ``contact.deleted`` event carrying it as it was;
    its tickets stay, without it, and its words leave their search."""
    await outbox.contact_event(session, contact, "contact.deleted")
    requested = await ticket_search.requested_by(session, contact.id)
    await session.delete(contact)
    await session.flush()
    await ticket_search.reindex(session, requested)


async def flush(session: AsyncSession) -> None:
    """Flush, turning a lost race on the unique email into the same 409 as the check."""
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(DUPLICATE) from exc


def search(
    tenant_id: uuid.UUID, q: str | None, email: str | None, phone: str | None
) -> Select[Any]:
    """``q`` matches name, email or phone; ``email`` and ``phone`` match exactly."""
    query = select(Contact).where(Contact.tenant_id == tenant_id)
    if email:
        query = query.where(Contact.email_normalized == email.strip().lower())
    if phone:
        query = query.where(Contact.phone == phone.strip())
    if q and q.strip():
        text = q.strip()
        full_name = func.trim(Contact.first_name + " " + Contact.last_name)
        query = query.where(
            or_(
                full_name.icontains(text, autoescape=True),
                Contact.email.icontains(text, autoescape=True),
                Contact.phone.icontains(text, autoescape=True),
            )
        )
    return query
