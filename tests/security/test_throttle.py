"""The throttle itself: backoff schedule, independence of keys, and the Redis storage."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from limits.aio.storage import MemoryStorage, Storage
from limits.storage import storage_from_string

from cloudcx.config import Settings
from cloudcx.security.throttle import (
    AccountLocked,
    Throttle,
    ThrottlePolicy,
    TooManyAttempts,
    keys_for,
    network_of,
)
from cloudcx.tenancy.service import TenantInfo

TENANT = TenantInfo(id=uuid.uuid4(), name="Acme", domains=("localhost",))
OTHER_TENANT = TenantInfo(id=uuid.uuid4(), name="Globex", domains=("globex.example",))
TINY = ThrottlePolicy(
    free_failures=2, pair_limit=4, ip_limit=50, account_limit=6, window=2, backoff_max=1
)
REDIS_URL = os.environ.get("CLOUDCX_TEST_REDIS_URL")


def test_backoff_doubles_then_caps() -> None:
    policy = ThrottlePolicy(free_failures=5, backoff_base=1, backoff_max=60)
    assert [policy.backoff(n) for n in range(3, 14)] == [0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.backoff(10_000) == 60


def test_ipv6_clients_are_counted_per_64() -> None:
    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:bbbb::9")
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of("203.0.113.7") == "203.0.113.7"


def test_keys_hide_the_login_and_normalise_it() -> None:
    keys = keys_for(TENANT.id, " Admin@Acme.example ", "203.0.113.7")
    assert keys == keys_for(TENANT.id, "admin@acme.example", "203.0.113.7")
    assert "acme" not in keys.account.lower()
    assert keys.account != keys_for(OTHER_TENANT.id, "admin@acme.example", "203.0.113.7").account


def test_settings_feed_the_policy() -> None:
    throttle = Throttle.build(Settings(signin_pair_limit=7, signin_window=60, secret_key="x" * 40))
    assert throttle.policy_for(TENANT).pair_limit == 7
    assert isinstance(throttle.storage, MemoryStorage)


@pytest_asyncio.fixture(params=["memory", "redis"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    if not REDIS_URL:
        pytest.skip("CLOUDCX_TEST_REDIS_URL is not set: Redis-backed throttle not tested")
    found = storage_from_string(
        f"async+{REDIS_URL}", implementation="redispy", key_prefix=f"cx-test-{uuid.uuid4().hex}"
    )
    assert isinstance(found, Storage)
    yield found
    await found.reset()


async def test_pair_backoff_spares_other_addresses_and_expires(storage: Storage) -> None:
    throttle = Throttle(storage, lambda _tenant: TINY)
    for _ in range(TINY.free_failures):
        await throttle.check(TENANT, "a@acme.example", "192.0.2.1")
        await throttle.failed(TENANT, "a@acme.example", "192.0.2.1")
    with pytest.raises(TooManyAttempts) as refused:
        await throttle.check(TENANT, "a@acme.example", "192.0.2.1")
    assert refused.value.scope == "backoff" and 1 <= refused.value.retry_after <= 2
    await throttle.check(TENANT, "a@acme.example", "192.0.2.2")  # the owner elsewhere
    await throttle.check(OTHER_TENANT, "a@acme.example", "192.0.2.1")  # another tenant
    await asyncio.sleep(TINY.window + 0.2)
    await throttle.check(TENANT, "a@acme.example", "192.0.2.1")


async def test_account_limit_counts_every_address(storage: Storage) -> None:
    throttle = Throttle(storage, lambda _tenant: TINY)
    for n in range(TINY.account_limit):
        await throttle.failed(TENANT, "b@acme.example", f"198.51.100.{n}")
    with pytest.raises(AccountLocked):
        await throttle.check(TENANT, "b@acme.example", "198.51.100.200")
