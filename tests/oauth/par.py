"""Driving pushed authorization requests (RFC 9126) like a client and a browser would."""

from __future__ import annotations

import base64
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.oauth import clients
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests.oauth.flows import REDIRECT_URI, SECRET, VERIFIER, authorize_params, configure

URN = "urn:ietf:params:oauth:request_uri:"
_HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


async def public_client(db: AsyncSession, tenant: TenantInfo) -> OAuthClient:
    """A second client of the tenant: public, allowed the code flow."""
    created = await clients.create_client(db, tenant_id=tenant.id, client_name="Mobile App")
    await db.commit()
    return await configure(db, created)


def basic(client_id: str, secret: str = SECRET) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def push(
    http: httpx.AsyncClient,
    client: OAuthClient,
    headers: dict[str, str] | None = None,
    **overrides: str | None,
) -> httpx.Response:
    """POST the usual authorization request to /oauth/par, authenticated with Basic."""
    data = authorize_params(client, **{"scope": "tickets:read profile", **overrides})
    if headers is None:
        headers = basic(client.client_id) if client.secret_digest else {}
    return await http.post("/oauth/par", data=data, headers=headers)


async def pushed_uri(http: httpx.AsyncClient, client: OAuthClient, **overrides: str | None) -> str:
    response = await push(http, client, **overrides)
    assert response.status_code == 201, response.text
    request_uri: str = response.json()["request_uri"]
    return request_uri


async def exchange_confidential(
    http: httpx.AsyncClient, client: OAuthClient, code: str
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
    }
    return await http.post("/oauth/token", data=data, headers=basic(client.client_id))


def hidden_fields(html: str) -> dict[str, str]:
    return dict(_HIDDEN_RE.findall(html))


async def consent_page(
    http: httpx.AsyncClient, client: OAuthClient, request_uri: str, **extra: str
) -> httpx.Response:
    params = {"client_id": client.client_id, "request_uri": request_uri, **extra}
    return await http.get("/oauth/authorize", params=params)


async def answer(
    http: httpx.AsyncClient, page: httpx.Response, decision: str = "allow"
) -> httpx.Response:
    """Press Allow or Deny on a consent page: post back exactly its hidden fields."""
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text), "decision": decision}
    return await http.post("/oauth/authorize", data=form)


def assert_unusable(response: httpx.Response) -> None:
    """§4: no redirect (no redirect URI can be trusted), an error page instead."""
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert "This sign-in request has expired" in response.text
    assert response.headers["cache-control"] == "no-store"
