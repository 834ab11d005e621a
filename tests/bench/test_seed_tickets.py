"""``bench/seed_tickets.py``: bulk-loaded tickets are numbered as the API numbers them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bench import seed_tickets
from cloudcx.db import create_engine, create_sessionmaker
from cloudcx.tickets import service
from cloudcx.tickets.models import Ticket, TicketCounter, TicketTag
from cloudcx.tickets.schemas import TicketCreate


async def test_seed_fills_two_tenants_and_the_api_continues_the_numbering(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'seed.db'}"
    first = await seed_tickets.seed(url, "localhost", 120, other_tenant_count=30)
    again = await seed_tickets.seed(url, "localhost", 10)
    assert [(s.first_number, s.last_number) for s in first] == [(1, 120), (1, 30)]
    tenant_id = first[0].tenant_id
    assert (again[0].tenant_id, again[0].first_number, again[0].last_number) == (
        tenant_id,
        121,
        130,
    )
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            numbers = select(func.count(), func.count(func.distinct(Ticket.number)))
            ours = (await session.execute(numbers.where(Ticket.tenant_id == tenant_id))).one()
            assert tuple(ours) == (130, 130)
            counter = select(TicketCounter.last_number).where(TicketCounter.tenant_id == tenant_id)
            assert await session.scalar(counter) == 130
            assert await session.scalar(select(func.count()).select_from(TicketTag))
            made = await service.create_ticket(session, tenant_id, TicketCreate(subject="Next"))
            assert made.number == 131
    finally:
        await engine.dispose()
