"""Cursors are opaque but not secret: a hand-made cursor gets a 422, never a 500."""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest

from tests.cxapi import Headers, admin_headers, assert_problem

__all__ = ["admin_headers"]


def craft(payload: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("!!!", id="not-base64"),
        pytest.param(craft([1, 2]), id="json-array"),
        pytest.param(craft({"s": "-created_at"}), id="missing-keys"),
        pytest.param(craft({"s": "-created_at", "v": 5, "i": "x"}), id="number-value"),
        pytest.param(craft({"s": "-created_at", "v": True, "i": "x"}), id="boolean-value"),
        pytest.param(
            craft({"s": "-created_at", "v": "2026-01-01T00:00:00", "i": str(0)}), id="naive-time"
        ),
        pytest.param(
            craft({"s": "-created_at", "v": "2026-01-01T00:00:00+00:00", "i": "nope"}),
            id="bad-id",
        ),
        pytest.param(
            craft(
                {
                    "s": "updated_at",
                    "v": "2026-01-01T00:00:00+00:00",
                    "i": "00000000-0000-0000-0000-000000000000",
                }
            ),
            id="other-sort",
        ),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
    ],
)
@pytest.mark.parametrize("resource", ["tickets", "contacts", "users"])
async def test_crafted_cursors_are_refused(
    http: httpx.AsyncClient, admin_headers: Headers, resource: str, cursor: str
) -> None:
    response = await http.get(
        f"/api/v1/{resource}", params={"cursor": cursor}, headers=admin_headers
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "cursor"


async def test_a_well_formed_cursor_from_the_past_works(
    http: httpx.AsyncClient, admin_headers: Headers
) -> None:
    cursor = craft(
        {
            "s": "-created_at",
            "v": "2000-01-01T00:00:00+00:00",
            "i": "00000000-0000-0000-0000-000000000000",
        }
    )
    response = await http.get("/api/v1/tickets", params={"cursor": cursor}, headers=admin_headers)
    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None, "links": {"next": None}}
