"""A ticket's activity: every change recorded with who and when, ``GET …/events``."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.api.problems import Problem
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets import service
from cloudcx.tickets.activity import Actor
from cloudcx.tickets.models import TicketEvent
from cloudcx.tickets.schemas import MessageCreate, TicketUpdate
from tests.cxapi import (
    Headers,
    assert_insufficient_scope,
    assert_problem,
    collect_pages,
    headers_for,
    make_contact,
    make_ticket,
)


def url(ticket_id: object) -> str:
    return f"/api/v1/tickets/{ticket_id}/events"


async def _events(db: AsyncSession) -> list[TicketEvent]:
    rows = await db.scalars(select(TicketEvent).order_by(TicketEvent.created_at))
    return list(rows)


async def test_service_records_each_changed_field_with_its_actor(
    db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ticket = await make_ticket(db, tenant, subject="Printer", tags=["b", "a"])
    data = TicketUpdate(
        subject="Printer on fire", status="pending", priority="normal", tags=["a", "c"]
    )
    await service.update_ticket(db, ticket, data, Actor(agent.id, "app-1"))
    await db.commit()
    events = await _events(db)
    changes = {e.field: (e.old_value, e.new_value) for e in events}
    # priority was already normal: no event for it
    assert changes == {
        "subject": ("Printer", "Printer on fire"),
        "status": ("new", "pending"),
        "tags": (["a", "b"], ["a", "c"]),
    }
    assert {(e.actor_user_id, e.actor_client_id) for e in events} == {(agent.id, "app-1")}
    assert len({e.created_at for e in events}) == 1  # one change, one time
    await service.update_ticket(db, ticket, TicketUpdate(status="pending"), Actor(agent.id))
    await db.commit()
    assert len(await _events(db)) == 3  # nothing changed, nothing recorded


async def test_assignee_and_requester_changes_record_ids(
    db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    contact = await make_contact(db, tenant)
    ticket = await make_ticket(db, tenant)
    data = TicketUpdate(assignee_id=agent.id, requester_id=contact.id)
    await service.update_ticket(db, ticket, data, Actor(agent.id))
    await db.commit()
    changes = {e.field: (e.old_value, e.new_value) for e in await _events(db)}
    assert changes == {
        "assignee_id": (None, str(agent.id)),
        "requester_id": (None, str(contact.id)),
    }


async def test_a_reply_that_opens_the_ticket_records_the_status_change(
    db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ticket = await make_ticket(db, tenant)
    await service.add_message(db, ticket, MessageCreate(body="On it"), agent.id)
    await db.commit()
    [event] = await _events(db)
    assert (event.field, event.old_value, event.new_value) == ("status", "new", "open")
    assert (event.actor_user_id, event.actor_client_id) == (agent.id, None)


async def test_a_failed_change_records_nothing(
    db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    """The events are written in the change's transaction: no change, no event."""
    ticket = await make_ticket(db, tenant)
    unknown = TicketUpdate(status="solved", assignee_id=uuid.uuid4())
    with pytest.raises(Problem) as refused:
        await service.update_ticket(db, ticket, unknown, Actor(agent.id))
    assert refused.value.status == 422
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(TicketEvent)) == 0


async def test_api_changes_are_listed_with_the_client_and_user(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    agent_headers: Headers,
    oauth_client: OAuthClient,
) -> None:
    ticket = await make_ticket(db, tenant, subject="Printer")
    ticket_url = f"/api/v1/tickets/{ticket.id}"
    for body in ({"status": "open"}, {"priority": "urgent", "tags": ["vip"]}):
        response = await http.patch(ticket_url, headers=agent_headers, json=body)
        assert response.status_code == 200, response.text
    listed = await http.get(url(ticket.id), headers=agent_headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()["data"]
    assert [(i["field"], i["old_value"], i["new_value"]) for i in items[:1]] == [
        ("status", "new", "open")
    ]
    assert {(i["field"], str(i["old_value"]), str(i["new_value"])) for i in items[1:]} == {
        ("priority", "normal", "urgent"),
        ("tags", "[]", "['vip']"),
    }
    for item in items:
        assert item["actor_user_id"] == str(agent.id)
        assert item["actor_client_id"] == oauth_client.client_id
        assert item["ticket_id"] == str(ticket.id)
        assert item["created_at"].endswith("Z")


async def test_events_are_paged_oldest_first(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    agent_headers: Headers,
) -> None:
    ticket = await make_ticket(db, tenant)
    for status in ("open", "pending", "solved", "open", "closed"):
        await service.update_ticket(db, ticket, TicketUpdate(status=status), Actor(agent.id))
        await db.commit()
    items, pages = await collect_pages(http, f"{url(ticket.id)}?limit=2", agent_headers)
    assert [i["new_value"] for i in items] == ["open", "pending", "solved", "open", "closed"]
    assert pages == 3
    bad = await http.get(url(ticket.id), params={"cursor": "junk"}, headers=agent_headers)
    assert assert_problem(bad, 422)["errors"][0]["field"] == "cursor"


async def test_events_need_a_token_with_tickets_read(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    oauth_client: OAuthClient,
) -> None:
    ticket = await make_ticket(db, tenant)
    anonymous = await http.get(url(ticket.id))
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    bad_token = await http.get(url(ticket.id), headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
    contacts_only = await headers_for(http, oauth_client, agent.email, "contacts:read")
    assert_insufficient_scope(await http.get(url(ticket.id), headers=contacts_only), "tickets:read")


@pytest.mark.parametrize(
    "ticket_id",
    [
        pytest.param("foreign", id="another-tenants-ticket"),
        pytest.param(str(uuid.uuid4()), id="unknown-id"),
    ],
)
async def test_events_of_a_ticket_not_ours_are_not_found(
    http: httpx.AsyncClient,
    db: AsyncSession,
    other_tenant: TenantInfo,
    agent_headers: Headers,
    ticket_id: str,
) -> None:
    foreign = await make_ticket(db, other_tenant)
    await service.update_ticket(db, foreign, TicketUpdate(status="open"), Actor(None, "x"))
    await db.commit()
    target = foreign.id if ticket_id == "foreign" else ticket_id
    assert_problem(await http.get(url(target), headers=agent_headers), 404)


async def test_malformed_ticket_id_is_refused(
    http: httpx.AsyncClient, agent_headers: Headers
) -> None:
    assert_problem(await http.get(url("not-a-uuid"), headers=agent_headers), 422)


async def test_events_are_in_the_openapi_document(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/tickets/{ticket_id}/events"]["get"]
    assert operation["summary"] == "List a ticket's changes"
    assert {"401", "403", "404", "422"} <= set(operation["responses"])
    schema = document["components"]["schemas"]["TicketEventPublic"]
    assert schema["properties"]["field"]["enum"] == [
        "subject", "status", "priority", "assignee_id", "requester_id", "channel", "tags"
    ]  # fmt: skip


async def test_a_change_through_an_api_key_names_the_key_and_its_owner(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin: User
) -> None:
    from cloudcx.apikeys import service as api_keys
    from tests.helpers import bearer, login

    created = await api_keys.create_key(
        db, admin, name="sync", scopes=["tickets:read", "tickets:write"]
    )
    await db.commit()
    ticket = await make_ticket(db, tenant)
    headers = bearer(created.secret)
    patched = await http.patch(
        f"/api/v1/tickets/{ticket.id}", headers=headers, json={"status": "pending"}
    )
    assert patched.status_code == 200, patched.text
    [item] = (await http.get(url(ticket.id), headers=headers)).json()["data"]
    assert (item["actor_user_id"], item["actor_client_id"]) == (
        str(admin.id),
        f"apikey:{created.key.id}",
    )
    await login(http, admin.email)
    page = " ".join((await http.get(f"/tickets/{ticket.id}")).text.split())
    assert "Admin</strong> via an API key changed status from <q>New</q> to <q>Pending</q>" in page
