"""No open redirect: sign-in's ``next`` only ever leads to a path on this site."""

from __future__ import annotations

import httpx
import pytest

from cloudcx.accounts.models import User
from cloudcx.console.web import safe_next
from tests import helpers

EVIL = [
    "https://evil.example/",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "evil.example",
    "/" + "a" * 3000,
]
EVIL_IDS = [
    "absolute",
    "protocol-relative",
    "triple-slash",
    "backslash",
    "double-backslash",
    "tab",
    "newline",
    "scheme-no-slashes",
    "javascript",
    "leading-space",
    "bare-host",
    "huge",
]


@pytest.mark.parametrize("target", EVIL, ids=EVIL_IDS)
def test_safe_next_refuses(target: str) -> None:
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/settings/security/audit-log?action=signout", "/a/b#c"])
def test_safe_next_keeps_local_paths(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", EVIL[:-1], ids=EVIL_IDS[:-1])
async def test_sign_in_never_redirects_off_site(
    http: httpx.AsyncClient, admin: User, target: str
) -> None:
    page = await http.get("/login", params={"next": target})
    response = await http.post(
        "/login",
        data={
            "email": admin.email,
            "password": helpers.PASSWORD,
            "csrf_token": helpers.csrf_from(page.text),
            "next": target,
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    again = await http.get("/login", params={"next": target})  # already signed in
    assert again.headers["location"] == "/"


async def test_login_required_round_trip_keeps_a_local_next(
    http: httpx.AsyncClient, admin: User
) -> None:
    bounce = await http.get("/settings/security/audit-log", params={"action": "signout"})
    assert bounce.headers["location"].startswith("/login?next=%2Fsettings")
    page = await http.get(bounce.headers["location"])
    response = await http.post(
        "/login",
        data={
            "email": admin.email,
            "password": helpers.PASSWORD,
            "csrf_token": helpers.csrf_from(page.text),
            "next": "/settings/security/audit-log?action=signout",
        },
    )
    assert response.headers["location"] == "/settings/security/audit-log?action=signout"
