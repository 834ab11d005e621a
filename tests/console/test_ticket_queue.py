"""Control Panel: the agents' home counts, the queue's views, sort orders and search,
and a ticket's activity in its conversation."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.db import utcnow
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets.models import Ticket, TicketEvent
from tests.cxapi import headers_for, make_contact, make_ticket
from tests.helpers import form_post, login

SUBJECT = re.compile(r'<a href="/tickets/[0-9a-f-]{36}">([^<]+)</a>')


def subjects(html: str) -> list[str]:
    return [unescape(s) for s in SUBJECT.findall(html)]


async def _queue(db: AsyncSession, tenant: TenantInfo, agent: User, admin: User) -> None:
    """Mine: 2 open (one pending); unassigned: 2 open; solved today: 1; closed long ago: 1."""
    await make_ticket(db, tenant, subject="Mine new", assignee_id=agent.id)
    await make_ticket(db, tenant, subject="Mine pending", status="pending", assignee_id=agent.id)
    await make_ticket(db, tenant, subject="Admin's open", status="open", assignee_id=admin.id)
    await make_ticket(db, tenant, subject="Nobody's new")
    await make_ticket(db, tenant, subject="Nobody's pending", status="pending")
    await make_ticket(db, tenant, subject="Solved now", status="solved", assignee_id=agent.id)
    old = await make_ticket(db, tenant, subject="Solved last week", status="closed")
    old.solved_at = utcnow() - timedelta(days=7)
    await db.commit()


async def test_home_counts_link_to_lists_of_exactly_those_tickets(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    agent: User,
    admin: User,
) -> None:
    await _queue(db, tenant, agent, admin)
    await make_ticket(db, other_tenant, subject="Globex pending", status="pending")
    await login(http, agent.email)
    home = await http.get("/")
    assert home.status_code == 200
    counts = dict(
        (label, (int(value), href))
        for href, value, label in re.findall(
            r'<a href="([^"]+)"><span class="count-value">(\d+)</span> '
            r'<span class="count-label">([^<]+)</span>',
            home.text,
        )
    )
    assert {label: value for label, (value, _) in counts.items()} == {
        "My open tickets": 2,
        "Unassigned": 2,
        "Pending": 2,
        "Solved today": 1,
    }
    expected = {
        "My open tickets": {"Mine new", "Mine pending"},
        "Unassigned": {"Nobody's new", "Nobody's pending"},
        "Pending": {"Mine pending", "Nobody's pending"},
        "Solved today": {"Solved now"},
    }
    for label, (value, href) in counts.items():
        listed = subjects((await http.get(href.replace("&amp;", "&"))).text)
        assert set(listed) == expected[label], label
        assert len(listed) == value, label


async def test_admins_have_the_counts_too(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User, admin: User
) -> None:
    await _queue(db, tenant, agent, admin)
    await login(http, admin.email)
    home = await http.get("/")
    assert '<span class="count-value">1</span> <span class="count-label">My open' in home.text
    assert "Connect an application" in home.text


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        pytest.param("view=mine", {"Mine new", "Mine pending"}, id="mine"),
        pytest.param("view=mine&status=pending", {"Mine pending"}, id="mine-pending"),
        pytest.param("view=unassigned", {"Nobody's new", "Nobody's pending"}, id="unassigned"),
        pytest.param(
            "view=open",
            {"Mine new", "Mine pending", "Admin's open", "Nobody's new", "Nobody's pending"},
            id="all-open",
        ),
        pytest.param("view=solved_today", {"Solved now"}, id="solved-today"),
        pytest.param("view=open&q=nobody", {"Nobody's new", "Nobody's pending"}, id="search"),
        pytest.param("view=nonsense&q=solved", {"Solved now", "Solved last week"}, id="bad-view"),
    ],
)
async def test_views(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    admin: User,
    query: str,
    shown: set[str],
) -> None:
    await _queue(db, tenant, agent, admin)
    await login(http, agent.email)
    page = await http.get(f"/tickets?{query}")
    assert page.status_code == 200
    assert set(subjects(page.text)) == shown


async def test_the_current_view_is_marked(
    http: httpx.AsyncClient, tenant: TenantInfo, agent: User
) -> None:
    await login(http, agent.email)
    page = await http.get("/tickets?view=unassigned")
    assert '<a href="/tickets?view=unassigned" aria-current="page">Unassigned</a>' in page.text
    assert '<h2 id="view-heading">Unassigned open tickets</h2>' in page.text


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        pytest.param("-created_at", ["C urgent", "B low", "A normal"], id="newest"),
        pytest.param("created_at", ["A normal", "B low", "C urgent"], id="oldest"),
        pytest.param("-updated_at", ["A normal", "C urgent", "B low"], id="updated"),
        pytest.param("updated_at", ["B low", "C urgent", "A normal"], id="least-updated"),
        pytest.param("-priority", ["C urgent", "A normal", "B low"], id="priority"),
        pytest.param("priority", ["B low", "A normal", "C urgent"], id="priority-low-first"),
        pytest.param("bogus", ["C urgent", "B low", "A normal"], id="unknown-is-default"),
    ],
)
async def test_sort_orders(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    sort: str,
    order: list[str],
) -> None:
    now = utcnow()
    made = {}
    for n, (subject, priority) in enumerate(
        (("A normal", "normal"), ("B low", "low"), ("C urgent", "urgent"))
    ):
        made[subject] = await make_ticket(db, tenant, subject=subject, priority=priority)
        made[subject].created_at = now - timedelta(hours=3 - n)
    made["A normal"].updated_at = now
    made["C urgent"].updated_at = now - timedelta(minutes=5)
    made["B low"].updated_at = now - timedelta(minutes=10)
    await db.commit()
    await login(http, agent.email)
    page = await http.get("/tickets", params={"sort": sort})
    assert subjects(page.text) == order


async def test_sorted_search_pages_keep_their_order(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    for n in range(30):
        await make_ticket(
            db, tenant, subject=f"Printer {n:02}", priority="high" if n % 3 else "low"
        )
    await make_ticket(db, tenant, subject="Scanner")
    await login(http, agent.email)
    seen: list[str] = []
    url: str | None = "/tickets?q=printer&sort=-priority"
    while url:
        page = await http.get(url)
        seen += subjects(page.text)
        found = re.search(r'<a class="button" href="([^"]+)">Next page</a>', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert len(seen) == 30 and len(set(seen)) == 30
    high = [s for s in seen if int(s.split()[1]) % 3]
    assert seen[: len(high)] == high


async def test_console_search_finds_message_and_requester_words(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    grace = await make_contact(db, tenant, first_name="Grace", email="grace@navy.example")
    await make_ticket(db, tenant, subject="Compiler question", requester_id=grace.id)
    await make_ticket(db, tenant, subject="Other")
    await login(http, agent.email)
    for q in ("grace", "navy.example", '"compiler', "Compiler OR"):
        page = await http.get("/tickets", params={"q": q})
        assert page.status_code == 200
        assert subjects(page.text) == (["Compiler question"] if q != "Compiler OR" else []), q


async def test_changes_show_in_the_conversation_with_who_made_them(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    oauth_client: OAuthClient,
) -> None:
    ticket = await make_ticket(db, tenant, subject="Printer", tags=["hw"])
    api = await headers_for(http, oauth_client, agent.email)
    patched = await http.patch(
        f"/api/v1/tickets/{ticket.id}", headers=api, json={"priority": "urgent"}
    )
    assert patched.status_code == 200
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    saved = await form_post(
        http,
        url,
        {
            "status": "solved",
            "priority": "urgent",
            "assignee_id": str(agent.id),
            "subject": "Printer on fire",
            "tags": "hw, urgent  fire",
        },
    )
    assert saved.status_code == 303
    await db.refresh(ticket)
    assert ticket.subject == "Printer on fire"
    assert ticket.tags == ["fire", "hw", "urgent"]
    page = " ".join((await http.get(url)).text.split())
    assert "via Helpdesk Sync changed priority from <q>Normal</q> to <q>Urgent</q>" in page
    assert "Agent</strong> changed subject from <q>Printer</q> to <q>Printer on fire</q>" in page
    assert "status from <q>New</q> to <q>Solved</q>" in page
    assert "assignee from <q>nobody</q> to <q>Agent</q>" in page
    assert "tags from <q>hw</q> to <q>fire, hw, urgent</q>" in page
    events = list(await db.scalars(select(TicketEvent).where(TicketEvent.field == "subject")))
    assert [(e.actor_user_id, e.actor_client_id) for e in events] == [(agent.id, None)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param("subject", "   ", "Enter a subject", id="blank-subject"),
        pytest.param("tags", "ok bad!tag", "Tags are single words", id="bad-tag"),
        pytest.param("tags", " ".join(f"t{i}" for i in range(21)), "Tags are single", id="many"),
    ],
)
async def test_bad_subject_or_tags_are_refused_beside_the_field(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    field: str,
    value: str,
    message: str,
) -> None:
    ticket = await make_ticket(db, tenant, subject="Printer")
    await login(http, agent.email)
    data = {"status": "open", "priority": "normal", field: value}
    response = await form_post(http, f"/tickets/{ticket.id}", data)
    assert response.status_code == 422
    assert f'id="{field}_error">{message}' in response.text
    assert 'aria-invalid="true"' in response.text
    await db.refresh(ticket)
    assert (ticket.subject, ticket.status.value) == ("Printer", "new")
    assert list(await db.scalars(select(TicketEvent))) == []


async def test_a_form_without_subject_and_tags_leaves_them(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ticket = await make_ticket(db, tenant, subject="Printer", tags=["hw"])
    await login(http, agent.email)
    response = await form_post(http, f"/tickets/{ticket.id}", {"status": "open", "priority": "low"})
    assert response.status_code == 303
    fresh = await db.scalar(select(Ticket).where(Ticket.id == ticket.id))
    assert fresh is not None
    await db.refresh(fresh)
    assert (fresh.subject, fresh.tags) == ("Printer", ["hw"])


async def test_sqlite_home_counts_read_one_index_each(
    db: AsyncSession, tenant: TenantInfo, agent: User, test_db_url: str
) -> None:
    """Each count is a range of one index, counted without reading a ticket."""
    if not test_db_url.startswith("sqlite"):
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    from cloudcx.console.home import count_queries

    conn = await db.connection()
    for label, query in count_queries(tenant.id, agent.id).items():
        sql = query.compile(conn.sync_connection, compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
        assert len(plan) == 1, (label, plan)
        assert plan[0].startswith("SEARCH tickets USING COVERING INDEX ix_tickets_tenant_"), plan


@pytest.mark.parametrize(
    "q",
    ["a\x00b", "x" * 5000, "🔥", "'", '"', "NEAR(", "*", "%_", "printer:*", "\\", "   "],
)
async def test_any_search_text_gives_a_page(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    agent: User,
    q: str,
) -> None:
    await make_ticket(db, tenant, subject="Printer")
    await make_ticket(db, other_tenant, subject="Printer of Globex")
    await login(http, agent.email)
    page = await http.get("/tickets", params={"q": q, "sort": "-priority"})
    assert page.status_code == 200
    assert "Printer of Globex" not in page.text
