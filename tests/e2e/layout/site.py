"""A server with the demo data and one of each main page, for layout checks and screenshots.

``started`` runs its own ``cloudcx serve`` (the shared ``live_server`` stays
free of demo data), loads ``cloudcx demo``, adds a ticket whose words are long
enough to break a narrow layout, and sets up an OAuth client for the
authorization-code flow so that its consent page can be shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from cloudcx.demo import STORIES
from tests.e2e.conftest import _failed, keep_artifacts, new_context
from tests.e2e.pages import create_client, main_menu, open_edit, unique
from tests.e2e.watch import PageProblems
from tests.live_server import HOST, LiveServer, running
from tests.oauth_app import authorization_request

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
DEMO_PASSWORD = "Demo-agent-passw0rd-for-layout"
REDIRECT_URI = "http://127.0.0.1:9/callback"
CONSENT_SCOPE = "profile tickets:read"
LONG_WORD = "https://shop.example/track/" + "A1B2C3D4E5" * 12


@dataclass
class DemoSite:
    server: LiveServer
    demo_ticket_id: str  # a demo ticket with a reply and an internal note
    long_ticket_id: str  # subject, link and reply long enough to break a narrow layout
    client_edit_path: str
    consent_path: str

    def pages(self) -> list[tuple[str, str]]:
        """The main pages of a signed-in administrator: (name, path)."""
        return [
            ("home", "/"),
            ("tickets", "/tickets"),
            ("ticket", f"/tickets/{self.demo_ticket_id}"),
            ("contacts", "/contacts"),
            ("users", "/users"),
            ("oauth-clients", "/settings/security/oauth-clients"),
            ("oauth-client-edit", self.client_edit_path),
            ("consent", self.consent_path),
        ]


def sign_in(page: Page, server: LiveServer) -> None:
    """Sign in as the administrator at any width: below 800 px "Sign out" is in the menu."""
    page.goto("/login")
    page.get_by_label("Email").fill(server.admin_email)
    page.get_by_label("Password").fill(server.admin_password)
    page.get_by_role("button", name="Sign in").click()
    expect(main_menu(page)).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _api(server: LiveServer, token: str, method: str, path: str, body: dict[str, Any]) -> Any:
    with server.http() as http:
        response = http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _tickets(server: LiveServer, token: str) -> tuple[str, str]:
    """The first demo story's ticket, and a new one written to stress a narrow page."""
    long_ticket = _api(server, token, "POST", "/api/v1/tickets", {
        "subject": "Refund for order 2026-000123 never arrived although the courier "
                   "confirmed the delivery twice and the invoice shows it as settled",
        "description": f"The tracking page {LONG_WORD} says delivered.\nNothing came.",
        "priority": "urgent",
        "requester_email": "pat.customer-with-a-long-name@customer-company-domain.example",
        "tags": ["billing", "courier", "refund-requested"],
    })  # fmt: skip
    _api(server, token, "POST", f"/api/v1/tickets/{long_ticket['id']}/messages", {
        "kind": "reply", "body": f"We asked the courier. Their reference: {LONG_WORD}",
    })  # fmt: skip
    with server.http() as http:
        listed = http.get(
            "/api/v1/tickets", params={"limit": 100}, headers={"Authorization": f"Bearer {token}"}
        )
    assert listed.status_code == 200, listed.text
    by_subject = {t["subject"]: t["id"] for t in listed.json()["data"]}
    return by_subject[STORIES[0][0]], long_ticket["id"]


def _code_flow_client(browser: Browser, server: LiveServer) -> tuple[str, str]:
    """An OAuth client set up in its edit page for the code flow: edit path, Client ID."""
    problems = PageProblems()
    context = new_context(browser, server, problems, viewport=DESKTOP)
    try:
        page = context.new_page()
        sign_in(page, server)
        name = unique("Calendar Sync")
        create_client(page, name, "Puts the due dates of your tickets in your calendar.")
        open_edit(page, name)
        edit_path = page.url.removeprefix(server.base_url)
        client_id = page.get_by_label("Client ID", exact=True).input_value()
        page.get_by_role("textbox", name="Redirect URIs").fill(REDIRECT_URI)
        page.get_by_role("checkbox", name="Authorization code").check()
        with page.expect_navigation():
            page.get_by_role("button", name="Save").click()
    finally:
        context.close()
    problems.assert_none()
    return edit_path, client_id


@contextmanager
def started(browser: Browser, workdir: Path) -> Iterator[DemoSite]:
    with running(workdir) as server:
        server.cli("demo", "--tenant", HOST, "--password", DEMO_PASSWORD)
        token = server.password_token(server.create_client("Layout checks"))["access_token"]
        demo_ticket, long_ticket = _tickets(server, token)
        edit_path, client_id = _code_flow_client(browser, server)
        consent_url, _, _ = authorization_request(
            server.url("/oauth/authorize"), client_id, REDIRECT_URI, CONSENT_SCOPE
        )
        yield DemoSite(
            server, demo_ticket, long_ticket, edit_path, consent_url.removeprefix(server.base_url)
        )


class Contexts:
    """Browser contexts on the demo site; artefacts of each are kept when the test fails."""

    def __init__(self, request: pytest.FixtureRequest, browser: Browser, site: DemoSite) -> None:
        self.request, self.browser, self.site = request, browser, site
        self.problems = PageProblems()
        self.opened: list[BrowserContext] = []

    def new(self, viewport: dict[str, int], javascript: bool = True) -> BrowserContext:
        phone = viewport["width"] < 800
        context = new_context(
            self.browser, self.site.server, self.problems, viewport=viewport,
            java_script_enabled=javascript, is_mobile=phone, has_touch=phone,
        )  # fmt: skip
        self.opened.append(context)
        return context

    def signed_in_page(self, viewport: dict[str, int], javascript: bool = True) -> Page:
        page = self.new(viewport, javascript).new_page()
        sign_in(page, self.site.server)
        return page

    def close(self) -> None:
        try:
            if _failed(self.request.node) or self.problems:
                for context in self.opened:
                    where = keep_artifacts(self.request, context, self.site.server)
                    self.problems.artifacts = str(where)
        finally:
            for context in self.opened:
                context.close()
        self.problems.assert_none()
