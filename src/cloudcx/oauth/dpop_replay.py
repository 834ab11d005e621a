"""Which DPoP proofs were already used, and the server's DPoP nonces.

RFC 9449 §11.1: a server "MUST ensure that the DPoP proof ... is not accepted
again" within the time it accepts proofs at all. Each proof's ``jti`` is kept
for that window, keyed by tenant and key thumbprint (a proof cannot be made for
someone else's key, so one client's ``jti`` never shadows another's): in Redis
when ``CLOUDCX_REDIS_URL`` is set, so every process refuses a proof any of
them saw, otherwise in a bounded map in this process.

Nonces (§8, §9) are stateless: the HMAC of the tenant and a time slot under a
key derived from the master secret, so every process issues and accepts the
same values without sharing anything, and a nonce stops working two slots later.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from collections import OrderedDict

from redis.asyncio import Redis

from cloudcx.oauth.dpop import b64url

log = logging.getLogger("cloudcx.oauth")

# Past this many remembered proofs the oldest are forgotten first; at the
# default 65 s window that is over 1,500 new proofs a second in one process.
MEMORY_SIZE = 100_000
REDIS_PREFIX = "cloudcx:dpop:jti:"
_WARN_EVERY = 10.0


def replay_key(tenant_id: uuid.UUID, jkt: str, jti: str) -> str:
    """Hashed: a ``jti`` is the client's text, of any length and content."""
    digest = hashlib.sha256(f"{tenant_id}\x00{jkt}\x00{jti}".encode()).digest()
    return b64url(digest)


class MemoryReplayCache:
    """Keys seen in the last ``ttl`` seconds, in this process."""

    def __init__(self, size: int = MEMORY_SIZE) -> None:
        self._size = size
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def first_use(self, key: str, ttl: int) -> bool:
        now = time.monotonic()
        # Insertion order is expiry order (one ttl for all): drop the expired head.
        while self._seen and next(iter(self._seen.values())) <= now:
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now + ttl
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


class RedisReplayCache:
    """``SET key NX EX ttl``: one round trip, atomic across every process.

    If Redis cannot be reached the proof is checked against this process's
    memory instead (and the failure logged): a replay to this process is still
    refused, and DPoP clients are not locked out while Redis is away.
    """

    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        self._fallback = MemoryReplayCache()
        self._last_warning = 0.0

    async def first_use(self, key: str, ttl: int) -> bool:
        try:
            stored = await self._redis.set(REDIS_PREFIX + key, b"1", nx=True, ex=ttl)
        except Exception as exc:
            if time.monotonic() - self._last_warning >= _WARN_EVERY:
                self._last_warning = time.monotonic()
                log.warning("DPoP replay cache: Redis unavailable (%s); using memory", exc)
            return await self._fallback.first_use(key, ttl)
        return bool(stored)

    async def close(self) -> None:
        await self._redis.aclose()


ReplayCache = MemoryReplayCache | RedisReplayCache


class Nonces:
    """§8.1 ``DPoP-Nonce`` values: valid in the slot they were made and the next."""

    def __init__(self, secret: str, slot_seconds: int) -> None:
        self._key = hmac.new(secret.encode(), b"cloudcx dpop nonce v1", hashlib.sha256).digest()
        self.slot_seconds = slot_seconds

    def _for_slot(self, tenant_id: uuid.UUID, slot: int) -> str:
        mac = hmac.new(self._key, f"{tenant_id}:{slot}".encode(), hashlib.sha256).digest()
        return b64url(mac[:24])

    def current(self, tenant_id: uuid.UUID, now: float | None = None) -> str:
        slot = int((time.time() if now is None else now) // self.slot_seconds)
        return self._for_slot(tenant_id, slot)

    def accepts(self, nonce: str, tenant_id: uuid.UUID, now: float | None = None) -> bool:
        slot = int((time.time() if now is None else now) // self.slot_seconds)
        given = nonce.encode("utf-8", "replace")
        return any(
            hmac.compare_digest(given, self._for_slot(tenant_id, s).encode())
            for s in (slot, slot - 1)
        )
