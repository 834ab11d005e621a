"""OpenID Connect Core §5.3: the UserInfo endpoint, its claims and RFC 6750 errors."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer, password_token
from tests.oauth.dpop_keys import DPoPKey, dpop_headers
from tests.oauth.flows import SECRET, code_data, configure, get_code, tokens_for

pytestmark = pytest.mark.usefixtures("admin")


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        pytest.param("openid", {"sub"}, id="openid-only"),
        pytest.param("openid profile", {"sub", "name", "updated_at"}, id="profile"),
        pytest.param("openid email", {"sub", "email", "email_verified"}, id="email"),
        pytest.param(
            "openid profile email",
            {"sub", "name", "updated_at", "email", "email_verified"},
            id="all",
        ),
    ],
)
async def test_claims_follow_the_granted_scopes(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, scope: str, expected: set[str]
) -> None:
    body = await tokens_for(http, client, admin.email, scope=scope)
    response = await http.get("/userinfo", headers=bearer(body["access_token"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    claims = response.json()
    assert set(claims) == expected
    assert claims["sub"] == str(admin.id)
    if "name" in claims:
        assert claims["name"] == admin.name == "Admin"
        assert claims["updated_at"] == int(admin.updated_at.timestamp())
    if "email" in claims:
        assert claims["email"] == "admin@acme.example"
        assert claims["email_verified"] is False


async def test_post_with_header_and_with_form_body(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    token = (await tokens_for(http, client, admin.email, scope="openid email"))["access_token"]
    by_header = await http.post("/userinfo", headers=bearer(token))
    assert by_header.status_code == 200
    by_body = await http.post("/userinfo", data={"access_token": token})
    assert by_body.status_code == 200
    assert by_body.json() == by_header.json()


async def test_without_openid_scope_is_insufficient_scope(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    token = (await tokens_for(http, client, admin.email, scope="profile"))["access_token"]
    response = await http.get("/userinfo", headers=bearer(token))
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="openid"' in challenge


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        pytest.param({}, None, id="no-token"),
        pytest.param({"Authorization": "Bearer not.a.jwt"}, "invalid_token", id="garbage"),
        pytest.param({"Authorization": "Basic abc"}, "invalid_token", id="wrong-scheme"),
        pytest.param({"Authorization": "Bearer cxk_abcdef"}, "invalid_token", id="api-key"),
    ],
)
async def test_refused_credentials(
    http: httpx.AsyncClient, headers: dict[str, str], error: str | None
) -> None:
    response = await http.get("/userinfo", headers=headers)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    if error is None:
        assert "error=" not in challenge  # RFC 6750 §3.1
    else:
        assert f'error="{error}"' in challenge


async def test_client_credentials_token_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    client = await configure(db, client, confidential=True)
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, SECRET),
    )
    token = response.json()["access_token"]
    refused = await http.get("/userinfo", headers=bearer(token))
    # A token without a user is no OpenID Connect token, whatever its scope.
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


async def test_password_grant_token_with_openid_reads_userinfo(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    body = await password_token(http, client.client_id, admin.email, scope="openid email")
    response = await http.get("/userinfo", headers=bearer(body["access_token"]))
    assert response.json()["email"] == admin.email


async def test_token_of_another_tenant_is_refused(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, other_tenant: TenantInfo
) -> None:
    token = (await tokens_for(http, client, admin.email, scope="openid"))["access_token"]
    response = await http.get("/userinfo", headers={**bearer(token), "Host": "globex.example"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_deactivated_user_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    token = (await tokens_for(http, client, admin.email, scope="openid"))["access_token"]
    admin.is_active = False
    await db.merge(admin)
    await db.commit()
    response = await http.get("/userinfo", headers=bearer(token))
    assert response.status_code == 401


# --- DPoP-bound tokens (RFC 9449 §7) -------------------------------------------------------

USERINFO_URL = "http://localhost/userinfo"


async def bound_token(
    http: httpx.AsyncClient, client: OAuthClient, email: str, key: DPoPKey
) -> str:
    code = await get_code(http, client, email, scope="openid email")
    data = code_data(client, code)
    response = await http.post("/oauth/token", data=data, headers={"DPoP": key.proof()})
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    token: str = response.json()["access_token"]
    return token


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_dpop_bound_token_reads_userinfo_with_its_proof(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, method: str
) -> None:
    key = DPoPKey()
    token = await bound_token(http, client, admin.email, key)
    headers = dpop_headers(key, token, method, USERINFO_URL)
    response = await http.request(method, "/userinfo", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "admin@acme.example"


async def test_a_dpop_bound_token_is_refused_without_its_key(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    key = DPoPKey()
    token = await bound_token(http, client, admin.email, key)
    # As a bearer token, in the header or the form body (§7.2).
    for response in (
        await http.get("/userinfo", headers=bearer(token)),
        await http.post("/userinfo", data={"access_token": token}),
    ):
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("DPoP ")
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    # With a proof made by another key, or made for another URL.
    thief = dpop_headers(DPoPKey(), token, "GET", USERINFO_URL)
    refused = await http.get("/userinfo", headers=thief)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    elsewhere = dpop_headers(key, token, "GET", "http://localhost/api/v1/me")
    refused = await http.get("/userinfo", headers=elsewhere)
    assert refused.status_code == 401
    assert 'error="invalid_dpop_proof"' in refused.headers["www-authenticate"]
