"""The ticket list's own path (tickets.listing): the same items as a read, in the same pages."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.db import utcnow
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets.models import Ticket
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
