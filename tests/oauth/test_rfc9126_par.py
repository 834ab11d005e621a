"""RFC 9126 §2: the pushed authorization request endpoint, its metadata and housekeeping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.api.ratelimit import RateLimiter
from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.oauth import housekeeping
from cloudcx.oauth.models import OAuthClient, PushedAuthorizationRequest
from cloudcx.tenancy.service import TenantInfo
from tests.oauth.flows import (
    REDIRECT_URI,
    SECRET,
    assert_oauth_error,
    authorize_params,
    configure,
)
from tests.oauth.par import URN, basic, public_client, push, pushed_uri

pytestmark = pytest.mark.usefixtures("admin")


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    """A confidential client allowed the code flow."""
    return await configure(db, oauth_client, confidential=True)


@pytest.fixture
async def public(db: AsyncSession, tenant: TenantInfo) -> OAuthClient:
    return await public_client(db, tenant)


# --- The PAR endpoint (§2) ------------------------------------------------------------


async def test_confidential_client_pushes_and_gets_a_request_uri(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    response = await push(http, client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"request_uri", "expires_in"}
    assert body["expires_in"] == 60
    assert body["request_uri"].startswith(URN)
    reference = body["request_uri"].removeprefix(URN)
    assert len(reference) >= 43  # 256 bits, base64url
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["ratelimit-limit"] == "300"
    row = (await db.scalars(select(PushedAuthorizationRequest))).one()
    # Only the digest is stored, as codes are.
    assert row.request_digest == secrets.digest(reference)
    assert reference not in str(row.params)
    assert row.client_pk == client.id and row.tenant_id == client.tenant_id
    assert row.params["state"] == "xyz-state" and row.params["scope"] == "tickets:read profile"
    assert "client_secret" not in row.params
    lifetime = row.expires_at - utcnow()
    assert timedelta(seconds=55) < lifetime <= timedelta(seconds=60)


async def test_every_push_gets_its_own_request_uri(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    assert await pushed_uri(http, client) != await pushed_uri(http, client)


async def test_client_secret_post_is_accepted_and_not_stored(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    response = await push(http, client, headers={}, client_secret=SECRET)
    assert response.status_code == 201, response.text
    row = (await db.scalars(select(PushedAuthorizationRequest))).one()
    assert "client_secret" not in row.params


async def test_basic_client_may_leave_client_id_out_of_the_body(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    response = await push(http, client, client_id=None)
    assert response.status_code == 201, response.text
    row = (await db.scalars(select(PushedAuthorizationRequest))).one()
    assert row.params["client_id"] == client.client_id


@pytest.mark.parametrize(
    ("headers", "body", "status", "error", "challenge"),
    [
        ({"basic_secret": "wrong-secret"}, {}, 401, "invalid_client", True),
        ({}, {"client_secret": "wrong-secret"}, 401, "invalid_client", False),
        ({}, {}, 401, "invalid_client", False),
        ({"basic_id": "no-such-client"}, {"client_id": None}, 401, "invalid_client", True),
        ({"scheme": "Bearer abc"}, {}, 401, "invalid_client", True),
        ({"scheme": "Basic !!!"}, {}, 401, "invalid_client", True),
        ({"basic_secret": SECRET}, {"client_secret": SECRET}, 400, "invalid_request", False),
        ({"basic_secret": SECRET}, {"client_id": "someone-else"}, 400, "invalid_request", False),
    ],
    ids=[
        "basic-wrong-secret",
        "post-wrong-secret",
        "confidential-without-secret",
        "unknown-client",
        "not-basic-scheme",
        "malformed-basic",
        "two-authentication-methods",
        "body-client_id-differs-from-basic",
    ],
)
async def test_client_authentication_failures(
    http: httpx.AsyncClient,
    db: AsyncSession,
    client: OAuthClient,
    headers: dict[str, str],
    body: dict[str, str | None],
    status: int,
    error: str,
    challenge: bool,
) -> None:
    """§2.1: the client authenticates as at the token endpoint (RFC 6749 §2.3, §5.2)."""
    sent: dict[str, str] = {}
    if "scheme" in headers:
        sent = {"Authorization": headers["scheme"]}
    elif headers:
        sent = basic(headers.get("basic_id", client.client_id), headers.get("basic_secret", SECRET))
    response = await push(http, client, headers=sent, **body)
    assert_oauth_error(response, status, error)
    assert ("www-authenticate" in response.headers) is challenge
    if challenge:
        assert response.headers["www-authenticate"].startswith("Basic")
    assert (await db.scalars(select(PushedAuthorizationRequest))).first() is None


async def test_disabled_client_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    await configure(db, client, is_enabled=False)
    assert_oauth_error(await push(http, client), 401, "invalid_client")


async def test_secret_sent_for_a_public_client_is_refused(
    http: httpx.AsyncClient, public: OAuthClient
) -> None:
    response = await push(http, public, headers={}, client_secret="anything-at-all")
    assert_oauth_error(response, 401, "invalid_client")


async def test_public_client_with_pkce_may_push(
    http: httpx.AsyncClient, public: OAuthClient
) -> None:
    response = await push(http, public)
    assert response.status_code == 201, response.text


async def test_public_client_without_pkce_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, public: OAuthClient
) -> None:
    response = await push(http, public, code_challenge=None, code_challenge_method=None)
    assert_oauth_error(response, 400, "invalid_request")
    assert "PKCE" in response.json()["error_description"]
    assert (await db.scalars(select(PushedAuthorizationRequest))).first() is None


async def test_confidential_client_may_push_without_pkce(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    response = await push(http, client, code_challenge=None, code_challenge_method=None)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"request_uri": URN + "x" * 43}, "invalid_request"),
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "tickets:read no-such-scope"}, "invalid_scope"),
        ({"scope": "audit:read"}, "invalid_scope"),
        ({"redirect_uri": "https://evil.example/callback"}, "invalid_request"),
        ({"redirect_uri": REDIRECT_URI + "/more"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"state": "s" * 2001}, "invalid_request"),
    ],
    ids=[
        "request_uri-inside-a-pushed-request",
        "no-response_type",
        "implicit-response_type",
        "unknown-scope",
        "scope-not-allowed-to-the-client",
        "unregistered-redirect_uri",
        "redirect_uri-not-exactly-registered",
        "pkce-plain",
        "malformed-code_challenge",
        "parameter-too-long",
    ],
)
async def test_invalid_requests_are_refused_early(
    http: httpx.AsyncClient,
    db: AsyncSession,
    client: OAuthClient,
    overrides: dict[str, str | None],
    error: str,
) -> None:
    """§2.1: the request is validated as the authorization endpoint would; §2.3 errors."""
    await configure(db, client, scopes=["tickets:read", "profile"])
    response = await push(http, client, **overrides)
    assert_oauth_error(response, 400, error)
    assert response.json()["error_description"]
    assert (await db.scalars(select(PushedAuthorizationRequest))).first() is None


async def test_redirect_uri_may_be_left_out_when_only_one_is_registered(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    response = await push(http, client, redirect_uri=None)
    assert response.status_code == 201, response.text


async def test_client_without_the_code_grant_is_unauthorized(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    await configure(db, client, grant_types=["client_credentials"])
    assert_oauth_error(await push(http, client), 400, "unauthorized_client")


async def test_repeated_parameter_and_wrong_content_type_are_invalid(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    content = "response_type=code&scope=profile&scope=tickets%3Aread"
    response = await http.post(
        "/oauth/par",
        content=content,
        headers={**basic(client.client_id), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(response, 400, "invalid_request")
    response = await http.post(
        "/oauth/par", json=authorize_params(client), headers=basic(client.client_id)
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_only_post_is_allowed(http: httpx.AsyncClient) -> None:
    """§2.3: 405 for another method."""
    assert (await http.get("/oauth/par")).status_code == 405


async def test_client_of_another_tenant_is_unknown(
    http: httpx.AsyncClient, client: OAuthClient, other_tenant: TenantInfo
) -> None:
    response = await http.post(
        "/oauth/par",
        data=authorize_params(client),
        headers={**basic(client.client_id), "Host": "globex.example"},
    )
    assert_oauth_error(response, 401, "invalid_client")


@pytest.fixture
def small_limit(app: FastAPI) -> Iterator[None]:
    kept = app.state.par_limiter
    app.state.par_limiter = RateLimiter("2/minute")
    yield
    app.state.par_limiter = kept


@pytest.mark.usefixtures("small_limit")
async def test_past_the_rate_limit_is_429_with_retry_after(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    """§2.3: 429 when a client sends too many requests; counted before authentication."""
    assert (await push(http, client)).status_code == 201
    assert (await push(http, client, headers=basic(client.client_id, "wrong"))).status_code == 401
    refused = await push(http, client)
    assert_oauth_error(refused, 429, "invalid_request")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert len((await db.scalars(select(PushedAuthorizationRequest))).all()) == 1


async def test_metadata_advertises_the_endpoint(http: httpx.AsyncClient) -> None:
    """§5: pushed_authorization_request_endpoint and require_pushed_authorization_requests."""
    body = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert body["pushed_authorization_request_endpoint"] == "http://localhost/oauth/par"
    assert body["require_pushed_authorization_requests"] is False


async def test_openapi_documents_the_endpoint(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert "post" in paths["/oauth/par"]


# --- Housekeeping ------------------------------------------------------------------------


async def test_housekeeping_purges_expired_pushed_requests(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    await pushed_uri(http, client)
    await pushed_uri(http, client)
    assert await housekeeping.purge(db) == 0
    first = (await db.scalars(select(PushedAuthorizationRequest))).first()
    assert first is not None
    await db.execute(
        update(PushedAuthorizationRequest)
        .where(PushedAuthorizationRequest.request_digest == first.request_digest)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert await housekeeping.purge(db) == 1
    await db.commit()
    assert len((await db.scalars(select(PushedAuthorizationRequest))).all()) == 1
