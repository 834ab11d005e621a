"""Human passwords: argon2id via argon2-cffi, verified off the event loop.

argon2-cffi releases the GIL while hashing, so running it in a worker thread
keeps the event loop serving other requests during the tens of milliseconds a
hash costs.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024


@lru_cache(maxsize=8)
def hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )


class Passwords:
    """Hashing policy for one deployment (its argon2 cost comes from settings)."""

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = hasher(time_cost, memory_kib, parallelism)
        # Verifying against this hash when an account does not exist makes an
        # unknown email cost the same time as a wrong password.
        self._dummy_hash = self._hasher.hash("cloudcx-dummy-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    async def hash_async(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

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
        return await asyncio.to_thread(self.verify, stored_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        """Was ``stored_hash`` made with anything but this policy?

        argon2-cffi compares every parameter for equality (type, version, memory,
        time, lanes, salt and tag length), so a cost the operator lowered is
        applied as surely as one raised.
        """
        return self._hasher.check_needs_rehash(stored_hash)
