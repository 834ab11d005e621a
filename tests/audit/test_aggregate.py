"""Refusals counted per (tenant, login, address, reason) and minute: one row with a count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.audit.models import AuditEvent
from cloudcx.audit.service import Action, Actor, Origin, Target
from cloudcx.audit.writer import AuditWriter
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.models import Tenant
from cloudcx.tenancy.service import TenantInfo, create_tenant
from tests import helpers
from tests.security.conftest import FakeClock, clock

__all__ = ["clock"]  # the sign-in throttle's fake clock, a fixture

START = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)


class Minutes:
    """A settable clock for the writer."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def stored(db: AsyncSession) -> list[AuditEvent]:
    return list(await db.scalars(select(AuditEvent).order_by(AuditEvent.time, AuditEvent.id)))


def refuse(writer: AuditWriter, tenant: TenantInfo, *, ip: str = "192.0.2.1", **kw: str) -> None:
    writer.add(
        tenant_id=tenant.id,
        action=Action.TOKEN_REFUSED,
        actor=Actor.of_client(kw.get("client", "c1")),
        target=Target("user", "", kw.get("login", "a@acme.example")),
        origin=Origin(ip=ip),
        details={"reason": kw.get("reason", "invalid_grant"), "status": 400},
    )


async def test_a_flood_through_the_token_endpoint_is_one_row_with_its_count(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    minutes = Minutes()
    monkeypatch.setattr(platform.audit, "_clock", minutes)
    flood = 300
    statuses = set()
    for n in range(flood):
        response = await http.post(
            "/oauth/token", data=helpers.password_form(client_id=f"random-{n}", password="x")
        )
        statuses.add(response.status_code)
        minutes.advance(0.1)  # 30 s in all, inside one minute
    assert statuses == {401}
    assert await platform.audit.flush_closed() == 0  # its minute is still open
    minutes.advance(60)
    assert await platform.audit.flush_closed() == 1
    [row] = await stored(db)
    assert (row.action, row.ip, row.target_label) == (
        Action.TOKEN_REFUSED,
        "203.0.113.7",
        admin.email,
    )
    assert row.details["count"] == flood
    assert row.details["reason"] == "invalid_client"
    assert row.details["first"] == START.isoformat()
    assert row.details["last"] == (START + timedelta(seconds=0.1 * (flood - 1))).isoformat()


async def test_the_api_and_the_console_show_the_count(
    http: httpx.AsyncClient,
    platform: Platform,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(platform.audit, "_clock", Minutes())
    for n in range(7):
        await helpers.login(http, "ghost@acme.example", f"wrong-{n}")
        clock.advance(120)  # past the sign-in backoff
    token = await helpers.password_token(http, oauth_client.client_id, admin.email)
    listed = await http.get(
        "/api/v1/audit-events",
        params={"action": "signin.failure"},
        headers=helpers.bearer(token["access_token"]),
    )
    [event] = listed.json()["data"]
    assert (event["count"], event["details"]["count"]) == (7, 7)
    assert event["actor_label"] == "ghost@acme.example"
    await helpers.login(http, admin.email)
    page = await http.get("/settings/security/audit-log", params={"action": "signin.failure"})
    assert "7 times, 12:00:05 to 12:00:05" in page.text


async def test_keys_and_minutes_make_separate_rows(
    platform: Platform, db: AsyncSession, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    minutes = Minutes()
    writer = AuditWriter(platform.sessionmaker, clock=minutes)
    for _ in range(3):
        refuse(writer, tenant)
        refuse(writer, tenant, client="another-client")  # same flood, other client id
        refuse(writer, tenant, ip="192.0.2.2")
        refuse(writer, tenant, login="b@acme.example")
        refuse(writer, tenant, reason="invalid_request")
        refuse(writer, other_tenant)
    minutes.advance(60)
    refuse(writer, tenant)
    assert writer.pending == 6
    assert await writer.flush() == 6
    rows = await stored(db)
    assert sorted(r.details["count"] for r in rows) == [1, 3, 3, 3, 3, 6]
    assert len({r.id for r in rows}) == 6


async def test_a_reader_sees_the_open_minute_and_later_events_update_its_row(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    minutes = Minutes()
    writer = AuditWriter(platform.sessionmaker, clock=minutes)
    refuse(writer, tenant)
    refuse(writer, tenant)
    assert await writer.flush() == 1  # a reader asks for everything
    [early] = await stored(db)
    assert early.details["count"] == 2
    assert await writer.flush() == 0  # nothing new: no write
    minutes.advance(10)
    refuse(writer, tenant)
    assert await writer.flush_closed() == 0
    minutes.advance(60)
    assert await writer.flush_closed() == 1
    db.expire_all()
    [row] = await stored(db)
    assert row.id == early.id
    assert row.details["count"] == 3
    assert row.details["last"] == (START + timedelta(seconds=10)).isoformat()
    assert writer.pending == 0


async def test_other_events_are_never_counted_together(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    writer = AuditWriter(platform.sessionmaker, clock=Minutes())
    for _ in range(3):
        writer.add(tenant_id=tenant.id, action=Action.TOKEN_ISSUED, actor=Actor.of_client("c"))
    assert await writer.flush() == 3
    assert [r.details for r in await stored(db)] == [{}, {}, {}]


async def test_memory_is_bounded(platform: Platform, db: AsyncSession, tenant: TenantInfo) -> None:
    writer = AuditWriter(platform.sessionmaker, max_open=2, clock=Minutes())
    for n in range(5):
        refuse(writer, tenant, ip=f"192.0.2.{n}")
        refuse(writer, tenant, ip=f"192.0.2.{n}")
    assert len(writer._counts) == 2
    assert writer.pending == 2 + 6  # two counts, and the rest queued as plain rows
    await writer.flush()
    counted = sorted(r.details.get("count", 1) for r in await stored(db))
    assert counted == [1, 1, 1, 1, 1, 1, 2, 2]


async def test_counts_survive_a_failed_write(
    platform: Platform, db: AsyncSession, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    minutes = Minutes()
    writer = AuditWriter(platform.sessionmaker, clock=minutes)
    for _ in range(4):
        refuse(writer, tenant)
    minutes.advance(60)

    async def unreachable(rows: object) -> None:
        raise OSError("database unreachable")

    monkeypatch.setattr(writer, "_insert", unreachable)
    assert await writer.flush_closed() == 0
    assert writer.pending == 1
    monkeypatch.undo()
    assert await writer.flush_closed() == 1
    [row] = await stored(db)
    assert row.details["count"] == 4


async def test_stop_writes_the_open_minute(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    refuse(platform.audit, tenant)
    refuse(platform.audit, tenant)
    await platform.stop(dispose_engine=False)
    await platform.start()
    [row] = await stored(db)
    assert row.details["count"] == 2


async def test_a_reader_writes_every_open_count_at_once_and_later_ones_update_them(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    minutes = Minutes()
    writer = AuditWriter(platform.sessionmaker, clock=minutes)
    for n in range(3):
        refuse(writer, tenant, ip=f"192.0.2.{n}")
    assert await writer.flush() == 3
    first = {r.ip: r.id for r in await stored(db)}
    refuse(writer, tenant, ip="192.0.2.0")
    refuse(writer, tenant, ip="192.0.2.2")
    refuse(writer, tenant, ip="192.0.2.2")
    assert await writer.flush() == 2  # two rows updated, the third unchanged
    db.expire_all()
    rows = await stored(db)
    assert {r.ip: r.id for r in rows} == first
    assert {r.ip: r.details["count"] for r in rows} == {
        "192.0.2.0": 2,
        "192.0.2.1": 1,
        "192.0.2.2": 3,
    }


async def test_an_open_count_of_a_deleted_tenant_is_dropped_not_retried(
    platform: Platform, db: AsyncSession, tenant: TenantInfo
) -> None:
    doomed = await create_tenant(db, "Doomed", ["doomed.example"])
    await db.commit()
    writer = AuditWriter(platform.sessionmaker, clock=Minutes())
    refuse(writer, tenant)
    writer.add(
        tenant_id=doomed.id,
        action=Action.SIGNIN_FAILURE,
        actor=Actor.anonymous("x@doomed.example"),
        details={"reason": "bad_credentials"},
    )
    await db.execute(delete(Tenant).where(Tenant.id == doomed.id))
    await db.commit()
    assert await writer.flush() == 2
    assert [r.tenant_id for r in await stored(db)] == [tenant.id]
    assert await writer.flush() == 0  # nothing left to retry
