"""``/api/v1/tickets/{id}/messages``: replies, internal notes and the status rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests.cxapi import (
    Headers,
    assert_insufficient_scope,
    assert_problem,
    collect_pages,
    headers_for,
    make_contact,
    make_ticket,
)


def url(ticket_id: object) -> str:
    return f"/api/v1/tickets/{ticket_id}/messages"


async def status_of(http: httpx.AsyncClient, ticket_id: object, headers: Headers) -> str:
    response = await http.get(f"/api/v1/tickets/{ticket_id}", headers=headers)
    status: str = response.json()["status"]
    return status


async def test_agent_reply_opens_a_new_ticket(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    agent_headers: Headers,
) -> None:
    ticket = await make_ticket(db, tenant)
    note = await http.post(
        url(ticket.id), headers=agent_headers, json={"kind": "note", "body": "Hm"}
    )
    assert note.status_code == 201, note.text
    assert await status_of(http, ticket.id, agent_headers) == "new"
    reply = await http.post(url(ticket.id), headers=agent_headers, json={"body": "On it."})
    assert reply.status_code == 201
    body = reply.json()
    assert body["kind"] == "reply"
    assert body["author_user_id"] == str(agent.id)
    assert body["author_contact_id"] is None
    assert await status_of(http, ticket.id, agent_headers) == "open"


async def test_customer_reply_reopens_a_pending_ticket(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent_headers: Headers
) -> None:
    contact = await make_contact(db, tenant)
    ticket = await make_ticket(db, tenant, status="pending", requester_id=contact.id)
    response = await http.post(
        url(ticket.id),
        headers=agent_headers,
        json={"body": "Still broken", "author_contact_id": str(contact.id)},
    )
    assert response.status_code == 201
    assert response.json()["author_contact_id"] == str(contact.id)
    assert response.json()["author_user_id"] is None
    assert await status_of(http, ticket.id, agent_headers) == "open"


async def test_conversation_is_listed_oldest_first_across_pages(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent_headers: Headers
) -> None:
    ticket = await make_ticket(db, tenant)
    for i in range(5):
        await http.post(url(ticket.id), headers=agent_headers, json={"body": f"m{i}"})
    items, pages = await collect_pages(http, f"{url(ticket.id)}?limit=2", agent_headers)
    assert [m["body"] for m in items] == ["m0", "m1", "m2", "m3", "m4"]
    assert pages == 3


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param({}, "body", id="body-missing"),
        pytest.param({"body": ""}, "body", id="body-empty"),
        pytest.param({"body": "x", "kind": "email"}, "kind", id="unknown-kind"),
        pytest.param({"body": "x", "author_contact_id": "0"}, "author_contact_id", id="bad-uuid"),
    ],
)
async def test_validation_errors(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent_headers: Headers,
    payload: dict[str, Any],
    field: str,
) -> None:
    ticket = await make_ticket(db, tenant)
    response = await http.post(url(ticket.id), headers=agent_headers, json=payload)
    assert [e["field"] for e in assert_problem(response, 422)["errors"]] == [field]


async def test_contacts_do_not_write_internal_notes(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent_headers: Headers
) -> None:
    contact = await make_contact(db, tenant)
    ticket = await make_ticket(db, tenant)
    response = await http.post(
        url(ticket.id),
        headers=agent_headers,
        json={"kind": "note", "body": "x", "author_contact_id": str(contact.id)},
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "kind"


async def test_scope_refusal(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    oauth_client: OAuthClient,
    agent: User,
) -> None:
    ticket = await make_ticket(db, tenant)
    reader = await headers_for(http, oauth_client, agent.email, "tickets:read")
    response = await http.post(url(ticket.id), headers=reader, json={"body": "x"})
    assert_insufficient_scope(response, "tickets:write")
    writer_only = await headers_for(http, oauth_client, agent.email, "contacts:read")
    assert_insufficient_scope(await http.get(url(ticket.id), headers=writer_only), "tickets:read")


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_ticket_of_another_tenant_is_not_found(
    http: httpx.AsyncClient,
    db: AsyncSession,
    other_tenant: TenantInfo,
    agent_headers: Headers,
    method: str,
) -> None:
    foreign = await make_ticket(db, other_tenant)
    response = await http.request(
        method, url(foreign.id), headers=agent_headers, json={"body": "x"}
    )
    assert_problem(response, 404)


async def test_idempotent_retry(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent_headers: Headers
) -> None:
    ticket = await make_ticket(db, tenant)
    headers = {**agent_headers, "Idempotency-Key": "reply-1"}
    first = await http.post(url(ticket.id), headers=headers, json={"body": "Hello"})
    again = await http.post(url(ticket.id), headers=headers, json={"body": "Hello"})
    assert again.json() == first.json()
    listed = await http.get(url(ticket.id), headers=agent_headers)
    assert len(listed.json()["data"]) == 1


async def test_rate_limited(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent_headers: Headers,
    tiny_rate_limit: object,
) -> None:
    ticket = await make_ticket(db, tenant)
    for _ in range(2):
        await http.get(url(ticket.id), headers=agent_headers)
    refused = await http.get(url(ticket.id), headers=agent_headers)
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
