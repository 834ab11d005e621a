"""The running platform: the long-lived objects one process shares across requests.

Everything here is either configuration or a cache of the database; nothing
that matters lives only in one process (DESIGN.md §3), which is what lets any
number of identical processes serve behind a load balancer. The change feed
keeps the caches true (``cloudcx.changes``; across processes with Redis,
``cloudcx.feed_redis``), and the background jobs run in one process at a time
(``cloudcx.jobs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from cloudcx import changes, jobs
from cloudcx.accounts.directory import UserDirectory
from cloudcx.accounts.models import User
from cloudcx.audit import retention as audit_retention
from cloudcx.audit import writer as audit_writer
from cloudcx.audit.writer import AuditWriter
from cloudcx.changes import Change
from cloudcx.config import Settings
from cloudcx.core.passwords import Passwords
from cloudcx.db import WriteGate, create_engine, create_read_sessionmaker, create_sessionmaker
from cloudcx.feed_redis import RedisFeed
from cloudcx.oauth import housekeeping
from cloudcx.oauth import keys as signing_keys
from cloudcx.oauth.clients import ClientDirectory
from cloudcx.oauth.consents import RecentUses
from cloudcx.oauth.dpop_binding import DPoPVerifier
from cloudcx.oauth.keys import KeyRing
from cloudcx.oauth.models import OAuthClient, Revocation, SigningKey
from cloudcx.oauth.revocation import RevocationSet
from cloudcx.oauth.tokens import VerifiedCache
from cloudcx.ops import metrics
from cloudcx.security.throttle import Throttle
from cloudcx.tenancy.models import Tenant, TenantDomain
from cloudcx.tenancy.service import TenantDirectory
from cloudcx.webhooks import outbox
from cloudcx.webhooks import retention as webhook_retention
from cloudcx.webhooks.worker import Worker as WebhookWorker

log = logging.getLogger("cloudcx")

# A stopping process waits this long for a job's batch in progress to end.
JOB_STOP_TIMEOUT = 30.0


@dataclass
class Platform:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # For requests that only read (db.create_read_sessionmaker).
    read_sessionmaker: async_sessionmaker[AsyncSession]
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
    jobs: jobs.JobRunner
    # DPoP proofs (RFC 9449): their policy, nonces and replay cache.
    dpop: DPoPVerifier
    # Changes to and from other processes, when Redis is configured.
    feed: RedisFeed | None = None
    verified_tokens: VerifiedCache = field(default_factory=VerifiedCache)
    recent_uses: RecentUses = field(default_factory=RecentUses)
    # Delivers webhooks from inside the server (the embedded default).
    webhooks: WebhookWorker | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _job_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _side_tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _started: bool = False

    @classmethod
    def build(cls, settings: Settings, engine: AsyncEngine | None = None) -> Platform:
        engine = engine or create_engine(
            settings.db_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            sqlite_cache_kib=settings.sqlite_cache_kib,
        )
        session_class = changes.session_class()
        maker = create_sessionmaker(engine, session_class)
        # Clients and users may be as stale as revocations, never more (DESIGN.md §8).
        # Kept short with Redis too: a change whose message was lost (its process
        # died between commit and publish) is still seen within this delay.
        record_ttl = settings.revocation_poll_interval
        gate = WriteGate.for_url(settings.db_url)
        platform = cls(
            settings=settings,
            engine=engine,
            sessionmaker=maker,
            read_sessionmaker=create_read_sessionmaker(engine, maker),
            passwords=Passwords(
                settings.argon2_time_cost,
                settings.argon2_memory_kib,
                settings.argon2_parallelism,
                threads=settings.password_hash_threads,
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
            jobs=jobs.JobRunner(settings.db_url),
            dpop=DPoPVerifier.from_settings(settings),
        )
        platform._watch_changes(session_class)
        if settings.redis_url:
            platform.feed = RedisFeed(
                settings.redis_url,
                platform.changes,
                platform.catch_up,
                on_lag=metrics.observe_feed_lag,
            )
            # Queued before start too: a CLI command's changes are sent as it ends.
            platform.changes.outbox = platform.feed.publish
        return platform

    @property
    def feed_healthy(self) -> bool:
        """For a readiness check: False only while Redis is configured but not
        heard (other processes' changes then arrive within the poll delay)."""
        return self.feed is None or self.feed.healthy

    def _watch_changes(self, session_class: type[Session]) -> None:
        feed = self.changes
        feed.on(OAuthClient, self.clients.changed)
        feed.share(OAuthClient, lambda c: Change("client", str(c.tenant_id), (c.client_id,)))
        feed.on_remote("client", self._client_changed)
        feed.on(User, self.users.changed)
        feed.share(User, lambda u: Change("user", str(u.tenant_id), (str(u.id),)))
        feed.on_remote("user", self._user_changed)
        feed.on(Tenant, lambda _row: self.tenants.invalidate())
        feed.on(TenantDomain, lambda _row: self.tenants.invalidate())
        feed.share(Tenant, lambda t: Change("tenant", str(t.id)))
        feed.share(TenantDomain, lambda d: Change("tenant", str(d.tenant_id)))
        feed.on_remote("tenant", lambda _change: self.tenants.invalidate())
        # A revocation this process commits is in force here before it answers.
        feed.on(Revocation, self._revoked)
        feed.share(Revocation, _describe_revocation)
        feed.on_remote("revocation", self._revoked_elsewhere)
        feed.on(SigningKey, lambda _row: self._keys_changed())
        feed.share(SigningKey, lambda k: Change("key", "", (k.kid,)))
        feed.on_remote("key", lambda _change: self._keys_changed())
        feed.install(session_class)
        event.listen(session_class, "after_commit", self._committed)
        event.listen(session_class, "after_rollback", _forget_deliveries)

    def _committed(self, session: Session) -> None:
        """Deliveries just committed: this process's worker sends them now."""
        if session.info.pop(outbox.PENDING_FLAG, False) and self.webhooks is not None:
            self.webhooks.wake()

    def _revoked(self, row: Revocation) -> None:
        if not inspect(row).was_deleted:
            self.revocations.apply(row)

    def _revoked_elsewhere(self, change: Change) -> None:
        id_, kind, value, created_at = change.key
        self.revocations.apply(
            Revocation(
                id=int(id_),
                tenant_id=uuid.UUID(change.tenant_id),
                kind=kind,
                value=value,
                created_at=datetime.fromisoformat(created_at),
            )
        )

    def _client_changed(self, change: Change) -> None:
        self.clients.cache.invalidate((uuid.UUID(change.tenant_id), change.key[0]))

    def _user_changed(self, change: Change) -> None:
        self.users.cache.invalidate((uuid.UUID(change.tenant_id), uuid.UUID(change.key[0])))

    def _keys_changed(self) -> None:
        """A new or retired key: read the key table again (rare: a rotation)."""
        if not self._started:
            return
        task = asyncio.get_running_loop().create_task(self._refresh_keys())
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _refresh_keys(self) -> None:
        try:
            await self.keys.refresh()
        except Exception:
            log.exception("could not read the signing keys")

    async def catch_up(self) -> None:
        """After (re)subscribing: whatever was missed meanwhile is read again."""
        self.clients.cache.clear()
        self.users.cache.clear()
        self.tenants.invalidate()
        await self.revocations.refresh(full=True)
        await self.keys.refresh()

    async def start(self) -> None:
        async with self.sessionmaker() as session:
            await signing_keys.ensure_key(
                session, self.settings.resolved_secret_key, self.settings.signing_alg
            )
            await session.commit()
        await self.keys.refresh()
        await self.revocations.refresh()
        self._started = True
        self._stopping.clear()
        settings = self.settings
        if self.feed is not None:
            self.feed.start()
        # Pick up keys rotated by another process (or the CLI) even without Redis.
        self._every("keys", max(settings.cache_ttl, 1.0), self.keys.refresh)
        # Mirror new revocations so every process refuses them within a second;
        # kept with Redis, as the net for a message that never arrived.
        self._every("revocations", settings.revocation_poll_interval, self.revocations.refresh)
        self._every("audit-writer", audit_writer.INTERVAL, self.audit.flush_closed)
        interval = settings.housekeeping_interval
        self._job("housekeeping", interval, self.housekeeping)
        self._job("audit-retention", interval, self.audit_retention, first_now=True)
        self._job("webhook-retention", interval, self.webhook_retention)
        if settings.webhooks_in_server:
            self.webhooks = self.webhook_worker()
            self._tasks.append(asyncio.create_task(self.webhooks.run(), name="cloudcx-webhooks"))

    def webhook_worker(self) -> WebhookWorker:
        return WebhookWorker(self.settings, self.sessionmaker, self.writes)

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

    def _job(
        self,
        name: str,
        interval: float,
        job: Callable[[], Awaitable[object]],
        *,
        first_now: bool = False,
    ) -> None:
        """Like ``_every``, for a job only the leading process runs; ``stop``
        lets a run end at its batch boundary instead of cancelling it."""

        async def loop() -> None:
            if not first_now:
                await self._pause(interval)
            while not self._stopping.is_set():
                try:
                    await self.jobs.scheduled(name, job)
                except Exception:
                    log.exception("background job %s failed", name)
                await self._pause(interval)

        self._job_tasks.append(asyncio.create_task(loop(), name=f"cloudcx-{name}"))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def housekeeping(self) -> dict[str, int]:
        """One run of housekeeping (the caller holds the run lock)."""
        removed = await jobs.run_steps(
            self.sessionmaker,
            housekeeping.steps(self.settings.idempotency_ttl),
            gate=self.writes,
            stopping=lambda: self.jobs.stopping,
        )
        log.info("housekeeping removed %s", removed)
        return removed

    async def audit_retention(self) -> dict[str, int]:
        deleted = await audit_retention.purge(
            self.sessionmaker,
            self.settings.audit_retention_days,
            gate=self.writes,
            stopping=lambda: self.jobs.stopping,
        )
        return {audit_retention.NAME: deleted}

    async def webhook_retention(self) -> dict[str, int]:
        return await jobs.run_steps(
            self.sessionmaker,
            webhook_retention.steps(self.settings.webhook_log_retention_days),
            gate=self.writes,
            stopping=lambda: self.jobs.stopping,
        )

    async def cleanup(self, wait: float = 60.0) -> dict[str, int] | None:
        """Run every job now (``cloudcx cleanup``), waiting up to ``wait`` seconds
        for a run of another process to end; None if it did not."""
        removed: dict[str, int] = {}

        async def everything() -> None:
            removed.update(await self.housekeeping())
            removed.update(await self.audit_retention())
            removed.update(await self.webhook_retention())

        if not await self.jobs.run("cleanup", everything, wait=wait):
            return None
        return removed

    async def stop(self, dispose_engine: bool = True) -> None:
        self._stopping.set()
        self.jobs.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
            self.webhooks = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        # A job in progress ends at its next batch boundary.
        if self._job_tasks:
            _done, late = await asyncio.wait(self._job_tasks, timeout=JOB_STOP_TIMEOUT)
            for task in late:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._job_tasks.clear()
        await self.jobs.close()
        for side in list(self._side_tasks):
            side.cancel()
        if self.feed is not None:
            await self.feed.stop()
        await self.dpop.close()
        self._started = False
        await self.audit.flush()
        if dispose_engine:
            await self.engine.dispose()

    async def publish_pending(self) -> None:
        """Send changes queued outside a started platform (a CLI command's)."""
        if self.feed is not None:
            await self.feed.flush()


def _forget_deliveries(session: Session) -> None:
    session.info.pop(outbox.PENDING_FLAG, None)


def _describe_revocation(row: Revocation) -> Change | None:
    if inspect(row).was_deleted:
        return None
    return Change(
        "revocation",
        str(row.tenant_id),
        (str(row.id), row.kind, row.value, row.created_at.isoformat()),
    )
