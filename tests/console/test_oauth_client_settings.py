"""Action > Edit of an OAuth client: settings, client secret, Revoke all tokens."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth import clients
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer, csrf_from, login, password_token
from tests.oauth.flows import REDIRECT_URI, assert_oauth_error, configure, refresh

_SECRET_RE = re.compile(r'id="client_secret" type="text" value="([^"]+)"')


def edit_url(client: OAuthClient) -> str:
    return f"/settings/security/oauth-clients/{client.id}/edit"


def settings_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "client_name": "Helpdesk Sync",
        "description": "Syncs tickets.",
        "redirect_uris": f"{REDIRECT_URI}\nhttp://localhost:8765/cb",
        "grant_types": ["password", "authorization_code", "refresh_token"],
        "scopes": ["tickets:read", "profile"],
        "access_token_ttl": "600",
        "refresh_token_ttl": "",
        "is_enabled": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


async def save(http: httpx.AsyncClient, client: OAuthClient, **overrides: Any) -> httpx.Response:
    page = await http.get(edit_url(client))
    data = {**settings_form(**overrides), "csrf_token": csrf_from(page.text)}
    return await http.post(edit_url(client), data=data)


@pytest.fixture
async def signed_in(http: httpx.AsyncClient, admin: User) -> User:
    await login(http, admin.email)
    return admin


async def test_edit_page_fields(
    http: httpx.AsyncClient, oauth_client: OAuthClient, signed_in: User
) -> None:
    html = (await http.get(edit_url(oauth_client))).text
    for label in (
        "Client name",
        "Description",
        "Client ID",
        "Redirect URIs",
        ">Password<",
        "Authorization code",
        "Refresh token",
        "Client credentials",
        "Access-token lifetime",
        "Refresh-token lifetime",
        "Enabled",
        "Skip the consent page",
        "Generate client secret",
        "Revoke all tokens",
        "0 users have granted this client access.",
    ):
        assert label.strip(">").strip("<") in html, label
    assert 'name="redirect_uris"' in html
    assert oauth_client.client_id in html


async def test_new_client_form_stays_name_and_description(
    http: httpx.AsyncClient, signed_in: User
) -> None:
    html = (await http.get("/settings/security/oauth-clients/new")).text
    assert "Client name" in html and "Description" in html
    assert "Redirect URIs" not in html and "Generate client secret" not in html


async def test_save_settings(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, signed_in: User
) -> None:
    response = await save(http, oauth_client, skip_consent="on")
    assert response.status_code == 303, response.text
    await db.refresh(oauth_client)
    assert oauth_client.redirect_uris == [REDIRECT_URI, "http://localhost:8765/cb"]
    assert oauth_client.grant_types == ["password", "authorization_code", "refresh_token"]
    assert oauth_client.scopes == ["tickets:read", "profile"]
    assert oauth_client.access_token_ttl == 600
    assert oauth_client.refresh_token_ttl is None
    assert oauth_client.skip_consent is True
    assert oauth_client.is_enabled is True


async def test_access_token_lifetime_is_used(
    http: httpx.AsyncClient, oauth_client: OAuthClient, signed_in: User
) -> None:
    await save(http, oauth_client)
    body = await password_token(http, oauth_client.client_id, signed_in.email)
    assert body["expires_in"] == 600
    assert body["scope"] == "profile tickets:read"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"redirect_uris": "http://app.example/cb"}, "redirect_uris"),
        ({"redirect_uris": "ftp://app.example/cb"}, "redirect_uris"),
        ({"redirect_uris": "https://app.example/cb#frag"}, "redirect_uris"),
        ({"redirect_uris": "/relative/cb"}, "redirect_uris"),
        ({"redirect_uris": "https://user:pw@app.example/cb"}, "redirect_uris"),
        ({"redirect_uris": ""}, "redirect_uris"),
        ({"access_token_ttl": "10"}, "access_token_ttl"),
        ({"access_token_ttl": "abc"}, "access_token_ttl"),
        ({"access_token_ttl": "9" * 5000}, "access_token_ttl"),
        ({"refresh_token_ttl": "60"}, "refresh_token_ttl"),
        ({"client_name": ""}, "client_name"),
        ({"client_name": "a\x00b"}, "client_name"),
        ({"redirect_uris": "https://app.example/\x00cb"}, "redirect_uris"),
    ],
    ids=[
        "http-not-loopback",
        "other-scheme",
        "fragment",
        "relative",
        "userinfo",
        "code-grant-without-redirect-uri",
        "access-ttl-too-short",
        "access-ttl-not-a-number",
        "access-ttl-huge-number",
        "refresh-ttl-too-short",
        "no-name",
        "nul-in-name",
        "nul-in-redirect-uri",
    ],
)
async def test_invalid_settings_are_refused(
    http: httpx.AsyncClient,
    db: AsyncSession,
    oauth_client: OAuthClient,
    signed_in: User,
    overrides: dict[str, Any],
    field: str,
) -> None:
    response = await save(http, oauth_client, **overrides)
    assert response.status_code == 422
    assert f'id="{field}_error"' in response.text
    await db.refresh(oauth_client)
    assert oauth_client.redirect_uris == []


async def shown_secret(http: httpx.AsyncClient, response: httpx.Response) -> str:
    """Follow the POST's redirect to the page that shows the secret, once."""
    assert response.status_code == 303, response.text
    page = await http.get(response.headers["location"])
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    match = _SECRET_RE.search(page.text)
    assert match, "the secret is shown on the page after the redirect"
    assert 'data-copy-target="client_secret"' in page.text
    # A reload shows it no more, and makes no other secret.
    again = await http.get(response.headers["location"])
    assert again.status_code == 200
    assert match.group(1) not in again.text
    assert "Client secret already shown" in again.text
    return match.group(1)


async def test_generate_then_regenerate_secret(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, signed_in: User
) -> None:
    page = await http.get(edit_url(oauth_client))
    url = f"/settings/security/oauth-clients/{oauth_client.id}/secret"
    secret = await shown_secret(
        http, await http.post(url, data={"csrf_token": csrf_from(page.text)})
    )
    assert len(secret) >= 43
    await db.refresh(oauth_client)
    digest = oauth_client.secret_digest
    assert digest is not None
    # Shown once: the edit page never shows it again.
    edit = await http.get(edit_url(oauth_client))
    assert secret not in edit.text and ">Regenerate</button>" in edit.text
    form = {
        "grant_type": "password",
        "email": signed_in.email,
        "password": "a-long-and-Good-passw0rd",
    }
    ok = await http.post("/oauth/token", data=form, auth=(oauth_client.client_id, secret))
    assert ok.status_code == 200
    # Regenerate asks first; the question alone changes nothing.
    asked = await http.get(url)
    assert asked.status_code == 200
    assert "Regenerate the secret of “Helpdesk Sync”?" in asked.text
    await db.refresh(oauth_client)
    assert oauth_client.secret_digest == digest
    second = await shown_secret(
        http, await http.post(url, data={"csrf_token": csrf_from(asked.text), "confirmed": "yes"})
    )
    assert second != secret
    old = await http.post("/oauth/token", data=form, auth=(oauth_client.client_id, secret))
    assert_oauth_error(old, 401, "invalid_client")


async def test_secret_needs_csrf(
    http: httpx.AsyncClient, oauth_client: OAuthClient, signed_in: User
) -> None:
    url = f"/settings/security/oauth-clients/{oauth_client.id}/secret"
    response = await http.post(url, data={"csrf_token": "forged"})
    assert response.status_code == 403


class TestStoppingTokens:
    """Disabling, deleting or revoking all tokens stops every token at once."""

    @pytest.fixture
    async def issued(
        self, http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
    ) -> dict[str, Any]:
        await configure(db, oauth_client)
        body = await password_token(http, oauth_client.client_id, admin.email)
        await login(http, admin.email)
        return body

    async def assert_stopped(
        self,
        http: httpx.AsyncClient,
        platform: Platform,
        client: OAuthClient,
        issued: dict[str, Any],
    ) -> None:
        await platform.revocations.refresh()
        me = await http.get("/api/v1/me", headers=bearer(issued["access_token"]))
        assert me.status_code == 401
        response = await refresh(http, client, issued["refresh_token"])
        assert response.status_code in (400, 401)

    async def test_disable(
        self,
        http: httpx.AsyncClient,
        platform: Platform,
        oauth_client: OAuthClient,
        issued: dict[str, Any],
    ) -> None:
        changes = {
            "is_enabled": None,
            "grant_types": ["password", "refresh_token"],
            "scopes": ["tickets:read", "profile", "tickets:write", "audit:read"],
        }
        asked = await save(http, oauth_client, **changes)
        # Disabling asks first: until confirmed, the tokens still work.
        assert asked.status_code == 200
        assert "Disable “Helpdesk Sync”?" in asked.text
        await platform.revocations.refresh()
        me = await http.get("/api/v1/me", headers=bearer(issued["access_token"]))
        assert me.status_code == 200
        response = await http.post(
            edit_url(oauth_client),
            data={
                **settings_form(**changes),
                "csrf_token": csrf_from(asked.text),
                "confirmed": "yes",
            },
        )
        assert response.status_code == 303
        await self.assert_stopped(http, platform, oauth_client, issued)

    async def test_delete(
        self,
        http: httpx.AsyncClient,
        platform: Platform,
        oauth_client: OAuthClient,
        issued: dict[str, Any],
    ) -> None:
        url = f"/settings/security/oauth-clients/{oauth_client.id}/delete"
        page = await http.get(url)
        await http.post(url, data={"csrf_token": csrf_from(page.text)})
        await self.assert_stopped(http, platform, oauth_client, issued)

    async def test_revoke_all_tokens(
        self,
        http: httpx.AsyncClient,
        platform: Platform,
        oauth_client: OAuthClient,
        issued: dict[str, Any],
    ) -> None:
        page = await http.get(edit_url(oauth_client))
        assert "1 user has granted this client access." in page.text
        url = f"/settings/security/oauth-clients/{oauth_client.id}/revoke-tokens"
        assert f'href="{url}"' in page.text  # a link to the question, not a one-click form
        asked = await http.get(url)
        assert "Revoke every token of “Helpdesk Sync”?" in asked.text
        assert "1 user will have to grant it access again." in asked.text
        await platform.revocations.refresh()
        me = await http.get("/api/v1/me", headers=bearer(issued["access_token"]))
        assert me.status_code == 200
        response = await http.post(
            url, data={"csrf_token": csrf_from(asked.text), "confirmed": "yes"}
        )
        assert response.status_code == 303
        assert "revoked" in (await http.get(response.headers["location"])).text
        await self.assert_stopped(http, platform, oauth_client, issued)


@pytest.mark.parametrize("action", ["edit", "secret", "revoke-tokens"])
async def test_agents_are_refused(
    http: httpx.AsyncClient, oauth_client: OAuthClient, agent: User, action: str
) -> None:
    await login(http, agent.email)
    home = await http.get("/")
    url = f"/settings/security/oauth-clients/{oauth_client.id}/{action}"
    response = await http.post(url, data={"csrf_token": csrf_from(home.text)})
    assert response.status_code == 403


@pytest.mark.parametrize("action", ["edit", "secret", "revoke-tokens"])
async def test_other_tenants_client_is_404(
    http: httpx.AsyncClient,
    db: AsyncSession,
    other_tenant: TenantInfo,
    signed_in: User,
    action: str,
) -> None:
    theirs = await clients.create_client(db, tenant_id=other_tenant.id, client_name="Theirs")
    await db.commit()
    home = await http.get("/")
    for target in (theirs.id, uuid.uuid4()):
        url = f"/settings/security/oauth-clients/{target}/{action}"
        response = await http.post(url, data={"csrf_token": csrf_from(home.text)})
        assert response.status_code == 404
    assert (await http.get(f"/settings/security/oauth-clients/{theirs.id}/edit")).status_code == 404


async def test_tokens_issued_after_revoke_all_work(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    oauth_client: OAuthClient,
    admin: User,
) -> None:
    await login(http, admin.email)
    page = await http.get(edit_url(oauth_client))
    url = f"/settings/security/oauth-clients/{oauth_client.id}/revoke-tokens"
    await http.post(url, data={"csrf_token": csrf_from(page.text)})
    fresh = await password_token(http, oauth_client.client_id, admin.email)
    await platform.revocations.refresh()
    assert (await http.get("/api/v1/me", headers=bearer(fresh["access_token"]))).status_code == 200
