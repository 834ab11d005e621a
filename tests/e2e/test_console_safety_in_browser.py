"""No lost work, no surprises: stale saves, shown-once secrets and confirmations, in a browser.

Elements are found by what a person reads (roles, labels, visible text).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import new_context
from tests.e2e.pages import create_client, go_to_oauth_client_page, open_edit, sign_in, unique
from tests.e2e.watch import PageProblems
from tests.live_server import AGENT_PASSWORD, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.browser]

API_KEYS_PATH = "/settings/security/api-keys"


@pytest.fixture
def second_context(
    browser: Browser, live_server: LiveServer, problems: PageProblems
) -> Iterator[BrowserContext]:
    """Another person's browser: its own cookies, its own session."""
    context = new_context(browser, live_server, problems)
    yield context
    context.close()


def admin_sign_in(page: Page, server: LiveServer) -> None:
    sign_in(page, server.admin_email, server.admin_password)


def new_ticket(page: Page, subject: str) -> str:
    """Tickets > New Ticket, as an agent logging a call; the ticket page's address."""
    page.goto("/tickets/new")
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Requester's email").fill(f"caller-{uuid.uuid4().hex[:6]}@example.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Ticket created.")
    return page.url.split("?", 1)[0]


def test_a_stale_ticket_page_cannot_undo_someone_elses_change(
    page: Page, second_context: BrowserContext, live_server: LiveServer
) -> None:
    """The lost update: A's priority change from an old page would reopen B's solved ticket."""
    agent_email = f"agent-{uuid.uuid4().hex[:8]}@example.com"
    live_server.create_user(agent_email, AGENT_PASSWORD, role="agent")
    admin_sign_in(page, live_server)
    ticket_url = new_ticket(page, unique("Printer on fire"))
    page.get_by_label("Status").select_option("open")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Ticket saved.")

    other = second_context.new_page()
    sign_in(other, agent_email, AGENT_PASSWORD)
    other.goto(ticket_url)
    # Both have the ticket open; the agent solves it first.
    other.get_by_label("Status").select_option("solved")
    other.get_by_role("button", name="Save").click()
    expect(other.get_by_role("status")).to_have_text("Ticket saved.")

    page.get_by_label("Priority").select_option("high")
    page.get_by_role("button", name="Save").click()
    report = page.get_by_role("alert")
    expect(report).to_contain_text("Not saved: someone else changed this meanwhile")
    status_row = report.get_by_role("row", name=re.compile("^Status"))
    expect(status_row).to_contain_text("Solved (changed by them)")
    expect(status_row).to_contain_text("Open")
    expect(report.get_by_role("row", name=re.compile("^Priority"))).to_contain_text("High")
    # The form offered keeps their status and my priority.
    expect(page.get_by_label("Status")).to_have_value("solved")
    expect(page.get_by_label("Priority")).to_have_value("high")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Ticket saved.")

    other.reload()
    expect(other.get_by_label("Status")).to_have_value("solved")
    expect(other.get_by_label("Priority")).to_have_value("high")


def test_send_and_set_solved(page: Page, live_server: LiveServer) -> None:
    admin_sign_in(page, live_server)
    new_ticket(page, unique("Toner"))
    page.get_by_label("Message").fill("Replaced the toner.")
    page.get_by_role("button", name="Send and set Solved").click()
    expect(page.get_by_role("status")).to_have_text("Reply sent.")
    expect(page.get_by_label("Status")).to_have_value("solved")
    expect(page.get_by_text("Replaced the toner.")).to_be_visible()


def test_reloading_shown_once_pages(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    name = unique("Server App")
    admin_sign_in(page, live_server)
    create_client(page, name, "Has a secret.")
    open_edit(page, name)
    page.get_by_label("Description").fill("Edited, then a secret.")
    page.get_by_role("button", name="Generate client secret").click()
    field = page.get_by_role("textbox", name="Client secret", exact=True)
    expect(field).not_to_be_editable()
    secret = field.input_value()
    assert len(secret) >= 43
    expect(page.get_by_label("Description")).to_have_value("Edited, then a secret.")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.base_url)
    page.get_by_role("button", name="Copy").first.click()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.reload()
    expect(page.get_by_role("heading", name="Client secret already shown")).to_be_visible()
    expect(page.get_by_role("textbox", name="Client secret", exact=True)).to_have_count(0)
    client_id = page.get_by_label("Client ID", exact=True).input_value()
    # The reload made no other secret: the copied one still authenticates the client.
    with live_server.http() as http:
        token = http.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "username": live_server.admin_email,
                "password": live_server.admin_password,
            },
            auth=(client_id, secret),
        )
    assert token.status_code == 200, token.text

    key_name = unique("Export key")
    page.goto(f"{API_KEYS_PATH}/new")
    page.get_by_label("Name", exact=True).fill(key_name)
    page.get_by_role("button", name="Save").click()
    key = page.get_by_role("textbox", name="API key", exact=True).input_value()
    assert key.startswith("cxk_")
    page.reload()
    expect(page.get_by_role("heading", name="API key already shown")).to_be_visible()
    expect(page.get_by_role("textbox", name="API key", exact=True)).to_have_count(0)
    page.goto(API_KEYS_PATH)
    expect(page.get_by_role("cell", name=key_name, exact=True)).to_have_count(1)


@pytest.fixture
def no_script_page(
    browser: Browser, live_server: LiveServer, problems: PageProblems
) -> Iterator[Page]:
    context = new_context(browser, live_server, problems, java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_confirmations_work_without_javascript(
    no_script_page: Page, live_server: LiveServer
) -> None:
    page = no_script_page
    name = unique("Confirmed")
    admin_sign_in(page, live_server)
    page.goto("/settings/security/oauth-clients/new")
    page.get_by_label("Client name").fill(name)
    page.get_by_role("button", name="Save").click()
    go_to_oauth_client_page(page)
    open_edit(page, name)  # the Action menu is a <details>: no script needed

    # Revoke all tokens asks; Cancel goes back without revoking.
    page.get_by_role("link", name="Revoke all tokens").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Revoke every token of “{name}”?")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", level=1, name="Edit OAuth Client")).to_be_visible()
    expect(page.get_by_role("status")).to_have_count(0)
    page.get_by_role("link", name="Revoke all tokens").click()
    page.get_by_role("button", name="Revoke all tokens").click()
    expect(page.get_by_role("status")).to_have_text("Every token of this client has been revoked.")

    # Unticking Enabled asks before the client stops.
    page.get_by_label("Enabled", exact=True).uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Disable “{name}”?")
    page.get_by_role("button", name="Disable and save").click()
    expect(page.get_by_role("status")).to_have_text("OAuth client saved.")
    expect(page.get_by_label("Enabled", exact=True)).not_to_be_checked()

    # Deactivating a user asks too.
    email = f"leaver-{uuid.uuid4().hex[:8]}@example.com"
    live_server.create_user(email, AGENT_PASSWORD, role="agent")
    page.goto("/users")
    user_row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=email))
    user_row.get_by_role("link", name="Deactivate").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Deactivate")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("status")).to_contain_text("User deactivated")
    expect(user_row.get_by_role("cell", name="Deactivated")).to_be_visible()
