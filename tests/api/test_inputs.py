"""Text that PostgreSQL cannot store (U+0000) is refused with a 422 naming the field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.cxapi import Headers, admin_headers, assert_problem

__all__ = ["admin_headers"]


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        pytest.param("/api/v1/tickets", {"subject": "a\x00b"}, "subject", id="ticket-subject"),
        pytest.param(
            "/api/v1/tickets",
            {"subject": "a", "description": "\x00"},
            "description",
            id="ticket-description",
        ),
        pytest.param("/api/v1/contacts", {"first_name": "A\x00"}, "first_name", id="contact-name"),
        pytest.param(
            "/api/v1/contacts", {"first_name": "A", "notes": "x\x00"}, "notes", id="contact-notes"
        ),
        pytest.param(
            "/api/v1/users",
            {"email": "n@acme.example", "name": "N\x00", "password": "a-long-and-Good-passw0rd"},
            "name",
            id="user-name",
        ),
    ],
)
async def test_nul_in_bodies(
    http: httpx.AsyncClient, admin_headers: Headers, path: str, payload: dict[str, Any], field: str
) -> None:
    response = await http.post(path, headers=admin_headers, json=payload)
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == [field]


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/tickets", "q"),
        ("/api/v1/tickets", "tag"),
        ("/api/v1/contacts", "q"),
        ("/api/v1/contacts", "email"),
        ("/api/v1/contacts", "phone"),
    ],
)
async def test_nul_in_query(
    http: httpx.AsyncClient, admin_headers: Headers, path: str, param: str
) -> None:
    response = await http.get(path, params={param: "a\x00"}, headers=admin_headers)
    assert_problem(response, 422)


@pytest.mark.parametrize(
    "key", [pytest.param("", id="empty"), pytest.param("k" * 256, id="too-long")]
)
async def test_bad_idempotency_keys(
    http: httpx.AsyncClient, admin_headers: Headers, key: str
) -> None:
    response = await http.post(
        "/api/v1/tickets", headers={**admin_headers, "Idempotency-Key": key}, json={"subject": "a"}
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "header.Idempotency-Key"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{", id="broken-json"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'"text"', id="string"),
    ],
)
async def test_malformed_bodies(
    http: httpx.AsyncClient, admin_headers: Headers, body: bytes
) -> None:
    response = await http.post(
        "/api/v1/tickets",
        headers={**admin_headers, "Content-Type": "application/json"},
        content=body,
    )
    assert_problem(response, 422)
