"""The rate limiter: counters shared through Redis, and an API that survives a Redis outage."""

from __future__ import annotations

import asyncio
import os
import uuid

import httpx
import pytest

from cloudcx.api.ratelimit import RateLimiter
from cloudcx.config import Settings
from tests.cxapi import Headers, admin_headers, assert_problem, tiny_rate_limit

__all__ = ["admin_headers", "tiny_rate_limit"]  # fixtures

REDIS_URL = os.environ.get("CLOUDCX_TEST_REDIS_URL")


def limiter(redis_url: str | None, limit: str = "2/minute") -> RateLimiter:
    return RateLimiter.from_settings(
        Settings(environment="test", secret_key="x" * 40, redis_url=redis_url, api_rate_limit=limit)
    )


async def test_memory_counts_per_key() -> None:
    rl = limiter(None)
    first, second, third = [await rl.hit("a") for _ in range(3)]
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert (first.remaining, third.remaining) == (1, 0)
    assert 0 < third.reset_in <= 60
    assert (await rl.hit("b")).allowed
    assert third.headers() == {
        "RateLimit-Limit": "2",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(third.reset_in),
    }


async def test_a_new_window_starts_with_the_full_count_and_its_own_reset() -> None:
    rl = limiter(None, "2/second")
    await rl.hit("a")
    assert (await rl.hit("a")).allowed
    assert not (await rl.hit("a")).allowed
    await asyncio.sleep(1.05)  # the window's key expires
    fresh = await rl.hit("a")
    assert (fresh.allowed, fresh.remaining, fresh.reset_in) == (True, 1, 1)


async def test_remembered_window_ends_stay_bounded() -> None:
    rl = limiter(None)
    rl.REMEMBERED_WINDOWS = 3
    for key in "abcdefg":
        assert (await rl.hit(key)).allowed
    assert len(rl._window_ends) <= 3


@pytest.mark.skipif(not REDIS_URL, reason="CLOUDCX_TEST_REDIS_URL is not set")
async def test_processes_share_counters_through_redis() -> None:
    key = f"test:{uuid.uuid4()}"
    one, two = limiter(REDIS_URL), limiter(REDIS_URL)  # two processes' limiters
    assert (await one.hit(key)).allowed
    assert (await two.hit(key)).allowed
    refused = await one.hit(key)
    assert not refused.allowed
    assert refused.remaining == 0


async def test_an_unreachable_store_lets_requests_through() -> None:
    rl = limiter("redis://127.0.0.1:1/0")
    verdict = await rl.hit("k")
    assert verdict.allowed


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/audit-events"])
async def test_me_and_the_audit_log_are_counted_like_every_api_route(
    http: httpx.AsyncClient, admin_headers: Headers, tiny_rate_limit: object, path: str
) -> None:
    first = await http.get(path, headers=admin_headers)
    assert first.status_code == 200
    assert first.headers["ratelimit-limit"] == "2"
    assert first.headers["ratelimit-remaining"] == "1"
    await http.get(path, headers=admin_headers)
    refused = await http.get(path, headers=admin_headers)
    body = assert_problem(refused, 429)
    assert "Retry after" in body["detail"]
    assert 0 < int(refused.headers["retry-after"]) <= 60
