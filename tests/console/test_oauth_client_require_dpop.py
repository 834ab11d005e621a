"""Action > Edit > Require DPoP: shown with its explanation, saved, audited, in force."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.audit.models import AuditEvent
from cloudcx.oauth.models import OAuthClient
from tests.console.test_oauth_client_settings import edit_url, save, settings_form
from tests.helpers import PASSWORD, csrf_from, login
from tests.oauth.flows import assert_oauth_error


async def test_the_edit_page_explains_require_dpop(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
) -> None:
    await login(http, admin.email)
    html = (await http.get(edit_url(oauth_client))).text
    assert 'name="require_dpop"' in html
    assert "Require DPoP" in html
    assert "bound to a key" in html
    assert 'name="require_dpop" aria-describedby="require_dpop_help" >' in html  # unticked


async def test_saving_require_dpop_refuses_token_requests_without_a_proof(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    await login(http, admin.email)
    response = await save(http, oauth_client, require_dpop="on")
    assert response.status_code == 303, response.text
    await db.refresh(oauth_client)
    assert oauth_client.require_dpop is True
    html = (await http.get(edit_url(oauth_client))).text
    assert 'aria-describedby="require_dpop_help" checked' in html
    events = list(await db.scalars(select(AuditEvent).where(AuditEvent.action == "client.updated")))
    assert events, "the change is audited like every other client setting"
    refused = await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": admin.email,
            "password": PASSWORD,
            "client_id": oauth_client.client_id,
        },
    )
    assert_oauth_error(refused, 400, "invalid_dpop_proof")
    # Unticking it again lets plain requests through.
    assert (await save(http, oauth_client)).status_code == 303
    await db.refresh(oauth_client)
    assert oauth_client.require_dpop is False


async def test_require_dpop_needs_the_csrf_token(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    await login(http, admin.email)
    page = await http.get(edit_url(oauth_client))
    assert csrf_from(page.text)
    response = await http.post(
        edit_url(oauth_client), data={**settings_form(require_dpop="on"), "csrf_token": "x"}
    )
    assert response.status_code in (400, 403)
    await db.refresh(oauth_client)
    assert oauth_client.require_dpop is False
