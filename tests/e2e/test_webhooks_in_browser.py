"""Global Settings > Integrations > Webhooks in a real browser against a real server.

The server allows http:// webhooks to loopback (the development setting), so
the receiver can be a plain HTTP server of this test on 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.pages import main_menu, sign_in
from tests.live_server import LiveServer, running
from tests.webhooks.conftest import Receiver, receiver

pytestmark = [pytest.mark.slow, pytest.mark.browser]
__all__ = ["receiver"]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = {"CLOUDCX_WEBHOOK_ALLOW_HTTP_LOOPBACK": "true"}
    with running(Path(tmp_path_factory.mktemp("e2e-webhooks")), settings=settings) as server:
        yield server


def _row(page: Page, name: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=name, exact=True))


def _action(page: Page, name: str, item: str) -> None:
    row = _row(page, name)
    row.get_by_text("Action", exact=True).click()
    row.get_by_role("menuitem", name=item).click()


def test_new_test_event_log_and_delete(
    page: Page, live_server: LiveServer, receiver: Receiver
) -> None:
    sign_in(page, live_server.admin_email, live_server.admin_password)
    integrations = main_menu(page).get_by_role("list", name="Integrations")
    integrations.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", level=1, name="Webhooks")).to_be_visible()

    page.get_by_role("link", name="New Webhook").click()
    page.get_by_label("Name").fill("Helpdesk Sync")
    page.get_by_label("URL").fill(receiver.url())
    tickets = page.get_by_role("group", name="Tickets")
    contacts = page.get_by_role("group", name="Contacts")
    expect(tickets.get_by_role("checkbox")).to_have_count(5)
    expect(contacts.get_by_role("checkbox")).to_have_count(3)
    contacts.get_by_role("checkbox").first.uncheck()
    page.get_by_role("button", name="Save").click()
    secret = page.get_by_role("textbox", name="Signing secret")
    expect(secret).to_have_value(re.compile(r"^whsec_"))
    page.reload()  # shown once: a reload makes no other secret and shows none
    expect(page.get_by_role("heading", name="Signing secret already shown")).to_be_visible()
    page.get_by_role("link", name="Back to Webhooks").click()
    expect(_row(page, "Helpdesk Sync")).to_have_count(1)
    expect(_row(page, "Helpdesk Sync")).to_contain_text("Active")

    _action(page, "Helpdesk Sync", "Send test event")
    expect(page.get_by_text("The receiver accepted the test event.")).to_be_visible()
    assert [r.json["type"] for r in receiver.requests] == ["webhook.test"]
    page.get_by_role("link", name="Delivery log").click()
    expect(page.get_by_role("cell", name="webhook.test")).to_be_visible()

    page.get_by_role("link", name="Back to Webhooks").click()
    _action(page, "Helpdesk Sync", "Disable")
    expect(page.get_by_role("status")).to_contain_text("Webhook disabled")
    expect(_row(page, "Helpdesk Sync")).to_contain_text("Disabled")
    _action(page, "Helpdesk Sync", "Delete")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Delete “Helpdesk Sync”?")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Webhook deleted.")
    expect(_row(page, "Helpdesk Sync")).to_have_count(0)
