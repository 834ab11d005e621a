"""The change feed across processes and machines, over Redis pub/sub.

Every ``Change`` a process commits (``cloudcx.changes``) is published on one
channel; every other process applies it at once. Pub/sub rather than a
stream: a change only matters to processes running now, the database stays the
record of what happened (the revocations table, the rows behind every cache),
and a process that was away must catch up from the database anyway (a stream
is trimmed, or lost with Redis). Pub/sub keeps nothing in Redis and delivers
with the least latency; what it does not give — delivery to a subscriber that
was disconnected — is covered by the catch-up every (re)subscription runs:
a full revocation refresh and clearing every record cache.

The hot path never waits on Redis: ``publish`` only queues (the request has
already applied the change to its own process's caches), and a task sends the
queue in the background, retrying while Redis is away. A message is JSON of
ids only: ``{"v": 1, "origin", "at", "kind", "tid", "key"}``; ``at`` is the
commit time, so the receiver measures the propagation lag (``on_lag``). A
process ignores its own messages, and logs and skips a malformed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from cloudcx.changes import Change, ChangeFeed

log = logging.getLogger("cloudcx.feed")

VERSION = 1
QUEUE_SIZE = 10_000
# Keep-alive of the subscription: a PING every PING_INTERVAL seconds, and a
# connection that answered nothing for DEAD_AFTER seconds is given up (a peer
# gone without closing the socket would otherwise look healthy for ever).
PING_INTERVAL = 2.0
DEAD_AFTER = 6.0
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
_LOG_EVERY = 10.0


def channel_for(url: str) -> str:
    """Pub/sub channels ignore the database number; naming it keeps deployments
    that share one Redis server on different databases apart."""
    client = Redis.from_url(url)
    db = client.connection_pool.connection_kwargs.get("db", 0)
    return f"cloudcx:changes:{db}"


def encode(change: Change, origin: str, at: float) -> bytes:
    return orjson.dumps(
        {
            "v": VERSION,
            "origin": origin,
            "at": at,
            "kind": change.kind,
            "tid": change.tenant_id,
            "key": list(change.key),
        }
    )


def decode(data: bytes | str) -> tuple[str, float, Change]:
    """``(origin, at, change)``; ValueError for anything that is not our message."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise ValueError("not a version 1 change")
    origin, at, kind, tid, key = (body.get(k) for k in ("origin", "at", "kind", "tid", "key"))
    if not (isinstance(origin, str) and isinstance(kind, str) and isinstance(tid, str)):
        raise ValueError("origin, kind and tid must be strings")
    if not isinstance(at, int | float) or isinstance(at, bool):
        raise ValueError("at must be a number")
    if not isinstance(key, list) or not all(isinstance(part, str) for part in key):
        raise ValueError("key must be a list of strings")
    return origin, float(at), Change(kind, tid, tuple(key))


class RedisFeed:
    """Publishes this process's changes and applies everyone else's."""

    def __init__(
        self,
        url: str,
        feed: ChangeFeed,
        catch_up: Callable[[], Awaitable[None]],
        *,
        channel: str | None = None,
        origin: str | None = None,
        queue_size: int = QUEUE_SIZE,
        on_lag: Callable[[float], None] | None = None,
    ) -> None:
        self.url = url
        self.channel = channel or channel_for(url)
        self.origin = origin or uuid.uuid4().hex
        self.feed = feed
        self.catch_up = catch_up
        # Called with the seconds from commit to apply of every message received
        # (wall clocks of two machines: as good as their time sync).
        self.on_lag = on_lag
        self.last_lag: float | None = None
        self.received = 0
        self.malformed = 0
        self.dropped = 0
        self.catch_ups = 0
        self._healthy = False
        self._queue: deque[bytes] = deque(maxlen=queue_size)
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_malformed_log = 0.0
        self.ping_interval = PING_INTERVAL
        self.dead_after = DEAD_AFTER

    @property
    def healthy(self) -> bool:
        """Subscribed and hearing from Redis: changes of other processes arrive
        within milliseconds. False means within the poll and TTL delay (for a
        readiness check: the process is correct, only slower to converge)."""
        return self._healthy

    def publish(self, change: Change) -> None:
        """Queue ``change`` for every other process; never waits (the commit hook)."""
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
            log.error("change feed queue full: dropped the oldest change (%d)", self.dropped)
        self._queue.append(encode(change, self.origin, time.time()))
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self.feed.outbox = self.publish
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name="cloudcx-feed-publish"),
            asyncio.create_task(self._subscribe_loop(), name="cloudcx-feed-subscribe"),
        ]

    async def stop(self, flush_timeout: float = 2.0) -> None:
        """Send what is queued (for at most ``flush_timeout`` seconds), then leave."""
        if self.feed.outbox == self.publish:
            self.feed.outbox = None
        if not self._tasks:
            await self.flush(flush_timeout)
            return
        if self._queue:
            self._drained.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), flush_timeout)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._healthy = False

    async def flush(self, within: float = 2.0) -> None:
        """Send the queue once, without the background task (a CLI command's end)."""
        if not self._queue:
            return
        client = self._client()
        try:
            async with asyncio.timeout(within):
                while self._queue:
                    await client.publish(self.channel, self._queue[0])
                    self._queue.popleft()
        except Exception as exc:
            log.warning("could not publish %d changes: %s", len(self._queue), exc)
        finally:
            await client.aclose()

    def _client(self) -> Redis:
        return Redis.from_url(self.url, socket_connect_timeout=1.0, socket_timeout=2.0)

    async def _publish_loop(self) -> None:
        client = self._client()
        attempt = 0
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    try:
                        await client.publish(self.channel, self._queue[0])
                    except Exception as exc:
                        log.warning("change feed: publish failed (%s); retrying", exc)
                        await asyncio.sleep(_backoff(attempt))
                        attempt += 1
                        continue
                    attempt = 0
                    self._queue.popleft()
                self._drained.set()
        finally:
            await client.aclose()

    async def _subscribe_loop(self) -> None:
        attempt = 0
        while True:
            client = self._client()
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                # Subscribed first, then caught up: a change committed meanwhile
                # is either in the database read or in a message to come.
                await self._catch_up()
                self._healthy = True
                if attempt:
                    log.warning("change feed: reconnected to Redis")
                attempt = 0
                await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._healthy or attempt == 0:
                    log.warning("change feed: Redis unavailable (%s); polling until back", exc)
            finally:
                self._healthy = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(_backoff(attempt))
            attempt += 1

    async def _catch_up(self) -> None:
        try:
            await self.catch_up()
        except Exception as exc:
            # The database, not Redis: say so, then retry as after a disconnect.
            log.warning("change feed: catch-up from the database failed (%s)", exc)
            raise
        self.catch_ups += 1

    async def _listen(self, pubsub: PubSub) -> None:
        heard = pinged = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=min(0.5, self.ping_interval))
            now = time.monotonic()
            if message is not None:
                heard = now
                if message.get("type") == "message":
                    self._on_message(message.get("data"))
            if now - heard > self.dead_after:
                raise ConnectionError(f"no answer from Redis for {self.dead_after:.1f} s")
            if now - pinged > self.ping_interval:
                await pubsub.ping()
                pinged = now

    def _on_message(self, data: Any) -> None:
        try:
            origin, at, change = decode(data)
            if origin == self.origin:
                return  # applied at commit, before the request answered
            self.feed.received(change)
        except ValueError as exc:
            self._malformed(data, str(exc))
            return
        self.received += 1
        self.last_lag = lag = max(time.time() - at, 0.0)
        if self.on_lag is not None:
            try:
                self.on_lag(lag)
            except Exception:
                log.exception("change feed: on_lag hook failed")

    def _malformed(self, data: Any, why: str) -> None:
        self.malformed += 1
        now = time.monotonic()
        if now - self._last_malformed_log >= _LOG_EVERY or self.malformed == 1:
            self._last_malformed_log = now
            log.warning(
                "change feed: ignored a message on %s (%s; %d so far): %.80r",
                self.channel,
                why,
                self.malformed,
                data,
            )


def _backoff(attempt: int) -> float:
    """0.1 s, 0.2 s, 0.4 s … up to 5 s, with jitter so processes do not reconnect in step."""
    base = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(attempt, 10))
    return float(base * random.uniform(0.5, 1.0))
