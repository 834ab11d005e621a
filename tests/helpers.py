"""Small helpers for driving the app like a browser or an OAuth client would."""

from __future__ import annotations

import re
from typing import Any

import httpx

PASSWORD = "a-long-and-Good-passw0rd"
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await http.get("/login")
    response = await http.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
    )
    return response


async def form_post(
    http: httpx.AsyncClient, page_url: str, data: dict[str, str], post_url: str | None = None
) -> httpx.Response:
    """GET a page, take its CSRF token, POST the form like a browser would."""
    page = await http.get(page_url)
    assert page.status_code == 200, page.text
    return await http.post(post_url or page_url, data={"csrf_token": csrf_from(page.text), **data})


async def password_token(
    http: httpx.AsyncClient, client_id: str, email: str, password: str = PASSWORD, **extra: str
) -> dict[str, Any]:
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "email": email,
            "password": password,
            "client_id": client_id,
            **extra,
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def password_form(**overrides: str | None) -> dict[str, str]:
    """The guide's token request; ``None`` in ``overrides`` drops a parameter."""
    data: dict[str, str | None] = {
        "grant_type": "password",
        "email": "admin@acme.example",
        "password": PASSWORD,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
