"""The people in a third-party app's story, without a browser.

``Person`` is a user's browser reduced to cookies, redirects and forms: it
signs in when asked and presses Allow or Deny on the consent page.
``Administrator`` fills in a client's settings on its Action > Edit page.
Both find everything by the words on the page (see ``tests.html_forms``).
"""

from __future__ import annotations

import re
from typing import Self
from urllib.parse import urljoin

import httpx

from tests.html_forms import Form, controls, find_form
from tests.live_server import LiveServer

MAX_STEPS = 10
OAUTH_CLIENTS_PATH = "/settings/security/oauth-clients"


class Person:
    def __init__(self, server: LiveServer, email: str, password: str) -> None:
        self.server = server
        self.email = email
        self.password = password
        self.http = server.http(follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, form: Form, button: str, page: httpx.Response) -> httpx.Response:
        url = form.url(str(page.url))
        data: dict[str, list[str]] = {}
        for name, value in form.submission(button):
            data.setdefault(name, []).append(value)
        if form.method == "post":
            return self.http.post(url, data=data)
        return self.http.get(url, params=data)

    def sign_in_if_asked(self, page: httpx.Response) -> httpx.Response | None:
        form = find_form(page.text, button="Sign in")
        if form is None:
            return None
        form.fill("Email", self.email)
        form.fill("Password", self.password)
        return self.submit(form, "Sign in", page)

    def visit(self, url: str, decision: str = "Allow") -> str:
        """Follow ``url`` through sign-in and consent to the app; the app's URL reached."""
        response = self.http.get(url)
        for _ in range(MAX_STEPS):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if not location.startswith(self.server.base_url + "/"):
                    return location  # the browser leaves the server for the app
                response = self.http.get(location)
                continue
            assert response.status_code == 200, f"{response.url}: {response.text[:500]}"
            signed_in = self.sign_in_if_asked(response)
            if signed_in is not None:
                response = signed_in
                continue
            form = find_form(response.text, button=decision)
            assert form is not None, f"no {decision!r} button at {response.url}"
            response = self.submit(form, decision, response)
        raise AssertionError(f"{url} did not lead back to the app in {MAX_STEPS} steps")


class Administrator(Person):
    def edit_page(self, client_id: str) -> httpx.Response:
        """The client's Action > Edit page, found by its Client ID on the list."""
        listing = self.http.get(OAUTH_CLIENTS_PATH)
        if listing.is_redirect:
            signed_in = self.sign_in_if_asked(self.http.get(listing.headers["location"]))
            assert signed_in is not None and signed_in.is_redirect, "could not sign in"
            listing = self.http.get(OAUTH_CLIENTS_PATH)
        assert listing.status_code == 200, listing.text[:500]
        rows = [row for row in listing.text.split("<tr") if client_id in row]
        assert len(rows) == 1, f"Client ID {client_id} is not listed once"
        edit = re.search(r'href="([^"]+/edit)"', rows[0])
        assert edit, "the row has no Edit link"
        page = self.http.get(edit.group(1))
        assert page.status_code == 200, page.text[:500]
        return page

    def settings_form(self, page: httpx.Response) -> Form:
        form = find_form(page.text, button="Save", containing="Redirect URIs")
        assert form is not None, "the Edit page has no Redirect URIs setting"
        return form

    def allow_code_flow(self, client_id: str, redirect_uri: str) -> None:
        """Redirect URIs, Authorization code and Refresh token, then Save."""
        page = self.edit_page(client_id)
        form = self.settings_form(page)
        form.fill("Redirect URIs", redirect_uri)
        form.check("Authorization code")
        form.check("Refresh token")
        saved = self.submit(form, "Save", page)
        assert saved.is_redirect, f"Save was refused: {saved.text[:1000]}"
        # Saved as entered:
        again = self.settings_form(self.edit_page(client_id))
        assert again.value_of("Redirect URIs").split() == [redirect_uri]
        assert again.is_checked("Authorization code")
        assert again.is_checked("Refresh token")

    def generate_client_secret(self, client_id: str) -> str:
        """Generate client secret: the secret is shown once, read from the page."""
        page = self.edit_page(client_id)
        form = find_form(page.text, button="Generate client secret")
        assert form is not None, "the Edit page has no Generate client secret button"
        shown = self.submit(form, "Generate client secret", page)
        if shown.is_redirect:
            shown = self.http.get(urljoin(str(shown.url), shown.headers["location"]))
        for control in controls(shown.text):
            if "secret" in control.label.casefold() and len(control.value) >= 32:
                return control.value
        raise AssertionError("the generated client secret is not shown in a labelled field")
