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
