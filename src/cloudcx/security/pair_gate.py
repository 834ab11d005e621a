"""Sign-in attempts on one (account, address) pair: side by side while that is safe.

Running every attempt on a pair one at a time keeps a burst of parallel
guesses from all passing the throttle's check before the first failure is
counted. It also queues an application that signs one account in from one
server behind a single argon2 verification, on a single core.

So an attempt starts beside the ones in flight only while the pair's counted
failures plus the attempts in flight stay below the free failures: were all of
them to fail, the pair would meet its first backoff exactly as if they had run
one after another. Otherwise an attempt waits for one in flight to finish and
is checked again; with nothing in flight it runs alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

# Raises to refuse the attempt; otherwise returns the pair's counted failures.
Check = Callable[[], Awaitable[int]]


@dataclass
class _Pair:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    freed: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int = 0
    users: int = 0


class PairGate:
    def __init__(self) -> None:
        self._pairs: dict[str, _Pair] = {}

    def __len__(self) -> int:
        return len(self._pairs)

    @asynccontextmanager
    async def enter(self, key: str, check: Check, free_failures: int) -> AsyncIterator[None]:
        pair = self._pairs.setdefault(key, _Pair())
        pair.users += 1
        try:
            async with self._admitted(pair, check, free_failures):
                yield
        finally:
            pair.users -= 1
            if not pair.users:
                del self._pairs[key]

    @asynccontextmanager
    async def _admitted(self, pair: _Pair, check: Check, free_failures: int) -> AsyncIterator[None]:
        async with pair.lock:
            while (await check()) + pair.in_flight >= free_failures:
                if not pair.in_flight:
                    yield  # alone: the lock is held until this attempt is counted
                    return
                pair.freed.clear()
                await pair.freed.wait()
            pair.in_flight += 1
        try:
            yield
        finally:
            pair.in_flight -= 1
            pair.freed.set()
