"""``DirectRoute``: the request goes to the endpoint as it is, and the operation
stays documented."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response

from cloudcx.core.routing import DirectRoute


def test_refuses_an_endpoint_with_parameters_of_its_own() -> None:
    router = APIRouter(route_class=DirectRoute)

    async def takes_an_id(request: Request, item_id: int) -> Response:
        return Response()

    def not_async(request: Request) -> Response:
        return Response()

    for endpoint in (takes_an_id, not_async):
        with pytest.raises(TypeError, match="async def f\\(request\\)"):
            router.add_api_route("/x", endpoint)


async def test_the_endpoint_answers_what_it_renders() -> None:
    router = APIRouter(route_class=DirectRoute)
    seen: list[str] = []

    @router.get("/echo")
    async def echo(request: Request) -> Response:
        seen.append(request.url.query)
        return Response("as sent", status_code=203, media_type="text/plain")

    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        answer = await http.get("/echo?a=1")
    assert (answer.status_code, answer.text) == (203, "as sent")
    assert seen == ["a=1"]


async def test_direct_operations_keep_their_documented_shape(
    http: httpx.AsyncClient, tenant: object
) -> None:
    spec: dict[str, Any] = (await http.get("/openapi.json")).json()
    me = spec["paths"]["/api/v1/me"]["get"]
    assert me["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Me"
    }
    assert set(spec["components"]["schemas"]["Me"]["properties"]) == {
        "user",
        "tenant",
        "client",
        "scope",
    }
    for path in ("/oauth/token", "/oauth/introspect"):
        assert "post" in spec["paths"][path]
    assert "get" in spec["paths"]["/.well-known/jwks.json"]
