"""Idempotency-Key under concurrency and expiry."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.api.idempotency import purge_expired
from cloudcx.api.models import IdempotencyRecord
from cloudcx.db import utcnow
from cloudcx.tickets.models import Ticket
from tests.cxapi import Headers, admin_headers

__all__ = ["admin_headers"]


async def test_concurrent_twins_create_one_ticket(
    http: httpx.AsyncClient, db: AsyncSession, admin_headers: Headers
) -> None:
    headers = {**admin_headers, "Idempotency-Key": "twin"}
    responses = await asyncio.gather(
        *(http.post("/api/v1/tickets", headers=headers, json={"subject": "Once"}) for _ in range(3))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_expired_keys_are_forgotten(
    http: httpx.AsyncClient, db: AsyncSession, admin_headers: Headers
) -> None:
    headers = {**admin_headers, "Idempotency-Key": "old"}
    first = await http.post("/api/v1/tickets", headers=headers, json={"subject": "A"})
    record = await db.scalar(select(IdempotencyRecord))
    assert record is not None
    record.created_at = utcnow() - timedelta(days=2)
    await db.commit()
    again = await http.post("/api/v1/tickets", headers=headers, json={"subject": "A"})
    assert again.json()["id"] != first.json()["id"]  # a day later the key is new again

    db.expire_all()
    record = await db.scalar(select(IdempotencyRecord))
    assert record is not None
    record.created_at = utcnow() - timedelta(days=2)
    await db.commit()
    assert await purge_expired(db, 86400) == 1
    await db.commit()
    assert await db.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
