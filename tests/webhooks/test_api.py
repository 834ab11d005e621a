"""``/api/v1/webhooks``: an application subscribes itself, reads its log, redelivers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cxapi import Headers, assert_insufficient_scope, assert_problem, headers_for
from tests.webhooks.conftest import Receiver, make_endpoint, verify

from cloudcx.audit.models import AuditEvent
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.webhooks.worker import Worker

URL = "/api/v1/webhooks"


def _body(receiver: Receiver, **extra: Any) -> dict[str, Any]:
    return {"name": "Sync", "url": receiver.url(), "events": ["contact.created"], **extra}


async def test_create_read_update_rotate_delete(
    http: httpx.AsyncClient,
    db: AsyncSession,
    admin_headers: Headers,
    receiver: Receiver,
    worker: Worker,
) -> None:
    created = await http.post(URL, json=_body(receiver), headers=admin_headers)
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    hook = created.json()
    assert hook["secret"].startswith("whsec_") and hook["status"] == "active"
    assert created.headers["location"] == f"{URL}/{hook['id']}"
    one = await http.get(f"{URL}/{hook['id']}", headers=admin_headers)
    assert one.status_code == 200 and "secret" not in one.json()
    listed = await http.get(URL, headers=admin_headers)
    assert [h["id"] for h in listed.json()] == [hook["id"]]
    changed = await http.patch(
        f"{URL}/{hook['id']}",
        json={"enabled": False, "events": ["contact.created", "ticket.created"]},
        headers=admin_headers,
    )
    assert changed.status_code == 200
    assert changed.json()["status"] == "disabled"
    assert changed.json()["events"] == ["contact.created", "ticket.created"]
    rotated = await http.post(f"{URL}/{hook['id']}/rotate-secret", headers=admin_headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != hook["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    assert (await http.delete(f"{URL}/{hook['id']}", headers=admin_headers)).status_code == 204
    assert (await http.get(f"{URL}/{hook['id']}", headers=admin_headers)).status_code == 404
    actions = (await db.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert [a for a in actions if a.startswith("webhook.")] == [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.deleted",
    ]


async def test_deliveries_log_and_redeliver(
    http: httpx.AsyncClient, admin_headers: Headers, receiver: Receiver, worker: Worker
) -> None:
    hook = (await http.post(URL, json=_body(receiver), headers=admin_headers)).json()
    made = await http.post("/api/v1/contacts", json={"email": "a@x.example"}, headers=admin_headers)
    assert made.status_code == 201
    await worker.run_once()
    log = await http.get(f"{URL}/{hook['id']}/deliveries", headers=admin_headers)
    assert log.status_code == 200
    (entry,) = log.json()["data"]
    assert entry["success"] and entry["response_status"] == 200
    assert entry["response_body"] == "thanks" and entry["event_type"] == "contact.created"
    assert entry["request_headers"]["webhook-id"] == entry["event_id"]
    again = await http.post(
        f"{URL}/{hook['id']}/redeliver", json={"event_id": entry["event_id"]}, headers=admin_headers
    )
    assert again.status_code == 202 and again.json()["status"] == "pending"
    await worker.run_once()
    assert [r.headers["webhook-id"] for r in receiver.requests] == [entry["event_id"]] * 2
    unknown = await http.post(
        f"{URL}/{hook['id']}/redeliver", json={"event_id": str(uuid.uuid4())}, headers=admin_headers
    )
    assert_problem(unknown, 404)


async def test_send_test_event_returns_the_answer(
    http: httpx.AsyncClient, admin_headers: Headers, receiver: Receiver
) -> None:
    hook = (await http.post(URL, json=_body(receiver), headers=admin_headers)).json()
    answer = await http.post(f"{URL}/{hook['id']}/test", headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["response_status"] == 200 and answer.json()["success"]
    (sent,) = receiver.requests
    assert verify(hook["secret"], sent)["type"] == "webhook.test"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "http://hooks.example.com/"}, "url"),
        ({"url": "https://10.0.0.1/"}, "url"),
        ({"events": ["ticket.exploded"]}, "events"),
        ({"events": []}, "events"),
        ({"name": ""}, "name"),
        ({"secret": "whsec_mine"}, "secret"),
    ],
    ids=["http", "private", "unknown-event", "no-event", "no-name", "extra-field"],
)
async def test_invalid_webhooks_are_refused_with_422(
    http: httpx.AsyncClient,
    admin_headers: Headers,
    receiver: Receiver,
    change: dict[str, Any],
    field: str,
) -> None:
    answer = await http.post(URL, json=_body(receiver, **change), headers=admin_headers)
    body = assert_problem(answer, 422)
    assert field in answer.text, body


async def test_patch_null_is_refused(
    http: httpx.AsyncClient, admin_headers: Headers, receiver: Receiver
) -> None:
    hook = (await http.post(URL, json=_body(receiver), headers=admin_headers)).json()
    answer = await http.patch(f"{URL}/{hook['id']}", json={"url": None}, headers=admin_headers)
    assert_problem(answer, 422)


async def test_agents_tokens_hold_no_webhook_scope(
    http: httpx.AsyncClient, agent_headers: Headers, receiver: Receiver
) -> None:
    assert_insufficient_scope(await http.get(URL, headers=agent_headers), "webhooks:read")
    answer = await http.post(URL, json=_body(receiver), headers=agent_headers)
    assert_insufficient_scope(answer, "webhooks:write")


async def test_read_scope_cannot_write(
    http: httpx.AsyncClient,
    oauth_client: OAuthClient,
    admin_headers: Headers,
    receiver: Receiver,
) -> None:
    reader = await headers_for(http, oauth_client, "admin@acme.example", "webhooks:read")
    assert (await http.get(URL, headers=reader)).status_code == 200
    assert_insufficient_scope(
        await http.post(URL, json=_body(receiver), headers=reader), "webhooks:write"
    )


async def test_another_tenants_webhook_is_not_found(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    other_tenant: TenantInfo,
    admin_headers: Headers,
    receiver: Receiver,
) -> None:
    theirs, _ = await make_endpoint(db, platform, other_tenant, receiver.url())
    for method, suffix in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("GET", "/deliveries"),
        ("POST", "/test"),
    ]:
        answer = await http.request(
            method,
            f"{URL}/{theirs.id}{suffix}",
            json={} if method == "PATCH" else None,
            headers=admin_headers,
        )
        assert_problem(answer, 404)
    assert (await http.get(URL, headers=admin_headers)).json() == []
    assert receiver.requests == []


async def test_openapi_describes_every_event_payload(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    hooks = schema["webhooks"]
    assert set(hooks) == {
        "ticket.created",
        "ticket.status_changed",
        "ticket.assignee_changed",
        "ticket.agent_replied",
        "ticket.customer_replied",
        "contact.created",
        "contact.updated",
        "contact.deleted",
    }
    created = hooks["ticket.created"]["post"]
    ref = created["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/TicketCreatedEvent")
    headers = {p["name"] for p in created["parameters"]}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert "webhooks:write" in str(schema["components"]["securitySchemes"])


async def test_a_paused_webhook_stays_paused_until_enabled(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    admin_headers: Headers,
    receiver: Receiver,
) -> None:
    endpoint, _ = await make_endpoint(db, platform, tenant, receiver.url())
    endpoint.paused_reason = "Every delivery failed for 24 hours."
    await db.commit()
    url = f"{URL}/{endpoint.id}"
    renamed = await http.patch(url, json={"name": "Renamed"}, headers=admin_headers)
    assert renamed.json()["status"] == "paused"
    assert renamed.json()["paused_reason"] == "Every delivery failed for 24 hours."
    resumed = await http.patch(url, json={"enabled": True}, headers=admin_headers)
    assert (resumed.json()["status"], resumed.json()["paused_reason"]) == ("active", None)
