"""Sign in with CloudCX: OpenID Connect from a relying party's button, in a browser.

The test starts Example Notes (``tests.oidc_relying_party``), a small web app
using Authlib's OpenID Connect client. An administrator registers it in the
Control Panel (Redirect URIs, Post-logout URIs); a person presses
"Sign in with CloudCX" there, signs in at CloudCX, allows the app, and lands
back in the app, which greets them by the name of the validated ID token's
user (from /userinfo). The app's Sign out ends the CloudCX session too
(RP-initiated logout) and brings the person back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pages import create_client, open_edit, sign_in, unique
from tests.live_server import AGENT_PASSWORD, LiveServer
from tests.oidc_relying_party import RelyingPartyApp

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.needs_oauth_server]

OPENID_WORDS = ("Sign you in with your CloudCX account", "See your email address")


@pytest.fixture
def notes_app(live_server: LiveServer) -> Iterator[RelyingPartyApp]:
    with RelyingPartyApp(live_server.base_url) as app:
        yield app


def register(page: Page, live_server: LiveServer, app: RelyingPartyApp, name: str) -> str:
    """The administrator's part: the client, its redirect and post-logout URIs."""
    sign_in(page, live_server.admin_email, live_server.admin_password)
    create_client(page, name, "Notes that sign you in with CloudCX.")
    open_edit(page, name)
    client_id = page.get_by_label("Client ID", exact=True).input_value()
    page.get_by_role("textbox", name="Redirect URIs").fill(app.redirect_uri)
    page.get_by_role("textbox", name="Post-logout URIs").fill(app.post_logout_redirect_uri)
    page.get_by_role("checkbox", name="Authorization code").check()
    # Signing people in is ticked on purpose: new clients start without it.
    for scope in ("openid", "email"):
        page.locator(f"input[name=scopes][value='{scope}']").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("OAuth client saved.")
    expect(page.get_by_role("textbox", name="Post-logout URIs")).to_have_value(
        app.post_logout_redirect_uri
    )
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    return client_id


def test_sign_in_with_cloudcx_then_sign_out(
    page: Page, live_server: LiveServer, notes_app: RelyingPartyApp
) -> None:
    name = unique("Example Notes")
    notes_app.oidc.client_id = register(page, live_server, notes_app, name)
    email = f"robin-{uuid.uuid4().hex[:8]}@example.com"
    live_server.create_user(email, AGENT_PASSWORD, role="agent", name="Robin Reader")

    page.goto(notes_app.base_url + "/")
    page.get_by_role("button", name="Sign in with CloudCX").click()
    # CloudCX asks the person to sign in, then which app wants what.
    expect(page).to_have_url(re.compile(re.escape(live_server.base_url) + r"/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(name).first).to_be_visible()
    for words in OPENID_WORDS:
        expect(page.get_by_text(words).first).to_be_visible()
    page.get_by_role("button", name="Allow").click()

    # Back in the app, which validated the ID token (nonce, at_hash) and read /userinfo.
    expect(page).to_have_url(re.compile(re.escape(notes_app.redirect_uri)))
    expect(page.locator("#greeting")).to_have_text("Hello, Robin Reader")
    expect(page.locator("#email")).to_have_text(email)
    assert notes_app.errors == []
    claims = notes_app.signed_in["claims"]
    assert claims["iss"] == live_server.base_url
    assert claims["aud"] == notes_app.oidc.client_id
    assert claims["sid"]

    # Sign out in the app: CloudCX ends the session (the hint names it) and sends back.
    page.get_by_role("link", name="Sign out").click()
    expect(page).to_have_url(re.compile(re.escape(notes_app.post_logout_redirect_uri)))
    expect(page.locator("#bye")).to_be_visible()
    page.goto(live_server.base_url + "/account/security")
    expect(page).to_have_url(re.compile(r"/login"))
