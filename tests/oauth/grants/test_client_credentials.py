"""RFC 6749 §4.4: the client credentials grant, for confidential clients only."""

from __future__ import annotations

import base64

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer
from tests.oauth.flows import SECRET, assert_oauth_error, configure


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client, confidential=True)


def basic(client: OAuthClient, secret: str = SECRET) -> dict[str, str]:
    raw = f"{client.client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def grant(
    http: httpx.AsyncClient, client: OAuthClient, secret: str = SECRET, **extra: str
) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **extra},
        headers=basic(client, secret),
    )


async def test_token_subject_is_the_client(http: httpx.AsyncClient, client: OAuthClient) -> None:
    response = await grant(http, client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body  # §4.4.3
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == client.client_id
    assert "uid" not in claims
    assert "profile" not in body["scope"].split()  # needs a user
    me = await http.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["user"] is None


async def test_secret_in_body_works(http: httpx.AsyncClient, client: OAuthClient) -> None:
    data = {"grant_type": "client_credentials", "client_id": client.client_id}
    response = await http.post("/oauth/token", data={**data, "client_secret": SECRET})
    assert response.status_code == 200


async def test_narrower_scope(http: httpx.AsyncClient, client: OAuthClient) -> None:
    response = await grant(http, client, scope="tickets:read")
    assert response.json()["scope"] == "tickets:read"


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"scope": "profile"}, "invalid_scope"),
        ({"scope": "no-such-scope"}, "invalid_scope"),
    ],
    ids=["scope-that-needs-a-user", "unknown-scope"],
)
async def test_bad_scope(
    http: httpx.AsyncClient, client: OAuthClient, extra: dict[str, str], error: str
) -> None:
    assert_oauth_error(await grant(http, client, **extra), 400, error)


async def test_client_without_user_free_scopes_is_invalid_scope(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    client = await configure(db, client, scopes=["profile"])
    assert_oauth_error(await grant(http, client), 400, "invalid_scope")


async def test_scope_not_allowed_to_the_client_is_invalid_scope(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    client = await configure(db, client, scopes=["tickets:read"])
    assert_oauth_error(await grant(http, client, scope="tickets:write"), 400, "invalid_scope")


async def test_public_client_is_unauthorized_client(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient
) -> None:
    client = await configure(db, oauth_client)
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client.client_id},
    )
    assert_oauth_error(response, 400, "unauthorized_client")


async def test_grant_not_allowed_is_unauthorized_client(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    client = await configure(db, client, grant_types=["password"], confidential=True)
    assert_oauth_error(await grant(http, client), 400, "unauthorized_client")


async def test_wrong_secret_is_invalid_client(http: httpx.AsyncClient, client: OAuthClient) -> None:
    response = await grant(http, client, secret="wrong")
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_other_tenant_is_invalid_client(
    http: httpx.AsyncClient, client: OAuthClient, other_tenant: TenantInfo
) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={**basic(client), "Host": "globex.example"},
    )
    assert_oauth_error(response, 401, "invalid_client")
