"""The running platform: the long-lived objects one process shares across requests.

Everything here is either configuration or a cache of the database; nothing
that matters lives only in one process (DESIGN.md §3), which is what lets any
number of identical processes serve behind a load balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from cloudcx import changes
from cloudcx.accounts.directory import UserDirectory
from cloudcx.accounts.models import User
from cloudcx.audit import retention as audit_retention
from cloudcx.audit import writer as audit_writer
from cloudcx.audit.writer import AuditWriter
from cloudcx.config import Settings
from cloudcx.core.passwords import Passwords
from cloudcx.db import WriteGate, create_engine, create_sessionmaker
from cloudcx.oauth import housekeeping
from cloudcx.oauth import keys as signing_keys
from cloudcx.oauth.clients import ClientDirectory
from cloudcx.oauth.consents import RecentUses
from cloudcx.oauth.keys import KeyRing
from cloudcx.oauth.models import OAuthClient, Revocation
from cloudcx.oauth.revocation import RevocationSet
from cloudcx.oauth.tokens import VerifiedCache
from cloudcx.security.throttle import Throttle
from cloudcx.tenancy.models import Tenant, TenantDomain
from cloudcx.tenancy.service import TenantDirectory

log = logging.getLogger("cloudcx")


@dataclass
class Platform:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    passwords: Passwords
    keys: KeyRing
    tenants: TenantDirectory
    revocations: RevocationSet
    throttle: Throttle
    clients: ClientDirectory
    users: UserDirectory
    changes: changes.ChangeFeed
    audit: AuditWriter
    writes: WriteGate
    verified_tokens: VerifiedCache = field(default_factory=VerifiedCache)
    recent_uses: RecentUses = field(default_factory=RecentUses)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, engine: AsyncEngine | None = None) -> Platform:
        engine = engine or create_engine(
            settings.db_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        session_class = changes.session_class()
        maker = create_sessionmaker(engine, session_class)
        # Clients and users may be as stale as revocations, never more (DESIGN.md §8).
        record_ttl = settings.revocation_poll_interval
        gate = WriteGate.for_url(settings.db_url)
        platform = cls(
            settings=settings,
            engine=engine,
            sessionmaker=maker,
            passwords=Passwords(
                settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
            ),
            keys=KeyRing(maker, settings.resolved_secret_key),
            tenants=TenantDirectory(maker, settings.cache_ttl),
            revocations=RevocationSet(maker),
            throttle=Throttle.build(settings),
            clients=ClientDirectory(maker, record_ttl),
            users=UserDirectory(maker, record_ttl),
            changes=changes.ChangeFeed(),
            audit=AuditWriter(maker, gate),
            writes=gate,
        )
        platform._watch_changes(session_class)
        return platform

    def _watch_changes(self, session_class: type[Session]) -> None:
        feed = self.changes
        feed.on(OAuthClient, self.clients.changed)
        feed.on(User, self.users.changed)
        feed.on(Tenant, lambda _row: self.tenants.invalidate())
        feed.on(TenantDomain, lambda _row: self.tenants.invalidate())
        # A revocation this process commits is in force here before it answers.
        feed.on(Revocation, self._revoked)
        feed.install(session_class)

    def _revoked(self, row: Revocation) -> None:
        if not inspect(row).was_deleted:
            self.revocations.apply(row)

    async def start(self) -> None:
        async with self.sessionmaker() as session:
            await signing_keys.ensure_key(
                session, self.settings.resolved_secret_key, self.settings.signing_alg
            )
            await session.commit()
        await self.keys.refresh()
        await self.revocations.refresh()
        settings = self.settings
        # Pick up keys rotated by another process (or the CLI).
        self._every("keys", max(settings.cache_ttl, 1.0), self.keys.refresh)
        # Mirror new revocations so every process refuses them within a second.
        self._every("revocations", settings.revocation_poll_interval, self.revocations.refresh)
        self._every("audit-writer", audit_writer.INTERVAL, self.audit.flush_closed)
        self._every("housekeeping", housekeeping.INTERVAL, self._housekeeping)
        self._every(
            "audit-retention",
            audit_retention.INTERVAL,
            self._audit_retention,
            first_now=True,
        )

    def _every(
        self,
        name: str,
        interval: float,
        job: Callable[[], Awaitable[object]],
        *,
        first_now: bool = False,
    ) -> None:
        """Run ``job`` every ``interval`` seconds until ``stop``; a failure (a
        database hiccup) is logged and never ends the loop."""

        async def loop() -> None:
            if not first_now:
                await asyncio.sleep(interval)
            while True:
                try:
                    await job()
                except Exception:
                    log.exception("background job %s failed", name)
                await asyncio.sleep(interval)

        self._tasks.append(asyncio.create_task(loop(), name=f"cloudcx-{name}"))

    async def _housekeeping(self) -> None:
        async with self.sessionmaker() as session:
            removed = await housekeeping.purge(session)
            await session.commit()
        log.debug("housekeeping removed %d expired rows", removed)

    async def _audit_retention(self) -> None:
        await audit_retention.purge(self.sessionmaker, self.settings.audit_retention_days)

    async def stop(self, dispose_engine: bool = True) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.audit.flush()
        if dispose_engine:
            await self.engine.dispose()
