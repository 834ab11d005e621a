"""RFC 9449 §11.1: a proof is accepted once, by every process (Redis) or this one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from starlette.requests import Request

from cloudcx.config import Settings
from cloudcx.oauth.dpop import ProofError
from cloudcx.oauth.dpop_binding import DPoPVerifier
from cloudcx.oauth.dpop_replay import MemoryReplayCache, RedisReplayCache, replay_key
from tests.oauth.dpop_keys import TOKEN_URL, DPoPKey

REDIS_URL = os.environ.get("CLOUDCX_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="CLOUDCX_TEST_REDIS_URL is not set")


def token_request(proof: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/oauth/token",
            "raw_path": b"/oauth/token",
            "query_string": b"",
            "headers": [(b"dpop", proof.encode())],
            "state": {"base_url": "http://localhost"},
        }
    )


def verifier(tmp_path: Path, redis_url: str | None) -> DPoPVerifier:
    settings = Settings(
        environment="test", secret_key="s" * 40, redis_url=redis_url, var_dir=tmp_path
    )
    return DPoPVerifier.from_settings(settings)


def test_replay_keys_are_per_tenant_and_key() -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    assert replay_key(tenant, "k1", "j") != replay_key(other, "k1", "j")
    assert replay_key(tenant, "k1", "j") != replay_key(tenant, "k2", "j")
    assert replay_key(tenant, "k1", "j") == replay_key(tenant, "k1", "j")


async def test_without_redis_the_cache_is_in_memory(tmp_path: Path) -> None:
    one = verifier(tmp_path, None)
    assert isinstance(one.replays, MemoryReplayCache)
    proof, tenant = DPoPKey().proof("POST", TOKEN_URL), uuid.uuid4()
    assert await one.check(token_request(proof), tenant) is not None
    with pytest.raises(ProofError, match="used before"):
        await one.check(token_request(proof), tenant)
    # Kept per tenant: another tenant's cache has not seen it (its URL would differ).
    assert await one.check(token_request(proof), uuid.uuid4()) is not None


@needs_redis
async def test_two_processes_share_the_cache_through_redis(tmp_path: Path) -> None:
    assert REDIS_URL is not None
    one, two = verifier(tmp_path, REDIS_URL), verifier(tmp_path, REDIS_URL)
    try:
        assert isinstance(one.replays, RedisReplayCache)
        proof, tenant = DPoPKey().proof("POST", TOKEN_URL), uuid.uuid4()
        assert await one.check(token_request(proof), tenant) is not None
        with pytest.raises(ProofError, match="used before"):
            await two.check(token_request(proof), tenant)
    finally:
        await one.close()
        await two.close()


@needs_redis
async def test_redis_entries_expire_with_the_proof_window() -> None:
    assert REDIS_URL is not None
    cache = RedisReplayCache(REDIS_URL)
    try:
        key = uuid.uuid4().hex
        assert await cache.first_use(key, 65)
        assert not await cache.first_use(key, 65)
        ttl = await cache._redis.ttl("cloudcx:dpop:jti:" + key)
        assert 0 < ttl <= 65
    finally:
        await cache.close()


async def test_an_unreachable_redis_falls_back_to_memory() -> None:
    cache = RedisReplayCache("redis://127.0.0.1:1/0")
    try:
        assert await cache.first_use("k", 60)
        assert not await cache.first_use("k", 60)
    finally:
        await cache.close()
