"""Bulk-load tickets into a tenant, for measuring listings at a realistic size.

Usage:
    .venv/bin/python bench/seed_tickets.py --database-url URL --tenant-domain localhost \
        --count 100000 [--other-tenant-count 100000]

The schema is upgraded first. The tenant served at ``--tenant-domain`` is used
when it exists (start the server once to bootstrap it, so its administrator can
sign in) and created otherwise. Each tenant gets a few agents and some contacts
(made once, reused by later runs; the agents cannot sign in) and ``count``
tickets with varied statuses, priorities, assignees, requesters, tags and
subjects, each with its row of the full-text search (tickets.search). Rows go
in with Core ``executemany`` in batches, in one transaction per tenant, and the
tenant's ticket counter is advanced by ``count`` in that same transaction, so
tickets created later through the API continue the
numbering. On PostgreSQL the tables are vacuumed and analysed at the end.

``--other-tenant-count`` fills a second tenant (``--other-domain``) so that a
listing has to find its own tenant's rows among another's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from cloudcx import migrate
from cloudcx.accounts.models import Role, User
from cloudcx.contacts.models import Contact
from cloudcx.db import create_engine, create_sessionmaker, utcnow
from cloudcx.tenancy.service import create_tenant, find_by_domain
from cloudcx.tickets import search, service
from cloudcx.tickets.models import Ticket, TicketChannel, TicketPriority, TicketStatus, TicketTag

AGENTS = 8
CONTACTS = 500
BATCH = 5_000
SPAN = timedelta(days=730)

STATUSES = {"new": 10, "open": 25, "pending": 15, "on_hold": 5, "solved": 25, "closed": 20}
PRIORITIES = {"low": 20, "normal": 55, "high": 20, "urgent": 5}
TAGS = (
    "billing", "login", "mobile", "refund", "shipping", "bug", "feature-request", "vip",
    "outage", "invoice", "password", "api", "onboarding", "cancellation", "security",
)  # fmt: skip
PROBLEMS = (
    "Cannot sign in to", "Refund request for", "Question about", "Error when opening",
    "Slow response from", "Missing invoice for", "Cannot update", "Crash in",
    "Wrong price shown in", "How do I export", "Password reset fails for", "Feedback on",
    "Shipping delay for", "Duplicate charge on", "Cannot connect", "Broken link in",
)  # fmt: skip
OBJECTS = (
    "the mobile app", "my account", "order", "the dashboard", "the checkout page",
    "the billing portal", "the API", "the desktop client", "my subscription",
    "the printer", "the reports page", "the warehouse scanner", "the team calendar",
)  # fmt: skip
SENTENCES = (
    "It worked fine yesterday.", "Please advise as soon as possible.",
    "I attached a screenshot.", "This happens on every device we tried.",
    "Our whole team is affected.", "We already restarted everything.",
    "Could you call me back?", "Thanks in advance for your help.",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class People:
    """Who tickets of a tenant are assigned to and requested by."""

    agents: list[uuid.UUID]
    contacts: list[uuid.UUID]


@dataclass(frozen=True, slots=True)
class Seeded:
    tenant_id: uuid.UUID
    first_number: int
    last_number: int
    seconds: float


async def seed(
    url: str,
    domain: str,
    count: int,
    *,
    other_tenant_count: int = 0,
    other_domain: str = "other.example",
    rng_seed: int = 0,
) -> list[Seeded]:
    """Add ``count`` tickets to the tenant at ``domain`` (and some to another tenant)."""
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url)
    rng = random.Random(rng_seed)
    plan = [(domain, count), (other_domain, other_tenant_count)]
    try:
        sessionmaker = create_sessionmaker(engine)
        done = []
        for host, n in plan:
            if n > 0:
                async with sessionmaker() as session:
                    done.append(await seed_tenant(session, host, n, rng))
        if engine.dialect.name == "postgresql":
            await _settle(engine)
        return done
    finally:
        await engine.dispose()


async def _settle(engine: AsyncEngine) -> None:
    """What autovacuum does soon after a bulk load: fresh statistics for the planner,
    and the new rows moved from the full-text GIN index's pending list (which every search
    reads in full) into the index proper.

    SQLite is left without statistics, as a server that never runs ANALYZE is.
    """
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE tickets, ticket_tags, ticket_search")


async def seed_tenant(session: AsyncSession, domain: str, count: int, rng: random.Random) -> Seeded:
    """One transaction: the tenant and its people if missing, the numbers, the tickets."""
    started = time.perf_counter()
    tenant = await find_by_domain(session, domain) or await create_tenant(session, domain, [domain])
    people = await ensure_people(session, tenant.id, rng)
    last = await service.next_number(session, tenant.id, count)
    first = last - count + 1
    conn = await session.connection()
    now = utcnow()
    for start in range(0, count, BATCH):
        numbers = range(first + start, first + min(start + BATCH, count))
        tickets, tags = make_tickets(tenant.id, numbers, count, first, people, rng, now)
        await conn.execute(insert(Ticket), tickets)
        if tags:
            await conn.execute(insert(TicketTag), tags)
        await search.reindex(session, [t["id"] for t in tickets])
    await session.commit()
    return Seeded(tenant.id, first, last, time.perf_counter() - started)


async def ensure_people(session: AsyncSession, tenant_id: uuid.UUID, rng: random.Random) -> People:
    """The seed's agents and contacts of the tenant, inserted when missing."""
    conn = await session.connection()
    agents = await _ensure(
        conn, User, tenant_id, [f"seed-agent-{i}@seed.example" for i in range(AGENTS)], _agent
    )
    contacts = await _ensure(
        conn,
        Contact,
        tenant_id,
        [f"seed-contact-{i}@seed.example" for i in range(CONTACTS)],
        lambda email: _contact(email, rng),
    )
    return People(agents, contacts)


async def _ensure(
    conn: AsyncConnection,
    model: type[User | Contact],
    tenant_id: uuid.UUID,
    emails: list[str],
    make: Callable[[str], dict[str, Any]],
) -> list[uuid.UUID]:
    query = select(model.email_normalized, model.id).where(
        model.tenant_id == tenant_id, model.email_normalized.in_(emails)
    )
    found: dict[str, uuid.UUID] = {e: i for e, i in (await conn.execute(query)).all()}
    missing = [
        {"id": uuid.uuid4(), "tenant_id": tenant_id, **make(e)} for e in emails if e not in found
    ]
    if missing:
        await conn.execute(insert(model), missing)
    return [*found.values(), *(row["id"] for row in missing)]


def _agent(email: str) -> dict[str, Any]:
    # Not an argon2 hash: verification fails, so nobody signs in as a seeded agent.
    name = email.split("@", maxsplit=1)[0].replace("seed-", "").replace("-", " ").title()
    now = utcnow()
    return {
        "email": email,
        "email_normalized": email,
        "email_key": email,  # already NFKC and case-folded
        "name": name,
        "password_hash": "!",
        "role": Role.AGENT,
        "is_active": True,
        "created_at": now,
        "updated_at": now,
    }


def _contact(email: str, rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(("Ada", "Grace", "Alan", "Linus", "Barbara", "Ken")), "Customer"
    now = utcnow()
    return {
        "first_name": first,
        "last_name": last,
        "email": email,
        "email_normalized": email,
        "company": rng.choice(("Acme", "Globex", "Initech", "Umbrella", "")),
        "job_title": "",
        "tags": [],
        "notes": "",
        "created_at": now,
        "updated_at": now,
    }


def make_tickets(
    tenant_id: uuid.UUID,
    numbers: range,
    count: int,
    first: int,
    people: People,
    rng: random.Random,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of ``tickets`` and ``ticket_tags`` for these numbers, oldest number first.

    Creation times grow with the number over ``SPAN`` up to ``now``, as a real
    tenant's would; the last update follows within a month.
    """
    tickets, tags = [], []
    statuses = _weighted(STATUSES, len(numbers), rng)
    priorities = _weighted(PRIORITIES, len(numbers), rng)
    for number, status, priority in zip(numbers, statuses, priorities, strict=True):
        id_ = uuid.UUID(int=rng.getrandbits(128), version=4)
        created = now - SPAN * (1 - (number - first + rng.random()) / count)
        updated = min(now, created + timedelta(hours=rng.expovariate(1 / 48)))
        tickets.append(
            {
                "id": id_,
                "tenant_id": tenant_id,
                "number": number,
                "subject": _subject(rng),
                "description": " ".join(rng.sample(SENTENCES, rng.randint(1, 3))),
                "status": TicketStatus(status),
                "priority": TicketPriority(priority),
                "channel": rng.choice(list(TicketChannel)),
                "requester_id": rng.choice(people.contacts) if rng.random() < 0.95 else None,
                "assignee_id": rng.choice(people.agents) if rng.random() < 0.85 else None,
                "created_at": created,
                "updated_at": updated,
                "solved_at": updated if status in ("solved", "closed") else None,
            }
        )
        if rng.random() < 0.4:
            tags.extend({"ticket_id": id_, "tag": t} for t in rng.sample(TAGS, rng.randint(1, 3)))
    return tickets, tags


def _weighted(weights: dict[str, int], n: int, rng: random.Random) -> list[str]:
    return rng.choices(list(weights), weights=list(weights.values()), k=n)


def _subject(rng: random.Random) -> str:
    subject = f"{rng.choice(PROBLEMS)} {rng.choice(OBJECTS)}"
    return f"{subject} #{rng.randint(10_000, 99_999)}" if "order" in subject else subject


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tenant-domain", default="localhost")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--other-tenant-count", type=int, default=0)
    parser.add_argument("--other-domain", default="other.example")
    parser.add_argument("--seed", type=int, default=0, help="random seed, for repeatable data")
    args = parser.parse_args()
    done = asyncio.run(
        seed(
            args.database_url,
            args.tenant_domain,
            args.count,
            other_tenant_count=args.other_tenant_count,
            other_domain=args.other_domain,
            rng_seed=args.seed,
        )
    )
    for s in done:
        print(
            f"tenant {s.tenant_id}: tickets #{s.first_number} to #{s.last_number} "
            f"in {s.seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
