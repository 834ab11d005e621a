"""Forwarded headers are believed only from CLOUDCX_TRUSTED_PROXIES; unknown hosts are 404."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.audit.models import AuditEvent
from cloudcx.tenancy.middleware import TenantMiddleware
from cloudcx.tenancy.service import TenantInfo
from tests import helpers


def _tenant_middleware(app: FastAPI) -> TenantMiddleware:
    node: Any = app.middleware_stack
    if node is None:
        app.middleware_stack = node = app.build_middleware_stack()
    while not isinstance(node, TenantMiddleware):
        node = node.app
    return node


@contextmanager
def trusting(app: FastAPI, *proxies: str) -> Iterator[None]:
    """Run with CLOUDCX_TRUSTED_PROXIES set to ``proxies``."""
    middleware = _tenant_middleware(app)
    saved = middleware.trusted
    middleware.trusted = frozenset(proxies)
    try:
        yield
    finally:
        middleware.trusted = saved


async def failed_login_ip(app: FastAPI, peer: str, forwarded: str, db: AsyncSession) -> str:
    transport = httpx.ASGITransport(app=app, client=(peer, 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        client.headers["x-forwarded-for"] = forwarded
        await helpers.login(client, "nobody@acme.example", "wrong-password-1")
    await app.state.platform.audit.flush()  # failed sign-ins are queued
    ips = list(await db.scalars(select(AuditEvent.ip).order_by(AuditEvent.id.desc())))
    return ips[0]


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "seen"),
    [
        ((), "198.51.100.1", "1.2.3.4", "198.51.100.1"),
        (("10.0.0.1",), "198.51.100.1", "1.2.3.4", "198.51.100.1"),
        (("10.0.0.1",), "10.0.0.1", "1.2.3.4", "1.2.3.4"),
        (("10.0.0.1",), "10.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),
        (("10.0.0.1", "10.0.0.2"), "10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", "1.2.3.4"),
    ],
    ids=[
        "no-proxy-configured",
        "untrusted-peer-spoofing",
        "trusted-proxy",
        "client-prepended-fake-hop",
        "two-trusted-hops",
    ],
)
async def test_client_ip(
    app: FastAPI,
    db: AsyncSession,
    tenant: TenantInfo,
    trusted: tuple[str, ...],
    peer: str,
    forwarded: str,
    seen: str,
) -> None:
    with trusting(app, *trusted):
        assert await failed_login_ip(app, peer, forwarded, db) == seen


async def test_spoofed_forwarded_for_does_not_escape_the_throttle(
    app: FastAPI, tenant: TenantInfo
) -> None:
    """Rotating X-Forwarded-For from an untrusted peer is still one address."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.1", 1))
    statuses = []
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        for n in range(8):
            client.headers["x-forwarded-for"] = f"7.7.7.{n}"
            statuses.append((await helpers.login(client, "x@acme.example", f"bad-{n}")).status_code)
    assert 429 in statuses


@pytest.mark.parametrize(
    "host",
    ["evil.example", "localhost.evil.example", "", "LOCALHOST.", "127.0.0.2"],
    ids=["other", "suffix", "empty", "case-dot", "other-ip"],
)
async def test_host_resolution(http: httpx.AsyncClient, tenant: TenantInfo, host: str) -> None:
    response = await http.get("/login", headers={"host": host})
    expected = 200 if host == "LOCALHOST." else 404
    assert response.status_code == expected


async def test_forwarded_host_ignored_from_untrusted_peer(
    http: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    response = await http.get("/login", headers={"x-forwarded-host": "globex.example"})
    assert "Globex" not in response.text


BAD_HOSTS = [
    "localhost:1@evil.example",
    "localhost@evil.example",
    "localhost/evil",
    "localhost:",
    "localhost:0",
    "localhost:65536",
    "localhost:80:80",
    "local host",
    "localhost..",
    "-localhost",
    "[::1",
    "[not:an:ip]",
    "l\u00f6calhost",
]
BAD_HOST_IDS = [
    "userinfo-after-port",
    "userinfo",
    "path",
    "empty-port",
    "port-zero",
    "port-too-big",
    "two-ports",
    "space",
    "empty-label",
    "leading-hyphen",
    "unclosed-ipv6",
    "ipv6-not-an-address",
    "non-ascii",
]


def assert_bad_host(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "The Host header is not a valid host.",
    }


@pytest.mark.parametrize("host", BAD_HOSTS, ids=BAD_HOST_IDS)
@pytest.mark.parametrize("path", ["/login", "/.well-known/oauth-authorization-server", "/healthz"])
async def test_a_malformed_host_is_refused(
    http: httpx.AsyncClient, tenant: TenantInfo, host: str, path: str
) -> None:
    assert_bad_host(await http.get(path, headers={"host": host.encode()}))


@pytest.mark.parametrize("host", BAD_HOSTS, ids=BAD_HOST_IDS)
async def test_a_malformed_forwarded_host_is_refused(
    app: FastAPI, tenant: TenantInfo, host: str
) -> None:
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1))
    with trusting(app, "10.0.0.1"):
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            response = await client.get("/login", headers={"x-forwarded-host": host.encode()})
    assert_bad_host(response)


@pytest.mark.parametrize(
    ("host", "issuer"),
    [
        ("localhost", "http://localhost"),
        ("LocalHost:8080", "http://localhost:8080"),
        ("localhost.", "http://localhost."),
        ("127.0.0.1:65535", "http://127.0.0.1:65535"),
    ],
    ids=["name", "name-port-case", "trailing-dot", "ipv4-max-port"],
)
async def test_a_well_formed_host_is_the_issuer(
    http: httpx.AsyncClient, tenant: TenantInfo, host: str, issuer: str
) -> None:
    response = await http.get("/.well-known/oauth-authorization-server", headers={"host": host})
    assert response.status_code == 200, response.text
    assert response.json()["issuer"] == issuer


async def test_an_ipv6_host_is_parsed_not_refused(http: httpx.AsyncClient) -> None:
    """No tenant has the address, so 404; the brackets and port themselves are fine."""
    response = await http.get("/login", headers={"host": "[2001:db8::1]:8443"})
    assert response.status_code == 404
    assert response.json()["detail"] == "No tenant is served at this host."
