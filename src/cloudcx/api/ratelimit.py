"""Per-caller rate limits with ``RateLimit-*`` headers and ``Retry-After`` on 429.

Counting is done by the ``limits`` library: in process memory by default, in
Redis when ``CLOUDCX_REDIS_URL`` is set so that every process shares the
counters. The headers follow draft-ietf-httpapi-ratelimit-headers; 429 and
``Retry-After`` are RFC 6585 §4 and RFC 9110 §10.2.3.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from cloudcx.api.problems import Problem
from cloudcx.config import Settings
from cloudcx.core.headers import EXTRA_HEADERS
from cloudcx.oauth.tokens import AccessToken
from cloudcx.ops import metrics

log = logging.getLogger("cloudcx.api")


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_in: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_in),
        }


class RateLimiter:
    """A fixed window per caller key; storage failures let requests through (logged).

    A hit is one storage operation (one Redis round trip): the count comes back
    from the increment, and the window's end, fixed when the window's first hit
    set the key's expiry, is asked for once per window and remembered.
    """

    # Remembered window ends, per key; forgotten all at once past this many.
    REMEMBERED_WINDOWS = 10_000

    def __init__(self, limit: str, storage: Storage | None = None) -> None:
        self.item: RateLimitItem = parse(limit)
        self.storage = storage or MemoryStorage()
        self._window_ends: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings, limit: str | None = None) -> RateLimiter:
        """The API's limit, or ``limit`` (another endpoint's) in the same storage."""
        storage: Storage | None = None
        if settings.redis_url:
            # Short timeouts: an unreachable Redis must not stall every API request.
            storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix="cloudcx",
                socket_timeout=1.0,
                socket_connect_timeout=1.0,
            )
        return cls(limit or settings.api_rate_limit, storage)

    async def hit(self, key: str) -> Verdict:
        item, storage_key = self.item, self.item.key_for(key)
        try:
            # As limits' FixedWindowRateLimiter.hit: the increment, compared with the limit.
            used = await self.storage.incr(storage_key, item.get_expiry())
            now = time.time()
            window_end = self._window_ends.get(storage_key, 0.0)
            if used == 1 or window_end <= now:
                window_end = await self.storage.get_expiry(storage_key)
                if len(self._window_ends) >= self.REMEMBERED_WINDOWS:
                    self._window_ends.clear()
                self._window_ends[storage_key] = window_end
        except Exception:  # the API stays up when the counter store is down
            log.exception("rate limit storage failed")
            return Verdict(True, item.amount, item.amount, 0)
        reset_in = max(1, math.ceil(window_end - now))
        return Verdict(used <= item.amount, item.amount, max(0, item.amount - used), reset_in)


def caller_key(token: AccessToken) -> str:
    """Limits follow the caller (client + user, or API key), not one token: a new
    token must not reset the count."""
    return f"{token.tenant_id}:{token.client_id}:{token.subject}"


async def count(request: Request, token: AccessToken) -> None:
    """Count the request for its caller; refuse it with 429 past the limit.

    Called by ``api.auth.api_access`` for every /api/v1 operation, once per
    request however many of the operation's dependencies check access.
    """
    if getattr(request.state, "rate_counted", False):
        return
    request.state.rate_counted = True
    limiter: RateLimiter = request.app.state.ratelimiter
    verdict = await limiter.hit(caller_key(token))
    headers = verdict.headers()
    # Sent on every answer to this request, errors included (core.headers).
    setattr(request.state, EXTRA_HEADERS, headers)
    if not verdict.allowed:
        metrics.throttled("api", "caller")
        raise Problem(
            429,
            f"Too many requests: the limit is {limiter.item.amount} per "
            f"{limiter.item.get_expiry()} seconds. Retry after {verdict.reset_in} seconds.",
            headers={**headers, "Retry-After": str(verdict.reset_in)},
        )
