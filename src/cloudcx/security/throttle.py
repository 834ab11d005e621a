"""Brute-force defence shared by the password grant and Control Panel sign-in.

Only failures are counted, under four keys, each with its own limit:

- the pair (account, client IP): after ``free_failures`` each further attempt
  must wait out an exponentially growing lock (1 s, 2 s, 4 s ... up to
  ``backoff_max``), and past ``pair_limit`` the pair is refused until its
  oldest failure leaves the window;
- the client IP across every account of the tenant: past ``ip_limit`` the
  address is refused there (password spraying) — and only there, so that a
  flood at one tenant does not lock that address out of every other;
- the client IP across every tenant: past ``platform_ip_limit``, set higher,
  the address is refused everywhere (spraying spread over tenants);
- the account across every IP: past ``account_limit``, set far higher, the
  account is refused. Someone guessing from elsewhere therefore does not lock
  the owner out, unless the attack is large and distributed.

A person who signed in from this browser before presents a device cookie
(``security.devices``, OWASP's "device cookie" pattern): for that account the
address-wide limits do not apply, and the pair is (account, device) instead of
(account, address), so a device used for guessing locks itself out; the
account's own limit still applies.

The account key is the login as typed (NFKC, case-folded), whether or not such
an account exists, so unknown and known emails are throttled alike and the
defence itself reveals nothing about which accounts exist.

Counters live in a ``limits`` storage: this process's memory by default, Redis
when ``CLOUDCX_REDIS_URL`` is set so every process shares them (DESIGN.md §7).
See NIST SP 800-63B §5.2.2 (rate limiting) and OWASP ASVS V2.2.1.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
)
from limits.aio.strategies import (
    RateLimiter as Limiter,
)
from limits.storage import storage_from_string

from cloudcx.accounts.service import email_key
from cloudcx.config import Settings
from cloudcx.security.pair_gate import Check, PairGate
from cloudcx.tenancy.service import TenantInfo

NAMESPACE = "cloudcx-signin"


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures each key may have within ``window`` seconds."""

    free_failures: int = 5
    pair_limit: int = 20
    ip_limit: int = 100
    platform_ip_limit: int = 500
    account_limit: int = 200
    window: int = 900
    backoff_base: int = 1
    backoff_max: int = 60

    def backoff(self, failures: int) -> int:
        """Seconds a pair must wait after its ``failures``-th failure (0 while free)."""
        if failures < self.free_failures:
            return 0
        step = min(failures - self.free_failures, 30)
        return int(min(self.backoff_max, self.backoff_base * 2**step))


PolicyFor = Callable[[TenantInfo], ThrottlePolicy]


def policy_from_settings(settings: Settings) -> PolicyFor:
    """Every tenant gets the deployment's policy; a per-tenant one plugs in here."""
    policy = ThrottlePolicy(
        free_failures=settings.signin_free_failures,
        pair_limit=settings.signin_pair_limit,
        ip_limit=settings.signin_ip_limit,
        platform_ip_limit=settings.signin_platform_ip_limit,
        account_limit=settings.signin_account_limit,
        window=settings.signin_window,
        backoff_max=settings.signin_backoff_max,
    )

    def policy_for(_tenant: TenantInfo) -> ThrottlePolicy:
        return policy

    return policy_for


class TooManyAttempts(Exception):
    """This address must wait: answered 429 with ``Retry-After``."""

    def __init__(self, retry_after: int, scope: str) -> None:
        self.retry_after = max(1, retry_after)
        self.scope = scope
        super().__init__(f"{scope} throttled for {self.retry_after}s")


class AccountLocked(Exception):
    """The account has had too many failures from everywhere.

    Answered exactly like a wrong password, so it reveals nothing.
    """


@dataclass(frozen=True, slots=True)
class Keys:
    pair: tuple[str, str]
    ip: str  # the address at this tenant
    platform_ip: str  # the address at every tenant
    account: str


def network_of(ip: str) -> str:
    """IPv6 clients usually own a whole /64, so that is what an "address" is."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if addr.version == 6:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def account_key(tenant_id: uuid.UUID, login: str) -> str:
    # Hashed so that emails never appear as Redis keys; look-alike spellings of
    # one address share their counters.
    return hashlib.sha256(f"{tenant_id}\x00{email_key(login)}".encode()).hexdigest()[:40]


def keys_for(tenant_id: uuid.UUID, login: str, ip: str, device: str | None = None) -> Keys:
    account = account_key(tenant_id, login)
    net = network_of(ip)
    pair = (account, f"device:{device}") if device else (account, net)
    return Keys(pair=pair, ip=f"{tenant_id}/{net}", platform_ip=net, account=account)


class Throttle:
    """Counts sign-in failures and refuses attempts past the tenant's policy."""

    def __init__(
        self, storage: Storage, policy_for: PolicyFor, clock: Callable[[], float] = time.time
    ) -> None:
        self.storage = storage
        self.policy_for = policy_for
        # Must read the same clock as the storage (Retry-After is computed from it).
        self.clock = clock
        self._counts = MovingWindowRateLimiter(storage)
        self._locks = FixedWindowRateLimiter(storage)
        # Attempts on one (account, address) pair overlap in this process only
        # while a burst of them could not pass ``check`` before a failure that
        # matters is counted (security/pair_gate.py).
        self.pairs = PairGate()

    def attempt(
        self, tenant: TenantInfo, login: str, ip: str, check: Check, device: str | None = None
    ) -> AbstractAsyncContextManager[None]:
        """Hold while a password is evaluated and counted; ``check`` is ``self.check``
        (or a wrapper of it) and may be run again while the attempt waits."""
        key = "/".join(keys_for(tenant.id, login, ip, device).pair)
        return self.pairs.enter(key, check, self.policy_for(tenant).free_failures)

    @classmethod
    def build(cls, settings: Settings) -> Throttle:
        storage: Storage
        if settings.redis_url:
            found = storage_from_string(
                f"async+{settings.redis_url}", implementation="redispy", key_prefix=NAMESPACE
            )
            assert isinstance(found, Storage)
            storage = found
        else:
            storage = MemoryStorage()
        return cls(storage, policy_from_settings(settings))

    async def check(
        self, tenant: TenantInfo, login: str, ip: str, device: str | None = None
    ) -> int:
        """Raise before any password is evaluated if this attempt may not be made;
        otherwise return the pair's failures in the window. ``device``: the id of
        a device cookie verified for this login (``security.devices``)."""
        policy = self.policy_for(tenant)
        keys = keys_for(tenant.id, login, ip, device)
        counts = self._counts
        if device is None:
            await self._refuse_if_full(
                counts, _item(policy.ip_limit, policy), ("ip", keys.ip), "ip"
            )
            await self._refuse_if_full(
                counts,
                _item(policy.platform_ip_limit, policy),
                ("platform-ip", keys.platform_ip),
                "platform-ip",
            )
        pair_item = _item(policy.pair_limit, policy)
        failures = await self._refuse_if_full(counts, pair_item, ("pair", *keys.pair), "pair")
        delay = policy.backoff(failures)
        if delay:
            await self._refuse_if_full(self._locks, _lock(delay), ("lock", *keys.pair), "backoff")
        account = ("account", keys.account)
        if await self._count(_item(policy.account_limit, policy), account) >= (
            policy.account_limit
        ):
            raise AccountLocked
        return failures

    async def failed(
        self, tenant: TenantInfo, login: str, ip: str, device: str | None = None
    ) -> None:
        """Every failure counts against the address too, with a device cookie or not."""
        policy = self.policy_for(tenant)
        keys = keys_for(tenant.id, login, ip, device)
        await self._counts.hit(_item(policy.ip_limit, policy), "ip", keys.ip)
        await self._counts.hit(
            _item(policy.platform_ip_limit, policy), "platform-ip", keys.platform_ip
        )
        await self._counts.hit(_item(policy.account_limit, policy), "account", keys.account)
        pair_item = _item(policy.pair_limit, policy)
        await self._counts.hit(pair_item, "pair", *keys.pair)
        delay = policy.backoff(await self._count(pair_item, ("pair", *keys.pair)))
        if delay:
            await self._locks.hit(_lock(delay), "lock", *keys.pair)

    async def succeeded(
        self, tenant: TenantInfo, login: str, ip: str, device: str | None = None
    ) -> None:
        """The right password clears its pair, never the IP or account counts:
        an attacker must not reset them by signing in to an account of their own."""
        policy = self.policy_for(tenant)
        keys = keys_for(tenant.id, login, ip, device)
        await self._counts.clear(_item(policy.pair_limit, policy), "pair", *keys.pair)

    async def reset(self) -> None:
        """Forget every counter (tests, and an operator lifting a lockout)."""
        await self.storage.reset()

    async def _count(self, item: RateLimitItem, ids: tuple[str, ...]) -> int:
        stats = await self._counts.get_window_stats(item, *ids)
        return int(item.amount - stats.remaining)

    async def _refuse_if_full(
        self, limiter: Limiter, item: RateLimitItem, ids: tuple[str, ...], scope: str
    ) -> int:
        """Raise when the window is full; otherwise return how much of it is used."""
        stats = await limiter.get_window_stats(item, *ids)
        if stats.remaining <= 0:
            raise TooManyAttempts(math.ceil(stats.reset_time - self.clock()), scope)
        return int(item.amount - stats.remaining)


def _item(limit: int, policy: ThrottlePolicy) -> RateLimitItem:
    return RateLimitItemPerSecond(max(1, limit), policy.window, namespace=NAMESPACE)


def _lock(seconds: int) -> RateLimitItem:
    return RateLimitItemPerSecond(1, seconds, namespace=NAMESPACE)
