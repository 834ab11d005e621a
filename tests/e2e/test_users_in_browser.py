"""Users in a real browser: an administrator resets a password, and the user must
choose their own at sign-in before anything else; all without JavaScript on the
administrator's side, as the confirmation pages promise."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import _failed, keep_artifacts, new_context
from tests.e2e.pages import main_menu, sign_in, unique, unlabelled_controls
from tests.e2e.watch import PageProblems
from tests.live_server import AGENT_PASSWORD, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ONE_TIME = "Given-by-the-admin-passw0rd"
CHOSEN = "Chosen-by-myself-passphrase-8"


@pytest.fixture
def no_script(
    request: pytest.FixtureRequest,
    browser: Browser,
    live_server: LiveServer,
    problems: PageProblems,
) -> Iterator[BrowserContext]:
    """A browser with JavaScript turned off: plain forms must do everything."""
    context = new_context(browser, live_server, problems, java_script_enabled=False)
    yield context
    try:
        if _failed(request.node) or problems:
            keep_artifacts(request, context, live_server)
    finally:
        context.close()


def test_admin_resets_a_password_and_the_user_chooses_a_new_one(
    page: Page, no_script: BrowserContext, live_server: LiveServer
) -> None:
    name = unique("Ada")
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    live_server.create_user(email, AGENT_PASSWORD, name=name)

    # The administrator, without JavaScript: Users > the user > Reset password.
    admin = no_script.new_page()
    sign_in(admin, live_server.admin_email, live_server.admin_password)
    main_menu(admin).get_by_role("link", name="Users").click()
    admin.get_by_role("link", name=name, exact=True).click()
    expect(admin.get_by_role("heading", level=1, name="Edit User")).to_be_visible()
    assert unlabelled_controls(admin) == []
    admin.get_by_role("link", name="Reset password").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Reset the password of {name}?")
    admin.get_by_label("One-time password", exact=True).fill(ONE_TIME)
    admin.get_by_label("Repeat the one-time password").fill(ONE_TIME + "?")
    admin.get_by_role("button", name="Reset password").click()
    expect(admin.get_by_text("The two passwords differ.")).to_be_visible()
    admin.get_by_label("One-time password", exact=True).fill(ONE_TIME)
    admin.get_by_label("Repeat the one-time password").fill(ONE_TIME)
    admin.get_by_role("button", name="Reset password").click()
    expect(admin.get_by_role("status")).to_contain_text("Password reset.")
    expect(admin.get_by_text("must choose a new password at next sign-in")).to_be_visible()

    # The old password no longer signs in; the one-time one leads to one page only.
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The email or password is incorrect.")
    sign_in(page, email, ONE_TIME)
    expect(page).to_have_url(re.compile(r"/login/new-password\?next=%2F$"))
    expect(page.get_by_role("heading", level=1, name="Choose a new password")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    page.goto("/tickets")
    expect(page).to_have_url(re.compile(r"/login/new-password\?next=%2Ftickets$"))
    with live_server.http() as http:  # apps cannot use the one-time password either
        client_id = live_server.create_client(unique("Reset check"))
        refused = http.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "username": email,
                "password": ONE_TIME,
                "client_id": client_id,
            },
        )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "must be changed" in refused.json()["error_description"]

    page.get_by_label("New password", exact=True).fill(ONE_TIME)
    page.get_by_label("Repeat the new password").fill(ONE_TIME)
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_text("Choose a password of your own")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(CHOSEN)
    page.get_by_label("Repeat the new password").fill(CHOSEN)
    page.get_by_role("button", name="Save password").click()
    expect(page).to_have_url(re.compile(r"/tickets$"))
    expect(main_menu(page).get_by_role("link", name="Tickets")).to_be_visible()

    # The one-time password is spent; the chosen one signs in straight to the Control Panel.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(ONE_TIME)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The email or password is incorrect.")
    sign_in(page, email, CHOSEN)
    expect(main_menu(page)).to_be_visible()

    # Back on the administrator's list: the reset is done, and deactivating asks first.
    main_menu(admin).get_by_role("link", name="Users").click()
    row = admin.get_by_role("row").filter(has=admin.get_by_role("link", name=name, exact=True))
    expect(row.get_by_text("New password at next sign-in")).to_have_count(0)
    row.get_by_role("link", name=f"Deactivate {name}").click()
    expect(admin.get_by_role("heading", level=1, name=f"Deactivate “{name}”?")).to_be_visible()
    admin.get_by_role("link", name="Cancel").click()
    expect(row.get_by_role("cell", name="Active", exact=True)).to_be_visible()
