"""DESIGN.md §2: the request host selects the tenant; unknown hosts get 404."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.platform import Platform
from cloudcx.tenancy.service import (
    DomainError,
    TenantDirectory,
    create_tenant,
    host_without_port,
    normalize_domain,
)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost:8000", "localhost"),
        ("CX.Acme.Example", "cx.acme.example"),
        ("cx.acme.example.", "cx.acme.example"),
        ("[::1]:8000", "[::1]"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_host_without_port(host: str, expected: str) -> None:
    assert host_without_port(host) == expected


@pytest.mark.parametrize(
    "bad",
    ["", "exa mple.com", "-lead.example", "a/b", "x" * 300, "évil.example"],
    ids=["empty", "space", "leading-hyphen", "slash", "too-long", "non-ascii"],
)
def test_bad_domains_are_refused(bad: str) -> None:
    with pytest.raises(DomainError):
        normalize_domain(bad)


@pytest.mark.parametrize(
    "host",
    ["nobody.example", "localhost.evil.example", ""],
    ids=["unknown", "suffix-trick", "empty"],
)
async def test_unknown_host_is_404(http: httpx.AsyncClient, tenant: object, host: str) -> None:
    """(A malformed host, such as one with userinfo, is a 400: tenancy/test_middleware.py.)"""
    response = await http.get("/login", headers={"Host": host})
    assert response.status_code == 404
    assert response.json()["detail"] == "No tenant is served at this host."


async def test_every_domain_of_a_tenant_reaches_it(http: httpx.AsyncClient, tenant: object) -> None:
    for host in ("localhost", "127.0.0.1:8000", "LOCALHOST"):
        response = await http.get("/login", headers={"Host": host})
        assert response.status_code == 200
        assert "Sign in to Acme" in response.text


async def test_health_check_needs_no_tenant(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz", headers={"Host": "10.0.0.5"})
    assert response.json() == {"status": "ok"}


async def test_a_domain_belongs_to_one_tenant(db: AsyncSession, tenant: object) -> None:
    with pytest.raises(DomainError, match="already belongs"):
        await create_tenant(db, "Copycat", ["LocalHost"])


async def test_directory_caches_for_its_ttl(db: AsyncSession, platform: Platform) -> None:
    directory = TenantDirectory(platform.sessionmaker, ttl=60)
    assert await directory.by_host("late.example") is None
    await create_tenant(db, "Late", ["late.example"])
    await db.commit()
    assert await directory.by_host("late.example") is None  # cached negative answer
    directory.invalidate()
    found = await directory.by_host("late.example")
    assert found is not None and found.name == "Late"


async def test_forwarded_headers_are_ignored_from_untrusted_peers(
    http: httpx.AsyncClient, tenant: object, other_tenant: object
) -> None:
    response = await http.get(
        "/login",
        headers={"X-Forwarded-Host": "globex.example", "X-Forwarded-Proto": "https"},
    )
    assert "Sign in to Acme" in response.text
    assert "Secure" not in response.headers.get("set-cookie", "")
