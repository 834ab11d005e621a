"""Setting up two-factor sign-in the way a person does, for the tests that need it."""

from __future__ import annotations

import re
import time

import httpx
import pyotp

from tests import helpers

_SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
_CODE_RE = re.compile(r"<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>")


def secret_on(html: str) -> str:
    match = _SECRET_RE.search(html)
    assert match, "page shows no two-factor secret"
    return match.group(1).replace(" ", "")


def recovery_codes_on(html: str) -> list[str]:
    return _CODE_RE.findall(html)


def code(secret: str, steps_ahead: int = 0) -> str:
    """The code of the current time step, or of the next one (each is accepted once)."""
    return pyotp.TOTP(secret).at(time.time(), counter_offset=steps_ahead)


async def enrol(http: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Set up two-factor for the signed-in user; their secret and recovery codes."""
    start = await helpers.form_post(http, "/account/two-factor", {}, "/account/two-factor/setup")
    assert start.status_code == 303, start.text
    page = await http.get("/account/two-factor/setup")
    secret = secret_on(page.text)
    done = await http.post(
        "/account/two-factor/confirm",
        data={"csrf_token": helpers.csrf_from(page.text), "code": code(secret)},
    )
    assert done.status_code == 200, done.text
    return secret, recovery_codes_on(done.text)


async def sign_in_with_code(
    http: httpx.AsyncClient, email: str, one_time_code: str
) -> httpx.Response:
    first = await helpers.login(http, email)
    assert first.status_code == 303
    assert first.headers["location"].startswith("/login/two-factor"), first.headers["location"]
    page = await http.get(first.headers["location"])
    assert page.status_code == 200, page.text
    return await http.post(
        "/login/two-factor",
        data={"csrf_token": helpers.csrf_from(page.text), "code": one_time_code},
    )


async def sign_out(http: httpx.AsyncClient) -> None:
    home = await http.get("/")
    await http.post("/logout", data={"csrf_token": helpers.csrf_from(home.text)})
