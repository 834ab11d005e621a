"""RFC 6750: how the API takes and refuses bearer tokens."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from cloudcx.accounts.models import User
from cloudcx.api.auth import current_token
from cloudcx.oauth import revocation
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer, password_token


async def test_no_token_is_401_with_a_bare_challenge(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    """§3.1: without credentials the challenge SHOULD NOT carry an error code."""
    response = await http.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="CloudCX API"'
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer a b",
        "Token abc",
        "bearer not-a-jwt",
        "Bearer eyJhbGciOiJub25lIn0.e30.",
    ],
    ids=[
        "scheme-only",
        "empty-token",
        "basic-scheme",
        "two-tokens",
        "other-scheme",
        "not-a-jwt",
        "unsigned-jwt",
    ],
)
async def test_malformed_credentials_are_invalid_token(
    http: httpx.AsyncClient, tenant: TenantInfo, header: str
) -> None:
    response = await http.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="CloudCX API"')
    assert 'error="invalid_token"' in challenge
    assert response.json()["error"] == "invalid_token"


async def test_scheme_is_case_insensitive(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
) -> None:
    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    response = await http.get("/api/v1/me", headers={"Authorization": f"bEaReR {token}"})
    assert response.status_code == 200


async def test_token_of_another_tenant_is_invalid_token(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User, other_tenant: TenantInfo
) -> None:
    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    response = await http.get("/api/v1/me", headers={**bearer(token), "Host": "globex.example"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_missing_scope_is_403_insufficient_scope(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
) -> None:
    body = await password_token(http, oauth_client.client_id, admin.email, scope="contacts:read")
    response = await http.get("/api/v1/tickets", headers=bearer(body["access_token"]))
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="tickets:read"' in challenge


async def test_revoked_token_is_refused_after_the_next_refresh(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    oauth_client: OAuthClient,
    admin: User,
    tenant: TenantInfo,
) -> None:
    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    assert (await http.get("/api/v1/me", headers=bearer(token))).status_code == 200
    await revocation.revoke(db, tenant.id, revocation.Kind.USER, str(admin.id))
    await db.commit()
    await platform.revocations.refresh()
    response = await http.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_bearer_check_makes_no_database_query(
    http: httpx.AsyncClient,
    platform: Platform,
    oauth_client: OAuthClient,
    admin: User,
    tenant: TenantInfo,
) -> None:
    """DESIGN.md §8: signature and revocation are checked from memory."""
    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    request = Request(
        {
            "type": "http",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
            "app": transport.app,
            "state": {"tenant": tenant},
        }
    )
    statements: list[object] = []

    def count(*args: object) -> None:
        statements.append(args[2])

    event.listen(platform.engine.sync_engine, "before_cursor_execute", count)
    try:
        verified = await current_token(request)
    finally:
        event.remove(platform.engine.sync_engine, "before_cursor_execute", count)
    assert verified.user_id == admin.id
    assert statements == []


async def test_every_api_operation_refuses_a_request_without_a_token(
    http: httpx.AsyncClient, app: FastAPI, tenant: TenantInfo
) -> None:
    """Access is checked by each operation's own dependency (api.auth.api_access):
    an operation that forgot it would be open to anyone. None may."""
    operations = [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/api/v1/")
        for method in item
    ]
    assert len(operations) > 15
    for method, path in operations:
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        response = await http.request(method, url, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
