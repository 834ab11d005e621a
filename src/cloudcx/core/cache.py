"""A small in-process cache of database records for the hot paths (DESIGN.md §8).

Entries expire after ``ttl`` seconds, which bounds how stale a record can be
in a process that did not make the change; the change feed (``cloudcx.changes``)
drops an entry at once in the process that made it (and, with Redis, in every
other). Misses are cached too (``None``), so probing unknown keys costs one
query per key per ``ttl``, and the size is bounded so they cannot grow memory.

Hand-written rather than taken from a library because it is the product's own
policy — expiry tied to the revocation delay, invalidation by the change feed
— and a dict with a clock is all it needs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RecordCache(Generic[K, V]):
    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl = ttl
        self._size = size
        self._items: dict[K, tuple[float, V | None]] = {}
        self._loading: dict[K, asyncio.Future[V | None]] = {}
        # Bumped by every invalidation: a load that started before one must not
        # store what it read, which may predate the change.
        self._generation = 0
        self.hits = 0
        self.misses = 0

    async def get(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value of ``key``, or what ``load`` returns (then cached).

        Requests that miss the same key together share one load: when a busy
        entry expires, one query refreshes it instead of one per request.
        """
        now = time.monotonic()
        found = self._items.get(key)
        if found is not None and found[0] > now:
            self.hits += 1
            return found[1]
        pending = self._loading.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending)
        self.misses += 1
        generation = self._generation
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        else:
            future.set_result(value)
        finally:
            if self._loading.get(key) is future:
                del self._loading[key]
        if self.ttl > 0 and generation == self._generation:
            if len(self._items) >= self._size:
                self._evict(now)
            self._items[key] = (now + self.ttl, value)
        return value

    def invalidate(self, key: K) -> None:
        self._generation += 1
        self._items.pop(key, None)
        self._loading.pop(key, None)  # a load begun before the change is not joined

    def clear(self) -> None:
        self._generation += 1
        self._items.clear()
        self._loading.clear()

    def __len__(self) -> int:
        return len(self._items)

    def _evict(self, now: float) -> None:
        """Drop expired entries; if none had expired, drop the oldest half."""
        live = {k: v for k, v in self._items.items() if v[0] > now}
        if len(live) >= self._size:
            live = dict(sorted(live.items(), key=lambda item: item[1][0])[len(live) // 2 :])
        self._items = live
