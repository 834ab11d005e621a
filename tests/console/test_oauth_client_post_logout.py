"""Action > Edit: the Post-logout URIs of OpenID Connect RP-initiated logout."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from tests.console.test_oauth_client_settings import edit_url, save
from tests.helpers import login


@pytest.fixture
async def signed_in(http: httpx.AsyncClient, admin: User) -> User:
    await login(http, admin.email)
    return admin


async def test_field_is_shown_with_its_explanation(
    http: httpx.AsyncClient, oauth_client: OAuthClient, signed_in: User
) -> None:
    html = (await http.get(edit_url(oauth_client))).text
    assert "Post-logout URIs" in html
    assert 'name="post_logout_redirect_uris"' in html
    assert "after the application signs them out" in html


async def test_saved_one_per_line(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, signed_in: User
) -> None:
    response = await save(
        http,
        oauth_client,
        post_logout_redirect_uris=" https://app.example/bye \n\nhttp://localhost:8765/bye\n",
    )
    assert response.status_code == 303, response.text
    await db.refresh(oauth_client)
    assert oauth_client.post_logout_redirect_uris == [
        "https://app.example/bye",
        "http://localhost:8765/bye",
    ]
    html = (await http.get(edit_url(oauth_client))).text
    assert "https://app.example/bye\nhttp://localhost:8765/bye</textarea>" in html


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("http://app.example/bye", id="http-not-loopback"),
        pytest.param("https://app.example/bye#x", id="fragment"),
        pytest.param("/bye", id="relative"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("\n".join(f"https://app.example/{i}" for i in range(11)), id="too-many"),
    ],
)
async def test_same_rules_as_redirect_uris(
    http: httpx.AsyncClient,
    db: AsyncSession,
    oauth_client: OAuthClient,
    signed_in: User,
    value: str,
) -> None:
    response = await save(http, oauth_client, post_logout_redirect_uris=value)
    assert response.status_code == 422
    assert 'id="post_logout_redirect_uris_error"' in response.text
    await db.refresh(oauth_client)
    assert oauth_client.post_logout_redirect_uris == []


async def test_id_token_signing_algorithm_is_chosen_on_the_edit_page(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, signed_in: User
) -> None:
    html = (await http.get(edit_url(oauth_client))).text
    assert "ID token signing algorithm" in html
    assert '<option value="RS256" selected>' in html
    response = await save(http, oauth_client, id_token_signed_response_alg="ES256")
    assert response.status_code == 303, response.text
    await db.refresh(oauth_client)
    assert oauth_client.id_token_signed_response_alg == "ES256"
    assert '<option value="ES256" selected>' in (await http.get(edit_url(oauth_client))).text


async def test_unknown_id_token_signing_algorithm_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, signed_in: User
) -> None:
    response = await save(http, oauth_client, id_token_signed_response_alg="none")
    assert response.status_code == 422
    assert "Choose RS256 or ES256." in response.text
    await db.refresh(oauth_client)
    assert oauth_client.id_token_signed_response_alg is None
