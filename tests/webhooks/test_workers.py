"""Several workers on one database never send one attempt twice."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.webhooks.conftest import Receiver, loopback_settings, make_endpoint

from cloudcx.contacts import service as contacts
from cloudcx.contacts.schemas import ContactCreate
from cloudcx.db import WriteGate, create_engine, create_sessionmaker
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from cloudcx.webhooks.worker import Worker

EVENTS = 60


async def test_two_workers_on_postgresql_never_deliver_one_attempt_twice(
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    receiver: Receiver,
    test_db_url: str,
) -> None:
    if test_db_url.startswith("sqlite"):
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    await make_endpoint(db, platform, tenant, receiver.url("/ok"), name="A")
    await make_endpoint(db, platform, tenant, receiver.url("/also"), name="B")
    for n in range(EVENTS):
        await contacts.create_contact(db, tenant.id, ContactCreate(email=f"c{n}@example.com"))
        await db.commit()
    # Each worker with its own engine, as two processes would have.
    settings = loopback_settings(platform.settings, webhook_poll_interval=0.05)
    engines = [create_engine(test_db_url) for _ in range(2)]
    workers = [
        Worker(settings, create_sessionmaker(e), WriteGate.for_url(test_db_url)) for e in engines
    ]
    loops = [asyncio.create_task(w.run()) for w in workers]
    try:
        for _ in range(3000):
            if len(receiver.requests) >= 2 * EVENTS:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)  # time for a duplicate to show, were there one
    finally:
        for loop in loops:
            loop.cancel()
        for worker, engine in zip(workers, engines, strict=True):
            await worker.stop()
            await engine.dispose()
    sent = [w.sent for w in workers]
    assert sum(sent) == 2 * EVENTS
    assert all(n > 0 for n in sent), f"one worker did everything: {sent}"
    per_target = Counter((r.path, r.headers["webhook-id"]) for r in receiver.requests)
    assert len(per_target) == 2 * EVENTS
    assert set(per_target.values()) == {1}
    assert await db.scalar(select(func.count()).select_from(WebhookAttempt)) == 2 * EVENTS
    rows = (await db.execute(select(WebhookDelivery.status, WebhookDelivery.attempts))).all()
    assert set(rows) == {(DeliveryStatus.DELIVERED, 1)}
