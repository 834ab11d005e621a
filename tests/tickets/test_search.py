"""Full-text search of tickets (``q``): what it finds, on SQLite and PostgreSQL alike.

Every ticket is found by the words of its subject, description, messages, its
requester's name and email, and its number; what a person types is only ever
words, never a query language, so no input can make the search fail.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.contacts import service as contacts
from cloudcx.contacts.schemas import ContactUpdate
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets import service, words
from cloudcx.tickets.activity import Actor
from cloudcx.tickets.models import Ticket
from cloudcx.tickets.schemas import MessageCreate, TicketUpdate
from tests.cxapi import Headers, assert_problem, make_contact, make_ticket

URL = "/api/v1/tickets"


@pytest_asyncio.fixture
async def corpus(db: AsyncSession, tenant: TenantInfo, agent: User) -> dict[str, Ticket]:
    ada = await make_contact(db, tenant, email="ada.lovelace@example.org")
    tickets = {
        "printer": await make_ticket(db, tenant, subject="Printer on fire", priority="high"),
        "refund": await make_ticket(
            db, tenant, subject="Refund please", description="Order 4711 arrived broken."
        ),
        "cafe": await make_ticket(db, tenant, subject="Café au lait machine"),
        "strasse": await make_ticket(db, tenant, subject="Delivery to Hauptstraße 5"),
        "tokyo": await make_ticket(db, tenant, subject="東京 office login"),
        "ada": await make_ticket(db, tenant, subject="Question", requester_id=ada.id),
        "snake": await make_ticket(db, tenant, subject="snake_case bug in 100% of reports"),
    }
    await service.add_message(
        db, tickets["printer"], MessageCreate(body="The toner smells of smoke."), agent.id
    )
    await db.commit()
    return tickets


CASES = [
    pytest.param("printer", ["printer"], id="subject-word"),
    pytest.param("PRINTER", ["printer"], id="any-case"),
    pytest.param("print", ["printer"], id="prefix"),
    pytest.param("toner smoke", ["printer"], id="message-words"),
    pytest.param("broken", ["refund"], id="description"),
    pytest.param("lovelace", ["ada"], id="requester-name"),
    pytest.param("ada.lovelace@example.org", ["ada"], id="requester-email"),
    pytest.param("cafe", ["cafe"], id="accent-folded"),
    pytest.param("CAFÉ", ["cafe"], id="accent-and-case"),
    pytest.param("hauptstrasse", ["strasse"], id="sharp-s-case-folded"),
    pytest.param("東京", ["tokyo"], id="cjk"),
    pytest.param("\uff50\uff52\uff49\uff4e\uff54\uff45\uff52", ["printer"], id="fullwidth-nfkc"),
    pytest.param("4711", ["refund"], id="number-in-text"),
    pytest.param("471", [], id="numbers-are-whole"),
    pytest.param("printer fire", ["printer"], id="every-word"),
    pytest.param("printer refund", [], id="every-word-must-match"),
    pytest.param("snake_case", ["snake"], id="underscore-separates"),
    pytest.param("100%", ["snake"], id="percent-separates"),
    pytest.param('"printer', ["printer"], id="unbalanced-double-quote"),
    pytest.param("'printer'", ["printer"], id="single-quotes"),
    pytest.param('printer" OR "refund', [], id="quote-injection"),
    pytest.param("printer OR refund", [], id="or-is-a-word"),
    pytest.param("NOT printer", [], id="not-is-a-word"),
    pytest.param("NEAR(printer fire)", [], id="near-is-a-word"),
    pytest.param("printer*", ["printer"], id="star-is-punctuation"),
    pytest.param("^printer", ["printer"], id="caret"),
    pytest.param("subject:printer", [], id="column-filter-is-words"),
    pytest.param("printer & !fire | (x)", [], id="tsquery-operators"),
    pytest.param("printer:*", ["printer"], id="tsquery-prefix-syntax"),
    pytest.param("-printer", ["printer"], id="minus"),
    pytest.param("'); DROP TABLE tickets; --", [], id="sql-looking"),
    pytest.param("%", [], id="punctuation-only-finds-nothing"),
    pytest.param("🔥", [], id="emoji-only"),
    pytest.param("x" * 61, [], id="word-too-long"),
    pytest.param("\\", [], id="backslash"),
]


@pytest.mark.parametrize(("q", "found"), CASES)
async def test_search_finds_tickets_by_their_words(
    http: httpx.AsyncClient,
    admin_headers: Headers,
    corpus: dict[str, Ticket],
    q: str,
    found: list[str],
) -> None:
    response = await http.get(URL, params={"q": q}, headers=admin_headers)
    assert response.status_code == 200, response.text
    ids = {t["id"] for t in response.json()["data"]}
    assert ids == {str(corpus[name].id) for name in found}


async def test_the_ticket_number_finds_the_ticket(
    http: httpx.AsyncClient, admin_headers: Headers, corpus: dict[str, Ticket]
) -> None:
    ticket = corpus["snake"]  # number 7: no other ticket holds the word "7"
    for q in (str(ticket.number), f"#{ticket.number}"):
        response = await http.get(URL, params={"q": q}, headers=admin_headers)
        assert [t["id"] for t in response.json()["data"]] == [str(ticket.id)], q


@pytest.mark.parametrize("q", ["", "   "])
async def test_a_blank_search_lists_everything(
    http: httpx.AsyncClient, admin_headers: Headers, corpus: dict[str, Ticket], q: str
) -> None:
    response = await http.get(URL, params={"q": q}, headers=admin_headers)
    assert len(response.json()["data"]) == len(corpus)


@pytest.mark.parametrize(
    "q",
    [
        pytest.param("a\x00b", id="nul"),
        pytest.param("x" * 201, id="too-long"),
    ],
)
async def test_unsearchable_input_is_refused_with_422(
    http: httpx.AsyncClient, admin_headers: Headers, corpus: dict[str, Ticket], q: str
) -> None:
    response = await http.get(URL, params={"q": q}, headers=admin_headers)
    assert assert_problem(response, 422)["errors"][0]["field"] == "query.q"


async def test_many_words_are_cut_to_the_first_twelve(
    http: httpx.AsyncClient, admin_headers: Headers, corpus: dict[str, Ticket]
) -> None:
    q = "printer fire " + " ".join(f"w{i}" for i in range(20))
    response = await http.get(URL, params={"q": q}, headers=admin_headers)
    assert response.status_code == 200
    assert words.query_words(q)[:2] == ["printer", "fire"]
    assert len(words.query_words(q)) == words.MAX_QUERY_WORDS


async def test_search_pages_with_filters_and_sorts(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin_headers: Headers
) -> None:
    made = [await make_ticket(db, tenant, subject=f"Printer {i}") for i in range(5)]
    await make_ticket(db, tenant, subject="Scanner")
    seen: list[str] = []
    next_url: str | None = f"{URL}?q=printer&limit=2&sort=created_at"
    while next_url:
        body = (await http.get(next_url, headers=admin_headers)).json()
        seen += [t["id"] for t in body["data"]]
        next_url = body["links"]["next"]
    assert seen == [str(t.id) for t in made]
    both = await http.get(URL, params={"q": "printer", "status": "new"}, headers=admin_headers)
    assert len(both.json()["data"]) == 5


async def test_search_keeps_to_the_tenant(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    admin_headers: Headers,
) -> None:
    await make_ticket(db, other_tenant, subject="Globex secret plans")
    ours = await make_ticket(db, tenant, subject="Our plans")
    response = await http.get(URL, params={"q": "plans"}, headers=admin_headers)
    assert [t["id"] for t in response.json()["data"]] == [str(ours.id)]
    secret = await http.get(URL, params={"q": "globex"}, headers=admin_headers)
    assert secret.json()["data"] == []


async def _found(http: httpx.AsyncClient, headers: Headers, q: str) -> list[str]:
    response = await http.get(URL, params={"q": q}, headers=headers)
    assert response.status_code == 200
    return [t["id"] for t in response.json()["data"]]


async def test_the_index_follows_every_change(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    admin_headers: Headers,
) -> None:
    grace = await make_contact(db, tenant, first_name="Grace", email="grace@example.org")
    ticket = await make_ticket(db, tenant, subject="Printer jam", requester_id=grace.id)
    me = [str(ticket.id)]
    update = TicketUpdate(subject="Scanner jam", description="Paper everywhere")
    await service.update_ticket(db, ticket, update, Actor(agent.id))
    await db.commit()
    assert await _found(http, admin_headers, "printer") == []
    assert await _found(http, admin_headers, "scanner paper") == me
    await service.add_message(db, ticket, MessageCreate(body="Replaced the roller"), agent.id)
    await db.commit()
    assert await _found(http, admin_headers, "roller") == me
    await contacts.update_contact(db, grace, ContactUpdate(last_name="Hopper"))
    await db.commit()
    assert await _found(http, admin_headers, "grace hopper") == me
    deleted = await http.delete(f"/api/v1/contacts/{grace.id}", headers=admin_headers)
    assert deleted.status_code == 204
    assert await _found(http, admin_headers, "grace@example.org") == []
    assert await _found(http, admin_headers, "roller") == me
    gone = await http.delete(f"/api/v1/tickets/{ticket.id}", headers=admin_headers)
    assert gone.status_code == 204
    assert await _found(http, admin_headers, "roller") == []


def test_words_are_split_and_folded_the_same_everywhere() -> None:
    assert words.words("Ünïcödé  CAFÉ—Straße_ok 42%") == ["unicode", "cafe", "strasse", "ok", "42"]
    assert words.words("हिन्दी") == ["हिन्दी"]  # marks outside Latin stay in the word
    assert words.match_value("sqlite", "print 42") == '"print"* "42"'
    assert words.match_value("postgresql", "print 42") == "'print':* & '42'"
    assert words.match_value("sqlite", "!!!") is None


def test_a_huge_conversation_is_indexed_up_to_the_limit() -> None:
    parts = [" ".join(f"w{i}x{uuid.uuid4().hex}" for i in range(20_000))]
    doc = words.document(parts)
    assert sum(len(w.encode()) + 1 for w in doc) <= words.MAX_DOCUMENT_BYTES
    assert doc[0].startswith("w0x")


@pytest.mark.parametrize("common", [0, 1_000_000])
async def test_common_and_rare_words_find_the_same(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin_headers: Headers,
    monkeypatch: pytest.MonkeyPatch,
    common: int,
) -> None:
    """Whichever way SQLite reads a search (``search.settle``), the pages are the same."""
    from cloudcx.tickets import search

    made = [
        await make_ticket(db, tenant, subject=f"Printer {n}", priority=p)
        for n, p in enumerate(["low", "urgent", "normal", "urgent", "high"])
    ]
    await make_ticket(db, tenant, subject="Scanner")
    monkeypatch.setattr(search, "COMMON", common)
    for sort in ("-created_at", "updated_at", "-priority"):
        seen: list[str] = []
        next_url: str | None = f"{URL}?q=printer&limit=2&sort={sort}"
        while next_url:
            body = (await http.get(next_url, headers=admin_headers)).json()
            seen += [t["subject"] for t in body["data"]]
            next_url = body["links"]["next"]
        assert sorted(seen) == sorted(t.subject for t in made), sort
    assert seen == ["Printer 3", "Printer 1", "Printer 4", "Printer 2", "Printer 0"]
