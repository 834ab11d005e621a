"""Pushed authorization requests (RFC 9126) as an administrator and a person meet them.

The administrator ticks "Require pushed authorization requests (PAR)" on the
client's Edit page. The app's plain authorization request is then refused at
its redirect URI; the app pushes the request to ``/oauth/par`` instead and
sends the signed-out browser to ``/oauth/authorize`` with the ``request_uri``
alone: the person signs in, allows, and the app gets its code. The same
``request_uri`` cannot be used again.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pages import create_client, open_edit, sign_in, unique
from tests.e2e.watch import PageProblems
from tests.live_server import LiveServer
from tests.oauth_app import (
    CALLBACK_TIMEOUT,
    CallbackApp,
    authorization_request,
    pkce_pair,
    token_request,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.needs_oauth_server]

SCOPE = "profile tickets:read"
REQUIRE_PAR = "Require pushed authorization requests (PAR)"


def callback_of(page: Page, app: CallbackApp, problems: PageProblems) -> dict[str, str]:
    deadline = time.monotonic() + CALLBACK_TIMEOUT
    while time.monotonic() < deadline and not problems:
        received = app.poll()
        if received is not None:
            return received
        page.wait_for_timeout(100)
    raise AssertionError(f"the app's redirect URI was not called; the browser: {problems.seen}")


def set_up_client_requiring_par(page: Page, name: str, redirect_uri: str) -> str:
    create_client(page, name, "Signs people in with pushed requests.")
    open_edit(page, name)
    client_id = page.get_by_label("Client ID", exact=True).input_value()
    page.get_by_role("textbox", name="Redirect URIs").fill(redirect_uri)
    page.get_by_role("checkbox", name="Authorization code").check()
    switch = page.get_by_role("checkbox", name=REQUIRE_PAR)
    # The explanation is the switch's description.
    expect(switch).to_have_accessible_description(re.compile("/oauth/par"))
    switch.check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("OAuth client saved.")
    expect(page.get_by_role("checkbox", name=REQUIRE_PAR)).to_be_checked()
    return client_id


def push(
    server: LiveServer, metadata: dict[str, Any], client_id: str, redirect_uri: str
) -> tuple[str, str, str]:
    """The app's back end pushes the request: its request_uri, state and verifier."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    response = token_request(
        server,
        metadata["pushed_authorization_request_endpoint"],
        response_type="code",
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=SCOPE,
        state=state,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    assert response.status_code == 201, response.text
    return response.json()["request_uri"], state, verifier


def test_require_par_then_sign_in_through_a_pushed_request(
    page: Page,
    live_server: LiveServer,
    oauth_metadata: dict[str, Any],
    callback_app: CallbackApp,
    problems: PageProblems,
) -> None:
    name = unique("Pushed Sign-in")
    sign_in(page, live_server.admin_email, live_server.admin_password)
    client_id = set_up_client_requiring_par(page, name, callback_app.redirect_uri)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    # A plain request is refused at the app's redirect URI (RFC 9126 §4).
    url, state, _ = authorization_request(
        oauth_metadata["authorization_endpoint"], client_id, callback_app.redirect_uri, SCOPE
    )
    page.goto(url)
    refused = callback_of(page, callback_app, problems)
    assert refused.get("error") == "invalid_request", refused
    assert refused.get("state") == state

    # Pushed first, the request needs only client_id and request_uri in the address.
    request_uri, state, verifier = push(
        live_server, oauth_metadata, client_id, callback_app.redirect_uri
    )
    query = urlencode({"client_id": client_id, "request_uri": request_uri})
    authorize = f"{oauth_metadata['authorization_endpoint']}?{query}"
    page.goto(authorize)
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Email").fill(live_server.admin_email)
    page.get_by_label("Password").fill(live_server.admin_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(name).first).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    allowed = callback_of(page, callback_app, problems)
    assert allowed.get("state") == state, allowed
    tokens = token_request(
        live_server,
        oauth_metadata["token_endpoint"],
        grant_type="authorization_code",
        code=allowed["code"],
        redirect_uri=callback_app.redirect_uri,
        client_id=client_id,
        code_verifier=verifier,
    )
    assert tokens.status_code == 200, tokens.text
    assert set(tokens.json()["scope"].split()) == set(SCOPE.split())

    # Used once: the same request_uri now shows an error page, and nothing reaches the app.
    response = page.goto(authorize)
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name="This sign-in request has expired")).to_be_visible()
    assert callback_app.poll() is None
