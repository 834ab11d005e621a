"""Confirmation pages for what takes access away or grants it, and least privilege."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User
from cloudcx.apikeys.models import ApiKey
from cloudcx.oauth.models import OAuthClient
from cloudcx.oauth.scopes import STARTING_SCOPES
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.conftest import make_user
from tests.helpers import csrf_from, login, password_token
from tests.html_forms import find_form

CLIENTS = "/settings/security/oauth-clients"
KEYS = "/settings/security/api-keys"


def ticked(html: str, button: str = "Save") -> list[str]:
    form = find_form(html, button=button)
    assert form is not None
    return [c.value for c in form.controls if c.name == "scopes" and c.checked]


async def test_starting_scopes_are_the_profile_and_what_everyone_may_read() -> None:
    assert STARTING_SCOPES == ("tickets:read", "contacts:read", "users:read", "profile")


async def test_a_new_client_starts_with_the_read_scopes_only(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    page = await http.get(f"{CLIENTS}/new")
    assert sorted(ticked(page.text)) == sorted(STARTING_SCOPES)
    form = find_form(page.text, button="Save")
    assert form is not None
    form.fill("Client name", "Reader")
    saved = await http.post(f"{CLIENTS}/new", data=_fields(form.submission("Save")))
    assert saved.status_code == 303
    client = await db.scalar(select(OAuthClient))
    assert client is not None and sorted(client.scopes) == sorted(STARTING_SCOPES)
    token = await password_token(http, client.client_id, admin.email)
    assert set(token["scope"].split()) == set(STARTING_SCOPES)


async def test_writing_scopes_are_ticked_on_purpose(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    page = await http.get(f"{CLIENTS}/new")
    form = find_form(page.text, button="Save")
    assert form is not None
    form.fill("Client name", "Writer")
    form.check("Create, update and reply to tickets")
    saved = await http.post(f"{CLIENTS}/new", data=_fields(form.submission("Save")))
    assert saved.status_code == 303
    client = await db.scalar(select(OAuthClient))
    assert client is not None and "tickets:write" in client.scopes
    assert "users:write" not in client.scopes and "audit:read" not in client.scopes


async def test_a_new_api_key_starts_with_the_read_scopes_only(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    page = await http.get(f"{KEYS}/new")
    assert sorted(ticked(page.text)) == sorted(STARTING_SCOPES)
    form = find_form(page.text, button="Save")
    assert form is not None
    form.fill("Name", "Reader key")
    made = await http.post(f"{KEYS}/new", data=_fields(form.submission("Save")))
    assert made.status_code == 303
    key = await db.scalar(select(ApiKey))
    assert key is not None and sorted(key.scopes) == sorted(STARTING_SCOPES)


def _fields(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


async def test_deactivate_is_a_link_to_a_question(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User
) -> None:
    await login(http, admin.email)
    listing = await http.get("/users")
    url = f"/users/{agent.id}/deactivate"
    assert f'href="{url}"' in listing.text
    assert find_form(listing.text, button="Deactivate") is None  # no one-click form
    asked = await http.get(url)
    assert asked.status_code == 200
    assert "Deactivate “Agent”?" in asked.text
    assert 'href="/users"' in asked.text  # Cancel
    await db.refresh(agent)
    assert agent.is_active  # asking changes nothing
    form = find_form(asked.text, button="Deactivate")
    assert form is not None and form.method == "post" and form.action == url
    done = await http.post(url, data=dict(form.submission("Deactivate")))
    assert done.status_code == 303
    await db.refresh(agent)
    assert not agent.is_active

    reactivate = await http.get(f"/users/{agent.id}/activate")
    assert "Reactivate “Agent”?" in reactivate.text
    form = find_form(reactivate.text, button="Reactivate")
    assert form is not None
    await http.post(form.url("/users"), data=dict(form.submission("Reactivate")))
    await db.refresh(agent)
    assert agent.is_active


async def test_enabling_a_client_asks_too(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    oauth_client.is_enabled = False
    await db.merge(oauth_client)
    await db.commit()
    await login(http, admin.email)
    url = f"{CLIENTS}/{oauth_client.id}/edit"
    form = find_form((await http.get(url)).text, button="Save", containing="Enabled")
    assert form is not None
    form.check("Enabled")
    form.fill("Description", "Back in service")
    asked = await http.post(url, data=_fields(form.submission("Save")))
    assert asked.status_code == 200
    assert "Enable “Helpdesk Sync”?" in asked.text
    await db.refresh(oauth_client)
    assert not oauth_client.is_enabled and oauth_client.description == "Syncs tickets."
    confirm = find_form(asked.text, button="Enable and save")
    assert confirm is not None
    done = await http.post(url, data=_fields(confirm.submission("Enable and save")))
    assert done.status_code == 303
    await db.refresh(oauth_client)
    assert oauth_client.is_enabled and oauth_client.description == "Back in service"


@pytest.mark.parametrize(
    "path",
    [
        "/users/{agent}/deactivate",
        "/users/{agent}/activate",
        CLIENTS + "/{client}/secret",
        CLIENTS + "/{client}/revoke-tokens",
        CLIENTS + "/{client}/delete",
    ],
)
async def test_agents_get_no_confirmation_page(
    http: httpx.AsyncClient, agent: User, oauth_client: OAuthClient, path: str
) -> None:
    await login(http, agent.email)
    url = path.format(agent=agent.id, client=oauth_client.id)
    assert (await http.get(url)).status_code == 403


async def test_a_user_of_another_tenant_is_not_found(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    other_tenant: TenantInfo,
    admin: User,
) -> None:
    theirs = await make_user(db, platform, other_tenant, "agent@globex.example", Role.AGENT)
    await login(http, admin.email)
    for target in (theirs.id, uuid.uuid4()):
        for change in ("deactivate", "activate"):
            assert (await http.get(f"/users/{target}/{change}")).status_code == 404
        home = await http.get("/users")
        role = await http.post(
            f"/users/{target}/role",
            data={"csrf_token": csrf_from(home.text), "role": "admin", "confirmed": "yes"},
        )
        assert role.status_code == 404
    await db.refresh(theirs)
    assert theirs.role is Role.AGENT and theirs.is_active


async def test_unticking_every_scope_is_kept_and_a_bare_request_gets_the_starting_ones(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    page = await http.get(f"{CLIENTS}/new")
    form = find_form(page.text, button="Save")
    assert form is not None
    form.fill("Client name", "Nothing")
    for control in form.controls:
        if control.name == "scopes":
            control.checked = False
    assert (await http.post(f"{CLIENTS}/new", data=_fields(form.submission("Save")))).is_redirect
    bare = await http.post(
        f"{CLIENTS}/new", data={"csrf_token": csrf_from(page.text), "client_name": "Bare"}
    )
    assert bare.status_code == 303
    made = {c.client_name: c.scopes for c in await db.scalars(select(OAuthClient))}
    assert made["Nothing"] == []
    assert sorted(made["Bare"]) == sorted(STARTING_SCOPES)
