"""Background jobs: one process at a time, bounded batches, a stop at a batch boundary."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cloudcx import jobs
from cloudcx.config import Settings
from cloudcx.db import utcnow
from cloudcx.oauth import housekeeping
from cloudcx.oauth.models import Revocation
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo


@pytest.fixture
def lock_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def runner(settings: Settings, name: str, leader: str | None = None) -> jobs.JobRunner:
    """Locks of the test's own: the suite's platform holds the default ones."""
    return jobs.JobRunner(settings.db_url, leader_name=leader or name, run_name=f"{name}-run")


async def add_revocations(db: AsyncSession, tenant: TenantInfo, count: int, expired: bool) -> None:
    now = utcnow()
    at = now - timedelta(hours=2) if expired else now + timedelta(hours=1)
    await db.execute(
        insert(Revocation),
        [
            {
                "tenant_id": tenant.id,
                "kind": "token",
                "value": f"{'old' if expired else 'live'}-{i}",
                "created_at": now - timedelta(hours=3),
                "expires_at": at,
            }
            for i in range(count)
        ],
    )
    await db.commit()


async def revocations(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Revocation)) or 0)


async def test_only_one_runner_leads(settings: Settings, lock_name: str) -> None:
    first = runner(settings, lock_name)
    second = runner(settings, lock_name)
    try:
        assert await first.lead()
        assert not await second.lead()
        assert await first.lead()  # staying leader is not taking the lock twice
        await first.close()
        # The leader gone (its connection or descriptor closed), another takes over.
        assert await second.lead()
        assert not await first.lead()
    finally:
        await first.close()
        await second.close()


async def test_a_follower_runs_no_scheduled_job(settings: Settings, lock_name: str) -> None:
    leader = runner(settings, lock_name)
    follower = runner(settings, lock_name)
    ran: list[str] = []

    async def job() -> None:
        ran.append("ran")

    try:
        assert await leader.scheduled("housekeeping", job)
        assert not await follower.scheduled("housekeeping", job)
        assert ran == ["ran"]
        assert (leader.runs, follower.runs) == ({"housekeeping": 1}, {})
    finally:
        await leader.close()
        await follower.close()


async def test_runs_never_overlap(settings: Settings, lock_name: str) -> None:
    """``cloudcx cleanup`` waits for a scheduled run in progress, then runs."""
    leader = runner(settings, lock_name)
    cleanup = runner(settings, lock_name, leader=lock_name + "-cli")
    inside = 0
    most = 0

    async def job() -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.3)
        inside -= 1

    try:
        scheduled = asyncio.create_task(leader.scheduled("housekeeping", job))
        await asyncio.sleep(0.05)
        assert not await cleanup.run("cleanup", job, wait=0.0)
        assert await cleanup.run("cleanup", job, wait=5.0)
        assert await scheduled
        assert most == 1
    finally:
        await leader.close()
        await cleanup.close()


async def test_deletes_in_batches_until_done(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    await add_revocations(db, tenant, 25, expired=True)
    await add_revocations(db, tenant, 3, expired=False)
    batches: list[int] = []
    step = jobs.batch_delete(Revocation, Revocation.expires_at <= utcnow())

    async def counted(session: AsyncSession, limit: int) -> int:
        removed = await step(session, limit)
        batches.append(removed)
        return removed

    removed = await jobs.run_steps(platform.sessionmaker, [("revocations", counted)], limit=10)
    assert removed == {"revocations": 25}
    assert batches == [10, 10, 5]
    assert await revocations(db) == 3


async def test_a_stopping_job_ends_at_a_batch_boundary(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    await add_revocations(db, tenant, 25, expired=True)
    done: list[int] = []
    step = jobs.batch_delete(Revocation, Revocation.expires_at <= utcnow())

    async def counted(session: AsyncSession, limit: int) -> int:
        done.append(await step(session, limit))
        return done[-1]

    removed = await jobs.run_steps(
        platform.sessionmaker, [("revocations", counted)], limit=10, stopping=lambda: bool(done)
    )
    assert removed == {"revocations": 10}
    assert await revocations(db) == 15  # committed batch kept, nothing half done


async def test_housekeeping_deletes_expired_revocations_only(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    await add_revocations(db, tenant, 30, expired=True)
    await add_revocations(db, tenant, 2, expired=False)
    removed = await jobs.run_steps(
        platform.sessionmaker, housekeeping.steps(platform.settings.idempotency_ttl), limit=7
    )
    assert removed["revocations"] == 30
    assert await revocations(db) == 2


async def test_stop_lets_a_running_batch_finish(
    settings: Settings, engine: AsyncEngine, db: AsyncSession, tenant: TenantInfo, lock_name: str
) -> None:
    """platform.stop waits for the batch in progress, then the job ends there."""
    await add_revocations(db, tenant, 3, expired=True)
    own = Platform.build(settings.model_copy(update={"housekeeping_interval": 3600}), engine)
    own.jobs = runner(settings, lock_name)
    started, release = asyncio.Event(), asyncio.Event()
    batches: list[int] = []
    step = jobs.batch_delete(Revocation, Revocation.expires_at <= utcnow())

    async def slow(session: AsyncSession, _limit: int) -> int:
        started.set()
        await release.wait()
        batches.append(await step(session, 1))
        return batches[-1]

    async def job() -> None:
        await jobs.run_steps(
            own.sessionmaker, [("slow", slow)], limit=1, stopping=lambda: own.jobs.stopping
        )

    own._job("slow", 3600, job, first_now=True)
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(own.stop(dispose_engine=False))
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waiting for the batch
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert batches == [1]
    assert await revocations(db) == 2
