"""``/oauth/revoke`` is rate limited per client and address (RFC 7009 §2.2.1 errors).

Past the limit the answer is 429 with ``Retry-After`` (RFC 6585 §4, RFC 9110
§10.2.3), ``RateLimit-*`` headers and an RFC 6749 §5.2 body, as the token
endpoint answers throttled sign-ins; nothing is revoked by a refused request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.api.ratelimit import RateLimiter
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from tests.helpers import bearer
from tests.oauth.flows import assert_oauth_error, configure, tokens_for

LIMIT = 3


@pytest.fixture(autouse=True)
def small_limit(app: FastAPI) -> Iterator[RateLimiter]:
    kept = app.state.revoke_limiter
    app.state.revoke_limiter = RateLimiter(f"{LIMIT}/minute")
    yield app.state.revoke_limiter
    app.state.revoke_limiter = kept


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


@pytest.fixture
async def issued(http: httpx.AsyncClient, client: OAuthClient, admin: User) -> dict[str, Any]:
    return await tokens_for(http, client, admin.email)


def form(client: OAuthClient, token: str = "not-a-token") -> dict[str, str]:  # noqa: S107
    return {"token": token, "client_id": client.client_id}


async def test_answers_carry_the_allowance(http: httpx.AsyncClient, client: OAuthClient) -> None:
    first = await http.post("/oauth/revoke", data=form(client))
    assert first.status_code == 200
    assert first.headers["ratelimit-limit"] == str(LIMIT)
    assert first.headers["ratelimit-remaining"] == str(LIMIT - 1)
    assert 1 <= int(first.headers["ratelimit-reset"]) <= 60


async def test_past_the_limit_is_429_with_retry_after(
    http: httpx.AsyncClient, platform: Platform, client: OAuthClient, issued: dict[str, Any]
) -> None:
    for _ in range(LIMIT):
        assert (await http.post("/oauth/revoke", data=form(client))).status_code == 200
    refused = await http.post("/oauth/revoke", data=form(client, issued["access_token"]))
    assert_oauth_error(refused, 429, "invalid_request")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-limit"] == str(LIMIT)
    # Refused before anything was done: the token still works.
    await platform.revocations.refresh()
    me = await http.get("/api/v1/me", headers=bearer(issued["access_token"]))
    assert me.status_code == 200


async def test_counted_before_client_authentication(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    """Guessing a confidential client's secret here is limited too."""
    wrong = {"token": "x", "client_id": client.client_id, "client_secret": "guess"}
    for _ in range(LIMIT):
        assert_oauth_error(await http.post("/oauth/revoke", data=wrong), 401, "invalid_client")
    assert_oauth_error(await http.post("/oauth/revoke", data=wrong), 429, "invalid_request")


async def test_one_address_does_not_use_up_another_addresss_allowance(
    app: FastAPI, http: httpx.AsyncClient, client: OAuthClient
) -> None:
    for _ in range(LIMIT + 1):
        await http.post("/oauth/revoke", data=form(client))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as other:
        assert (await other.post("/oauth/revoke", data=form(client))).status_code == 200


async def test_storage_failure_lets_revocations_through(
    http: httpx.AsyncClient, small_limit: RateLimiter, client: OAuthClient
) -> None:
    """Revoking must keep working when the counter store is down (logged)."""

    class Broken:
        async def incr(self, *_args: object) -> int:
            raise ConnectionError("redis down")

        async def get_expiry(self, *_args: object) -> float:
            raise ConnectionError("redis down")

    small_limit.storage = Broken()  # type: ignore[assignment]
    for _ in range(LIMIT + 2):
        assert (await http.post("/oauth/revoke", data=form(client))).status_code == 200
