"""Query plans and timings of the ticket list's page statement, filter by filter.

Usage:
    .venv/bin/python bench/list_plans.py --database-url URL [--tenant-domain localhost]

For each listing a client can ask for (the default, each sort, each filter,
a second page) this prints the plan of the exact statement the API runs
(EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL) and how long
the statement takes, on a database loaded by ``bench/seed_tickets.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, event, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudcx.api import pagination
from cloudcx.api.pagination import PageParams
from cloudcx.db import create_engine, utcnow
from cloudcx.models import metadata  # every table, so foreign keys resolve
from cloudcx.tenancy.service import find_by_domain
from cloudcx.tickets import listing, search
from cloudcx.tickets.filters import TicketFilters
from cloudcx.tickets.models import Ticket, TicketStatus

__all__ = ["metadata"]


async def page_statement(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    filters: TicketFilters,
    sort: str,
    cursor: str | None,
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement and values the API runs for this page (limit 25)."""
    dialect = conn.dialect.name
    keyset = listing.SORTS[sort]
    values = filters.values(tenant_id, dialect)
    await search.settle(conn, values)
    values.update(pagination.bound(keyset, PageParams(25, cursor, None)))  # type: ignore[arg-type]
    after = "cursor_value" in values
    return listing.statement(dialect, frozenset(values), keyset, after_cursor=after), values


async def explain(
    conn: AsyncConnection, query: Select[Any], values: dict[str, Any], analyze: bool = False
) -> list[str]:
    """The plan of ``query`` as the driver receives it (SQL and bound parameters)."""
    sent: dict[str, Any] = {}

    def capture(*args: Any) -> None:
        sent["sql"], sent["parameters"] = args[2], args[3]

    event.listen(conn.sync_connection, "before_cursor_execute", capture)
    try:
        await conn.execute(query, values)
    finally:
        event.remove(conn.sync_connection, "before_cursor_execute", capture)
    if conn.dialect.name == "sqlite":
        rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sent["sql"], sent["parameters"])
        return [row[-1] for row in rows]
    how = "(ANALYZE, BUFFERS, COSTS OFF) " if analyze else "(COSTS OFF) "
    rows = await conn.exec_driver_sql("EXPLAIN " + how + sent["sql"], sent["parameters"])
    return [row[0] for row in rows]


async def cases(conn: AsyncConnection, tenant_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """Listings to explain: query string → ``TicketFilters`` fields and sort."""
    first = (
        await conn.execute(
            select(Ticket.assignee_id, Ticket.requester_id)
            .where(Ticket.tenant_id == tenant_id, Ticket.assignee_id.is_not(None))
            .where(Ticket.requester_id.is_not(None))
            .limit(1)
        )
    ).one()
    since = utcnow() - timedelta(days=3)
    return {
        "(default)": {},
        "sort=created_at": {"sort": "created_at"},
        "sort=-updated_at": {"sort": "-updated_at"},
        "status=open": {"status": [TicketStatus.OPEN]},
        "status=new&status=open": {"status": [TicketStatus.NEW, TicketStatus.OPEN]},
        "status=open&sort=-updated_at": {"status": [TicketStatus.OPEN], "sort": "-updated_at"},
        "assignee=…": {"assignee": first.assignee_id},
        "requester=…": {"requester": first.requester_id},
        "priority=urgent": {"priority": "urgent"},
        "tag=vip": {"tag": "vip"},
        "updated_since=(3 days ago)": {"updated_since": since},
        "sort=-priority": {"sort": "-priority"},
        "sort=priority&status=open": {"sort": "priority", "status": [TicketStatus.OPEN]},
        "q=printer (in 1 ticket of 13)": {"q": "printer"},
        "q=refund (a prefix, 1 of 16)": {"q": "refund"},
        "q=12345 (rare)": {"q": "12345"},
        "q=zebra (no match)": {"q": "zebra"},
        "q=(a requester's email)": {"q": "seed-contact-42@seed.example"},
        "q=ada customer (a name)": {"q": "ada customer"},
        "status=open&q=printer": {"status": [TicketStatus.OPEN], "q": "printer"},
        "q=printer&sort=-updated_at": {"q": "printer", "sort": "-updated_at"},
    }


async def report(url: str, domain: str, runs: int) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            dialect = conn.dialect.name
            tenant = await _tenant(conn, domain)
            for name, case in (await cases(conn, tenant)).items():
                sort = case.pop("sort", "-created_at")
                query, values = await page_statement(
                    conn, tenant, TicketFilters(**case), sort, None
                )
                ms = await _time(conn, query, values, runs)
                print(f"\n## {name}  ({ms:.2f} ms per statement, {dialect})")
                for line in await explain(conn, query, values, analyze=True):
                    print("   ", line)
            await _second_page(conn, dialect, tenant)
    finally:
        await engine.dispose()


async def _second_page(conn: AsyncConnection, dialect: str, tenant: uuid.UUID) -> None:
    newest = select(Ticket.created_at, Ticket.id).where(Ticket.tenant_id == tenant)
    newest = newest.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    last = (await conn.execute(newest.offset(24).limit(1))).one()
    cursor = pagination._encode(listing.SORTS["-created_at"], last.created_at, last.id)
    query, values = await page_statement(conn, tenant, TicketFilters(), "-created_at", cursor)
    print(f"\n## cursor=… (second page, {dialect})")
    for line in await explain(conn, query, values, analyze=True):
        print("   ", line)


async def _tenant(conn: AsyncConnection, domain: str) -> uuid.UUID:
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(bind=conn) as session:
        tenant = await find_by_domain(session, domain)
    if tenant is None:
        raise SystemExit(f"No tenant at {domain}: run bench/seed_tickets.py first.")
    return tenant.id


async def _time(
    conn: AsyncConnection, query: Select[Any], values: dict[str, Any], runs: int
) -> float:
    await conn.execute(query, values)
    started = time.perf_counter()
    for _ in range(runs):
        (await conn.execute(query, values)).all()
    return (time.perf_counter() - started) / runs * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tenant-domain", default="localhost")
    parser.add_argument("--runs", type=int, default=20, help="executions timed per listing")
    args = parser.parse_args()
    asyncio.run(report(args.database_url, args.tenant_domain, args.runs))


if __name__ == "__main__":
    main()
