"""Oversized and over-nested bodies get a clear 400/413/422, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import Body, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from cloudcx import errors
from cloudcx.config import Settings
from cloudcx.security.limits import BodyLimitMiddleware, json_depth_exceeds
from cloudcx.tenancy.service import TenantInfo
from tests import helpers


def api_app(settings: Settings) -> httpx.AsyncClient:
    """A bare API route behind the middleware and the app's own error handlers."""
    app = FastAPI()
    app.add_exception_handler(HTTPException, errors.http_error)
    app.add_exception_handler(RequestValidationError, errors.validation_error)

    @app.post("/api/v1/echo")
    async def echo(payload: dict[str, Any] = Body(...)) -> dict[str, int]:
        return {"keys": len(payload)}

    app.add_middleware(BodyLimitMiddleware, settings=settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


def nested(depth: int) -> str:
    return '{"a":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b'{"a": [1, {"b": [2]}]}', False),
        (nested(32).encode(), False),
        (nested(33).encode(), True),
        (b'{"s": "' + b"[" * 500 + b'"}', False),
        (b'{"s": "\\"' + b"[" * 500 + b'"}', False),
        (b"[" * 100_000, True),
    ],
    ids=["shallow", "at-limit", "over-limit", "brackets-in-string", "escaped-quote", "flood"],
)
def test_json_depth(body: bytes, deep: bool) -> None:
    assert json_depth_exceeds(body, 32) is deep


async def test_api_body_over_one_mib_is_413(settings: Settings) -> None:
    async with api_app(settings) as client:
        big = '{"x": "' + "a" * (settings.max_body_bytes + 1) + '"}'
        response = await client.post(
            "/api/v1/echo", content=big, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        ok = await client.post("/api/v1/echo", json={"x": "a" * 1000})
        assert ok.status_code == 200


async def test_streamed_body_without_length_is_cut_at_the_limit(settings: Settings) -> None:
    async def chunks() -> Any:
        for _ in range(40):
            yield b"a" * 65536

    async with api_app(settings) as client:
        response = await client.post(
            "/api/v1/echo", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413


async def test_lying_content_length_is_413(settings: Settings) -> None:
    async with api_app(settings) as client:
        response = await client.post(
            "/api/v1/echo",
            content=b"{}",
            headers={"content-type": "application/json", "content-length": "99999999999"},
        )
    assert response.status_code in (400, 413)


async def test_deep_json_is_422(settings: Settings) -> None:
    async with api_app(settings) as client:
        response = await client.post(
            "/api/v1/echo", content=nested(5000), headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert response.json()["status"] == 422
        fine = await client.post(
            "/api/v1/echo", content=nested(20), headers={"content-type": "application/json"}
        )
        assert fine.status_code == 200


async def test_oversized_console_form_is_413_page(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    page = await http.get("/login")
    response = await http.post(
        "/login",
        data={"csrf_token": helpers.csrf_from(page.text), "email": "a" * 70_000},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")


async def test_oversized_token_request_is_rfc6749_error(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    response = await http.post("/oauth/token", data={"grant_type": "password", "x": "a" * 70_000})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
