"""Ticket numbering under concurrency: every creation gets its own number."""

from __future__ import annotations

import asyncio

from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets import service
from cloudcx.tickets.schemas import TicketCreate


async def test_concurrent_creations_get_distinct_sequential_numbers(
    platform: Platform, tenant: TenantInfo
) -> None:
    async def create(i: int) -> int:
        async with platform.sessionmaker() as session:
            ticket = await service.create_ticket(session, tenant.id, TicketCreate(subject=f"T{i}"))
            await session.commit()
            return ticket.number

    numbers = await asyncio.gather(*(create(i) for i in range(8)))
    assert sorted(numbers) == list(range(1, 9))
