"""``/openapi.json`` and ``/docs``: complete, and usable without Internet access."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from tests.helpers import PASSWORD, bearer, form_post, login


@pytest.fixture
async def spec(http: httpx.AsyncClient, tenant: object) -> dict[str, Any]:
    response = await http.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_docs_page_loads_local_assets(http: httpx.AsyncClient, tenant: object) -> None:
    page = await http.get("/docs")
    assert page.status_code == 200
    assert "/static/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "cdn.jsdelivr.net" not in page.text
    assert "oauth2RedirectUrl" in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        response = await http.get(f"/static/swagger-ui/{asset}")
        assert response.status_code == 200, asset
    redirect = await http.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200


async def test_security_schemes(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    password = schemes["OAuth2PasswordBearer"]["flows"]["password"]
    assert password["tokenUrl"] == "/oauth/token"
    assert "tickets:read" in password["scopes"]
    code = schemes["OAuth2AuthorizationCodeBearer"]["flows"]["authorizationCode"]
    assert code["authorizationUrl"] == "/oauth/authorize"
    assert schemes["APIKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "cxk_… API key or JWT access token",
        "description": schemes["APIKey"]["description"],
    }


async def test_every_api_operation_documents_security_and_errors(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            assert {"OAuth2PasswordBearer": []} in op["security"], where
            assert {"APIKey": []} in op["security"], where
            if path == "/api/v1/me":
                continue
            for code in ("401", "403", "422", "429"):
                assert code in op["responses"], (where, code)
            problem = op["responses"]["429"]["content"]["application/problem+json"]
            assert problem["schema"]["$ref"].endswith("/ProblemDetail"), where
            assert "Retry-After" in op["responses"]["429"]["headers"], where


async def test_schemas_carry_examples(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in (
        "TicketCreate",
        "TicketUpdate",
        "TicketPublic",
        "MessageCreate",
        "MessagePublic",
        "ContactCreate",
        "ContactPublic",
        "UserCreate",
        "UserPublic",
    ):
        assert schemas[name].get("examples"), name
    assert "Page_TicketPublic_" in schemas


async def test_swagger_password_flow_with_basic_and_empty_secret(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
) -> None:
    """What Swagger UI's Authorize dialog sends by default: ``username`` in the body,
    the Client ID in an HTTP Basic header with an empty secret, an empty ``scope``."""
    basic = base64.b64encode(f"{oauth_client.client_id}:".encode()).decode()
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "password", "scope": "", "username": admin.email, "password": PASSWORD},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    tried = await http.get("/api/v1/tickets", headers=bearer(token))
    assert tried.status_code == 200


async def test_swagger_password_flow_with_client_id_in_the_body(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
) -> None:
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "scope": "tickets:read",
            "username": admin.email,
            "password": PASSWORD,
            "client_id": oauth_client.client_id,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "tickets:read"


async def test_authorize_with_a_client_created_in_the_control_panel(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    """The /docs Authorize dialog, fed the Client ID copied from the Control Panel."""
    await login(http, admin.email)
    created = await form_post(
        http, "/settings/security/oauth-clients/new", {"client_name": "Docs", "description": ""}
    )
    assert created.status_code == 303
    client = await db.scalar(select(OAuthClient))
    assert client is not None
    http.cookies.clear()
    basic = base64.b64encode(f"{client.client_id}:".encode()).decode()
    token = await http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": admin.email, "password": PASSWORD},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert token.status_code == 200, token.text
    me = await http.get("/api/v1/me", headers=bearer(token.json()["access_token"]))
    assert me.json()["client"]["client_name"] == "Docs"
