"""The OAuth client guide, step by step, in a real browser against a real server.

Elements are found by the words the guide and the screen use (roles, labels,
visible text), never by CSS classes or ids, so these tests fail when what a
person reads changes.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.pages import (
    OAUTH_CLIENTS_PATH,
    client_row,
    create_client,
    go_to_oauth_client_page,
    is_focused,
    main_menu,
    open_edit,
    sign_in,
    tab_to,
    unique,
    unlabelled_controls,
)
from tests.e2e.watch import PageProblems
from tests.live_server import AGENT_PASSWORD, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_-]{22,64}")


def admin_sign_in(page: Page, server: LiveServer) -> None:
    sign_in(page, server.admin_email, server.admin_password)


def call_me(server: LiveServer, access_token: str) -> dict[str, Any]:
    with server.http() as http:
        response = http.get("/api/v1/me", headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_guide_word_for_word(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    name, description = unique("Helpdesk Sync"), "Copies tickets to our helpdesk."

    # Step 1 (1): log in to the Control Panel.
    admin_sign_in(page, live_server)
    # (2) Global Settings > Security > OAuth Client.
    go_to_oauth_client_page(page)
    # (3) New OAuth Client.
    page.get_by_role("link", name="New OAuth Client").click()
    expect(page.get_by_role("heading", level=1, name="New OAuth Client")).to_be_visible()
    # (4) Client name, Description, Save.
    page.get_by_label("Client name").fill(name)
    page.get_by_label("Description").fill(description)
    page.get_by_role("button", name="Save").click()
    # "Your OAuth Client is successfully created and listed on the OAuth Client page".
    expect(page).to_have_url(re.compile(re.escape(OAUTH_CLIENTS_PATH)))
    expect(page.get_by_role("status")).to_have_text("OAuth client created.")
    row = client_row(page, name)
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell", name=description, exact=True)).to_be_visible()
    headers = [h.strip() for h in page.get_by_role("columnheader").all_inner_texts()]
    listed_id = row.get_by_role("cell").nth(headers.index("Client ID")).inner_text().strip()

    # (3) again: "click Action > Edit, then get the Client ID".
    open_edit(page, name)
    client_id_field = page.get_by_label("Client ID", exact=True)
    expect(client_id_field).not_to_be_editable()
    client_id = client_id_field.input_value()
    assert CLIENT_ID_RE.fullmatch(client_id), client_id
    assert client_id == listed_id
    expect(page.get_by_label("Client name")).to_have_value(name)
    expect(page.get_by_label("Description")).to_have_value(description)

    # The Copy button puts the Client ID on the clipboard and says so.
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.base_url)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == client_id
    expect(page.get_by_role("button", name="Copy")).to_be_visible(timeout=5_000)

    # Steps 2 and 3 with the Client ID read from the page: the guide's `email`
    # form and RFC 6749's `username` form both get a token that opens the API.
    for login_field in ("email", "username"):
        token = live_server.password_token(client_id, login_field)
        assert token["token_type"] == "Bearer"
        assert token["expires_in"] > 0
        me = call_me(live_server, token["access_token"])
        assert me["user"]["email"] == live_server.admin_email
        assert me["user"]["role"] == "admin"
        assert me["client"] == {"client_id": client_id, "client_name": name}


def test_validation_errors_beside_the_field_with_the_input_kept(
    page: Page, live_server: LiveServer
) -> None:
    description = unique("Kept description")
    admin_sign_in(page, live_server)
    go_to_oauth_client_page(page)
    page.get_by_role("link", name="New OAuth Client").click()

    # Empty name.
    page.get_by_label("Description").fill(description)
    page.get_by_role("button", name="Save").click()
    name_field = page.get_by_label("Client name")
    expect(name_field).to_have_attribute("aria-invalid", "true")
    expect(name_field).to_have_accessible_description(re.compile("Client name is required"))
    expect(page.get_by_text("Client name is required.")).to_be_visible()
    expect(page.get_by_label("Description")).to_have_value(description)

    # The browser itself stops typing at 100 characters ...
    name_field.fill("n" * 101)
    expect(name_field).to_have_value("n" * 100)
    # ... and the server refuses more for a client that ignores maxlength.
    too_long = "x" * 101
    name_field.evaluate("element => element.removeAttribute('maxlength')")
    name_field.fill(too_long)
    page.get_by_role("button", name="Save").click()
    name_field = page.get_by_label("Client name")
    expect(name_field).to_have_accessible_description(re.compile("at most 100 characters"))
    expect(name_field).to_have_value(too_long)
    expect(page.get_by_label("Description")).to_have_value(description)

    # Nothing was created by the refused forms.
    go_to_oauth_client_page(page)
    expect(page.get_by_role("cell", name=description)).to_have_count(0)


@pytest.fixture(scope="module")
def agent_email(live_server: LiveServer) -> str:
    email = f"agent-{uuid.uuid4().hex[:8]}@example.com"
    live_server.create_user(email, AGENT_PASSWORD, role="agent")
    return email


def test_an_agent_is_refused_the_oauth_client_page(
    page: Page, live_server: LiveServer, agent_email: str
) -> None:
    sign_in(page, agent_email, AGENT_PASSWORD)
    # The menu does not offer what the agent may not open ...
    expect(main_menu(page).get_by_text("Global Settings")).to_have_count(0)
    expect(main_menu(page).get_by_role("link", name="OAuth Client")).to_have_count(0)
    # ... and typing the address gives a 403 page, not the list.
    for path in (OAUTH_CLIENTS_PATH, f"{OAUTH_CLIENTS_PATH}/new"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 403
        expect(page.get_by_role("heading", level=1, name="Access denied")).to_be_visible()
        expect(page.get_by_role("link", name="Back to the Control Panel")).to_be_visible()
        expect(page.get_by_role("link", name="New OAuth Client")).to_have_count(0)


def test_sign_out(page: Page, live_server: LiveServer) -> None:
    admin_sign_in(page, live_server)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    # The session is over: the Control Panel asks to sign in again.
    page.goto(OAUTH_CLIENTS_PATH)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_every_control_has_a_name_on_every_page_of_the_guide(
    page: Page, live_server: LiveServer
) -> None:
    name = unique("Labelled")
    page.goto("/login")
    pages = {"sign-in": unlabelled_controls(page)}
    admin_sign_in(page, live_server)
    pages["home"] = unlabelled_controls(page)
    go_to_oauth_client_page(page)
    page.get_by_role("link", name="New OAuth Client").click()
    pages["new"] = unlabelled_controls(page)
    page.get_by_role("button", name="Save").click()  # empty: the form with its error
    expect(page.get_by_text("Client name is required.")).to_be_visible()
    pages["new with an error"] = unlabelled_controls(page)
    create_client(page, name, "Has labels.")
    pages["list"] = unlabelled_controls(page)
    open_edit(page, name)
    pages["edit"] = unlabelled_controls(page)
    assert {where: found for where, found in pages.items() if found} == {}


def test_sign_in_and_new_oauth_client_with_the_keyboard_alone(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    name = unique("Keyboard App")
    keyboard = page.keyboard
    page.goto("/login")
    email = page.get_by_label("Email")
    tab_to(page, email)
    keyboard.type(live_server.admin_email)
    keyboard.press("Tab")
    assert is_focused(page.get_by_label("Password"))
    keyboard.type(live_server.admin_password)
    keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    tab_to(page, main_menu(page).get_by_role("link", name="OAuth Client"))
    keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="OAuth Client")).to_be_visible()
    tab_to(page, page.get_by_role("link", name="New OAuth Client"))
    keyboard.press("Enter")
    tab_to(page, page.get_by_label("Client name"))
    keyboard.type(name)
    keyboard.press("Tab")
    assert is_focused(page.get_by_label("Description"))
    keyboard.type("Made without a mouse.")
    tab_to(page, page.get_by_role("button", name="Save"))
    keyboard.press("Space")
    expect(page.get_by_role("status")).to_have_text("OAuth client created.")

    # Action > Edit and Copy, still from the keyboard.
    row = client_row(page, name)
    tab_to(page, row.get_by_text("Action", exact=True))
    keyboard.press("Enter")
    edit = row.get_by_role("menuitem", name="Edit")
    expect(edit).to_be_visible()
    tab_to(page, edit, limit=3)
    keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Edit OAuth Client")).to_be_visible()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.base_url)
    tab_to(page, page.get_by_role("button", name="Copy"))
    keyboard.press("Space")
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    client_id = page.get_by_label("Client ID", exact=True).input_value()
    assert page.evaluate("navigator.clipboard.readText()") == client_id


def test_no_console_errors_or_failed_requests_on_the_guide_pages(
    page: Page, live_server: LiveServer, problems: PageProblems
) -> None:
    """The context fixture fails any test whose pages log errors; this one only visits."""
    name = unique("Quiet")
    seen: list[str] = []
    page.on("response", lambda response: seen.append(f"{response.status} {response.url}"))
    admin_sign_in(page, live_server)
    create_client(page, name, "No noise.")
    open_edit(page, name)
    assert any("/static/console.js" in line and line.startswith("200") for line in seen), seen
    assert not problems, problems.seen
