"""Audit events queued beside the request and written in batches."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.audit.models import AuditEvent
from cloudcx.audit.queries import Filters, Position, list_events
from cloudcx.audit.service import Action, Actor, record
from cloudcx.audit.writer import AuditWriter
from cloudcx.platform import Platform
from cloudcx.tenancy.models import Tenant
from cloudcx.tenancy.service import TenantInfo, create_tenant


async def stored(db: AsyncSession) -> list[AuditEvent]:
    return list(await db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


async def test_queued_events_are_written_in_order_by_one_flush(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    writer = AuditWriter(platform.sessionmaker)
    for n in range(3):
        writer.add(
            tenant_id=tenant.id,
            action=Action.TOKEN_ISSUED,
            actor=Actor.of_client(f"client-{n}"),
            details={"grant_type": "client_credentials", "client_secret": "s3cret"},
        )
    assert writer.pending == 3
    assert await stored(db) == []
    assert await writer.flush() == 3
    rows = await stored(db)
    assert [r.actor_id for r in rows] == ["client-0", "client-1", "client-2"]
    assert rows[0].details == {"grant_type": "client_credentials", "client_secret": "[redacted]"}
    assert rows[0].time <= rows[2].time
    assert writer.pending == 0
    assert await writer.flush() == 0


async def test_an_event_of_a_deleted_tenant_does_not_hold_back_the_others(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    doomed = await create_tenant(db, "Doomed", ["doomed.example"])
    await db.commit()
    writer = AuditWriter(platform.sessionmaker)
    writer.add(tenant_id=tenant.id, action=Action.TOKEN_ISSUED, actor=Actor.of_client("a"))
    writer.add(tenant_id=doomed.id, action=Action.TOKEN_ISSUED, actor=Actor.of_client("b"))
    writer.add(tenant_id=tenant.id, action=Action.TOKEN_ISSUED, actor=Actor.of_client("c"))
    await db.execute(delete(Tenant).where(Tenant.id == doomed.id))
    await db.commit()
    await writer.flush()
    assert [r.actor_id for r in await stored(db)] == ["a", "c"]
    assert writer.pending == 0


async def test_events_are_kept_for_the_next_try_when_the_database_fails(
    platform: Platform, db: AsyncSession, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = AuditWriter(platform.sessionmaker)
    writer.add(tenant_id=tenant.id, action=Action.TOKEN_ISSUED, actor=Actor.anonymous())

    async def unreachable(rows: object) -> None:
        raise OSError("database unreachable")

    monkeypatch.setattr(writer, "_insert", unreachable)
    assert await writer.flush() == 0
    assert writer.pending == 1
    monkeypatch.undo()
    assert await writer.flush() == 1
    assert len(await stored(db)) == 1


def test_a_full_queue_drops_the_oldest_events_and_counts_them(tenant: TenantInfo) -> None:
    writer = AuditWriter(sessionmaker=None, max_pending=2)  # type: ignore[arg-type]
    for n in range(5):
        writer.add(tenant_id=tenant.id, action=Action.TOKEN_ISSUED, actor=Actor.of_client(str(n)))
    assert writer.pending == 2
    assert writer.dropped == 3


async def test_the_log_lists_a_queued_event_by_when_it_happened(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    writer = AuditWriter(platform.sessionmaker)
    writer.add(tenant_id=tenant.id, action=Action.TOKEN_ISSUED, actor=Actor.of_client("early"))
    await record(db, tenant_id=tenant.id, action=Action.CLIENT_DELETED, actor=Actor.system())
    await db.commit()
    await writer.flush()  # the earlier event gets the higher id
    page = await list_events(db, tenant.id, Filters(), limit=1)
    assert [e.action for e in page.events] == [Action.CLIENT_DELETED]
    assert page.next_before is not None
    assert Position.parse(str(page.next_before)) == page.next_before
    rest = await list_events(db, tenant.id, Filters(), before=page.next_before, limit=5)
    assert [e.actor_id for e in rest.events] == ["early"]
    assert rest.next_before is None


@pytest.mark.parametrize(
    "value",
    ["", "12", "12_", "_3", "a_1", "1_2_3", "9" * 19 + "_1", "9" * 18 + "_1"],
    ids=["empty", "no-id", "no-id-after", "no-time", "text", "three-parts", "too-long", "overflow"],
)
def test_a_malformed_position_is_none(value: str) -> None:
    assert Position.parse(value) is None


async def test_a_readers_flush_waits_for_the_background_flush_writing(
    platform: Platform, db: AsyncSession, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit log flushes before it reads: it must see rows another flush took."""
    writer = AuditWriter(platform.sessionmaker)
    writing, release = asyncio.Event(), asyncio.Event()
    real = writer._insert

    async def slow(rows: list[dict[str, object]]) -> None:
        writing.set()
        await release.wait()
        await real(rows)

    monkeypatch.setattr(writer, "_insert", slow)
    writer.add(tenant_id=tenant.id, action=Action.TOKEN_ISSUED, actor=Actor.of_client("a"))
    background = asyncio.create_task(writer.flush_closed())
    await writing.wait()
    reader = asyncio.create_task(writer.flush())
    await asyncio.sleep(0.05)
    assert not reader.done()  # the row is not committed yet
    release.set()
    assert await background == 1
    await reader
    assert [e.actor_id for e in await stored(db)] == ["a"]
