"""RFC 6749 §6 and RFC 9700 §4.14.2: refresh with rotation and reuse detection."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.db import utcnow
from cloudcx.oauth import clients
from cloudcx.oauth.models import OAuthClient, RefreshToken, Revocation
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer, password_token
from tests.oauth.flows import assert_oauth_error, configure, refresh, tokens_for


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


@pytest.fixture
async def issued(http: httpx.AsyncClient, client: OAuthClient, admin: User) -> dict[str, Any]:
    return await tokens_for(http, client, admin.email, scope="tickets:read tickets:write profile")


async def test_refresh_rotates_the_refresh_token(
    http: httpx.AsyncClient, client: OAuthClient, issued: dict[str, Any]
) -> None:
    response = await refresh(http, client, issued["refresh_token"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] != issued["refresh_token"]
    assert body["access_token"] != issued["access_token"]
    assert body["scope"] == issued["scope"]
    assert response.headers["cache-control"] == "no-store"
    assert (await refresh(http, client, body["refresh_token"])).status_code == 200


async def test_refresh_token_is_stored_only_as_digest(
    db: AsyncSession, issued: dict[str, Any]
) -> None:
    rows = (await db.scalars(select(RefreshToken))).all()
    assert len(rows) == 1
    assert issued["refresh_token"] not in rows[0].token_digest
    assert len(issued["refresh_token"]) >= 4 + 43  # prefix + 256 bits


async def test_reuse_of_rotated_token_revokes_the_family(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    client: OAuthClient,
    issued: dict[str, Any],
) -> None:
    rotated = (await refresh(http, client, issued["refresh_token"])).json()
    reuse = await refresh(http, client, issued["refresh_token"])
    assert_oauth_error(reuse, 400, "invalid_grant")
    # The newest token of the family and every access token of it end too.
    assert_oauth_error(await refresh(http, client, rotated["refresh_token"]), 400, "invalid_grant")
    await platform.revocations.refresh()
    for token in (issued["access_token"], rotated["access_token"]):
        me = await http.get("/api/v1/me", headers=bearer(token))
        assert me.status_code == 401
    # The reuse is recorded as a grant revocation naming the family.
    gid = jwt.decode(rotated["access_token"], options={"verify_signature": False})["gid"]
    recorded = await db.scalar(select(Revocation).where(Revocation.value == gid))
    assert recorded is not None and recorded.kind == "grant"


async def test_reuse_does_not_touch_other_families(
    http: httpx.AsyncClient, platform: Platform, client: OAuthClient, admin: User
) -> None:
    first = await tokens_for(http, client, admin.email)
    second = await tokens_for(http, client, None)  # already signed in
    await refresh(http, client, first["refresh_token"])
    await refresh(http, client, first["refresh_token"])
    await platform.revocations.refresh()
    assert (await refresh(http, client, second["refresh_token"])).status_code == 200


async def test_scope_may_be_narrowed(
    http: httpx.AsyncClient, client: OAuthClient, issued: dict[str, Any]
) -> None:
    response = await refresh(http, client, issued["refresh_token"], scope="tickets:read")
    assert response.json()["scope"] == "tickets:read"


@pytest.mark.parametrize(
    ("extra", "status", "error"),
    [
        ({"scope": "tickets:read contacts:read"}, 400, "invalid_scope"),
        ({"scope": "no-such-scope"}, 400, "invalid_scope"),
        ({"refresh_token": "cxr_unknown"}, 400, "invalid_grant"),
        ({"refresh_token": "not-a-refresh-token"}, 400, "invalid_grant"),
        ({"refresh_token": ""}, 400, "invalid_request"),
        ({"client_id": "no-such-client"}, 401, "invalid_client"),
    ],
    ids=[
        "widened-scope",
        "unknown-scope",
        "unknown-token",
        "malformed-token",
        "no-token",
        "unknown-client",
    ],
)
async def test_bad_refresh(
    http: httpx.AsyncClient,
    client: OAuthClient,
    issued: dict[str, Any],
    extra: dict[str, str],
    status: int,
    error: str,
) -> None:
    data = {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": client.client_id,
        **extra,
    }
    assert_oauth_error(await http.post("/oauth/token", data=data), status, error)


async def test_expired_refresh_token_is_invalid_grant(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, issued: dict[str, Any]
) -> None:
    await db.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    assert_oauth_error(await refresh(http, client, issued["refresh_token"]), 400, "invalid_grant")
    # Expired is not reuse: the family (and its access token) stays as it was.
    assert (await db.scalar(select(Revocation))) is None
    row = await db.scalar(select(RefreshToken))
    assert row is not None and row.rotated_at is None and row.revoked_at is None


@pytest.mark.parametrize("scope", ["tickets:read contacts:read", "no-such-scope"])
async def test_a_refused_refresh_leaves_the_token_usable(
    http: httpx.AsyncClient, client: OAuthClient, issued: dict[str, Any], scope: str
) -> None:
    """The token is claimed before its scope is checked; the refusal undoes the claim."""
    refused = await refresh(http, client, issued["refresh_token"], scope=scope)
    assert_oauth_error(refused, 400, "invalid_scope")
    again = await refresh(http, client, issued["refresh_token"])
    assert again.status_code == 200, again.text


async def test_a_refresh_for_a_deactivated_user_leaves_the_token_unrotated(
    http: httpx.AsyncClient,
    db: AsyncSession,
    client: OAuthClient,
    admin: User,
    issued: dict[str, Any],
    platform: Platform,
) -> None:
    await db.execute(update(User).where(User.id == admin.id).values(is_active=False))
    await db.commit()
    platform.users.cache.invalidate((admin.tenant_id, admin.id))
    assert_oauth_error(await refresh(http, client, issued["refresh_token"]), 400, "invalid_grant")
    db.expire_all()
    row = await db.scalar(select(RefreshToken))
    assert row is not None and row.rotated_at is None


async def test_token_of_another_client_is_invalid_grant(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, issued: dict[str, Any]
) -> None:
    other = await clients.create_client(db, tenant_id=tenant.id, client_name="Other")
    await db.commit()
    other = await configure(db, other)
    assert_oauth_error(await refresh(http, other, issued["refresh_token"]), 400, "invalid_grant")


async def test_client_no_longer_allowed_refresh_is_unauthorized_client(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, issued: dict[str, Any]
) -> None:
    client = await configure(db, client, grant_types=["authorization_code"])
    response = await refresh(http, client, issued["refresh_token"])
    assert_oauth_error(response, 400, "unauthorized_client")


async def test_other_tenant_cannot_use_the_token(
    http: httpx.AsyncClient, client: OAuthClient, issued: dict[str, Any], other_tenant: TenantInfo
) -> None:
    data = {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": client.client_id,
    }
    response = await http.post("/oauth/token", data=data, headers={"Host": "globex.example"})
    assert_oauth_error(response, 401, "invalid_client")


async def test_deactivated_user_cannot_refresh(
    http: httpx.AsyncClient,
    db: AsyncSession,
    client: OAuthClient,
    admin: User,
    issued: dict[str, Any],
) -> None:
    admin.is_active = False
    await db.merge(admin)
    await db.commit()
    assert_oauth_error(await refresh(http, client, issued["refresh_token"]), 400, "invalid_grant")


async def test_scopes_removed_from_the_client_are_dropped(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, issued: dict[str, Any]
) -> None:
    client = await configure(db, client, scopes=["tickets:read"])
    response = await refresh(http, client, issued["refresh_token"])
    assert response.json()["scope"] == "tickets:read"


class TestPasswordGrant:
    """RFC 6749 §4.3.3: the password grant issues a refresh token when allowed."""

    async def test_refresh_token_when_client_allows_it(
        self, http: httpx.AsyncClient, client: OAuthClient, admin: User
    ) -> None:
        body = await password_token(http, client.client_id, admin.email)
        assert body["refresh_token"].startswith("cxr_")
        assert (await refresh(http, client, body["refresh_token"])).status_code == 200

    async def test_no_refresh_token_by_default(
        self, http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
    ) -> None:
        body = await password_token(http, oauth_client.client_id, admin.email)
        assert "refresh_token" not in body

    async def test_lifetime_follows_the_client_setting(
        self, http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
    ) -> None:
        await configure(db, client, refresh_token_ttl=7200)
        await password_token(http, client.client_id, admin.email)
        row = await db.scalar(select(RefreshToken))
        assert row is not None
        assert 7190 <= (row.expires_at - row.created_at).total_seconds() <= 7210

    async def test_default_lifetime_is_30_days(
        self, http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
    ) -> None:
        await password_token(http, client.client_id, admin.email)
        row = await db.scalar(select(RefreshToken))
        assert row is not None
        assert abs((row.expires_at - row.created_at) - timedelta(days=30)) < timedelta(minutes=1)


async def test_token_presented_by_a_client_of_another_tenant_is_invalid_grant(
    http: httpx.AsyncClient, db: AsyncSession, issued: dict[str, Any], other_tenant: TenantInfo
) -> None:
    theirs = await clients.create_client(db, tenant_id=other_tenant.id, client_name="Theirs")
    await db.commit()
    theirs = await configure(db, theirs)
    data = {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": theirs.client_id,
    }
    response = await http.post("/oauth/token", data=data, headers={"Host": "globex.example"})
    assert_oauth_error(response, 400, "invalid_grant")
