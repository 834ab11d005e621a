"""``cloudcx worker`` and ``cloudcx cleanup``; the delivery log kept 30 days."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from tests.webhooks.conftest import Receiver, make_endpoint
from typer.testing import CliRunner

from cloudcx.cli import app
from cloudcx.config import Settings
from cloudcx.contacts import service as contacts
from cloudcx.contacts.schemas import ContactCreate
from cloudcx.db import utcnow
from cloudcx.jobs import run_steps
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo, create_tenant
from cloudcx.webhooks import retention, service
from cloudcx.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
)
from cloudcx.webhooks.service import EndpointInput
from cloudcx.webhooks.worker import Worker

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CLOUDCX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLOUDCX_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CLOUDCX_WEBHOOK_ALLOW_HTTP_LOOPBACK", "true")
    return tmp_path


def _queue_one_event(url: str) -> None:
    async def run() -> None:
        platform = Platform.build(Settings())
        try:
            async with platform.sessionmaker() as session:
                tenant = await create_tenant(session, "Acme", ["cli.example"])
                await service.create_endpoint(
                    session,
                    platform.settings,
                    tenant.id,
                    EndpointInput("CLI", url, ["contact.created"]),
                )
                await contacts.create_contact(
                    session, tenant.id, ContactCreate(email="a@b.example")
                )
                await session.commit()
        finally:
            await platform.engine.dispose()

    asyncio.run(run())


def test_worker_once_sends_what_is_due(env: Path, receiver: Receiver) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    _queue_one_event(receiver.url())
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 webhook deliveries." in result.output
    assert [r.json["type"] for r in receiver.requests] == ["contact.created"]
    again = runner.invoke(app, ["worker", "--once"])
    assert "Sent 0 webhook deliveries." in again.output
    cleaned = runner.invoke(app, ["cleanup", "--wait", "0"])
    assert cleaned.exit_code == 0, cleaned.output
    assert "webhook attempts: 0 removed" in cleaned.output


async def _age(db: AsyncSession, event_id: object, days: int) -> None:
    long_ago = utcnow() - timedelta(days=days)
    await db.execute(
        update(WebhookEvent).where(WebhookEvent.id == event_id).values(occurred_at=long_ago)
    )
    await db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.event_id == event_id)
        .values(created_at=long_ago)
    )
    await db.execute(
        update(WebhookAttempt)
        .where(WebhookAttempt.event_id == event_id)
        .values(started_at=long_ago)
    )
    await db.commit()


async def _event_of(db: AsyncSession, email: str) -> object:
    query = select(WebhookEvent.id).where(WebhookEvent.payload.contains(email))
    return (await db.scalars(query)).one()


async def test_retention_keeps_30_days_and_every_pending_delivery(
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    receiver: Receiver,
    worker: Worker,
) -> None:
    endpoint, _ = await make_endpoint(db, platform, tenant, receiver.url())
    for email in ("old@example.com", "new@example.com"):
        await contacts.create_contact(db, tenant.id, ContactCreate(email=email))
        await db.commit()
    await worker.run_once()
    # A third event stays pending: its receiver fails for now.
    endpoint.url = receiver.url("/fail")
    await db.commit()
    await contacts.create_contact(db, tenant.id, ContactCreate(email="late@example.com"))
    await db.commit()
    await worker.run_once()
    old_event = await _event_of(db, "old@example.com")
    pending_event = await _event_of(db, "late@example.com")
    await _age(db, old_event, 31)
    await _age(db, pending_event, 31)
    removed = await run_steps(platform.sessionmaker, retention.steps(30))
    assert removed == {"webhook attempts": 2, "webhook deliveries": 1, "webhook events": 1}
    db.expire_all()
    events = set((await db.scalars(select(WebhookEvent.id))).all())
    assert old_event not in events and pending_event in events and len(events) == 2
    statuses = sorted((await db.scalars(select(WebhookDelivery.status))).all())
    assert statuses == [DeliveryStatus.DELIVERED, DeliveryStatus.PENDING]
    assert await db.scalar(select(func.count()).select_from(WebhookAttempt)) == 1
