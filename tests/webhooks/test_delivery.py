"""Delivery: retries on a fake clock, 410, pausing, ordering, isolation, rotation, the log."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook
from tests.webhooks.conftest import FakeClock, Receiver, loopback_settings, make_endpoint, verify

from cloudcx.audit.models import AuditEvent
from cloudcx.contacts import service as contacts
from cloudcx.contacts.schemas import ContactCreate, ContactUpdate
from cloudcx.db import utcnow
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.webhooks import queue, service
from cloudcx.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from cloudcx.webhooks.worker import Worker


async def _contact(db: AsyncSession, tenant: TenantInfo, email: str = "ada@example.com") -> None:
    await contacts.create_contact(db, tenant.id, ContactCreate(email=email))
    await db.commit()


async def _delivery(db: AsyncSession) -> WebhookDelivery:
    db.expire_all()
    return (await db.scalars(select(WebhookDelivery))).one()


def test_backoff_grows_threefold_with_jitter_up_to_four_hours() -> None:
    assert queue.backoff(1, 0.5) == 5
    assert queue.backoff(2, 0.5) == 15
    assert queue.backoff(3, 0.5) == 45
    assert queue.backoff(30, 0.5) == 4 * 3600
    assert queue.backoff(1, 0.0) == 3.75
    assert queue.backoff(1, 0.999999) == pytest.approx(6.25)
    delays = queue.schedule(24, random.Random(7))
    assert 10 <= len(delays) <= 14
    assert 20 * 3600 < sum(delays) <= 24 * 3600


async def test_retry_schedule_on_a_fake_clock_then_failed(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver
) -> None:
    await make_endpoint(db, platform, tenant, receiver.url("/fail"))
    await _contact(db, tenant)
    start = utcnow() + timedelta(seconds=1)
    clock = FakeClock(start)
    worker = Worker(
        platform.settings, platform.sessionmaker, platform.writes, clock=clock, rand=lambda: 0.5
    )
    try:
        expected = [5, 15, 45, 135, 405, 1215, 3645, 10935] + [14400] * 4
        for attempt, delay in enumerate(expected, start=1):
            assert await worker.run_once() == 1
            delivery = await _delivery(db)
            assert (delivery.attempts, delivery.status) == (attempt, DeliveryStatus.PENDING)
            assert delivery.next_attempt_at == clock.now + timedelta(seconds=delay)
            assert delivery.last_status == 500
            clock.now += timedelta(seconds=delay - 1)
            assert await worker.run_once() == 0  # not due yet
            clock.now += timedelta(seconds=1)
        # 74 000 s in: the next wait would end past the 24 hours, so this is the last.
        assert await worker.run_once() == 1
        delivery = await _delivery(db)
        assert (delivery.attempts, delivery.status) == (13, DeliveryStatus.FAILED)
        clock.now += timedelta(days=1)
        assert await worker.run_once() == 0
    finally:
        await worker.stop()
    assert len(receiver.on("/fail")) == 13
    ids = {r.headers["webhook-id"] for r in receiver.on("/fail")}
    assert len(ids) == 1  # the same id on every retry, for receivers to deduplicate
    attempts = (await db.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt))).all()
    assert [a.attempt for a in attempts] == list(range(1, 14))
    assert all(len(a.response_body) == 2048 and a.response_status == 500 for a in attempts)


async def test_410_gone_disables_the_endpoint_and_is_audited(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver, worker: Worker
) -> None:
    endpoint, _ = await make_endpoint(db, platform, tenant, receiver.url("/gone"))
    await _contact(db, tenant)
    await worker.run_once()
    delivery = await _delivery(db)
    assert (delivery.status, delivery.last_status) == (DeliveryStatus.FAILED, 410)
    await db.refresh(endpoint)
    assert not endpoint.enabled
    assert endpoint.paused_reason == "The receiver answered 410 Gone."
    audit = (await db.scalars(select(AuditEvent))).one()
    assert (audit.action, audit.target_id) == ("webhook.paused", str(endpoint.id))
    await _contact(db, tenant, "second@example.com")
    assert await worker.run_once() == 0  # a disabled endpoint gets nothing more
    service.set_enabled(endpoint, True)
    await db.commit()
    assert endpoint.paused_reason is None


async def test_a_day_of_failures_pauses_the_endpoint(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver, worker: Worker
) -> None:
    endpoint, _ = await make_endpoint(db, platform, tenant, receiver.url("/fail"))
    endpoint.failing_since = utcnow() - timedelta(hours=24, seconds=1)
    await db.commit()
    await _contact(db, tenant)
    await worker.run_once()
    await db.refresh(endpoint)
    assert endpoint.enabled and not endpoint.active
    assert endpoint.paused_reason == "Every delivery failed for 24 hours."
    audit = (await db.scalars(select(AuditEvent))).one()
    assert audit.action == "webhook.paused"
    assert (await _delivery(db)).status == DeliveryStatus.PENDING  # kept for when resumed


async def test_a_success_ends_the_run_of_failures(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver, worker: Worker
) -> None:
    endpoint, _ = await make_endpoint(db, platform, tenant, receiver.url("/ok"))
    endpoint.failing_since = utcnow() - timedelta(hours=23)
    await db.commit()
    await _contact(db, tenant)
    await worker.run_once()
    await db.refresh(endpoint)
    assert endpoint.failing_since is None and endpoint.active


async def test_a_failing_delivery_holds_back_later_ones_of_its_resource_only(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver
) -> None:
    endpoint, _ = await make_endpoint(db, platform, tenant, receiver.url("/fail"))
    ada = await contacts.create_contact(db, tenant.id, ContactCreate(email="ada@example.com"))
    await db.commit()
    await contacts.update_contact(db, ada, ContactUpdate(company="Analytical"))
    await db.commit()
    await _contact(db, tenant, "bob@example.com")
    clock = FakeClock(utcnow() + timedelta(seconds=1))
    worker = Worker(platform.settings, platform.sessionmaker, platform.writes, clock=clock)
    try:
        assert await worker.run_once() == 2  # ada's creation and bob's, not ada's update
        endpoint.url = receiver.url("/ok")
        await db.commit()
        clock.now += timedelta(minutes=1)
        # Both retried; ada's update follows once her creation went through.
        assert await worker.run_once() == 3
    finally:
        await worker.stop()
    ada_events = [r.json["type"] for r in receiver.on("/ok") if "ada" in r.body]
    assert ada_events == ["contact.created", "contact.updated"]


async def test_a_hanging_receiver_does_not_delay_another_endpoint(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver
) -> None:
    await make_endpoint(db, platform, tenant, receiver.url("/hang"), name="Slow")
    for n in range(10):  # more than the slow endpoint's share of the worker
        await _contact(db, tenant, f"c{n}@example.com")
    settings = loopback_settings(
        platform.settings,
        webhook_timeout=5,
        webhook_concurrency=4,
        webhook_endpoint_concurrency=2,
        webhook_poll_interval=0.05,
    )
    worker = Worker(settings, platform.sessionmaker, platform.writes)
    running = asyncio.create_task(worker.run())
    try:
        for _ in range(100):
            if len(receiver.on("/hang")) == 2:
                break
            await asyncio.sleep(0.02)
        await make_endpoint(db, platform, tenant, receiver.url("/ok"), name="Fast")
        started = time.monotonic()
        await _contact(db, tenant, "fast@example.com")
        for _ in range(200):
            if receiver.on("/ok"):
                break
            await asyncio.sleep(0.01)
        assert receiver.on("/ok"), "the fast endpoint waited for the hanging one"
        assert time.monotonic() - started < 2
        assert len(receiver.on("/hang")) == 2  # never more than its share at once
    finally:
        receiver.release.set()
        running.cancel()
        await worker.stop()


async def test_rotation_signs_with_both_secrets_for_24_hours(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver
) -> None:
    endpoint, old = await make_endpoint(db, platform, tenant, receiver.url())
    new = service.rotate_secret(platform.settings, endpoint)
    await db.commit()
    assert new != old and new.startswith("whsec_")
    await _contact(db, tenant)
    worker = Worker(platform.settings, platform.sessionmaker, platform.writes)
    await worker.run_once()
    await worker.stop()
    (sent,) = receiver.on("/ok")
    assert len(sent.headers["webhook-signature"].split(" ")) == 2
    assert verify(old, sent) == verify(new, sent)
    later = FakeClock(utcnow() + timedelta(hours=24, seconds=1))
    worker = Worker(platform.settings, platform.sessionmaker, platform.writes, clock=later)
    endpoint_row = await db.get(WebhookEndpoint, endpoint.id)
    assert endpoint_row is not None
    assert service.secrets_in_force(platform.settings, endpoint_row, later()) == [new]
    await worker.stop()


async def test_the_secret_is_stored_encrypted(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver
) -> None:
    endpoint, secret = await make_endpoint(db, platform, tenant, receiver.url())
    assert secret.removeprefix("whsec_") not in endpoint.secret_encrypted
    assert service.decrypt(platform.settings, endpoint.secret_encrypted) == secret
    Webhook(secret)  # a secret the reference library accepts


async def test_redelivery_sends_the_same_event_again(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver, worker: Worker
) -> None:
    endpoint, secret = await make_endpoint(db, platform, tenant, receiver.url())
    await _contact(db, tenant)
    await worker.run_once()
    first = receiver.on("/ok")[0]
    event_id = first.json["id"]

    assert await service.redeliver(db, endpoint, uuid.uuid4()) is None
    assert await service.redeliver(db, endpoint, uuid.UUID(event_id)) is not None
    await db.commit()
    await worker.run_once()
    again = receiver.on("/ok")[1]
    assert again.body == first.body and again.headers["webhook-id"] == event_id
    verify(secret, again)


async def test_an_expired_lease_is_retried_and_the_late_outcome_is_fenced(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver
) -> None:
    await make_endpoint(db, platform, tenant, receiver.url())
    await _contact(db, tenant)
    clock = FakeClock(utcnow() + timedelta(seconds=1))
    first = Worker(platform.settings, platform.sessionmaker, platform.writes, clock=clock)
    second = Worker(platform.settings, platform.sessionmaker, platform.writes, clock=clock)
    try:
        async with platform.sessionmaker() as session:
            lost = await queue.claim(session, clock(), first.lease, 10, {}, 4)
            await session.commit()
        assert len(lost) == 1
        assert await second.run_once() == 0  # leased to the first
        clock.now += first.lease + timedelta(seconds=1)
        assert await second.run_once() == 1  # the first worker died: taken over
        await first.attempt(lost[0])  # the first comes back late
    finally:
        await first.stop()
        await second.stop()
    delivery = await _delivery(db)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
