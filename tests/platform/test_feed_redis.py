"""The change feed over Redis: what one process commits, every other applies at once.

Two platforms on one database and one Redis stand for two processes: their
sessions are watched by their own hooks only, so what ``b`` learns of ``a``'s
changes it learns from the channel. Both poll and cache with a 60 s delay, so
nothing but the feed (or its catch-up) can explain a change seen in 100 ms.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import orjson
import pytest
from limits.aio.storage import RedisStorage
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from cloudcx.accounts.models import Role, User
from cloudcx.api.ratelimit import RateLimiter
from cloudcx.app import create_app
from cloudcx.changes import Change, ChangeFeed
from cloudcx.config import Settings
from cloudcx.feed_redis import RedisFeed, decode, encode
from cloudcx.oauth import consents, keys, revocation
from cloudcx.oauth.models import OAuthClient
from cloudcx.oauth.revocation import Kind
from cloudcx.oauth.tokens import MAX_ACCESS_TOKEN_TTL, AccessToken
from cloudcx.platform import Platform
from cloudcx.tenancy.models import TenantDomain
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer, password_token
from tests.live_server import free_port
from tests.platform.redis_proxy import RedisProxy

REDIS = os.environ.get("CLOUDCX_TEST_REDIS_URL", "")
pytestmark = pytest.mark.skipif(
    not REDIS, reason="CLOUDCX_TEST_REDIS_URL is not set: the Redis change feed is not tested"
)
DEADLINE = 0.1
Starter = Callable[..., AbstractAsyncContextManager[Platform]]
SLOW = 60.0


@pytest.fixture
def channel() -> str:
    return f"cloudcx:test:{uuid.uuid4().hex}"


@pytest.fixture
def start(settings: Settings, engine: AsyncEngine, channel: str) -> Starter:
    @asynccontextmanager
    async def started(url: str = REDIS) -> AsyncIterator[Platform]:
        own = settings.model_copy(
            update={"redis_url": url, "revocation_poll_interval": SLOW, "cache_ttl": SLOW}
        )
        platform = Platform.build(own, engine)
        assert platform.feed is not None
        platform.feed.channel = channel
        await platform.start()
        try:
            yield platform
        finally:
            await platform.stop(dispose_engine=False)

    return started


async def healthy(platform: Platform, within: float = 10.0) -> None:
    await until(lambda: platform.feed_healthy, within)


async def until(check: Callable[[], object], within: float = DEADLINE) -> float:
    """Seconds until ``check()`` is true; fails past ``within``."""
    began = time.monotonic()
    while not check():
        elapsed = time.monotonic() - began
        assert elapsed < within, f"not seen within {within} s"
        await asyncio.sleep(0.002)
    return time.monotonic() - began


def access_token(
    tenant: TenantInfo, client_id: str = "c1", user_id: uuid.UUID | None = None
) -> AccessToken:
    now = int(time.time())
    return AccessToken(
        jti=uuid.uuid4().hex,
        subject=str(user_id),
        client_id=client_id,
        tenant_id=tenant.id,
        scopes=frozenset(),
        issued_at=now - 5,
        expires_at=now + 3600,
        user_id=user_id,
    )


async def revoke(platform: Platform, tenant: TenantInfo, kind: Kind, value: str) -> None:
    async with platform.sessionmaker() as session:
        await revocation.revoke(session, tenant.id, kind, value)
        await session.commit()


async def test_a_revocation_reaches_the_other_process_within_100_ms(
    start: Starter, tenant: TenantInfo
) -> None:
    async with start() as a, start() as b:
        await healthy(a)
        await healthy(b)
        lags: list[float] = []
        assert b.feed is not None
        b.feed.on_lag = lags.append
        token = access_token(tenant)
        await revoke(a, tenant, Kind.TOKEN, token.jti)
        assert a.revocations.is_revoked(token)  # before the commit returned
        took = await until(lambda: b.revocations.is_revoked(token))
        print(f"revocation applied by the other process after {took * 1000:.1f} ms")
        assert len(lags) == 1
        assert 0 <= lags[0] < DEADLINE
        assert b.feed.last_lag == lags[0]


async def test_a_process_ignores_its_own_messages(start: Starter, tenant: TenantInfo) -> None:
    async with start() as a, start() as b:
        await healthy(a)
        await healthy(b)
        assert a.feed is not None and b.feed is not None
        await revoke(a, tenant, Kind.GRANT, "family-1")
        await until(lambda: b.feed is not None and b.feed.received == 1)
        await asyncio.sleep(0.05)  # a's own message has come back by now
        assert a.feed.received == 0


async def test_a_client_change_drops_the_cached_client_everywhere(
    start: Starter,
    tenant: TenantInfo,
    oauth_client: OAuthClient,
) -> None:
    async with start() as a, start() as b:
        await healthy(a)
        await healthy(b)
        cached = await b.clients.get(tenant.id, oauth_client.client_id)
        assert cached is not None and cached.is_enabled
        async with a.sessionmaker() as session:
            row = await session.get(OAuthClient, oauth_client.id)
            assert row is not None
            row.is_enabled = False
            await session.commit()
        await until(lambda: (tenant.id, oauth_client.client_id) not in b.clients.cache._items)
        seen = await b.clients.get(tenant.id, oauth_client.client_id)
        assert seen is not None and not seen.is_enabled


async def test_a_user_change_drops_the_cached_user_everywhere(
    start: Starter, tenant: TenantInfo, agent: User
) -> None:
    async with start() as a, start() as b:
        await healthy(a)
        await healthy(b)
        cached = await b.users.get(tenant.id, agent.id)
        assert cached is not None and cached.role == Role.AGENT
        async with a.sessionmaker() as session:
            row = await session.get(User, agent.id)
            assert row is not None
            row.role = Role.ADMIN
            await session.commit()
        await until(lambda: (tenant.id, agent.id) not in b.users.cache._items)
        seen = await b.users.get(tenant.id, agent.id)
        assert seen is not None and seen.role == Role.ADMIN


async def test_a_new_domain_is_served_everywhere(start: Starter, tenant: TenantInfo) -> None:
    async with start() as a, start() as b:
        await healthy(a)
        await healthy(b)
        assert await b.tenants.by_host("cx.acme.example") is None  # a cached miss
        async with a.sessionmaker() as session:
            session.add(TenantDomain(tenant_id=tenant.id, domain="cx.acme.example"))
            await session.commit()
        await until(lambda: len(b.tenants.cache) == 0)
        found = await b.tenants.by_host("cx.acme.example")
        assert found is not None and found.id == tenant.id


async def test_a_consent_removed_in_connected_apps_ends_its_tokens_everywhere(
    start: Starter,
    tenant: TenantInfo,
    agent: User,
    oauth_client: OAuthClient,
) -> None:
    """Connected apps' "Revoke access": tokens carry no grant id, a consent cut
    covers them; the refresh grant reads refresh tokens from the database, where
    the same transaction deleted them."""
    async with start() as a, start() as b:
        await healthy(a)
        await healthy(b)
        async with a.sessionmaker() as session:
            consent = await consents.record(session, tenant.id, agent.id, oauth_client, ["profile"])
            await session.commit()
        token = access_token(tenant, oauth_client.client_id, agent.id)
        assert not b.revocations.is_revoked(token)
        async with a.sessionmaker() as session:
            assert await consents.revoke(session, tenant.id, agent.id, consent.id) is not None
            await session.commit()
        took = await until(lambda: b.revocations.is_revoked(token))
        print(f"consent removal applied by the other process after {took * 1000:.1f} ms")


async def test_a_rotated_signing_key_is_loaded_everywhere(
    start: Starter,
) -> None:
    async with start() as a, start() as b:
        await healthy(a)
        await healthy(b)
        async with a.sessionmaker() as session:
            key = await keys.rotate(
                session, a.settings.resolved_secret_key, "RS256", MAX_ACCESS_TOKEN_TTL
            )
            await session.commit()
        # A read of the key table and an RSA key to load: more than a cache drop.
        await until(lambda: b.keys.signing is not None and b.keys.signing.kid == key.kid, 1.0)
        await until(lambda: a.keys.signing is not None and a.keys.signing.kid == key.kid, 1.0)


async def test_malformed_messages_are_logged_and_ignored(
    start: Starter,
    channel: str,
    tenant: TenantInfo,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with start() as b:
        await healthy(b)
        assert b.feed is not None
        b.feed._last_malformed_log = -1e9  # log each one (normally once per 10 s)
        garbage = [
            b"not json",
            b'{"v": 2, "origin": "x", "at": 1, "kind": "user", "tid": "", "key": []}',
            b'{"v": 1, "origin": "x", "at": "soon", "kind": "user", "tid": "", "key": []}',
            b'{"v": 1, "origin": "x", "at": 1, "kind": "weather", "tid": "", "key": []}',
            b'{"v": 1, "origin": "x", "at": 1, "kind": "user", "tid": "nope", "key": ["x"]}',
            b'{"v": 1, "origin": "x", "at": 1, "kind": "revocation", "tid": "", "key": []}',
        ]
        publisher = Redis.from_url(REDIS)
        try:
            with caplog.at_level(logging.WARNING, logger="cloudcx.feed"):
                for data in garbage:
                    await publisher.publish(channel, data)
                await until(lambda: b.feed is not None and b.feed.malformed == len(garbage), 1.0)
        finally:
            await publisher.aclose()
        assert b.feed_healthy
        assert sum("ignored a message" in r.getMessage() for r in caplog.records) >= 1
        async with start() as a:
            await healthy(a)
            token = access_token(tenant)
            await revoke(a, tenant, Kind.TOKEN, token.jti)
            await until(lambda: b.revocations.is_revoked(token))


async def test_redis_down_at_start_then_back(start: Starter, tenant: TenantInfo) -> None:
    proxy = RedisProxy(REDIS, port=free_port())  # nothing listens there yet
    async with start(proxy.url) as b, start() as a:
        await healthy(a)
        await asyncio.sleep(0.3)
        assert not b.feed_healthy
        assert b.feed is not None and b.feed.catch_ups == 0
        # b still serves and still applies its own changes at once.
        own = access_token(tenant)
        began = time.monotonic()
        await revoke(b, tenant, Kind.TOKEN, own.jti)
        assert time.monotonic() - began < 0.5
        assert b.revocations.is_revoked(own)
        # Missed while away: found by the catch-up, not by a message.
        missed = access_token(tenant)
        await revoke(a, tenant, Kind.TOKEN, missed.jti)
        await proxy.open()
        try:
            await healthy(b)
            assert b.feed.catch_ups == 1
            assert b.revocations.is_revoked(missed)
            # What b queued while Redis was away is sent once it is back.
            await until(lambda: a.revocations.is_revoked(own), 2.0)
        finally:
            await proxy.close()


async def test_redis_dropping_mid_run_reconnects_and_catches_up(
    start: Starter,
    engine: AsyncEngine,
    tenant: TenantInfo,
    oauth_client: OAuthClient,
) -> None:
    proxy = RedisProxy(REDIS)
    await proxy.open()
    try:
        async with start(proxy.url) as b, start() as a:
            await healthy(a)
            await healthy(b)
            assert b.feed is not None
            await b.clients.get(tenant.id, oauth_client.client_id)
            await proxy.close()
            await until(lambda: not b.feed_healthy, 2.0)
            missed = access_token(tenant)
            await revoke(a, tenant, Kind.TOKEN, missed.jti)
            # A change no hook of any platform sees (an operator's SQL): only the
            # catch-up's clearing of the caches can reveal it.
            async with async_sessionmaker(engine)() as session:
                await session.execute(
                    update(OAuthClient)
                    .where(OAuthClient.id == oauth_client.id)
                    .values(is_enabled=False)
                )
                await session.commit()
            await asyncio.sleep(0.2)
            assert not b.revocations.is_revoked(missed)
            await proxy.open()
            await healthy(b)
            assert b.feed.catch_ups == 2
            assert b.revocations.is_revoked(missed)
            seen = await b.clients.get(tenant.id, oauth_client.client_id)
            assert seen is not None and not seen.is_enabled
            # And messages flow again.
            later = access_token(tenant)
            await revoke(a, tenant, Kind.TOKEN, later.jti)
            await until(lambda: b.revocations.is_revoked(later))
    finally:
        await proxy.close()


async def test_a_silent_connection_is_given_up_and_replaced(
    start: Starter,
) -> None:
    """A peer gone without closing the socket: no error ever comes, only silence."""
    proxy = RedisProxy(REDIS)
    await proxy.open()
    try:
        async with start(proxy.url) as b:
            assert b.feed is not None
            b.feed.ping_interval, b.feed.dead_after = 0.1, 0.5
            await healthy(b)
            proxy.silent = True
            await until(lambda: not b.feed_healthy, 3.0)
            proxy.silent = False
            await healthy(b)
            assert b.feed.catch_ups >= 2
    finally:
        await proxy.close()


async def test_a_commit_never_waits_for_redis(start: Starter, tenant: TenantInfo) -> None:
    """Redis accepts the connection but never answers: the publisher is stuck,
    the request is not."""
    proxy = RedisProxy(REDIS)
    await proxy.open()
    try:
        async with start(proxy.url) as a:
            await healthy(a)
            proxy.silent = True
            for _ in range(3):
                token = access_token(tenant)
                began = time.monotonic()
                await revoke(a, tenant, Kind.TOKEN, token.jti)
                assert time.monotonic() - began < 0.5
                assert a.revocations.is_revoked(token)
    finally:
        await proxy.close()


async def test_changes_of_a_command_line_run_are_sent_as_it_ends(
    settings: Settings,
    engine: AsyncEngine,
    channel: str,
    start: Starter,
    tenant: TenantInfo,
) -> None:
    """``cloudcx`` commands build a platform they never start."""
    async with start() as server:
        await healthy(server)
        cli = Platform.build(settings.model_copy(update={"redis_url": REDIS}), engine)
        assert cli.feed is not None
        cli.feed.channel = channel
        token = access_token(tenant)
        await revoke(cli, tenant, Kind.TOKEN, token.jti)
        assert cli.feed.pending == 1
        await cli.publish_pending()
        assert cli.feed.pending == 0
        await until(lambda: server.revocations.is_revoked(token))


def test_a_message_round_trips_with_ids_only() -> None:
    change = Change("client", str(uuid.uuid4()), ("client-id-1",))
    origin, at, back = decode(encode(change, "me", 12.5))
    assert (origin, at, back) == ("me", 12.5, change)
    assert set(orjson.loads(encode(change, "me", 1.0))) == {
        "v",
        "origin",
        "at",
        "kind",
        "tid",
        "key",
    }


async def test_the_change_feed_describes_no_secret(
    start: Starter,
    channel: str,
    tenant: TenantInfo,
    oauth_client: OAuthClient,
) -> None:
    listener = Redis.from_url(REDIS)
    pubsub = listener.pubsub()
    await pubsub.subscribe(channel)
    try:
        async with start() as a:
            async with a.sessionmaker() as session:
                row = await session.get(OAuthClient, oauth_client.id)
                assert row is not None
                row.secret_digest = "d" * 64
                await session.commit()
            message = None
            deadline = time.monotonic() + 2
            while message is None and time.monotonic() < deadline:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        assert message is not None
        assert b"d" * 64 not in message["data"]
        assert oauth_client.client_id.encode() in message["data"]
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await listener.aclose()


async def test_a_bearer_request_makes_no_redis_call(
    start: Starter,
    tenant: TenantInfo,
    admin: User,
    oauth_client: OAuthClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GET /api/v1/me with Redis configured: no query, and no Redis command but the
    rate limit's own counter, which is shared by every process on purpose."""
    async with start() as platform:
        await healthy(platform)
        assert platform.feed is not None
        platform.feed.ping_interval = 3600.0  # the subscriber's keep-alive is not the request's
        app = create_app(platform=platform)
        assert isinstance(app.state.ratelimiter.storage, RedisStorage)
        # Counted in this process's memory, so that any Redis command seen below
        # is the bearer check's or the change feed's.
        app.state.ratelimiter = RateLimiter(platform.settings.api_rate_limit)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            token = (await password_token(http, oauth_client.client_id, admin.email))[
                "access_token"
            ]
            assert (await http.get("/api/v1/me", headers=bearer(token))).status_code == 200
            commands: list[object] = []
            real = Redis.execute_command

            async def counted(self: Redis, *args: object, **kwargs: object) -> object:
                commands.append(args[0])
                return await real(self, *args, **kwargs)  # type: ignore[arg-type]

            monkeypatch.setattr(Redis, "execute_command", counted)
            await asyncio.sleep(0.05)
            commands.clear()
            response = await http.get("/api/v1/me", headers=bearer(token))
            assert response.status_code == 200
            assert commands == []
            # The counter is live: a change's publish goes through it.
            await revoke(platform, tenant, Kind.TOKEN, "some-jti")
            await until(lambda: bool(commands), 1.0)


async def test_a_failed_catch_up_is_retried_before_the_feed_is_healthy(
    caplog: pytest.LogCaptureFixture, channel: str
) -> None:
    """The database away when Redis comes back: not healthy until caught up."""
    attempts: list[int] = []

    async def catch_up() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("database unreachable")

    feed = RedisFeed(REDIS, ChangeFeed(), catch_up, channel=channel)
    with caplog.at_level(logging.WARNING, logger="cloudcx.feed"):
        feed.start()
        try:
            await until(lambda: feed.healthy, 5.0)
        finally:
            await feed.stop()
    assert (len(attempts), feed.catch_ups) == (2, 1)
    assert any("catch-up from the database failed" in r.getMessage() for r in caplog.records)
    assert not feed.healthy
