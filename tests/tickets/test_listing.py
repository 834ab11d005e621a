"""The ticket list's own path (tickets.listing): same items as a read, pages by index."""

from __future__ import annotations

import random
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from bench.list_plans import explain, page_statement
from bench.seed_tickets import seed_tenant
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.db import utcnow
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets.filters import TicketFilters
from cloudcx.tickets.models import Ticket, TicketStatus
from cloudcx.tickets.schemas import TicketPublic
from tests.cxapi import Headers, collect_pages, make_contact, make_ticket

URL = "/api/v1/tickets"


async def test_items_are_what_a_read_returns(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin_headers: Headers,
    agent: User,
) -> None:
    contact = await make_contact(db, tenant)
    bare = await make_ticket(db, tenant, subject="No tags, nobody")
    full = await make_ticket(
        db,
        tenant,
        subject="Everything set",
        description="Long story.",
        status="solved",
        priority="urgent",
        channel="phone",
        requester_id=contact.id,
        assignee_id=agent.id,
        tags=["zeta", "alpha", "a-b", "a.b", "a_b", "mid"],
    )
    listed = (await http.get(URL, headers=admin_headers)).json()["data"]
    for item, ticket in zip(listed, [full, bare], strict=True):
        read = (await http.get(f"{URL}/{ticket.id}", headers=admin_headers)).json()
        assert item == read
        assert list(item) == list(TicketPublic.model_fields)
    assert listed[0]["tags"] == ["a-b", "a.b", "a_b", "alpha", "mid", "zeta"]
    assert listed[0]["solved_at"].endswith("Z")
    assert listed[1]["tags"] == []


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at", "-updated_at"])
async def test_pages_split_tickets_of_the_same_instant_by_id(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin_headers: Headers,
    sort: str,
) -> None:
    """The cursor seeks by time, then settles the ties at its time by id."""
    at = utcnow().replace(microsecond=0)
    tickets = [
        Ticket(tenant_id=tenant.id, number=n, subject=f"T{n}", created_at=at, updated_at=at)
        for n in range(1, 6)
    ]
    tickets.append(Ticket(tenant_id=tenant.id, number=6, subject="T6", created_at=at + _SECOND))
    tickets[-1].updated_at = at + _SECOND
    db.add_all(tickets)
    await db.commit()
    items, pages = await collect_pages(http, f"{URL}?limit=2&sort={sort}", admin_headers)
    expected = sorted(tickets, key=lambda t: (t.created_at, str(t.id)))
    if sort.startswith("-"):
        expected.reverse()
    assert [i["id"] for i in items] == [str(t.id) for t in expected]
    assert pages == 3


_SECOND = timedelta(seconds=1)


async def test_no_filter_shows_another_tenants_tickets(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    admin_headers: Headers,
) -> None:
    """Their tickets look like ours in every filtered field; a filter still keeps to ours."""
    foreign_contact = await make_contact(db, other_tenant, email="x@globex.example")
    same = {"subject": "Printer on fire", "status": "open", "priority": "high", "tags": ["vip"]}
    await make_ticket(db, other_tenant, requester_id=foreign_contact.id, **same)
    ours = await make_ticket(db, tenant, **same)
    queries = ["", "status=open", "priority=high", "tag=vip", "q=printer", "sort=-updated_at"]
    for query in queries:
        items, _ = await collect_pages(http, f"{URL}?limit=1&{query}", admin_headers)
        assert [i["id"] for i in items] == [str(ours.id)], query
    foreign = await http.get(
        URL, params={"requester": str(foreign_contact.id)}, headers=admin_headers
    )
    assert foreign.json()["data"] == []


# Filters and sorts of the list, and the index each page must be read from.
SQLITE_PLANS = [
    pytest.param({}, "-created_at", "ix_tickets_tenant_created_subject", id="default"),
    pytest.param({}, "created_at", "ix_tickets_tenant_created_subject", id="oldest-first"),
    pytest.param({}, "-updated_at", "ix_tickets_tenant_updated", id="updated"),
    pytest.param(
        {"status": [TicketStatus.OPEN]}, "-created_at", "ix_tickets_tenant_status_created",
        id="status",
    ),
    pytest.param(
        {"assignee": "agent"}, "-created_at", "ix_tickets_tenant_assignee_created",
        id="assignee",
    ),
    pytest.param(
        {"requester": "contact"}, "-created_at", "ix_tickets_tenant_requester_created",
        id="requester",
    ),
    pytest.param({}, "-priority", "ix_tickets_tenant_priority_created", id="priority"),
    pytest.param({}, "priority", "ix_tickets_tenant_priority_created", id="priority-low-first"),
]  # fmt: skip


@pytest_asyncio.fixture
async def people(db: AsyncSession, tenant: TenantInfo, agent: User) -> dict[str, uuid.UUID]:
    """Ids for the filters of the cases above that name someone."""
    return {"agent": agent.id, "contact": (await make_contact(db, tenant)).id}


async def _plan(
    db: AsyncSession,
    tenant: TenantInfo,
    filters: dict[str, Any],
    sort: str,
    people: dict[str, uuid.UUID],
) -> list[str]:
    fields = {k: people.get(v, v) if isinstance(v, str) else v for k, v in filters.items()}
    conn = await db.connection()
    query, values = await page_statement(conn, tenant.id, TicketFilters(**fields), sort, None)
    return await explain(conn, query, values)


@pytest.mark.parametrize(("filters", "sort", "index"), SQLITE_PLANS)
async def test_sqlite_pages_are_read_from_the_list_indexes(
    db: AsyncSession,
    tenant: TenantInfo,
    people: dict[str, uuid.UUID],
    test_db_url: str,
    filters: dict[str, Any],
    sort: str,
    index: str,
) -> None:
    if not test_db_url.startswith("sqlite"):
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    plan = await _plan(db, tenant, filters, sort, people)
    assert plan[0].startswith(f"SEARCH tickets USING INDEX {index} (tenant_id=?"), plan
    assert not [line for line in plan if line.startswith("SCAN") or "TEMP B-TREE" in line], plan


@pytest.mark.parametrize(
    ("filters", "sort"),
    [
        pytest.param({"q": "printer"}, "-created_at", id="q"),
        pytest.param({"q": "printer"}, "-priority", id="q-priority"),
        pytest.param({"q": "printer", "status": [TicketStatus.OPEN]}, "-updated_at", id="q-status"),
        pytest.param({"q": "printer", "assignee": "agent"}, "created_at", id="q-assignee"),
    ],
)
async def test_sqlite_search_reads_the_full_text_index_then_tickets_by_id(
    db: AsyncSession,
    tenant: TenantInfo,
    people: dict[str, uuid.UUID],
    test_db_url: str,
    filters: dict[str, Any],
    sort: str,
) -> None:
    """The matches come from FTS5 (``M`` is its MATCH), each is read by its id, and only
    they are sorted: never the tenant's tickets walked one by one."""
    if not test_db_url.startswith("sqlite"):
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    plan = await _plan(db, tenant, filters, sort, people)
    assert plan[0] == "SEARCH tickets USING INDEX sqlite_autoindex_tickets_1 (id=?)", plan
    assert "SEARCH ticket_search USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
    assert any(
        re.fullmatch(r"SCAN ticket_search_fts VIRTUAL TABLE INDEX \d+:M\d*", line) for line in plan
    )
    assert not [line for line in plan if line.startswith("SCAN tickets")], plan


async def test_sqlite_common_words_are_read_in_the_pages_order(
    db: AsyncSession,
    tenant: TenantInfo,
    people: dict[str, uuid.UUID],
    test_db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More matches than ``search.COMMON``: the tenant's tickets are walked in the
    page's order, the matches read once from the full-text index, no sort."""
    if not test_db_url.startswith("sqlite"):
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    from cloudcx.tickets import search

    await make_ticket(db, tenant, subject="Printer")
    monkeypatch.setattr(search, "COMMON", 0)
    plan = await _plan(db, tenant, {"q": "printer"}, "-created_at", people)
    assert plan[0].startswith("SEARCH tickets USING INDEX ix_tickets_tenant_created_subject"), plan
    assert any(line.startswith("SCAN ticket_search_fts VIRTUAL TABLE") for line in plan), plan
    assert not [line for line in plan if "TEMP B-TREE" in line], plan


async def test_sqlite_tag_reads_ticket_ids_from_the_tag_index(
    db: AsyncSession, tenant: TenantInfo, people: dict[str, uuid.UUID], test_db_url: str
) -> None:
    if not test_db_url.startswith("sqlite"):
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    plan = await _plan(db, tenant, {"tag": "vip"}, "-created_at", people)
    assert plan[0].startswith("SEARCH tickets USING INDEX ix_tickets_tenant_created_subject")
    assert "SEARCH ticket_tags USING COVERING INDEX ix_ticket_tags_tag (tag=?)" in plan, plan


POSTGRESQL_PLANS = {
    "default": ({}, "-created_at", "ix_tickets_tenant_created"),
    "updated": ({}, "-updated_at", "ix_tickets_tenant_updated"),
    "status": ({"status": [TicketStatus.OPEN]}, "-created_at", "ix_tickets_tenant_status_created"),
    "assignee": ({"assignee": "agent"}, "-created_at", "ix_tickets_tenant_assignee_created"),
    "requester": ({"requester": "contact"}, "-created_at", "ix_tickets_tenant_requester_created"),
    "priority": ({}, "-priority", "ix_tickets_tenant_priority_created"),
    "q": ({"q": "zebra"}, "-created_at", "ix_ticket_search_document"),
    "q-rare": ({"q": "12345"}, "-updated_at", "ix_ticket_search_document"),
}


async def test_postgresql_pages_are_read_from_the_list_indexes(
    db: AsyncSession, tenant: TenantInfo, people: dict[str, uuid.UUID], test_db_url: str
) -> None:
    """On a few thousand tickets of two tenants, planned with fresh statistics."""
    if not test_db_url.startswith("postgresql"):
        pytest.skip("set CLOUDCX_TEST_DATABASE_URL to a PostgreSQL database to run")
    rng = random.Random(1)
    await seed_tenant(db, "localhost", 2000, rng)
    await seed_tenant(db, "other.example", 2000, rng)
    # What autovacuum does soon after: new rows wait in the GIN index's pending
    # list, which a search reads in full, until they are merged in.
    await db.execute(text("SELECT gin_clean_pending_list('ix_ticket_search_document')"))
    await db.execute(text("ANALYZE tickets"))
    await db.execute(text("ANALYZE ticket_search"))
    for case, (filters, sort, index) in POSTGRESQL_PLANS.items():
        plan = "\n".join(await _plan(db, tenant, filters, sort, people))
        assert re.search(rf"(Index Scan (Backward )?using|Bitmap Index Scan on) {index}\b", plan), (
            case,
            plan,
        )
        assert "Seq Scan" not in plan, (case, plan)
        # A word in few subjects: those few tickets are sorted, not the tenant's.
        assert "Sort Key" not in plan or case.startswith("q"), (case, plan)


@pytest.mark.parametrize(
    ("filters", "inline"),
    [
        pytest.param({}, True, id="unfiltered"),
        pytest.param({"q": "printer"}, False, id="q"),
        pytest.param({"status": [TicketStatus.OPEN]}, False, id="status"),
    ],
)
async def test_only_the_unfiltered_list_has_its_limit_in_the_sql(
    db: AsyncSession, tenant: TenantInfo, filters: dict[str, Any], inline: bool
) -> None:
    """With the limit known, PostgreSQL keeps one plan for a prepared statement. For the
    unfiltered list that saves the planning on every page; for q the one plan it kept
    was the wrong one for rare words (a scan of 100,000 tickets, 0.8 s)."""
    conn = await db.connection()
    query, values = await page_statement(
        conn, tenant.id, TicketFilters(**filters), "-created_at", None
    )
    sent: list[str] = []

    def capture(*args: Any) -> None:
        sent.append(args[2])

    event.listen(conn.sync_connection, "before_cursor_execute", capture)
    try:
        await conn.execute(query, values)
    finally:
        event.remove(conn.sync_connection, "before_cursor_execute", capture)
    assert ("LIMIT 26" in sent[0]) is inline, sent[0]


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        ("2026-01-31 12:34:56.123456", "2026-01-31T12:34:56.123456Z"),
        ("2026-01-31 12:34:56.000000", "2026-01-31T12:34:56Z"),
        ("2026-01-31 12:34:56", "2026-01-31T12:34:56Z"),  # another shape is parsed
    ],
)
def test_sqlite_times_are_written_as_pydantic_writes_them(stored: str, written: str) -> None:
    from datetime import UTC, datetime

    import orjson
    from pydantic import TypeAdapter

    from cloudcx.tickets.listing import _utc

    ours = orjson.dumps(_utc(stored), option=orjson.OPT_UTC_Z)
    as_pydantic = TypeAdapter(datetime).dump_json(
        datetime.fromisoformat(stored).replace(tzinfo=UTC)
    )
    assert ours == as_pydantic == f'"{written}"'.encode()


@pytest.mark.parametrize("sort", ["priority", "-priority"])
async def test_priority_pages_are_stable_across_ties(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin_headers: Headers,
    sort: str,
) -> None:
    """Priority (low to urgent), then creation time, then id: ties of both split by id."""
    at = utcnow().replace(microsecond=0)
    priorities = ["urgent", "low", "normal", "urgent", "high", "low", "normal", "urgent"]
    tickets = [
        Ticket(
            tenant_id=tenant.id,
            number=n,
            subject=f"T{n}",
            priority=p,
            created_at=at + _SECOND * (n % 2),
            updated_at=at,
        )
        for n, p in enumerate(priorities, start=1)
    ]
    db.add_all(tickets)
    await db.commit()
    items, pages = await collect_pages(http, f"{URL}?limit=3&sort={sort}", admin_headers)
    rank = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
    expected = sorted(tickets, key=lambda t: (rank[t.priority], t.created_at, str(t.id)))
    if sort.startswith("-"):
        expected.reverse()
    assert [i["id"] for i in items] == [str(t.id) for t in expected]
    assert pages == 3


def _cursor(data: dict[str, Any]) -> str:
    import base64

    import orjson

    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param({"s": "-created_at", "v": "2026-01-01T00:00:00+00:00", "i": str(uuid.uuid4())},
                     id="another-sort"),
        pytest.param({"s": "priority", "v": "2026-01-01T00:00:00+00:00", "i": str(uuid.uuid4())},
                     id="no-rank"),
        pytest.param({"s": "priority", "v": "2026-01-01T00:00:00+00:00", "i": str(uuid.uuid4()),
                      "r": "urgent"}, id="rank-not-a-number"),
        pytest.param({"s": "priority", "v": "2026-01-01T00:00:00+00:00", "i": str(uuid.uuid4()),
                      "r": True}, id="rank-a-boolean"),
        pytest.param({"s": "priority", "v": "2026-01-01T00:00:00+00:00", "i": str(uuid.uuid4()),
                      "r": 10**6}, id="rank-huge"),
    ],
)  # fmt: skip
async def test_bad_priority_cursor_is_refused(
    http: httpx.AsyncClient, tenant: TenantInfo, admin_headers: Headers, cursor: dict[str, Any]
) -> None:
    response = await http.get(
        URL, params={"sort": "priority", "cursor": _cursor(cursor)}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "cursor"
