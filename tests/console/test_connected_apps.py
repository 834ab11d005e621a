"""Account > Connected apps: the apps a user granted access, and Revoke access."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User
from cloudcx.oauth.models import OAuthClient, OAuthConsent
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.conftest import make_user
from tests.helpers import bearer, csrf_from, login, password_token
from tests.oauth.flows import assert_oauth_error, configure, refresh, tokens_for

PAGE = "/account/connected-apps"
_REVOKE_RE = re.compile(r'action="(/account/connected-apps/[^"]+/revoke)"')


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


@pytest.fixture
async def issued(http: httpx.AsyncClient, client: OAuthClient, agent: User) -> dict[str, Any]:
    return await tokens_for(http, client, agent.email, scope="tickets:read profile")


async def revoke_first(http: httpx.AsyncClient) -> httpx.Response:
    """Revoke access, then the confirmation page's Revoke access."""
    page = await http.get(PAGE)
    match = _REVOKE_RE.search(page.text)
    assert match, page.text
    asked = await http.post(match.group(1), data={"csrf_token": csrf_from(page.text)})
    assert asked.status_code == 200
    assert "Revoke the access of “Helpdesk Sync”?" in asked.text
    assert "Helpdesk Sync" in (await http.get(PAGE)).text  # asking revokes nothing
    return await http.post(
        match.group(1), data={"csrf_token": csrf_from(asked.text), "confirmed": "yes"}
    )


async def test_link_in_navigation_for_every_user(http: httpx.AsyncClient, agent: User) -> None:
    await login(http, agent.email)
    home = await http.get("/")
    assert f'href="{PAGE}"' in home.text
    assert ">Connected apps</a>" in home.text


async def test_signed_out_goes_to_sign_in(http: httpx.AsyncClient, tenant: TenantInfo) -> None:
    response = await http.get(PAGE)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_lists_granted_app(http: httpx.AsyncClient, issued: dict[str, Any]) -> None:
    page = await http.get(PAGE)
    assert page.status_code == 200
    assert "Helpdesk Sync" in page.text
    assert "Syncs tickets." in page.text
    assert "View tickets and their conversations" in page.text
    assert "First granted" in page.text and "Last used" in page.text
    assert ">Revoke access</button>" in page.text


async def test_empty_list(http: httpx.AsyncClient, agent: User) -> None:
    await login(http, agent.email)
    assert "No app has access" in (await http.get(PAGE)).text


async def test_password_grant_apps_are_listed(
    http: httpx.AsyncClient, oauth_client: OAuthClient, agent: User
) -> None:
    await password_token(http, oauth_client.client_id, agent.email)
    await login(http, agent.email)
    assert "Helpdesk Sync" in (await http.get(PAGE)).text


async def test_revoke_access_ends_refresh_and_access_tokens(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    client: OAuthClient,
    issued: dict[str, Any],
) -> None:
    response = await revoke_first(http)
    assert response.status_code == 303
    assert "No app has access" in (await http.get(response.headers["location"])).text
    assert_oauth_error(await refresh(http, client, issued["refresh_token"]), 400, "invalid_grant")
    await platform.revocations.refresh()
    me = await http.get("/api/v1/me", headers=bearer(issued["access_token"]))
    assert me.status_code == 401
    assert await db.scalar(select(OAuthConsent)) is None


async def test_revoke_ends_password_grant_tokens_too(
    http: httpx.AsyncClient, platform: Platform, oauth_client: OAuthClient, agent: User
) -> None:
    body = await password_token(http, oauth_client.client_id, agent.email)
    await login(http, agent.email)
    await revoke_first(http)
    await platform.revocations.refresh()
    assert (await http.get("/api/v1/me", headers=bearer(body["access_token"]))).status_code == 401


async def test_revoke_needs_csrf(http: httpx.AsyncClient, issued: dict[str, Any]) -> None:
    page = await http.get(PAGE)
    match = _REVOKE_RE.search(page.text)
    assert match
    response = await http.post(match.group(1), data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert "Helpdesk Sync" in (await http.get(PAGE)).text


async def test_cannot_revoke_another_users_grant(
    http: httpx.AsyncClient, db: AsyncSession, issued: dict[str, Any], admin: User
) -> None:
    consent = await db.scalar(select(OAuthConsent))
    assert consent is not None
    await http.post("/logout", data={"csrf_token": csrf_from((await http.get("/")).text)})
    await login(http, admin.email)
    page = await http.get(PAGE)
    response = await http.post(
        f"{PAGE}/{consent.id}/revoke",
        data={"csrf_token": csrf_from(page.text), "confirmed": "yes"},
    )
    assert response.status_code == 404
    db.expire_all()
    assert await db.scalar(select(OAuthConsent)) is not None


@pytest.mark.parametrize("consent_id", ["not-a-uuid", str(uuid.uuid4())], ids=["bad", "unknown"])
async def test_unknown_grant_is_404(
    http: httpx.AsyncClient, issued: dict[str, Any], consent_id: str
) -> None:
    page = await http.get(PAGE)
    response = await http.post(
        f"{PAGE}/{consent_id}/revoke",
        data={"csrf_token": csrf_from(page.text), "confirmed": "yes"},
    )
    assert response.status_code == 404


async def test_other_tenant_sees_nothing(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    issued: dict[str, Any],
    other_tenant: TenantInfo,
) -> None:

    globex = await make_user(db, platform, other_tenant, "g@globex.example", Role.AGENT)
    consent = await db.scalar(select(OAuthConsent))
    assert consent is not None
    host = {"Host": "globex.example"}
    page = await http.get("/login", headers=host)
    await http.post(
        "/login",
        data={
            "email": globex.email,
            "password": "a-long-and-Good-passw0rd",
            "csrf_token": csrf_from(page.text),
        },
        headers=host,
    )
    listing = await http.get(PAGE, headers=host)
    assert "Helpdesk Sync" not in listing.text
    response = await http.post(
        f"{PAGE}/{consent.id}/revoke",
        data={"csrf_token": csrf_from(listing.text), "confirmed": "yes"},
        headers=host,
    )
    assert response.status_code == 404


async def test_granting_again_right_after_revoking_works(
    http: httpx.AsyncClient, platform: Platform, client: OAuthClient, issued: dict[str, Any]
) -> None:
    """The revocation cut covers the second it was made in; the answer comes after."""
    await revoke_first(http)
    again = await tokens_for(http, client, None)
    await platform.revocations.refresh()
    assert (await http.get("/api/v1/me", headers=bearer(again["access_token"]))).status_code == 200
    assert (await http.get("/api/v1/me", headers=bearer(issued["access_token"]))).status_code == 401
