"""Every event type, produced through the API, delivered signed to a real receiver."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cxapi import Headers
from tests.webhooks.conftest import Receiver, make_endpoint, verify

from cloudcx.accounts.models import User
from cloudcx.contacts import service as contacts
from cloudcx.contacts.schemas import ContactCreate
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.webhooks.events import EVENT_TYPES, PAYLOADS
from cloudcx.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from cloudcx.webhooks.worker import Worker


async def _every_change(http: httpx.AsyncClient, headers: Headers, agent: User) -> None:
    created = await http.post(
        "/api/v1/tickets",
        json={"subject": "Printer on fire", "requester_email": "ada@example.com"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    url = f"/api/v1/tickets/{ticket['id']}"
    steps = [
        http.patch(url, json={"status": "pending"}, headers=headers),
        http.patch(url, json={"assignee_id": str(agent.id)}, headers=headers),
        http.post(f"{url}/messages", json={"body": "On it."}, headers=headers),
        http.post(
            f"{url}/messages",
            json={"body": "Thanks!", "author_contact_id": ticket["requester_id"]},
            headers=headers,
        ),
    ]
    for step in steps:
        answer = await step
        assert answer.status_code in (200, 201), answer.text
    contact_url = f"/api/v1/contacts/{ticket['requester_id']}"
    answer = await http.patch(contact_url, json={"company": "Analytical"}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert (await http.delete(contact_url, headers=headers)).status_code == 204
    contact = await http.post("/api/v1/contacts", json={"email": "b@example.com"}, headers=headers)
    assert contact.status_code == 201


async def test_every_event_type_is_delivered_signed_and_in_order(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    admin_headers: Headers,
    agent: User,
    receiver: Receiver,
    worker: Worker,
) -> None:
    _endpoint, secret = await make_endpoint(db, platform, tenant, receiver.url())
    await _every_change(http, admin_headers, agent)
    sent = await worker.run_once()
    payloads = [verify(secret, r) for r in receiver.on("/ok")]
    assert len(payloads) == sent
    types = [p["type"] for p in payloads]
    assert set(types) == set(EVENT_TYPES)
    # Per resource, in order of occurrence (resources go side by side).
    by_resource: dict[str, list[str]] = {}
    for payload in payloads:
        resource = payload["data"].get("message") and payload["data"]["ticket"]
        resource = resource or payload["data"].get("ticket") or payload["data"]["contact"]
        by_resource.setdefault(resource["id"], []).append(payload["type"])
    assert sorted(by_resource.values()) == [
        ["contact.created"],
        ["contact.created", "contact.updated", "contact.deleted"],
        [
            "ticket.created",
            "ticket.status_changed",
            "ticket.assignee_changed",
            "ticket.agent_replied",
            "ticket.customer_replied",
            "ticket.status_changed",  # the customer's reply reopened the pending ticket
        ],
    ]
    for payload in payloads:
        PAYLOADS[payload["type"]].model_validate(payload)  # as OpenAPI documents it
        assert payload["tenant"] == str(tenant.id)
    reopened = payloads[types.index("ticket.customer_replied") + 1]
    assert reopened["data"]["status"] == {"previous": "pending", "current": "open"}
    headers = receiver.on("/ok")[0].headers
    assert headers["webhook-id"] == payloads[0]["id"]
    assert headers["content-type"] == "application/json"


async def test_only_subscribed_active_endpoints_of_the_tenant_get_events(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    admin_headers: Headers,
    receiver: Receiver,
    worker: Worker,
) -> None:
    await make_endpoint(db, platform, tenant, receiver.url("/ok"), ["contact.created"])
    disabled, _ = await make_endpoint(db, platform, tenant, receiver.url("/disabled"))
    disabled.enabled = False
    await db.commit()
    await make_endpoint(db, platform, other_tenant, receiver.url("/other"))
    answer = await http.post("/api/v1/tickets", json={"subject": "Hi"}, headers=admin_headers)
    assert answer.status_code == 201
    answer = await http.post(
        "/api/v1/contacts", json={"email": "c@x.example"}, headers=admin_headers
    )
    assert answer.status_code == 201
    await worker.run_once()
    assert [r.json["type"] for r in receiver.requests] == ["contact.created"]


async def test_no_event_without_a_subscriber(
    http: httpx.AsyncClient, db: AsyncSession, admin_headers: Headers
) -> None:
    answer = await http.post("/api/v1/tickets", json={"subject": "Hi"}, headers=admin_headers)
    assert answer.status_code == 201
    assert await db.scalar(select(func.count()).select_from(WebhookEvent)) == 0


async def test_a_rolled_back_change_leaves_no_event(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver
) -> None:
    await make_endpoint(db, platform, tenant, receiver.url())
    await contacts.create_contact(db, tenant.id, ContactCreate(email="gone@example.com"))
    assert await db.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert await db.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


async def test_a_refused_change_leaves_no_event(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    admin_headers: Headers,
    receiver: Receiver,
) -> None:
    await make_endpoint(db, platform, tenant, receiver.url())
    body = {"subject": "Hi", "assignee_id": str(uuid.uuid4())}
    answer = await http.post("/api/v1/tickets", json=body, headers=admin_headers)
    assert answer.status_code == 422
    assert await db.scalar(select(func.count()).select_from(WebhookEvent)) == 0


@pytest.mark.parametrize("kind", ["note"])
async def test_internal_notes_send_no_event(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    admin_headers: Headers,
    receiver: Receiver,
    worker: Worker,
    kind: str,
) -> None:
    ticket = (
        await http.post("/api/v1/tickets", json={"subject": "Hi"}, headers=admin_headers)
    ).json()
    await make_endpoint(db, platform, tenant, receiver.url(), ["ticket.agent_replied"])
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    answer = await http.post(url, json={"body": "psst", "kind": kind}, headers=admin_headers)
    assert answer.status_code == 201
    assert await worker.run_once() == 0
    statuses = (await db.scalars(select(WebhookDelivery.status))).all()
    assert DeliveryStatus.PENDING not in statuses
