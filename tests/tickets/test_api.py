"""``/api/v1/tickets``: success, validation, scopes, tenancy, paging and conditional requests."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.app import create_app
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets.models import Ticket
from tests.cxapi import (
    Headers,
    assert_insufficient_scope,
    assert_problem,
    collect_pages,
    headers_for,
    make_contact,
    make_ticket,
)

URL = "/api/v1/tickets"


async def test_create_read_update_delete(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin_headers: Headers,
    agent: User,
) -> None:
    contact = await make_contact(db, tenant, email="ada@example.com")
    created = await http.post(
        URL,
        headers=admin_headers,
        json={
            "subject": " Cannot sign in ",
            "description": "Since this morning.",
            "priority": "high",
            "channel": "email",
            "requester_id": str(contact.id),
            "assignee_id": str(agent.id),
            "tags": ["Login", "mobile", "login"],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["subject"] == "Cannot sign in"
    assert body["number"] == 1
    assert body["status"] == "new"
    assert body["tags"] == ["login", "mobile"]
    assert body["requester_id"] == str(contact.id)
    assert created.headers["location"] == f"{URL}/{body['id']}"
    assert created.headers["etag"]

    read = await http.get(f"{URL}/{body['id']}", headers=admin_headers)
    assert read.status_code == 200
    assert read.json() == body
    assert read.headers["etag"] == created.headers["etag"]

    patched = await http.patch(
        f"{URL}/{body['id']}",
        headers={**admin_headers, "If-Match": read.headers["etag"]},
        json={"status": "solved", "assignee_id": None, "tags": ["mobile"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == "solved"
    assert patched.json()["solved_at"] is not None
    assert patched.json()["assignee_id"] is None
    assert patched.json()["tags"] == ["mobile"]
    assert patched.headers["etag"] != read.headers["etag"]

    deleted = await http.delete(f"{URL}/{body['id']}", headers=admin_headers)
    assert deleted.status_code == 204
    gone = await http.get(f"{URL}/{body['id']}", headers=admin_headers)
    assert_problem(gone, 404)


async def test_numbers_are_sequential_per_tenant(
    http: httpx.AsyncClient, db: AsyncSession, other_tenant: TenantInfo, admin_headers: Headers
) -> None:
    await make_ticket(db, other_tenant)
    numbers = []
    for i in range(3):
        response = await http.post(URL, headers=admin_headers, json={"subject": f"T{i}"})
        numbers.append(response.json()["number"])
    assert numbers == [1, 2, 3]


@pytest.mark.parametrize(
    ("payload", "field", "type_"),
    [
        pytest.param({}, "subject", "missing", id="subject-missing"),
        pytest.param({"subject": "   "}, "subject", "string_too_short", id="subject-blank"),
        pytest.param({"subject": "x" * 251}, "subject", "string_too_long", id="subject-too-long"),
        pytest.param({"subject": "a", "status": "lost"}, "status", "enum", id="unknown-status"),
        pytest.param({"subject": "a", "priority": "p1"}, "priority", "enum", id="unknown-priority"),
        pytest.param({"subject": "a", "channel": "fax"}, "channel", "enum", id="unknown-channel"),
        pytest.param(
            {"subject": "a", "requester_id": "nope"}, "requester_id", "uuid_parsing", id="bad-uuid"
        ),
        pytest.param(
            {"subject": "a", "tags": ["has space"]},
            "tags.0",
            "string_pattern_mismatch",
            id="tag-with-space",
        ),
        pytest.param(
            {"subject": "a", "colour": "red"}, "colour", "extra_forbidden", id="unknown-field"
        ),
    ],
)
async def test_create_validation_errors(
    http: httpx.AsyncClient,
    admin_headers: Headers,
    payload: dict[str, Any],
    field: str,
    type_: str,
) -> None:
    response = await http.post(URL, headers=admin_headers, json=payload)
    body = assert_problem(response, 422)
    assert body["title"] == "Unprocessable Entity"
    assert body["detail"] == "The request is not valid."
    assert [(e["field"], e["type"]) for e in body["errors"]] == [(field, type_)]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        pytest.param("requester_id", "No contact with this id exists.", id="unknown-requester"),
        pytest.param("assignee_id", "No active agent with this id exists.", id="unknown-assignee"),
    ],
)
async def test_references_must_exist_in_the_tenant(
    http: httpx.AsyncClient, admin_headers: Headers, field: str, message: str
) -> None:
    response = await http.post(
        URL, headers=admin_headers, json={"subject": "a", field: str(uuid.uuid4())}
    )
    body = assert_problem(response, 422)
    assert body["errors"] == [{"field": field, "message": message, "type": "value_error"}]


async def test_requester_of_another_tenant_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, other_tenant: TenantInfo, admin_headers: Headers
) -> None:
    foreign = await make_contact(db, other_tenant)
    response = await http.post(
        URL, headers=admin_headers, json={"subject": "a", "requester_id": str(foreign.id)}
    )
    assert_problem(response, 422)


@pytest.mark.parametrize(
    ("scope", "method", "path", "needed"),
    [
        pytest.param("contacts:read", "GET", "", "tickets:read", id="list-without-read"),
        pytest.param("tickets:read", "POST", "", "tickets:write", id="create-without-write"),
        pytest.param("tickets:read", "PATCH", "/{id}", "tickets:write", id="patch-without-write"),
        pytest.param("tickets:read", "DELETE", "/{id}", "tickets:write", id="delete-without-write"),
        pytest.param("contacts:read", "GET", "/{id}", "tickets:read", id="read-without-read"),
    ],
)
async def test_scope_refusal(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    oauth_client: OAuthClient,
    admin: User,
    scope: str,
    method: str,
    path: str,
    needed: str,
) -> None:
    ticket = await make_ticket(db, tenant)
    headers = await headers_for(http, oauth_client, admin.email, scope)
    response = await http.request(
        method, URL + path.format(id=ticket.id), headers=headers, json={"subject": "x"}
    )
    assert_insufficient_scope(response, needed)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_ticket_of_another_tenant_is_not_found(
    http: httpx.AsyncClient,
    db: AsyncSession,
    other_tenant: TenantInfo,
    admin_headers: Headers,
    method: str,
) -> None:
    foreign = await make_ticket(db, other_tenant)
    response = await http.request(
        method, f"{URL}/{foreign.id}", headers=admin_headers, json={"subject": "mine now"}
    )
    body = assert_problem(response, 404)
    assert body["detail"] == "The ticket does not exist."
    listed = await http.get(URL, headers=admin_headers)
    assert listed.json()["data"] == []


async def test_pagination_across_pages_is_stable_under_inserts(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin_headers: Headers
) -> None:
    for i in range(5):
        await make_ticket(db, tenant, subject=f"T{i}")
    first = await http.get(URL, params={"limit": 2, "sort": "created_at"}, headers=admin_headers)
    body = first.json()
    assert [t["subject"] for t in body["data"]] == ["T0", "T1"]
    assert body["links"]["next"].startswith("http://localhost/api/v1/tickets?")
    await make_ticket(db, tenant, subject="T5")  # inserted while paging
    rest, pages = await collect_pages(http, body["links"]["next"], admin_headers)
    assert [t["subject"] for t in rest] == ["T2", "T3", "T4", "T5"]
    assert pages == 2


async def test_newest_first_by_default(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin_headers: Headers
) -> None:
    for i in range(3):
        await make_ticket(db, tenant, subject=f"T{i}")
    items, pages = await collect_pages(http, f"{URL}?limit=1", admin_headers)
    assert [t["subject"] for t in items] == ["T2", "T1", "T0"]
    assert pages == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"limit": 0}, "limit", id="limit-zero"),
        pytest.param({"limit": 101}, "limit", id="limit-over-100"),
        pytest.param({"cursor": "garbage"}, "cursor", id="bad-cursor"),
        pytest.param({"sort": "subject"}, "sort", id="unknown-sort"),
        pytest.param({"updated_since": "2026-01-01T00:00:00"}, "updated_since", id="naive-date"),
        pytest.param({"status": "lost"}, "status.0", id="unknown-status"),
    ],
)
async def test_list_parameter_errors(
    http: httpx.AsyncClient, admin_headers: Headers, params: dict[str, Any], field: str
) -> None:
    response = await http.get(URL, params=params, headers=admin_headers)
    body = assert_problem(response, 422)
    assert [e["field"].removeprefix("query.") for e in body["errors"]] == [field]


async def test_cursor_of_another_sort_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin_headers: Headers
) -> None:
    for i in range(2):
        await make_ticket(db, tenant, subject=f"T{i}")
    cursor = (await http.get(URL, params={"limit": 1}, headers=admin_headers)).json()["next_cursor"]
    response = await http.get(
        URL, params={"cursor": cursor, "sort": "updated_at"}, headers=admin_headers
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "cursor"


async def test_filters(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin_headers: Headers,
    agent: User,
) -> None:
    contact = await make_contact(db, tenant)
    await make_ticket(db, tenant, subject="Refund please", priority="high", tags=["billing"])
    await make_ticket(db, tenant, subject="Login broken", requester_id=contact.id)
    await make_ticket(db, tenant, subject="100% CPU", status="pending", assignee_id=agent.id)
    cases = {
        "priority=high": ["Refund please"],
        "tag=BILLING": ["Refund please"],
        f"requester={contact.id}": ["Login broken"],
        f"assignee={agent.id}": ["100% CPU"],
        "status=pending&status=solved": ["100% CPU"],
        "q=refund": ["Refund please"],
        "q=cpu": ["100% CPU"],
        "q=%25": [],  # search is by words: punctuation alone finds nothing
        "updated_since=2000-01-01T00:00:00Z&sort=created_at": [
            "Refund please",
            "Login broken",
            "100% CPU",
        ],
        "updated_since=2999-01-01T00:00:00%2B02:00": [],
    }
    for query, expected in cases.items():
        response = await http.get(f"{URL}?{query}", headers=admin_headers)
        assert response.status_code == 200, (query, response.text)
        assert [t["subject"] for t in response.json()["data"]] == expected, query


async def test_stale_if_match_is_refused_with_412(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin_headers: Headers
) -> None:
    ticket = await make_ticket(db, tenant)
    url = f"{URL}/{ticket.id}"
    etag = (await http.get(url, headers=admin_headers)).headers["etag"]
    first = await http.patch(
        url, headers={**admin_headers, "If-Match": etag}, json={"priority": "urgent"}
    )
    assert first.status_code == 200
    for method in ("PATCH", "DELETE"):
        stale = await http.request(
            method, url, headers={**admin_headers, "If-Match": etag}, json={"priority": "low"}
        )
        body = assert_problem(stale, 412)
        assert "GET it again" in body["detail"]
        assert stale.headers["etag"] == first.headers["etag"]
    assert (await http.get(url, headers=admin_headers)).json()["priority"] == "urgent"
    fresh = await http.delete(url, headers={**admin_headers, "If-Match": first.headers["etag"]})
    assert fresh.status_code == 204


async def test_if_none_match_gives_304(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin_headers: Headers
) -> None:
    ticket = await make_ticket(db, tenant)
    url = f"{URL}/{ticket.id}"
    etag = (await http.get(url, headers=admin_headers)).headers["etag"]
    again = await http.get(url, headers={**admin_headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("subject", None, id="null-subject"),
        pytest.param("status", None, id="null-status"),
        pytest.param("tags", None, id="null-tags"),
    ],
)
async def test_patch_refuses_null_for_required_fields(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin_headers: Headers,
    field: str,
    value: None,
) -> None:
    ticket = await make_ticket(db, tenant)
    response = await http.patch(f"{URL}/{ticket.id}", headers=admin_headers, json={field: value})
    assert assert_problem(response, 422)["errors"][0]["field"] == field


async def test_idempotent_retry_returns_the_first_result(
    http: httpx.AsyncClient, db: AsyncSession, admin_headers: Headers
) -> None:
    headers = {**admin_headers, "Idempotency-Key": "4a7c1e0e-retry"}
    first = await http.post(URL, headers=headers, json={"subject": "Once"})
    retry = await http.post(URL, headers=headers, json={"subject": "Once"})
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"]
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 1

    other = await http.post(URL, headers=headers, json={"subject": "Something else"})
    body = assert_problem(other, 422)
    assert body["title"] == "Idempotency-Key reused"
    new_key = await http.post(
        URL, headers={**admin_headers, "Idempotency-Key": "another"}, json={"subject": "Once"}
    )
    assert new_key.json()["number"] == 2


async def test_idempotency_keys_belong_to_their_caller(
    http: httpx.AsyncClient, admin_headers: Headers, agent_headers: Headers
) -> None:
    first = await http.post(
        URL, headers={**admin_headers, "Idempotency-Key": "k"}, json={"subject": "A"}
    )
    second = await http.post(
        URL, headers={**agent_headers, "Idempotency-Key": "k"}, json={"subject": "A"}
    )
    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]


async def test_rate_limit_gives_429_with_retry_after(
    http: httpx.AsyncClient, admin_headers: Headers, tiny_rate_limit: object
) -> None:
    first = await http.get(URL, headers=admin_headers)
    assert first.headers["ratelimit-limit"] == "2"
    assert first.headers["ratelimit-remaining"] == "1"
    assert 0 < int(first.headers["ratelimit-reset"]) <= 60
    await http.get(URL, headers=admin_headers)
    refused = await http.post(URL, headers=admin_headers, json={"subject": "x"})
    body = assert_problem(refused, 429)
    assert "Retry after" in body["detail"]
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"


async def test_concurrent_updates_with_one_etag_let_only_one_win(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin_headers: Headers,
    test_db_url: str,
) -> None:
    if test_db_url.startswith("sqlite"):
        pytest.skip("row locks need PostgreSQL; SQLite serialises writers only")
    ticket = await make_ticket(db, tenant)
    url = f"{URL}/{ticket.id}"
    etag = (await http.get(url, headers=admin_headers)).headers["etag"]
    headers = {**admin_headers, "If-Match": etag}
    responses = await asyncio.gather(
        *(http.patch(url, headers=headers, json={"subject": f"Edit {i}"}) for i in range(4))
    )
    assert sorted(r.status_code for r in responses) == [200, 412, 412, 412]


async def test_requester_by_email_finds_or_creates_the_contact(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin_headers: Headers
) -> None:
    known = await make_contact(db, tenant, email="ada@example.com")
    first = await http.post(
        URL, headers=admin_headers, json={"subject": "a", "requester_email": "ADA@example.com"}
    )
    assert first.json()["requester_id"] == str(known.id)
    new = await http.post(
        URL, headers=admin_headers, json={"subject": "b", "requester_email": "new@example.com"}
    )
    contact = await http.get(
        f"/api/v1/contacts/{new.json()['requester_id']}", headers=admin_headers
    )
    assert contact.json()["email"] == "new@example.com"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param({"requester_email": "nope"}, "requester_email", id="bad-email"),
        pytest.param(
            {"requester_email": "a@example.com", "requester_id": str(uuid.uuid4())},
            "",
            id="both-requester-forms",
        ),
    ],
)
async def test_requester_email_errors(
    http: httpx.AsyncClient, admin_headers: Headers, payload: dict[str, Any], field: str
) -> None:
    response = await http.post(URL, headers=admin_headers, json={"subject": "a", **payload})
    assert [e["field"] for e in assert_problem(response, 422)["errors"]] == [field]


async def test_next_link_uses_the_public_origin(
    platform: Platform,
    db: AsyncSession,
    tenant: TenantInfo,
    admin: User,
    oauth_client: OAuthClient,
) -> None:
    """Behind a trusted proxy the link names the address the client used, not ours."""
    for i in range(2):
        await make_ticket(db, tenant, subject=f"T{i}")
    settings = platform.settings.model_copy(update={"trusted_proxies": "203.0.113.7"})
    proxied = create_app(platform=dataclasses.replace(platform, settings=settings))
    transport = httpx.ASGITransport(app=proxied, client=("203.0.113.7", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        headers = await headers_for(client, oauth_client, admin.email)
        response = await client.get(
            URL,
            params={"limit": 1},
            headers={**headers, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "127.0.0.1"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["links"]["next"].startswith("https://127.0.0.1/api/v1/tickets?")
