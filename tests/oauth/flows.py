"""Driving the authorization-code flow like a third-party application would."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.core import secrets
from cloudcx.oauth.models import OAuthClient
from tests.helpers import csrf_from, login

REDIRECT_URI = "https://app.example/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
SECRET = "client-secret-with-enough-entropy-for-tests-0123456789"
ALL_GRANTS = ["password", "authorization_code", "refresh_token", "client_credentials"]


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def configure(db: AsyncSession, client: OAuthClient, **fields: Any) -> OAuthClient:
    """Give a client the settings a test needs (code flow with refresh by default)."""
    values: dict[str, Any] = {"redirect_uris": [REDIRECT_URI], "grant_types": ALL_GRANTS}
    values.update(fields)
    if values.pop("confidential", False):
        values["secret_digest"] = secrets.digest(SECRET)
    for name, value in values.items():
        setattr(client, name, value)
    merged = await db.merge(client)
    await db.commit()
    return merged


def authorize_params(client: OAuthClient, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "state": "xyz-state",
        "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def query_of(response: httpx.Response) -> dict[str, str]:
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def consent(
    http: httpx.AsyncClient, params: dict[str, str], decision: str = "allow"
) -> httpx.Response:
    """GET the consent page and press Allow or Deny."""
    page = await http.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    return await http.post(
        "/oauth/authorize",
        data={**params, "csrf_token": csrf_from(page.text), "decision": decision},
    )


async def get_code(
    http: httpx.AsyncClient, client: OAuthClient, email: str | None = None, **overrides: str | None
) -> str:
    if email is not None:
        await login(http, email)
    response = await consent(http, authorize_params(client, **overrides))
    assert response.status_code == 303, response.text
    query = query_of(response)
    assert "code" in query, query
    return query["code"]


def code_data(client: OAuthClient, code: str) -> dict[str, str]:
    """The token request that exchanges ``code`` for a public client."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client.client_id,
        "code_verifier": VERIFIER,
    }


async def exchange(
    http: httpx.AsyncClient, client: OAuthClient, code_value: str, /, **overrides: str | None
) -> httpx.Response:
    data: dict[str, str | None] = {**code_data(client, code_value), **overrides}
    return await http.post("/oauth/token", data={k: v for k, v in data.items() if v is not None})


async def tokens_for(
    http: httpx.AsyncClient, client: OAuthClient, email: str | None, **overrides: str | None
) -> dict[str, Any]:
    code = await get_code(http, client, email, **overrides)
    response = await exchange(http, client, code)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(
    http: httpx.AsyncClient, client: OAuthClient, token: str, **extra: str
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client.client_id}
    return await http.post("/oauth/token", data={**data, **extra})


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert response.headers["cache-control"] == "no-store"
