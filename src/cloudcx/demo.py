"""``cloudcx demo``: a realistic set of agents, contacts and tickets with conversations.

A new installation then shows a living product instead of empty tables. Loading
is idempotent: a tenant that already has the demo contacts is left alone.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role, User
from cloudcx.contacts.models import Contact
from cloudcx.db import utcnow
from cloudcx.platform import Platform
from cloudcx.tickets import search
from cloudcx.tickets import service as tickets
from cloudcx.tickets.models import (
    Message,
    MessageKind,
    Ticket,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    TicketTag,
)

AGENTS = [("Maya Patel", "maya"), ("Tom Becker", "tom"), ("Lena Sato", "lena")]
CONTACTS = [
    ("Ada", "Lovelace", "Analytical Engines Ltd", "CTO"),
    ("Grace", "Hopper", "Compiler Works", "Engineering Manager"),
    ("Alan", "Turing", "Bletchley Logistics", "Operations Lead"),
    ("Katherine", "Johnson", "Orbit Analytics", "Data Scientist"),
    ("Linus", "Berg", "Nordic Kernels", "Founder"),
    ("Margaret", "Hamilton", "Apollo Apps", "Head of QA"),
    ("Tim", "Lee", "Web Foundry", "Product Owner"),
    ("Radia", "Perlman", "Spanning Trees Inc", "Network Architect"),
]
# subject, channel, priority, status, tags, customer message, agent reply, internal note
Story = tuple[str, str, str, str, list[str], str, str | None, str | None]
STORIES: list[Story] = [
    (
        "Cannot sign in to the mobile app",
        "email",
        "high",
        "open",
        ["mobile", "login"],
        "Since this morning the app says my password is wrong, but it works on the web.",
        "Sorry! We rolled out a fix an hour ago; could you update the app and try again?",
        "Known issue with the 4.2 release, see the incident channel.",
    ),
    (
        "Invoice shows the wrong VAT number",
        "web",
        "normal",
        "pending",
        ["billing"],
        "Our March invoice lists an old VAT number. Can you reissue it?",
        "We have updated your VAT number. Which invoices should we reissue?",
        None,
    ),
    (
        "Export to CSV times out",
        "api",
        "urgent",
        "open",
        ["export", "performance"],
        "Exporting 200k tickets fails after 60 seconds with a 504.",
        "Thanks for the details. Please use cursor pagination on /api/v1/tickets meanwhile.",
        "Escalated to the platform team: the export job needs streaming.",
    ),
    (
        "How do I add a new agent?",
        "chat",
        "low",
        "solved",
        ["how-to"],
        "We hired two new support people. Where do I add them?",
        "Go to Users in the left menu and click New User. Each agent gets an initial password.",
        None,
    ),
    (
        "Feature request: dark mode",
        "web",
        "low",
        "on_hold",
        ["feature-request"],
        "Our night shift would love a dark theme for the Control Panel.",
        "Great idea, we have passed it on to the product team.",
        "Tracked in the roadmap.",
    ),
    (
        "Webhook deliveries failing",
        "email",
        "high",
        "new",
        ["integrations"],
        "Since yesterday our endpoint receives no events at all.",
        None,
        None,
    ),
    (
        "Change the company name on our account",
        "phone",
        "normal",
        "closed",
        ["account"],
        "We rebranded last month, please change the name everywhere.",
        "Done: the new name shows on all pages and invoices.",
        None,
    ),
    (
        "Password reset email never arrives",
        "email",
        "high",
        "open",
        ["login", "email"],
        "I requested a reset three times and got nothing, not even in spam.",
        "Could you check whether noreply@ is on your blocklist?",
        "Mail logs show a bounce from their gateway.",
    ),
    (
        "API returns 429 during nightly sync",
        "api",
        "normal",
        "solved",
        ["api", "rate-limit"],
        "Our sync job gets 429 Too Many Requests around 2am.",
        "The API allows 600 requests per minute; honour Retry-After and the job will pace itself.",
        None,
    ),
    (
        "Question about data retention",
        "web",
        "normal",
        "new",
        ["compliance"],
        "How long do you keep closed tickets? We need this for our GDPR records.",
        None,
        None,
    ),
]


@dataclass
class DemoResult:
    loaded: bool
    agents: list[str] = field(default_factory=list)
    password: str | None = None


async def load(platform: Platform, tenant_id: uuid.UUID, password: str | None = None) -> DemoResult:
    """Load the demo into a tenant; returns the agents' emails and their shared password."""
    async with platform.sessionmaker() as session:
        if await session.scalar(select(Contact.id).where(Contact.tenant_id == tenant_id).limit(1)):
            return DemoResult(loaded=False)
        password = password or secrets.token_urlsafe(12)
        agents = await _agents(session, platform, tenant_id, password)
        contacts = _contacts(session, tenant_id)
        await session.flush()
        await _tickets(session, tenant_id, agents, contacts)
        await session.flush()
        made = await session.scalars(select(Ticket.id).where(Ticket.tenant_id == tenant_id))
        await search.reindex(session, list(made))  # written here row by row, not by the service
        await session.commit()
        return DemoResult(loaded=True, agents=[a.email for a in agents], password=password)


async def _agents(
    session: AsyncSession, platform: Platform, tenant_id: uuid.UUID, password: str
) -> list[User]:
    made = []
    for name, handle in AGENTS:
        email = f"{handle}@demo.cloudcx.example"
        user = await accounts.find_by_email(session, tenant_id, email)
        if user is None:
            user = await accounts.create_user(
                session,
                platform.passwords,
                tenant_id=tenant_id,
                email=email,
                password=password,
                role=Role.AGENT,
                name=name,
            )
        made.append(user)
    return made


def _contacts(session: AsyncSession, tenant_id: uuid.UUID) -> list[Contact]:
    rng = random.Random(7)  # the same demo every time
    made = []
    for first, last, company, title in CONTACTS:
        email = f"{first}.{last}@{company.split()[0].lower()}.example".lower()
        contact = Contact(
            tenant_id=tenant_id,
            first_name=first,
            last_name=last,
            email=email,
            email_normalized=email,
            phone=f"+1 555 01{rng.randint(10, 99)}",
            company=company,
            job_title=title,
            tags=["customer"],
            notes="",
        )
        session.add(contact)
        made.append(contact)
    return made


async def _tickets(
    session: AsyncSession, tenant_id: uuid.UUID, agents: list[User], contacts: list[Contact]
) -> None:
    now = utcnow()
    for i, (subject, channel, prio, status, tags, ask, reply, note) in enumerate(STORIES):
        opened = now - timedelta(days=len(STORIES) - i, hours=3 * i)
        contact, agent = contacts[i % len(contacts)], agents[i % len(agents)]
        ticket = Ticket(
            tenant_id=tenant_id,
            number=await tickets.next_number(session, tenant_id),
            subject=subject,
            description=ask,
            status=TicketStatus(status),
            priority=TicketPriority(prio),
            channel=TicketChannel(channel),
            requester_id=contact.id,
            assignee_id=agent.id if reply else None,
            tag_rows=[TicketTag(tag=t) for t in tags],
            created_at=opened,
            updated_at=opened,
            solved_at=opened + timedelta(hours=5) if status in ("solved", "closed") else None,
        )
        session.add(ticket)
        await session.flush()
        thread = _thread(ask, reply, note, contact, agent)
        for n, (kind, user_id, contact_id, body) in enumerate(thread):
            at = opened + timedelta(hours=n)
            session.add(_message(ticket, kind, user_id, contact_id, body, at))
        ticket.updated_at = opened + timedelta(hours=len(thread))


Line = tuple[MessageKind, uuid.UUID | None, uuid.UUID | None, str]


def _thread(
    ask: str, reply: str | None, note: str | None, contact: Contact, agent: User
) -> list[Line]:
    """The customer's question, then the agent's internal note and public answer."""
    thread: list[Line] = [(MessageKind.REPLY, None, contact.id, ask)]
    if note:
        thread.append((MessageKind.NOTE, agent.id, None, note))
    if reply:
        thread.append((MessageKind.REPLY, agent.id, None, reply))
    return thread


def _message(
    ticket: Ticket,
    kind: MessageKind,
    user_id: uuid.UUID | None,
    contact_id: uuid.UUID | None,
    body: str,
    at: datetime,
) -> Message:
    return Message(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        kind=kind,
        author_user_id=user_id,
        author_contact_id=contact_id,
        body=body,
        created_at=at,
    )
