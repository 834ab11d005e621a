"""``/api/v1/users``: reading for ``users:read``; managing for administrators only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User, WebSession
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.conftest import make_user
from tests.cxapi import (
    Headers,
    admin_headers,
    agent_headers,
    assert_insufficient_scope,
    assert_problem,
    collect_pages,
    headers_for,
    tiny_rate_limit,
)
from tests.helpers import PASSWORD, login

__all__ = ["admin_headers", "agent_headers", "tiny_rate_limit"]

URL = "/api/v1/users"
NEW_AGENT = {"email": "grace@acme.example", "name": "Grace", "role": "agent", "password": PASSWORD}


async def test_list_and_read(
    http: httpx.AsyncClient, admin: User, agent: User, agent_headers: Headers
) -> None:
    items, pages = await collect_pages(http, f"{URL}?limit=1", agent_headers)
    assert [u["email"] for u in items] == [admin.email, agent.email]
    assert pages == 2
    assert "password_hash" not in items[0]
    read = await http.get(f"{URL}/{admin.id}", headers=agent_headers)
    assert read.json()["role"] == "admin"
    assert read.headers["etag"]
    admins = await http.get(URL, params={"role": "admin"}, headers=agent_headers)
    assert [u["email"] for u in admins.json()["data"]] == [admin.email]


async def test_admin_creates_an_agent_who_can_sign_in(
    http: httpx.AsyncClient, admin_headers: Headers, oauth_client: OAuthClient
) -> None:
    response = await http.post(URL, headers=admin_headers, json=NEW_AGENT)
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "agent"
    assert response.headers["location"] == f"{URL}/{response.json()['id']}"
    assert await headers_for(http, oauth_client, NEW_AGENT["email"])
    duplicate = await http.post(URL, headers=admin_headers, json=NEW_AGENT)
    assert_problem(duplicate, 409)


# Spellings of admin@acme.example that only look different: one account, not two.
LOOK_ALIKES = [
    "\uff41\uff44\uff4d\uff49\uff4e@acme.example",
    "\uff21DMIN@acme.example",
    "ADMIN@ACME.EXAMPLE",
    "admin@acme.example",
]
LOOK_ALIKE_IDS = ["fullwidth", "fullwidth-capital", "upper-case", "same"]


@pytest.mark.parametrize("email", LOOK_ALIKES, ids=LOOK_ALIKE_IDS)
async def test_a_look_alike_of_an_existing_email_is_a_duplicate(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, admin_headers: Headers, email: str
) -> None:
    response = await http.post(URL, headers=admin_headers, json={**NEW_AGENT, "email": email})
    body = assert_problem(response, 409)
    assert "already exists" in body["detail"]
    assert await db.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param({**NEW_AGENT, "email": "nope"}, "email", id="bad-email"),
        pytest.param({**NEW_AGENT, "password": "short"}, "password", id="short-password"),
        pytest.param({**NEW_AGENT, "role": "owner"}, "role", id="unknown-role"),
        pytest.param({"email": "a@b.example"}, "password", id="password-missing"),
    ],
)
async def test_create_validation_errors(
    http: httpx.AsyncClient, admin_headers: Headers, payload: dict[str, Any], field: str
) -> None:
    response = await http.post(URL, headers=admin_headers, json=payload)
    assert [e["field"] for e in assert_problem(response, 422)["errors"]] == [field]


async def test_agents_cannot_manage_users_whatever_the_token_says(
    http: httpx.AsyncClient, admin: User, agent_headers: Headers
) -> None:
    # The password grant already drops users:write for agents; the role is checked again.
    assert_insufficient_scope(
        await http.post(URL, headers=agent_headers, json=NEW_AGENT), "users:write"
    )


async def test_role_is_checked_beside_the_scope(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, admin_headers: Headers
) -> None:
    admin.role = Role.AGENT  # demoted after the token was issued
    await db.commit()
    response = await http.post(URL, headers=admin_headers, json=NEW_AGENT)
    assert assert_problem(response, 403)["detail"] == "Only administrators can manage users."


async def test_scope_refusal_for_reading(
    http: httpx.AsyncClient, oauth_client: OAuthClient, agent: User
) -> None:
    headers = await headers_for(http, oauth_client, agent.email, "tickets:read")
    assert_insufficient_scope(await http.get(URL, headers=headers), "users:read")


async def test_change_role(http: httpx.AsyncClient, agent: User, admin_headers: Headers) -> None:
    url = f"{URL}/{agent.id}"
    etag = (await http.get(url, headers=admin_headers)).headers["etag"]
    promoted = await http.patch(
        url, headers={**admin_headers, "If-Match": etag}, json={"role": "admin"}
    )
    assert promoted.json()["role"] == "admin"
    stale = await http.patch(url, headers={**admin_headers, "If-Match": etag}, json={"name": "X"})
    assert_problem(stale, 412)


async def test_deactivation_revokes_tokens_and_sessions(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    agent: User,
    admin_headers: Headers,
    agent_headers: Headers,
) -> None:
    await login(http, agent.email)
    assert await db.scalar(select(func.count()).select_from(WebSession)) == 1
    http.cookies.clear()
    response = await http.patch(
        f"{URL}/{agent.id}", headers=admin_headers, json={"is_active": False}
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert await db.scalar(select(func.count()).select_from(WebSession)) == 0
    await platform.revocations.refresh()
    refused = await http.get("/api/v1/tickets", headers=agent_headers)
    assert refused.status_code == 401


@pytest.mark.parametrize(
    "change", [{"is_active": False}, {"role": "agent"}], ids=["deactivate-self", "demote-self"]
)
async def test_admins_cannot_lock_themselves_out(
    http: httpx.AsyncClient, admin: User, admin_headers: Headers, change: dict[str, Any]
) -> None:
    response = await http.patch(f"{URL}/{admin.id}", headers=admin_headers, json=change)
    assert_problem(response, 409)


async def test_user_of_another_tenant_is_not_found(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    other_tenant: TenantInfo,
    admin_headers: Headers,
) -> None:
    foreign = await make_user(db, platform, other_tenant, "boss@globex.example", Role.ADMIN)
    for method in ("GET", "PATCH"):
        response = await http.request(
            method, f"{URL}/{foreign.id}", headers=admin_headers, json={"is_active": False}
        )
        assert_problem(response, 404)


async def test_idempotent_retry(http: httpx.AsyncClient, admin_headers: Headers) -> None:
    headers = {**admin_headers, "Idempotency-Key": "new-agent"}
    first = await http.post(URL, headers=headers, json=NEW_AGENT)
    again = await http.post(URL, headers=headers, json=NEW_AGENT)
    assert again.status_code == 201
    assert again.json() == first.json()


async def test_rate_limited(
    http: httpx.AsyncClient, agent_headers: Headers, tiny_rate_limit: object
) -> None:
    for _ in range(2):
        await http.get(URL, headers=agent_headers)
    assert_problem(await http.get(URL, headers=agent_headers), 429)
