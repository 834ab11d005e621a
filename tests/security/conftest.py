"""Fixtures for attacking the sign-in defences without waiting in real time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import limits.aio.storage.memory
import pytest
from argon2 import PasswordHasher

from cloudcx.platform import Platform


class FakeClock:
    """Stands in for the ``time`` module inside the in-memory counter storage."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, platform: Platform) -> Iterator[FakeClock]:
    fake = FakeClock()
    monkeypatch.setattr(limits.aio.storage.memory, "time", fake)
    monkeypatch.setattr(platform.throttle, "clock", fake.time)
    yield fake


class CountingHasher:
    """Wraps argon2's hasher to count verifications and keep the hashes used."""

    def __init__(self, real: PasswordHasher) -> None:
        self.real = real
        self.verified_hashes: list[str] = []

    @property
    def verifications(self) -> int:
        return len(self.verified_hashes)

    def verify(self, stored_hash: str, password: str) -> bool:
        self.verified_hashes.append(stored_hash)
        return self.real.verify(stored_hash, password)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def argon2_counter(monkeypatch: pytest.MonkeyPatch, platform: Platform) -> CountingHasher:
    counter = CountingHasher(platform.passwords._hasher)
    monkeypatch.setattr(platform.passwords, "_hasher", counter)
    return counter
