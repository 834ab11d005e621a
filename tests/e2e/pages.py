"""Steps a person takes in the Control Panel, found by what they read on screen."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Locator, Page, expect

OAUTH_CLIENTS_PATH = "/settings/security/oauth-clients"
MAX_TABS = 60


def unique(prefix: str) -> str:
    """A name no other test uses: they all share one server."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def main_menu(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def go_to_oauth_client_page(page: Page) -> None:
    """The guide: "From the left navigation menu, go to Global Settings > Security >
    OAuth Client"."""
    global_settings = main_menu(page).get_by_role("list", name="Global Settings")
    security = global_settings.get_by_role("list", name="Security")
    security.get_by_role("link", name="OAuth Client").click()
    expect(page.get_by_role("heading", level=1, name="OAuth Client")).to_be_visible()


def client_row(page: Page, client_name: str) -> Locator:
    return page.get_by_role("row").filter(
        has=page.get_by_role("cell", name=client_name, exact=True)
    )


def create_client(page: Page, client_name: str, description: str) -> None:
    """New OAuth Client, Client name and Description, Save; the row is listed."""
    go_to_oauth_client_page(page)
    page.get_by_role("link", name="New OAuth Client").click()
    page.get_by_label("Client name").fill(client_name)
    page.get_by_label("Description").fill(description)
    page.get_by_role("button", name="Save").click()
    expect(client_row(page, client_name)).to_have_count(1)


def open_edit(page: Page, client_name: str) -> None:
    """The guide: "click Action > Edit"."""
    row = client_row(page, client_name)
    row.get_by_text("Action", exact=True).click()
    row.get_by_role("menuitem", name="Edit").click()
    expect(page.get_by_role("heading", level=1, name="Edit OAuth Client")).to_be_visible()


def is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate("element => element === document.activeElement"))


def tab_to(page: Page, target: Locator, limit: int = MAX_TABS) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if is_focused(target):
            return
        page.keyboard.press("Tab")
    assert is_focused(target), f"{target} cannot be reached with the Tab key"


def unlabelled_controls(page: Page) -> list[str]:
    """Form controls and buttons without an accessible name, described for a message."""
    missing: list[str] = []
    controls = page.locator("input:not([type=hidden]), select, textarea, button, summary, a[href]")
    for n in range(controls.count()):
        control = controls.nth(n)
        if not control.is_visible():
            continue
        try:
            expect(control).to_have_accessible_name(re.compile(r"\S"), timeout=1_000)
        except AssertionError:
            missing.append(control.evaluate("element => element.outerHTML.slice(0, 200)"))
    return missing
