"""Control Panel > Contacts: search, detail with tickets, create and edit."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.contacts.models import Contact
from cloudcx.tenancy.service import TenantInfo
from tests.cxapi import make_contact, make_ticket
from tests.helpers import form_post, login


async def test_create_then_edit(http: httpx.AsyncClient, db: AsyncSession, agent: User) -> None:
    await login(http, agent.email)
    created = await form_post(
        http,
        "/contacts/new",
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@navy.example",
            "tags": "vip, navy",
        },
    )
    assert created.status_code == 303, created.text
    contact = await db.scalar(select(Contact))
    assert contact is not None
    assert contact.tags == ["vip", "navy"]
    assert contact.phone is None
    edit_url = f"/contacts/{contact.id}/edit"
    edited = await form_post(
        http, edit_url, {"first_name": "Grace", "last_name": "Hopper", "job_title": "Admiral"}
    )
    assert edited.status_code == 303
    page = await http.get(edited.headers["location"])
    assert "Admiral" in page.text and "Contact saved." in page.text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({}, "Enter a name, an email address or a phone number.", id="empty"),
        pytest.param(
            {"email": "nope"}, "Enter an email address like name@example.com.", id="bad-email"
        ),
        pytest.param(
            {"first_name": "Ada", "phone": "call me"},
            "Enter a phone number of digits, spaces and + ( ) . - only.",
            id="bad-phone",
        ),
        pytest.param(
            {"first_name": "x" * 101}, "First name must be at most 100 characters.", id="long"
        ),
        pytest.param({"email": "ada@example.com"}, "already exists", id="duplicate-email"),
    ],
)
async def test_form_errors(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    data: dict[str, str],
    message: str,
) -> None:
    await make_contact(db, tenant, email="ada@example.com")
    await login(http, agent.email)
    response = await form_post(http, "/contacts/new", data)
    assert response.status_code == 422
    assert message in response.text
    for library_text in ("String should", "Value error", "value is not", "Input should"):
        assert library_text not in response.text


async def test_search_and_detail_with_tickets(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ada = await make_contact(db, tenant, email="ada@example.com")
    await make_contact(db, tenant, first_name="Grace", last_name="Hopper")
    await make_ticket(db, tenant, subject="Engine jammed", requester_id=ada.id)
    await login(http, agent.email)
    found = await http.get("/contacts?q=ada@")
    assert "Ada Lovelace" in found.text and "Grace Hopper" not in found.text
    detail = await http.get(f"/contacts/{ada.id}")
    assert "Engine jammed" in detail.text


async def test_contact_of_another_tenant_is_not_found(
    http: httpx.AsyncClient, db: AsyncSession, other_tenant: TenantInfo, agent: User
) -> None:
    foreign = await make_contact(db, other_tenant)
    await login(http, agent.email)
    assert (await http.get(f"/contacts/{foreign.id}")).status_code == 404
    assert (await http.get(f"/contacts/{foreign.id}/edit")).status_code == 404
