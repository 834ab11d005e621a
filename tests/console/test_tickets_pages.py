"""Control Panel > Tickets: the queue, the conversation, replies, notes and property changes."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets.models import Message, MessageKind, Ticket, TicketStatus
from tests.cxapi import make_contact, make_ticket
from tests.helpers import form_post, login

LIBRARY_TEXT = ("String should", "Value error", "value is not", "Input should", "UUID")


def assert_no_library_text(html: str) -> None:
    for text in LIBRARY_TEXT:
        assert text not in html


async def test_queue_lists_and_filters(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ada = await make_contact(db, tenant)
    await make_ticket(db, tenant, subject="Refund please", requester_id=ada.id, priority="high")
    await make_ticket(db, tenant, subject="Login broken", status="pending", assignee_id=agent.id)
    await login(http, agent.email)
    page = await http.get("/tickets")
    assert page.status_code == 200
    assert "Refund please" in page.text and "Login broken" in page.text
    assert "Ada Lovelace" in page.text
    cases = {
        "q=refund": "Refund please",
        "status=pending": "Login broken",
        "priority=high": "Refund please",
        "assignee=me": "Login broken",
    }
    for query, only in cases.items():
        filtered = await http.get(f"/tickets?{query}")
        assert only in filtered.text, query
        other = "Login broken" if only == "Refund please" else "Refund please"
        assert other not in filtered.text, query
    tolerant = await http.get("/tickets?status=lost&assignee=nope&cursor=junk")
    assert tolerant.status_code == 200


async def test_reply_and_note_from_the_ticket_page(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ticket = await make_ticket(db, tenant, subject="Printer on fire")
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    note = await form_post(
        http, url, {"kind": "note", "body": "Calling facilities"}, f"{url}/messages"
    )
    assert note.status_code == 303
    reply = await form_post(
        http, url, {"kind": "reply", "body": "Help is coming"}, f"{url}/messages"
    )
    assert reply.status_code == 303
    page = await http.get(reply.headers["location"])
    assert "Reply sent." in page.text
    assert "Calling facilities" in page.text and "Internal note" in page.text
    await db.refresh(ticket)
    assert ticket.status is TicketStatus.OPEN
    kinds = (await db.scalars(select(Message.kind).order_by(Message.created_at))).all()
    assert kinds == [MessageKind.NOTE, MessageKind.REPLY]


async def test_empty_reply_is_refused_with_the_form(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ticket = await make_ticket(db, tenant)
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    response = await form_post(http, url, {"kind": "reply", "body": ""}, f"{url}/messages")
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text


async def test_change_status_priority_and_assignee(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ticket = await make_ticket(db, tenant)
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    response = await form_post(
        http, url, {"status": "solved", "priority": "urgent", "assignee_id": str(agent.id)}
    )
    assert response.status_code == 303
    await db.refresh(ticket)
    assert (ticket.status, ticket.priority.value, ticket.assignee_id) == (
        TicketStatus.SOLVED,
        "urgent",
        agent.id,
    )
    assert ticket.solved_at is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"status": "lost", "priority": "low"},
            "Choose a status from the list.",
            id="bad-status",
        ),
        pytest.param(
            {
                "status": "open",
                "priority": "low",
                "assignee_id": "00000000-0000-0000-0000-000000000000",
            },
            "Choose an active agent from the list.",
            id="unknown-assignee",
        ),
    ],
)
async def test_property_errors_are_shown(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    data: dict[str, str],
    message: str,
) -> None:
    ticket = await make_ticket(db, tenant)
    await login(http, agent.email)
    response = await form_post(http, f"/tickets/{ticket.id}", data)
    assert response.status_code == 422
    assert message in response.text
    assert_no_library_text(response.text)


async def test_ticket_of_another_tenant_is_not_found(
    http: httpx.AsyncClient, db: AsyncSession, other_tenant: TenantInfo, agent: User
) -> None:
    foreign = await make_ticket(db, other_tenant)
    await login(http, agent.email)
    assert (await http.get(f"/tickets/{foreign.id}")).status_code == 404
    assert (await http.get("/tickets/not-a-uuid")).status_code == 404
    assert (await db.scalar(select(Ticket).where(Ticket.id == foreign.id))) is not None


async def test_anonymous_visitors_are_sent_to_sign_in(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    response = await http.get("/tickets")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_log_a_ticket_for_a_new_customer(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    await login(http, agent.email)
    response = await form_post(
        http,
        "/tickets/new",
        {
            "subject": "Phone: router keeps rebooting",
            "requester_email": "Caller@Example.com",
            "priority": "high",
            "channel": "phone",
            "assignee_id": str(agent.id),
        },
    )
    assert response.status_code == 303, response.text
    ticket = await db.scalar(select(Ticket))
    assert ticket is not None
    assert (ticket.number, ticket.channel.value, ticket.assignee_id) == (1, "phone", agent.id)
    page = await http.get(response.headers["location"])
    assert "Ticket created." in page.text and "Caller@example.com" in page.text
    again = await form_post(
        http, "/tickets/new", {"subject": "Second call", "requester_email": "caller@example.com"}
    )
    assert again.status_code == 303
    second = await db.scalar(select(Ticket).where(Ticket.number == 2))
    assert second is not None and second.requester_id == ticket.requester_id


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"subject": ""}, "Subject is required.", id="no-subject"),
        pytest.param(
            {"subject": "x", "requester_email": "nope"},
            "Enter an email address like name@example.com.",
            id="bad-email",
        ),
        pytest.param(
            {"subject": "x", "priority": "p0"},
            "Choose a priority from the list.",
            id="bad-priority",
        ),
        pytest.param(
            {"subject": "x" * 251}, "Subject must be at most 250 characters.", id="long-subject"
        ),
    ],
)
async def test_new_ticket_form_errors(
    http: httpx.AsyncClient, db: AsyncSession, agent: User, data: dict[str, str], message: str
) -> None:
    await login(http, agent.email)
    response = await form_post(http, "/tickets/new", data)
    assert response.status_code == 422
    assert message in response.text
    assert_no_library_text(response.text)
    assert await db.scalar(select(Ticket)) is None
