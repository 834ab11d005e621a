"""The record cache: expiry, invalidation, misses cached, a bounded size."""

from __future__ import annotations

import asyncio

from cloudcx.core.cache import RecordCache


class Loader:
    def __init__(self, value: str | None) -> None:
        self.value = value
        self.calls = 0

    async def __call__(self) -> str | None:
        self.calls += 1
        return self.value


async def test_a_value_is_loaded_once_until_it_expires() -> None:
    cache: RecordCache[str, str] = RecordCache(ttl=0.05)
    load = Loader("v1")
    assert await cache.get("k", load) == "v1"
    assert await cache.get("k", load) == "v1"
    assert load.calls == 1
    await asyncio.sleep(0.06)
    load.value = "v2"
    assert await cache.get("k", load) == "v2"
    assert load.calls == 2


async def test_a_miss_is_cached_too() -> None:
    cache: RecordCache[str, str] = RecordCache(ttl=10)
    load = Loader(None)
    assert await cache.get("unknown", load) is None
    assert await cache.get("unknown", load) is None
    assert load.calls == 1


async def test_invalidate_and_clear_force_a_reload() -> None:
    cache: RecordCache[str, str] = RecordCache(ttl=10)
    load = Loader("v1")
    await cache.get("k", load)
    cache.invalidate("k")
    await cache.get("k", load)
    cache.clear()
    await cache.get("k", load)
    assert load.calls == 3


async def test_a_load_overtaken_by_an_invalidation_is_not_kept() -> None:
    """What a load read before a change committed must not outlive the change."""
    cache: RecordCache[str, str] = RecordCache(ttl=10)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "before the change"

    pending = asyncio.create_task(cache.get("k", slow))
    await started.wait()
    cache.invalidate("k")
    release.set()
    assert await pending == "before the change"
    assert await cache.get("k", Loader("after the change")) == "after the change"


async def test_a_zero_ttl_never_keeps_anything() -> None:
    cache: RecordCache[str, str] = RecordCache(ttl=0)
    load = Loader("v")
    await cache.get("k", load)
    await cache.get("k", load)
    assert (load.calls, len(cache)) == (2, 0)


async def test_the_size_is_bounded() -> None:
    cache: RecordCache[int, str] = RecordCache(ttl=10, size=100)
    for n in range(1_000):
        await cache.get(n, Loader(str(n)))
    assert len(cache) <= 100
    assert await cache.get(999, Loader("reloaded")) == "999"


async def test_requests_missing_one_key_together_share_one_load() -> None:
    cache: RecordCache[str, str] = RecordCache(ttl=10)
    release = asyncio.Event()
    calls = 0

    async def slow() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "value"

    waiting = [asyncio.create_task(cache.get("k", slow)) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == ["value"] * 10
    assert calls == 1


async def test_a_failed_load_fails_its_waiters_and_is_tried_again() -> None:
    cache: RecordCache[str, str] = RecordCache(ttl=10)
    release = asyncio.Event()

    async def broken() -> str:
        await release.wait()
        raise OSError("database unreachable")

    waiting = [asyncio.create_task(cache.get("k", broken)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    assert await cache.get("k", Loader("recovered")) == "recovered"


async def test_a_request_after_an_invalidation_does_not_join_an_older_load() -> None:
    cache: RecordCache[str, str] = RecordCache(ttl=10)
    started, release = asyncio.Event(), asyncio.Event()

    async def old() -> str:
        started.set()
        await release.wait()
        return "before the change"

    first = asyncio.create_task(cache.get("k", old))
    await started.wait()
    cache.invalidate("k")
    assert await cache.get("k", Loader("after the change")) == "after the change"
    release.set()
    assert await first == "before the change"
