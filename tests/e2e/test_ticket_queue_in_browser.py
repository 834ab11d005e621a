"""An agent's day in a real browser: the home page's counts and their lists, the
queue's views, search and sort, and a change that shows in the conversation.

The server is shared with the other browser tests, so every ticket here carries a
word of its own and the agent is new: the counts that are the agent's own are
known exactly, and each tenant-wide count is checked against the list it opens.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pages import sign_in, unique
from tests.live_server import AGENT_PASSWORD, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _seed(server: LiveServer, word: str, agent_email: str) -> None:
    """Four tickets through the API, as the administrator."""
    client_id = server.create_client(unique("Queue seeder"))
    token = server.password_token(client_id)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with server.http() as http:
        users = http.get("/api/v1/users", params={"limit": 100}, headers=headers).json()["data"]
        agent_id = next(u["id"] for u in users if u["email"] == agent_email)
        for subject, fields in (
            ("alpha", {"assignee_id": agent_id, "priority": "low"}),
            ("beta", {"assignee_id": agent_id, "priority": "urgent", "status": "pending"}),
            ("gamma", {"priority": "high"}),
            ("delta", {"assignee_id": agent_id, "status": "solved"}),
        ):
            body = {"subject": f"{word} {subject}", **fields}
            response = http.post("/api/v1/tickets", json=body, headers=headers)
            assert response.status_code == 201, response.text


def _rows(page: Page) -> list[str]:
    """The subjects listed: each row's link to its ticket (not to its requester)."""
    return page.get_by_role("table").locator('a[href^="/tickets/"]').all_inner_texts()


def _count(page: Page, label: str) -> int:
    link = page.get_by_role("link", name=re.compile(rf"^\d+ {label}$"))
    return int(link.inner_text().split()[0])


def test_home_counts_views_search_and_sort(page: Page, live_server: LiveServer) -> None:
    word = f"w{uuid.uuid4().hex[:10]}"
    email = f"agent-{word}@example.com"
    live_server.create_user(email, name=f"Agent {word}")
    _seed(live_server, word, email)
    sign_in(page, email, AGENT_PASSWORD)

    # Home: the agent's own open tickets are exactly alpha and beta (pending is open).
    expect(page.get_by_role("heading", name="Your queue")).to_be_visible()
    assert _count(page, "My open tickets") == 2
    page.get_by_role("link", name=re.compile(r"^\d+ My open tickets$")).click()
    expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()
    expect(page.get_by_role("link", name="Mine", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    assert sorted(_rows(page)) == [f"{word} alpha", f"{word} beta"]

    # Each tenant-wide count opens a list of exactly that many tickets, ours among them.
    for label, ours in (
        ("Unassigned", "gamma"),
        ("Pending", "beta"),
        ("Solved today", "delta"),
    ):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
        shown = _count(page, label)
        page.get_by_role("link", name=re.compile(rf"^\d+ {label}$")).click()
        rows = _rows(page)
        assert len(rows) == shown, label
        assert f"{word} {ours}" in rows, label

    # Views: All open has everything but the solved one.
    page.get_by_role("navigation", name="Views").get_by_role("link", name="All open").click()
    page.get_by_label("Search").fill(word)
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name=f"All open tickets matching “{word}”")).to_be_visible()
    assert sorted(_rows(page)) == [f"{word} alpha", f"{word} beta", f"{word} gamma"]

    # Search in All, sorted by priority, urgent first.
    page.get_by_role("navigation", name="Views").get_by_role("link", name="All", exact=True).click()
    page.get_by_label("Search").fill(f'"{word}" OR')
    page.get_by_role("button", name="Filter").click()
    assert _rows(page) == []
    expect(page.get_by_text("No tickets match.")).to_be_visible()
    page.get_by_label("Search").fill(word)
    page.get_by_label("Sort by").select_option(label="Priority, urgent first")
    page.get_by_role("button", name="Filter").click()
    assert _rows(page) == [f"{word} {s}" for s in ("beta", "gamma", "delta", "alpha")]
    page.get_by_label("Sort by").select_option(label="Priority, low first")
    page.get_by_role("button", name="Filter").click()
    assert _rows(page) == [f"{word} {s}" for s in ("alpha", "delta", "gamma", "beta")]

    # A change made on the ticket page shows in its conversation, with who made it.
    page.get_by_role("link", name=f"{word} gamma").click()
    page.get_by_label("Subject").fill(f"{word} gamma renamed")
    page.get_by_label("Tags").fill("printer, urgent")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Ticket saved.")).to_be_visible()
    change = page.get_by_role("article", name="Change")
    expect(change).to_contain_text(f"Agent {word} changed subject from")
    expect(change).to_contain_text("tags from none to printer, urgent")
    page.get_by_role("link", name="Tickets").first.click()
    page.get_by_label("Search").fill(f"{word} renamed")
    page.get_by_role("button", name="Filter").click()
    assert _rows(page) == [f"{word} gamma renamed"]
