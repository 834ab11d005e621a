"""Global Settings > Security > OAuth Client, as the guide describes it."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth import clients
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import csrf_from, form_post, login

LIST = "/settings/security/oauth-clients"


@pytest.fixture
async def signed_in(http: httpx.AsyncClient, admin: User) -> User:
    await login(http, admin.email)
    return admin


async def test_navigation_has_the_guides_path(http: httpx.AsyncClient, signed_in: User) -> None:
    home = (await http.get("/")).text
    assert home.index("Global Settings") < home.index("Security") < home.index("OAuth Client")
    page = await http.get(LIST)
    assert page.status_code == 200
    assert "New OAuth Client" in page.text


async def test_create_lists_the_client_with_a_message(
    http: httpx.AsyncClient, db: AsyncSession, signed_in: User
) -> None:
    response = await form_post(
        http, f"{LIST}/new", {"client_name": "  Zapier  ", "description": "Automations"}
    )
    assert response.status_code == 303
    page = await http.get(response.headers["location"])
    assert "OAuth client created." in page.text
    for heading in ("Client name", "Description", "Client ID", "Created", "Action"):
        assert f">{heading}</th>" in page.text
    client = await db.scalar(select(OAuthClient))
    assert client is not None
    assert client.client_name == "Zapier"  # trimmed
    assert client.client_id in page.text
    assert client.grant_types == ["password"]
    assert not client.is_confidential
    assert f"{LIST}/{client.id}/edit" in page.text


async def test_client_ids_are_random_and_url_safe(db: AsyncSession, tenant: TenantInfo) -> None:
    made = [
        await clients.create_client(db, tenant_id=tenant.id, client_name=f"c{i}") for i in range(20)
    ]
    ids = {c.client_id for c in made}
    assert len(ids) == 20
    for value in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", value)  # ≥ 128 bits of base64url


@pytest.mark.parametrize(
    ("name", "description", "field", "message"),
    [
        ("", "d", "client_name", "Client name is required."),
        ("   ", "d", "client_name", "Client name is required."),
        ("x" * 101, "d", "client_name", "at most 100 characters"),
        ("ok", "y" * 501, "description", "at most 500 characters"),
    ],
    ids=["empty-name", "blank-name", "name-too-long", "description-too-long"],
)
async def test_validation_errors_appear_beside_the_field(
    http: httpx.AsyncClient,
    db: AsyncSession,
    signed_in: User,
    name: str,
    description: str,
    field: str,
    message: str,
) -> None:
    response = await form_post(
        http, f"{LIST}/new", {"client_name": name, "description": description}
    )
    assert response.status_code == 422
    assert f'id="{field}_error">' in response.text
    assert message in response.text
    assert description in response.text  # input kept
    assert await db.scalar(select(OAuthClient)) is None


async def test_edit_shows_the_client_id_and_saves_changes(
    http: httpx.AsyncClient, db: AsyncSession, signed_in: User, oauth_client: OAuthClient
) -> None:
    url = f"{LIST}/{oauth_client.id}/edit"
    page = await http.get(url)
    assert page.status_code == 200
    assert re.search(
        rf'<input id="client_id" type="text" value="{oauth_client.client_id}" readonly>',
        page.text,
    )
    assert 'data-copy-target="client_id"' in page.text
    data = {"client_name": "Renamed", "description": "New", "is_enabled": "on"}
    response = await form_post(http, url, data)
    # Save stays on Edit, with a notice.
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?notice=updated"
    saved = await http.get(response.headers["location"])
    assert "OAuth client saved." in saved.text and 'value="Renamed"' in saved.text
    await db.refresh(oauth_client)
    assert (oauth_client.client_name, oauth_client.description) == ("Renamed", "New")
    assert oauth_client.is_enabled


async def test_edit_validation_keeps_the_record(
    http: httpx.AsyncClient, db: AsyncSession, signed_in: User, oauth_client: OAuthClient
) -> None:
    response = await form_post(
        http, f"{LIST}/{oauth_client.id}/edit", {"client_name": "", "description": "x"}
    )
    assert response.status_code == 422
    await db.refresh(oauth_client)
    assert oauth_client.client_name == "Helpdesk Sync"


async def test_delete_asks_for_confirmation(
    http: httpx.AsyncClient, db: AsyncSession, signed_in: User, oauth_client: OAuthClient
) -> None:
    url = f"{LIST}/{oauth_client.id}/delete"
    confirm = await http.get(url)
    assert confirm.status_code == 200
    assert "Delete “Helpdesk Sync”?" in confirm.text
    assert await db.scalar(select(OAuthClient)) is not None  # GET changes nothing
    response = await http.post(url, data={"csrf_token": csrf_from(confirm.text)})
    assert response.status_code == 303
    db.expire_all()
    assert await db.scalar(select(OAuthClient)) is None


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", "/new"),
        ("post", "/new"),
        ("get", ""),
        ("get", "/{id}/edit"),
        ("post", "/{id}/edit"),
        ("get", "/{id}/delete"),
        ("post", "/{id}/delete"),
    ],
)
async def test_agents_get_a_403_page(
    http: httpx.AsyncClient, agent: User, oauth_client: OAuthClient, method: str, suffix: str
) -> None:
    await login(http, agent.email)
    home = await http.get("/")
    assert "OAuth Client" not in home.text  # not in an agent's menu
    url = LIST + suffix.format(id=oauth_client.id)
    response = await http.request(
        method, url, data={"csrf_token": csrf_from(home.text)} if method == "post" else None
    )
    assert response.status_code == 403
    assert "Access denied" in response.text


@pytest.mark.parametrize("suffix", ["/edit", "/delete"])
async def test_client_of_another_tenant_is_404(
    http: httpx.AsyncClient,
    db: AsyncSession,
    signed_in: User,
    other_tenant: TenantInfo,
    suffix: str,
) -> None:
    foreign = await clients.create_client(db, tenant_id=other_tenant.id, client_name="Globex")
    await db.commit()
    page = await http.get(f"{LIST}/{foreign.id}{suffix}")
    assert page.status_code == 404
    home = await http.get("/")
    response = await http.post(
        f"{LIST}/{foreign.id}{suffix}",
        data={"csrf_token": csrf_from(home.text), "client_name": "Pwned"},
    )
    assert response.status_code == 404
    await db.refresh(foreign)
    assert foreign.client_name == "Globex"


@pytest.mark.parametrize("ident", ["not-a-uuid", str(uuid.uuid4()), "%00"])
async def test_unknown_client_is_a_404_page(
    http: httpx.AsyncClient, signed_in: User, ident: str
) -> None:
    response = await http.get(f"{LIST}/{ident}/edit")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]


async def test_form_post_without_csrf_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, signed_in: User
) -> None:
    response = await http.post(f"{LIST}/new", data={"client_name": "x"})
    assert response.status_code == 403
    assert await db.scalar(select(OAuthClient)) is None


async def test_oversized_field_is_a_clear_400(http: httpx.AsyncClient, signed_in: User) -> None:
    response = await form_post(http, f"{LIST}/new", {"client_name": "x" * 20_000})
    assert response.status_code == 400
    assert "The form could not be read" in response.text
