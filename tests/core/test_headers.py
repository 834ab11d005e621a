"""Security headers on every kind of response (pages, API, OAuth, errors)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from cloudcx.accounts.models import User
from cloudcx.tenancy.service import TenantInfo
from tests import helpers
from tests.tenancy.test_middleware import trusting


def assert_hardened(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/",
        "/settings/security/audit-log",
        "/api/v1/me",
        "/oauth/token",
        "/.well-known/jwks.json",
        "/nowhere",
        "/healthz",
        "/static/console.css",
    ],
)
async def test_every_response_is_hardened(
    http: httpx.AsyncClient, tenant: TenantInfo, path: str
) -> None:
    assert_hardened(await http.get(path))


async def test_signed_in_pages_are_hardened(http: httpx.AsyncClient, admin: User) -> None:
    await helpers.login(http, admin.email)
    for path in ("/", "/account/security", "/settings/security/oauth-clients"):
        response = await http.get(path)
        assert response.status_code == 200
        assert_hardened(response)
        assert "<script>" not in response.text  # no inline script anywhere
        assert response.headers["cache-control"] == "no-store"


async def test_unknown_host_404_is_hardened(http: httpx.AsyncClient, tenant: TenantInfo) -> None:
    response = await http.get("/login", headers={"host": "evil.example"})
    assert response.status_code == 404
    assert_hardened(response)


async def test_docs_allow_only_their_own_inline_bootstrap(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    csp = (await http.get("/docs")).headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp


async def test_no_hsts_over_plain_http(http: httpx.AsyncClient, tenant: TenantInfo) -> None:
    assert "strict-transport-security" not in (await http.get("/login")).headers


async def test_hsts_over_https(app: FastAPI, tenant: TenantInfo) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 1))
    async with httpx.AsyncClient(transport=transport, base_url="https://localhost") as client:
        response = await client.get("/login")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_hsts_behind_a_trusted_tls_proxy(app: FastAPI, tenant: TenantInfo) -> None:
    with trusting(app, "10.0.0.1"):
        transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            response = await client.get("/login", headers={"x-forwarded-proto": "https"})
    assert "strict-transport-security" in response.headers
