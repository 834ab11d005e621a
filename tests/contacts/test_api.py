"""``/api/v1/contacts``: CRUD, unique email, search, a contact's tickets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.contacts.models import Contact
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests.cxapi import (
    Headers,
    assert_insufficient_scope,
    assert_problem,
    collect_pages,
    headers_for,
    make_contact,
    make_ticket,
)

URL = "/api/v1/contacts"
ADA = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "Ada@Example.com",
    "phone": "+44 20 7946 0000",
    "company": "Engines",
    "job_title": "CTO",
    "tags": ["VIP"],
    "notes": "Prefers email.",
}


async def test_create_read_update_delete(http: httpx.AsyncClient, agent_headers: Headers) -> None:
    created = await http.post(URL, headers=agent_headers, json=ADA)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == "Ada@example.com"
    assert body["name"] == "Ada Lovelace"
    assert body["tags"] == ["vip"]
    assert created.headers["location"] == f"{URL}/{body['id']}"

    read = await http.get(f"{URL}/{body['id']}", headers=agent_headers)
    assert read.json() == body
    patched = await http.patch(
        f"{URL}/{body['id']}",
        headers={**agent_headers, "If-Match": read.headers["etag"]},
        json={"job_title": "CEO", "phone": None},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["job_title"] == "CEO"
    assert patched.json()["phone"] is None

    deleted = await http.delete(f"{URL}/{body['id']}", headers=agent_headers)
    assert deleted.status_code == 204
    assert_problem(await http.get(f"{URL}/{body['id']}", headers=agent_headers), 404)


async def test_duplicate_email_is_a_conflict(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    agent_headers: Headers,
) -> None:
    await make_contact(db, other_tenant, email="ada@example.com")  # other tenants do not count
    first = await http.post(URL, headers=agent_headers, json=ADA)
    assert first.status_code == 201
    again = await http.post(URL, headers=agent_headers, json={**ADA, "email": "ADA@example.com"})
    body = assert_problem(again, 409)
    assert body["detail"] == "A contact with this email already exists."
    other = await make_contact(db, tenant, email="grace@example.com")
    clash = await http.patch(
        f"{URL}/{other.id}", headers=agent_headers, json={"email": "ada@example.com"}
    )
    assert_problem(clash, 409)


async def test_contacts_without_email_do_not_collide(
    http: httpx.AsyncClient, agent_headers: Headers
) -> None:
    for name in ("A", "B"):
        response = await http.post(URL, headers=agent_headers, json={"first_name": name})
        assert response.status_code == 201


@pytest.mark.parametrize(
    ("payload", "field", "type_"),
    [
        pytest.param({}, "", "value_error", id="nothing-to-identify"),
        pytest.param({"email": "not-an-email"}, "email", "value_error", id="bad-email"),
        pytest.param({"phone": "call me"}, "phone", "string_pattern_mismatch", id="bad-phone"),
        pytest.param(
            {"first_name": "x" * 101}, "first_name", "string_too_long", id="name-too-long"
        ),
        pytest.param({"first_name": "A", "age": 3}, "age", "extra_forbidden", id="unknown-field"),
        pytest.param({"first_name": "A", "tags": "vip"}, "tags", "list_type", id="tags-not-list"),
    ],
)
async def test_validation_errors(
    http: httpx.AsyncClient,
    agent_headers: Headers,
    payload: dict[str, Any],
    field: str,
    type_: str,
) -> None:
    response = await http.post(URL, headers=agent_headers, json=payload)
    body = assert_problem(response, 422)
    assert [(e["field"], e["type"]) for e in body["errors"]] == [(field, type_)]


async def test_search_by_name_email_or_phone(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent_headers: Headers
) -> None:
    await make_contact(db, tenant, email="ada@example.com", phone="+1 555 0100")
    await make_contact(db, tenant, first_name="Grace", last_name="Hopper", email="g@navy.example")
    cases = {
        "q=lovelace": ["Ada Lovelace"],
        "q=ada lov": ["Ada Lovelace"],
        "q=navy": ["Grace Hopper"],
        "q=555": ["Ada Lovelace"],
        "email=ADA@example.com": ["Ada Lovelace"],
        "phone=%2B1 555 0100": ["Ada Lovelace"],
        "q=nobody": [],
    }
    for query, expected in cases.items():
        response = await http.get(f"{URL}?{query}", headers=agent_headers)
        assert [c["name"] for c in response.json()["data"]] == expected, query


async def test_pagination(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent_headers: Headers
) -> None:
    for i in range(5):
        await make_contact(db, tenant, first_name=f"C{i}")
    items, pages = await collect_pages(http, f"{URL}?limit=2", agent_headers)
    assert [c["first_name"] for c in items] == ["C4", "C3", "C2", "C1", "C0"]
    assert pages == 3


async def test_a_contacts_tickets(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent_headers: Headers
) -> None:
    ada = await make_contact(db, tenant)
    await make_ticket(db, tenant, subject="Mine", requester_id=ada.id)
    await make_ticket(db, tenant, subject="Not mine")
    response = await http.get(f"{URL}/{ada.id}/tickets", headers=agent_headers)
    assert [t["subject"] for t in response.json()["data"]] == ["Mine"]


async def test_deleting_a_contact_keeps_their_tickets(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent_headers: Headers
) -> None:
    ada = await make_contact(db, tenant)
    ticket = await make_ticket(db, tenant, requester_id=ada.id)
    assert (await http.delete(f"{URL}/{ada.id}", headers=agent_headers)).status_code == 204
    kept = await http.get(f"/api/v1/tickets/{ticket.id}", headers=agent_headers)
    assert kept.json()["requester_id"] is None


@pytest.mark.parametrize(
    ("scope", "method", "path", "needed"),
    [
        pytest.param("tickets:read", "GET", "", "contacts:read", id="list-without-read"),
        pytest.param("contacts:read", "POST", "", "contacts:write", id="create-without-write"),
        pytest.param("contacts:read", "PATCH", "/{id}", "contacts:write", id="patch-without-write"),
        pytest.param("contacts:read", "DELETE", "/{id}", "contacts:write", id="delete-no-write"),
        pytest.param("contacts:read", "GET", "/{id}/tickets", "tickets:read", id="tickets-no-read"),
    ],
)
async def test_scope_refusal(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    oauth_client: OAuthClient,
    agent: User,
    scope: str,
    method: str,
    path: str,
    needed: str,
) -> None:
    contact = await make_contact(db, tenant)
    headers = await headers_for(http, oauth_client, agent.email, scope)
    response = await http.request(
        method, URL + path.format(id=contact.id), headers=headers, json={"first_name": "X"}
    )
    assert_insufficient_scope(response, needed)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "/tickets")],
)
async def test_contact_of_another_tenant_is_not_found(
    http: httpx.AsyncClient,
    db: AsyncSession,
    other_tenant: TenantInfo,
    agent_headers: Headers,
    method: str,
    path: str,
) -> None:
    foreign = await make_contact(db, other_tenant, email="x@globex.example")
    response = await http.request(
        method, f"{URL}/{foreign.id}{path}", headers=agent_headers, json={"first_name": "X"}
    )
    assert assert_problem(response, 404)["detail"] == "The contact does not exist."
    listed = await http.get(URL, params={"email": "x@globex.example"}, headers=agent_headers)
    assert listed.json()["data"] == []


async def test_stale_if_match_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent_headers: Headers
) -> None:
    ada = await make_contact(db, tenant)
    url = f"{URL}/{ada.id}"
    etag = (await http.get(url, headers=agent_headers)).headers["etag"]
    await http.patch(url, headers=agent_headers, json={"company": "New Co"})
    stale = await http.patch(
        url, headers={**agent_headers, "If-Match": etag}, json={"company": "Old Co"}
    )
    assert_problem(stale, 412)
    assert_problem(await http.delete(url, headers={**agent_headers, "If-Match": etag}), 412)


async def test_idempotent_retry(
    http: httpx.AsyncClient, db: AsyncSession, agent_headers: Headers
) -> None:
    headers = {**agent_headers, "Idempotency-Key": "contact-1"}
    first = await http.post(URL, headers=headers, json=ADA)
    again = await http.post(URL, headers=headers, json=ADA)
    assert again.status_code == 201  # the first answer, not a 409
    assert again.json() == first.json()
    assert await db.scalar(select(func.count()).select_from(Contact)) == 1
    changed = await http.post(URL, headers=headers, json={**ADA, "company": "Other"})
    assert_problem(changed, 422)


async def test_rate_limited(
    http: httpx.AsyncClient, agent_headers: Headers, tiny_rate_limit: object
) -> None:
    for _ in range(2):
        assert (await http.get(URL, headers=agent_headers)).status_code == 200
    refused = await http.get(URL, headers=agent_headers)
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
