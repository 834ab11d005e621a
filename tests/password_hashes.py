"""Stored password hashes of another cost than the suite's, for the rehash tests.

The suite hashes at t=1, m=64 KiB, p=1 (``tests/conftest.py``): a hash made
by an older or newer deployment has a higher or a lower cost than that.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.config import Settings
from tests.helpers import PASSWORD


@dataclass(frozen=True)
class Cost:
    time_cost: int
    memory_kib: int
    parallelism: int
    type: Type = Type.ID


# Time and lanes are at their minimum in the suite: "lower" can only be memory.
OTHER_COSTS = [
    pytest.param(Cost(time_cost=2, memory_kib=128, parallelism=2), id="higher-cost"),
    pytest.param(Cost(time_cost=1, memory_kib=32, parallelism=1), id="lower-cost"),
    pytest.param(Cost(time_cost=1, memory_kib=64, parallelism=1, type=Type.I), id="argon2i"),
]


async def store_hash(db: AsyncSession, user: User, cost: Cost) -> str:
    """Replace ``user``'s stored hash by one of ``PASSWORD`` made at ``cost``."""
    hasher = PasswordHasher(cost.time_cost, cost.memory_kib, cost.parallelism, type=cost.type)
    value = hasher.hash(PASSWORD)
    await db.execute(update(User).where(User.id == user.id).values(password_hash=value))
    await db.commit()
    return value


async def stored_hash(db: AsyncSession, user: User) -> str:
    """The hash in the database now (the read's transaction ends, so a later read is fresh)."""
    value = await db.scalar(select(User.password_hash).where(User.id == user.id))
    await db.commit()
    assert value is not None
    return value


def cost_of(stored: str) -> Cost:
    found = extract_parameters(stored)
    return Cost(found.time_cost, found.memory_cost, found.parallelism, found.type)


def configured_cost(settings: Settings) -> Cost:
    return Cost(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)
