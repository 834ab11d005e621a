"""Fixtures and helpers shared by the CX API tests (tickets, contacts, users, API keys).

Package conftests import the fixtures they need from here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.api.ratelimit import RateLimiter
from cloudcx.contacts import service as contacts
from cloudcx.contacts.models import Contact
from cloudcx.contacts.schemas import ContactCreate
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets import service as tickets
from cloudcx.tickets.models import Ticket
from cloudcx.tickets.schemas import TicketCreate
from tests.helpers import bearer, password_token

Headers = dict[str, str]


async def headers_for(
    http: httpx.AsyncClient, client: OAuthClient, email: str, scope: str | None = None
) -> Headers:
    extra = {"scope": scope} if scope else {}
    body = await password_token(http, client.client_id, email, **extra)
    return bearer(body["access_token"])


@pytest_asyncio.fixture
async def admin_headers(http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User) -> Headers:
    return await headers_for(http, oauth_client, admin.email)


@pytest_asyncio.fixture
async def agent_headers(http: httpx.AsyncClient, oauth_client: OAuthClient, agent: User) -> Headers:
    return await headers_for(http, oauth_client, agent.email)


@pytest_asyncio.fixture
async def tiny_rate_limit(app: FastAPI) -> AsyncIterator[RateLimiter]:
    """Two requests per minute per caller, for 429 tests."""
    saved = app.state.ratelimiter
    app.state.ratelimiter = RateLimiter("2/minute")
    yield app.state.ratelimiter
    app.state.ratelimiter = saved


async def make_contact(db: AsyncSession, tenant: TenantInfo, **fields: Any) -> Contact:
    data = {"first_name": "Ada", "last_name": "Lovelace", **fields}
    contact = await contacts.create_contact(db, tenant.id, ContactCreate(**data))
    await db.commit()
    return contact


async def make_ticket(db: AsyncSession, tenant: TenantInfo, **fields: Any) -> Ticket:
    data = {"subject": "Printer on fire", **fields}
    ticket = await tickets.create_ticket(db, tenant.id, TicketCreate(**data))
    await db.commit()
    return ticket


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def assert_insufficient_scope(response: httpx.Response, scope: str) -> None:
    body = assert_problem(response, 403)
    assert body["error"] == "insufficient_scope"
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert f'scope="{scope}"' in challenge


async def collect_pages(
    http: httpx.AsyncClient, url: str, headers: Headers
) -> tuple[list[dict[str, Any]], int]:
    """Follow ``links.next`` to the end; returns every item and the number of pages."""
    items: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        response = await http.get(next_url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["data"])
        pages += 1
        next_url = body["links"]["next"]
        assert (next_url is None) == (body["next_cursor"] is None)
    return items, pages


__all__ = [
    "admin_headers",
    "agent_headers",
    "tiny_rate_limit",
]
