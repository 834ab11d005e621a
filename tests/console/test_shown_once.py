"""Shown-once values: a new client secret or API key, after a POST-redirect-GET."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.apikeys.models import ApiKey
from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.oauth import clients, housekeeping
from cloudcx.oauth.models import OAuthClient
from cloudcx.shown_once.models import ShownOnce
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import csrf_from, login
from tests.html_forms import find_form

CLIENTS = "/settings/security/oauth-clients"
KEYS = "/settings/security/api-keys"
_SECRET_RE = re.compile(r'id="client_secret" type="text" value="([^"]+)"')
_KEY_RE = re.compile(r'id="api_key" type="text" value="(cxk_[^"]+)"')


async def generate(http: httpx.AsyncClient, client: OAuthClient) -> httpx.Response:
    page = await http.get(f"{CLIENTS}/{client.id}/edit")
    return await http.post(
        f"{CLIENTS}/{client.id}/secret", data={"csrf_token": csrf_from(page.text)}
    )


async def test_reloading_the_secret_page_never_makes_another(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    await login(http, admin.email)
    made = await generate(http, oauth_client)
    assert made.status_code == 303
    shown = await http.get(made.headers["location"])
    secret = _SECRET_RE.search(shown.text)
    assert secret
    # At the top of the page, before the form, with its Copy button.
    assert shown.text.index('id="client_secret"') < shown.text.index('name="client_name"')
    assert 'data-copy-target="client_secret"' in shown.text
    await db.refresh(oauth_client)
    digest = oauth_client.secret_digest
    assert digest == secrets.digest(secret.group(1))
    for _ in range(2):
        again = await http.get(made.headers["location"])
        assert again.status_code == 200
        assert "Client secret already shown" in again.text
        assert secret.group(1) not in again.text
        assert "Copy it now" not in again.text
    await db.refresh(oauth_client)
    assert oauth_client.secret_digest == digest  # the same secret: the copied one works


async def test_the_value_is_encrypted_and_erased_once_shown(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    await login(http, admin.email)
    made = await generate(http, oauth_client)
    row = await db.scalar(select(ShownOnce))
    assert row is not None and row.ciphertext is not None
    assert (row.kind, row.subject, row.user_id) == ("client_secret", str(oauth_client.id), admin.id)
    shown = await http.get(made.headers["location"])
    secret = _SECRET_RE.search(shown.text)
    assert secret and secret.group(1) not in row.ciphertext
    await db.refresh(row)
    assert row.ciphertext is None and row.shown_at is not None


async def test_another_session_or_a_late_visit_sees_nothing(
    app: FastAPI, http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    await login(http, admin.email)
    made = await generate(http, oauth_client)
    location = made.headers["location"]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as other:
        await login(other, admin.email)  # the same person, another sign-in
        elsewhere = await other.get(location)
    assert elsewhere.status_code == 200
    assert "Client secret already shown" in elsewhere.text
    assert _SECRET_RE.search(elsewhere.text) is None
    # Expired before it was looked at: gone as well.
    await db.execute(update(ShownOnce).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    late = await http.get(location)
    assert "Client secret already shown" in late.text and _SECRET_RE.search(late.text) is None


async def test_signing_out_drops_what_was_not_shown(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    await login(http, admin.email)
    made = await generate(http, oauth_client)
    home = await http.get("/")
    await http.post("/logout", data={"csrf_token": csrf_from(home.text)})
    assert await db.scalar(select(ShownOnce)) is None
    await login(http, admin.email)
    after = await http.get(made.headers["location"])
    assert _SECRET_RE.search(after.text) is None


async def test_generate_secret_saves_the_forms_edits_first(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    await login(http, admin.email)
    url = f"{CLIENTS}/{oauth_client.id}/edit"
    page = await http.get(url)
    form = find_form(page.text, button="Generate client secret", containing="Redirect URIs")
    assert form is not None, "Generate client secret is a button of the edit form"
    form.fill("Redirect URIs", "https://app.example/cb")
    form.fill("Description", "Edited before generating")
    response = await http.post(url, data=dict(form.submission("Generate client secret")))
    assert response.status_code == 303
    shown = await http.get(response.headers["location"])
    assert _SECRET_RE.search(shown.text)
    assert "https://app.example/cb" in shown.text
    await db.refresh(oauth_client)
    assert oauth_client.redirect_uris == ["https://app.example/cb"]
    assert oauth_client.description == "Edited before generating"
    assert oauth_client.secret_digest is not None


async def test_regenerate_from_the_form_saves_then_asks(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    await login(http, admin.email)
    await http.get((await generate(http, oauth_client)).headers["location"])
    await db.refresh(oauth_client)
    digest = oauth_client.secret_digest
    url = f"{CLIENTS}/{oauth_client.id}/edit"
    form = find_form((await http.get(url)).text, button="Regenerate", containing="Description")
    assert form is not None
    form.fill("Description", "Kept")
    response = await http.post(url, data=dict(form.submission("Regenerate")))
    assert response.status_code == 303
    asked = await http.get(response.headers["location"])
    assert "Your changes to the client were saved." in asked.text
    assert "Regenerate the secret of" in asked.text
    await db.refresh(oauth_client)
    assert (oauth_client.description, oauth_client.secret_digest) == ("Kept", digest)


async def test_an_invalid_form_generates_nothing(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    await login(http, admin.email)
    url = f"{CLIENTS}/{oauth_client.id}/edit"
    form = find_form((await http.get(url)).text, button="Generate client secret")
    assert form is not None
    form.fill("Client name", "")
    response = await http.post(url, data=dict(form.submission("Generate client secret")))
    assert response.status_code == 422
    assert "Client name is required." in response.text
    await db.refresh(oauth_client)
    assert oauth_client.secret_digest is None
    assert await db.scalar(select(ShownOnce)) is None


async def test_reloading_api_key_created_never_makes_a_second_key(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    page = await http.get(f"{KEYS}/new")
    data = {"csrf_token": csrf_from(page.text), "name": "Export", "scopes": ["tickets:read"]}
    made = await http.post(f"{KEYS}/new", data={**data, "expires": "30"})
    assert made.status_code == 303
    shown = await http.get(made.headers["location"])
    assert shown.headers["cache-control"] == "no-store"
    key = _KEY_RE.search(shown.text)
    assert key
    again = await http.get(made.headers["location"])
    assert "API key already shown" in again.text and key.group(1) not in again.text
    assert len((await db.scalars(select(ApiKey))).all()) == 1


async def test_secret_pages_of_another_tenant_are_not_found(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, other_tenant: TenantInfo
) -> None:
    theirs = await clients.create_client(db, tenant_id=other_tenant.id, client_name="Theirs")
    await db.commit()
    await login(http, admin.email)
    for path in (f"{CLIENTS}/{theirs.id}/secret", f"{CLIENTS}/{theirs.id}/revoke-tokens"):
        assert (await http.get(path)).status_code == 404
    assert (await http.get(f"{KEYS}/{theirs.id}/created?shown=x")).status_code == 404


async def test_housekeeping_deletes_expired_values(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    await login(http, admin.email)
    await generate(http, oauth_client)
    await generate(http, oauth_client)
    assert await housekeeping.purge(db) == 0
    first = await db.scalar(select(ShownOnce).limit(1))
    assert first is not None
    await db.execute(
        update(ShownOnce)
        .where(ShownOnce.id == first.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert await housekeeping.purge(db) == 1
    await db.commit()
    assert len((await db.scalars(select(ShownOnce))).all()) == 1
