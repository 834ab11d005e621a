"""``GET /api/v1/audit-events``: administrators' tokens with ``audit:read`` only."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User
from cloudcx.audit.service import Action, Actor, record
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests import helpers

URL = "/api/v1/audit-events"


async def token(http: httpx.AsyncClient, client: OAuthClient, user: User, scope: str) -> str:
    body = await helpers.password_token(http, client.client_id, user.email, scope=scope)
    return str(body["access_token"])


async def test_admin_reads_pages_newest_first(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin: User,
    oauth_client: OAuthClient,
) -> None:
    for n in range(5):
        await record(db, tenant_id=tenant.id, action=Action.KEY_ROTATED, actor=Actor.system(f"{n}"))
    await db.commit()
    bearer = helpers.bearer(await token(http, oauth_client, admin, "audit:read"))
    first = await http.get(URL, params={"limit": 4, "action": "key.rotated"}, headers=bearer)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [e["actor_label"] for e in body["data"]] == ["4", "3", "2", "1"]
    rest = await http.get(
        URL,
        params={"limit": 4, "action": "key.rotated", "cursor": body["next_cursor"]},
        headers=bearer,
    )
    assert [e["actor_label"] for e in rest.json()["data"]] == ["0"]
    assert rest.json()["next_cursor"] is None
    issued = await http.get(URL, params={"action": "token.issued"}, headers=bearer)
    assert issued.json()["data"][0]["target_id"] == str(admin.id)


async def test_agent_token_is_refused(
    http: httpx.AsyncClient, agent: User, oauth_client: OAuthClient
) -> None:
    response = await http.get(
        URL, headers=helpers.bearer(await token(http, oauth_client, agent, "tickets:read"))
    )
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


async def test_admin_token_without_the_scope_is_refused(
    http: httpx.AsyncClient, admin: User, oauth_client: OAuthClient
) -> None:
    response = await http.get(
        URL, headers=helpers.bearer(await token(http, oauth_client, admin, "tickets:read"))
    )
    assert response.status_code == 403
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_demoted_admin_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    bearer = helpers.bearer(await token(http, oauth_client, admin, "audit:read"))
    admin.role = Role.AGENT
    await db.merge(admin)
    await db.commit()
    response = await http.get(URL, headers=bearer)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


async def test_no_token_is_401(http: httpx.AsyncClient, tenant: TenantInfo) -> None:
    response = await http.get(URL)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "abc"},
        {"cursor": "9" * 40},
        {"limit": "0"},
        {"limit": "201"},
        {"since": "not-a-date"},
        {"action": "x" * 65},
    ],
    ids=["cursor-text", "cursor-huge", "limit-zero", "limit-over", "since-bad", "action-long"],
)
async def test_bad_parameters_are_422(
    http: httpx.AsyncClient, admin: User, oauth_client: OAuthClient, params: dict[str, str]
) -> None:
    bearer = helpers.bearer(await token(http, oauth_client, admin, "audit:read"))
    response = await http.get(URL, params=params, headers=bearer)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_other_tenants_events_are_invisible(
    http: httpx.AsyncClient,
    db: AsyncSession,
    admin: User,
    oauth_client: OAuthClient,
    other_tenant: TenantInfo,
) -> None:
    await record(db, tenant_id=other_tenant.id, action="key.rotated", actor=Actor.system("spy"))
    await db.commit()
    bearer = helpers.bearer(await token(http, oauth_client, admin, "audit:read"))
    body = (await http.get(URL, headers=bearer)).json()
    assert all(e["actor_label"] != "spy" for e in body["data"])
