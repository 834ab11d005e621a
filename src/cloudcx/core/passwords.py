"""Human passwords: argon2id via argon2-cffi, verified off the event loop.

argon2-cffi releases the GIL while hashing, so running it in a worker thread
keeps the event loop serving other requests during the tens of milliseconds a
hash costs. The threads are the hasher's own, as many as this process's share
of the cores: asyncio's shared pool ran six hashes at once in each worker
process, and with twelve 19 MiB hashes thrashing two cores' caches the password
grant ran a fifth slower than with one hash per core.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

T = TypeVar("T")
MIN_LENGTH = 12
MAX_LENGTH = 1024


@lru_cache(maxsize=8)
def hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )


class Passwords:
    """Hashing policy for one deployment (its argon2 cost comes from settings)."""

    def __init__(
        self, time_cost: int, memory_kib: int, parallelism: int, threads: int | None = None
    ) -> None:
        self._hasher = hasher(time_cost, memory_kib, parallelism)
        self.threads = threads or os.cpu_count() or 1
        self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="cloudcx-argon2")
        # Verifying against this hash when an account does not exist makes an
        # unknown email cost the same time as a wrong password.
        self._dummy_hash = self._hasher.hash("cloudcx-dummy-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    async def hash_async(self, password: str) -> str:
        return await self._off_loop(self._hasher.hash, password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        if len(password) > MAX_LENGTH:
            # Refused before hashing: argon2 cost grows with the input.
            return False
        try:
            return self._hasher.verify(stored_hash or self._dummy_hash, password) and (
                stored_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify_async(self, stored_hash: str | None, password: str) -> bool:
        return await self._off_loop(self.verify, stored_hash, password)

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def needs_rehash(self, stored_hash: str) -> bool:
        """Was ``stored_hash`` made with anything but this policy?

        argon2-cffi compares every parameter for equality (type, version, memory,
        time, lanes, salt and tag length), so a cost the operator lowered is
        applied as surely as one raised.
        """
        return self._hasher.check_needs_rehash(stored_hash)
