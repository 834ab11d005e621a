"""The authorization-code flow as a person meets it: consent, Connected apps, Revoke access.

A third-party app inside the test (``CallbackApp``) sends the browser to
``/oauth/authorize`` with PKCE S256; the person signs in, reads the client's
name and description on the consent page and allows or denies; the app gets
a code or ``access_denied`` at its redirect URI. Later the person finds the app
under Connected apps and revokes its access, which the API honours at once.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.pages import (
    client_row,
    create_client,
    go_to_oauth_client_page,
    main_menu,
    open_edit,
    sign_in,
    unique,
)
from tests.e2e.watch import PageProblems
from tests.live_server import LiveServer
from tests.oauth_app import (
    CALLBACK_TIMEOUT,
    CallbackApp,
    api_status,
    assert_refused_soon,
    authorization_request,
    token_request,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.needs_oauth_server]

CONNECTED_APPS_PATH = "/account/connected-apps"
SCOPE = "profile tickets:read"
# The consent page says what the scopes allow in plain words (oauth/scopes.py).
SCOPE_WORDS = ("See your name, email address and role", "View tickets and their conversations")


def set_up_code_flow_client(page: Page, name: str, description: str, redirect_uri: str) -> str:
    """The administrator's part: the guide's client, then its settings on Action > Edit."""
    create_client(page, name, description)
    open_edit(page, name)
    client_id = page.get_by_label("Client ID", exact=True).input_value()
    page.get_by_role("textbox", name="Redirect URIs").fill(redirect_uri)
    page.get_by_role("checkbox", name="Authorization code").check()
    page.get_by_role("checkbox", name="Refresh token").check()
    page.get_by_role("button", name="Save").click()
    # Save stays on Edit and says so, with the settings saved as entered ...
    expect(page.get_by_role("status")).to_have_text("OAuth client saved.")
    expect(page.get_by_role("heading", level=1, name="Edit OAuth Client")).to_be_visible()
    expect(page.get_by_role("textbox", name="Redirect URIs")).to_have_value(redirect_uri)
    # ... as Action > Edit from the list shows them too.
    go_to_oauth_client_page(page)
    expect(client_row(page, name)).to_have_count(1)
    open_edit(page, name)
    expect(page.get_by_role("textbox", name="Redirect URIs")).to_have_value(redirect_uri)
    expect(page.get_by_role("checkbox", name="Authorization code")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Refresh token")).to_be_checked()
    return client_id


def connected_app(page: Page, name: str) -> Locator:
    """The innermost element holding the app's name and its Revoke access button."""
    return (
        page.locator("main *")
        .filter(has_text=name)
        .filter(has=page.get_by_role("button", name="Revoke access"))
        .last
    )


def app_receives(page: Page, app: CallbackApp, problems: PageProblems) -> dict[str, str]:
    """What the app's redirect URI got; if nothing, what the browser reported instead.

    The wait goes through Playwright so that the browser's events (a console
    error saying why the redirect never happened) are heard meanwhile.
    """
    deadline = time.monotonic() + CALLBACK_TIMEOUT
    while time.monotonic() < deadline and not problems:
        received = app.poll()
        if received is not None:
            return received
        page.wait_for_timeout(100)
    raise AssertionError(f"the app's redirect URI was not called; the browser: {problems.seen}")


def exchange(
    server: LiveServer, metadata: dict[str, Any], app: CallbackApp, client_id: str,
    code: str, verifier: str,
) -> dict[str, Any]:  # fmt: skip
    """RFC 6749 §4.1.3 with the RFC 7636 code_verifier, as the app's back end sends it."""
    response = token_request(
        server,
        metadata["token_endpoint"],
        grant_type="authorization_code",
        code=code,
        redirect_uri=app.redirect_uri,
        client_id=client_id,
        code_verifier=verifier,
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def test_allow_deny_connected_apps_and_revoke_access(
    page: Page,
    live_server: LiveServer,
    oauth_metadata: dict[str, Any],
    callback_app: CallbackApp,
    problems: PageProblems,
) -> None:
    name, description = unique("Calendar Sync"), "Puts ticket due dates in your calendar."
    sign_in(page, live_server.admin_email, live_server.admin_password)
    client_id = set_up_code_flow_client(page, name, description, callback_app.redirect_uri)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    # The app sends the signed-out browser to the authorization endpoint ...
    url, state, verifier = authorization_request(
        oauth_metadata["authorization_endpoint"], client_id, callback_app.redirect_uri, SCOPE
    )
    page.goto(url)
    # ... which asks the person to sign in first, then comes back to the request.
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Email").fill(live_server.admin_email)
    page.get_by_label("Password").fill(live_server.admin_password)
    page.get_by_role("button", name="Sign in").click()

    # The consent page: who asks, why, for what, and for which account.
    expect(page.get_by_text(name).first).to_be_visible()
    expect(page.get_by_text(description).first).to_be_visible()
    for words in SCOPE_WORDS:
        expect(page.get_by_text(words).first).to_be_visible()
    expect(page.get_by_text(live_server.admin_email).first).to_be_visible()
    expect(page.get_by_role("button", name="Deny")).to_be_visible()
    page.get_by_role("button", name="Allow").click()

    # Allow: the app receives a code with its state, and exchanges it.
    callback = app_receives(page, callback_app, problems)
    assert callback.get("state") == state, callback
    assert "code" in callback, callback
    expect(page.get_by_role("heading", name="Test App")).to_be_visible()
    tokens = exchange(
        live_server, oauth_metadata, callback_app, client_id, callback["code"], verifier
    )
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == set(SCOPE.split())
    assert tokens.get("refresh_token"), "a client allowed Refresh token gets one"
    with live_server.http() as http:
        me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == live_server.admin_email
    assert me.json()["client"]["client_name"] == name

    # Deny: the app receives access_denied and its state, and no code.
    url, state, _ = authorization_request(
        oauth_metadata["authorization_endpoint"], client_id, callback_app.redirect_uri, SCOPE
    )
    page.goto(url)
    expect(page.get_by_text(description).first).to_be_visible()
    page.get_by_role("button", name="Deny").click()
    denied = app_receives(page, callback_app, problems)
    assert denied.get("error") == "access_denied", denied
    assert denied.get("state") == state
    assert "code" not in denied

    # Connected apps lists the app; Revoke access ends its tokens at once.
    page.goto("/")
    main_menu(page).get_by_role("link", name="Connected apps").click()
    expect(page).to_have_url(re.compile(re.escape(CONNECTED_APPS_PATH)))
    entry = connected_app(page, name)
    expect(entry).to_be_visible()
    expect(entry.get_by_text(description)).to_be_visible()
    assert api_status(live_server, tokens["access_token"]) == 200
    page.once("dialog", lambda dialog: dialog.accept())
    entry.get_by_role("button", name="Revoke access").click()
    page.wait_for_load_state()
    if not page.url.split("?")[0].endswith(CONNECTED_APPS_PATH):
        # A confirmation page: confirm with the button of the same name.
        page.get_by_role("button", name="Revoke access").click()
    expect(page).to_have_url(re.compile(re.escape(CONNECTED_APPS_PATH)))
    expect(connected_app(page, name)).to_have_count(0)

    assert_refused_soon(live_server, tokens["access_token"])
    refreshed = token_request(
        live_server,
        oauth_metadata["token_endpoint"],
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id=client_id,
    )
    assert refreshed.status_code == 400, refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"
