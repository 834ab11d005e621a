"""Global Settings > Integrations > Webhooks, and the events the console's own pages produce."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cxapi import make_ticket
from tests.helpers import csrf_from, form_post, login
from tests.webhooks.conftest import Receiver, make_endpoint, verify

from cloudcx.accounts.models import User
from cloudcx.audit.models import AuditEvent
from cloudcx.contacts.models import Contact
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.webhooks.models import WebhookEndpoint
from cloudcx.webhooks.worker import Worker

BASE = "/settings/integrations/webhooks"
_SECRET = re.compile(r'value="(whsec_[^"]+)"')


async def _create(http: httpx.AsyncClient, receiver: Receiver, **extra: str) -> httpx.Response:
    data = {"name": "Sync", "url": receiver.url(), "events": "contact.created", "enabled": "on"}
    return await form_post(http, f"{BASE}/new", {**data, **extra})


async def test_new_webhook_shows_its_secret_once(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, receiver: Receiver
) -> None:
    await login(http, admin.email)
    form = await http.get(f"{BASE}/new")
    assert "Tickets" in form.text and "Contacts" in form.text
    assert 'value="ticket.customer_replied"' in form.text
    created = await _create(http, receiver)
    # Post, redirect, get: the secret comes from the one-time store.
    assert created.status_code == 303, created.text
    page = await http.get(created.headers["location"])
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    match = _SECRET.search(page.text)
    assert match is not None
    again = await http.get(created.headers["location"])
    assert "already shown" in again.text and not _SECRET.search(again.text)
    listed = await http.get(BASE)
    assert "Sync" in listed.text and receiver.url() in listed.text
    assert match.group(1) not in listed.text
    endpoint = (await db.scalars(select(WebhookEndpoint))).one()
    assert endpoint.events == ["contact.created"] and endpoint.enabled
    audit = await db.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.created"))
    assert audit.one().actor_id == str(admin.id)


async def test_form_errors_are_shown(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, receiver: Receiver
) -> None:
    await login(http, admin.email)
    refused = await _create(http, receiver, url="https://192.168.0.10/hook", events="")
    assert refused.status_code == 422
    assert "private" in refused.text and "Choose at least one event." in refused.text
    assert (await db.scalars(select(WebhookEndpoint))).first() is None


async def test_agents_cannot_see_the_pages(http: httpx.AsyncClient, agent: User) -> None:
    await login(http, agent.email)
    assert (await http.get(BASE)).status_code == 403
    assert (await http.get(f"{BASE}/new")).status_code == 403


async def test_a_form_without_its_csrf_token_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, receiver: Receiver
) -> None:
    await login(http, admin.email)
    data = {"name": "Sync", "url": receiver.url(), "events": "contact.created"}
    answer = await http.post(f"{BASE}/new", data=data)
    assert answer.status_code == 403
    assert (await db.scalars(select(WebhookEndpoint))).first() is None


async def test_edit_disable_enable_rotate_delete(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    admin: User,
    receiver: Receiver,
) -> None:
    endpoint, _secret = await make_endpoint(db, platform, tenant, receiver.url())
    await login(http, admin.email)
    edit = f"{BASE}/{endpoint.id}/edit"
    data = {
        "name": "Renamed",
        "url": receiver.url("/new"),
        "events": "ticket.created",
        "enabled": "on",
    }
    assert (await form_post(http, edit, data)).status_code == 303
    await db.refresh(endpoint)
    assert (endpoint.name, endpoint.events) == ("Renamed", ["ticket.created"])
    answer = await form_post(http, BASE, {}, f"{BASE}/{endpoint.id}/enabled")
    assert answer.status_code == 303 and answer.headers["location"].endswith("notice=disabled")
    await db.refresh(endpoint)
    assert not endpoint.enabled
    assert "Disabled" in (await http.get(BASE)).text
    answer = await form_post(http, BASE, {"enabled": "on"}, f"{BASE}/{endpoint.id}/enabled")
    await db.refresh(endpoint)
    assert endpoint.enabled
    rotated = await form_post(http, f"{BASE}/{endpoint.id}/rotate", {})
    assert rotated.status_code == 303
    page = await http.get(rotated.headers["location"])
    assert _SECRET.search(page.text) and "24 hours" in page.text
    reloaded = await http.get(rotated.headers["location"])
    assert "already shown" in reloaded.text and not _SECRET.search(reloaded.text)
    confirm = await http.get(f"{BASE}/{endpoint.id}/delete")
    assert "cannot be undone" in confirm.text
    gone = await form_post(http, f"{BASE}/{endpoint.id}/delete", {})
    assert gone.status_code == 303
    assert (await db.scalars(select(WebhookEndpoint))).first() is None
    actions = (await db.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert [a for a in actions if a.startswith("webhook.")] == [
        "webhook.updated",
        "webhook.updated",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.deleted",
    ]


async def test_another_tenants_webhook_is_not_found(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    other_tenant: TenantInfo,
    admin: User,
    receiver: Receiver,
) -> None:
    theirs, _ = await make_endpoint(db, platform, other_tenant, receiver.url())
    await login(http, admin.email)
    for path in ("edit", "delete", "rotate", "deliveries"):
        assert (await http.get(f"{BASE}/{theirs.id}/{path}")).status_code == 404
    csrf = csrf_from((await http.get(BASE)).text)
    for path in ("test", "enabled", "delete", "redeliver"):
        answer = await http.post(f"{BASE}/{theirs.id}/{path}", data={"csrf_token": csrf})
        assert answer.status_code == 404
    assert receiver.requests == []


async def test_send_test_event_then_the_log_and_redeliver(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    admin: User,
    receiver: Receiver,
    worker: Worker,
) -> None:
    endpoint, secret = await make_endpoint(db, platform, tenant, receiver.url())
    await login(http, admin.email)
    tested = await form_post(http, BASE, {}, f"{BASE}/{endpoint.id}/test")
    assert tested.status_code == 200
    assert "The receiver accepted the test event." in tested.text and "thanks" in tested.text
    assert verify(secret, receiver.requests[0])["type"] == "webhook.test"
    created = await form_post(http, "/contacts/new", {"first_name": "Grace"})
    assert created.status_code == 303
    await worker.run_once()
    log = await http.get(f"{BASE}/{endpoint.id}/deliveries")
    assert "contact.created" in log.text and "webhook.test" in log.text
    event_id = receiver.requests[1].headers["webhook-id"]
    again = await form_post(
        http,
        f"{BASE}/{endpoint.id}/deliveries",
        {"event_id": event_id},
        f"{BASE}/{endpoint.id}/redeliver",
    )
    assert again.status_code == 303
    await worker.run_once()
    assert [r.headers["webhook-id"] for r in receiver.requests[1:]] == [event_id] * 2
    failing = await form_post(http, BASE, {}, f"{BASE}/{endpoint.id}/test")
    assert failing.status_code == 200


async def test_the_consoles_own_changes_send_events(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    agent: User,
    receiver: Receiver,
    worker: Worker,
) -> None:
    """What the Control Panel can change (replies, properties, contacts) sends the
    same events as the API, from the same services."""
    _endpoint, secret = await make_endpoint(db, platform, tenant, receiver.url())
    ticket = await make_ticket(db, tenant)
    await worker.run_once()  # the ticket's creation
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    change = {"status": "pending", "priority": "normal", "assignee_id": str(agent.id)}
    assert (await form_post(http, url, change)).status_code == 303
    assert (await form_post(http, url, {"body": "On it."}, f"{url}/messages")).status_code == 303
    assert (await form_post(http, "/contacts/new", {"first_name": "Ada"})).status_code == 303
    contact = (await db.scalars(select(Contact))).one()
    edit = f"/contacts/{contact.id}/edit"
    assert (await form_post(http, edit, {"first_name": "Ada", "company": "X"})).status_code == 303
    await worker.run_once()
    types = sorted(verify(secret, r)["type"] for r in receiver.requests)
    assert types == sorted(
        [
            "ticket.created",
            "ticket.status_changed",
            "ticket.assignee_changed",
            "ticket.agent_replied",
            "contact.created",
            "contact.updated",
        ]
    )


async def test_a_stale_edit_is_refused_and_offered_again(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    admin: User,
    receiver: Receiver,
) -> None:
    endpoint, _secret = await make_endpoint(db, platform, tenant, receiver.url())
    await login(http, admin.email)
    edit = f"{BASE}/{endpoint.id}/edit"
    page = (await http.get(edit)).text
    version = re.search(r'name="version" value="([^"]+)"', page)
    original = re.search(r'name="original" value="([^"]+)"', page)
    assert version and original
    # Someone else renames it meanwhile.
    endpoint.name = "Renamed elsewhere"
    await db.commit()
    stale = {
        "csrf_token": csrf_from(page),
        "version": version.group(1),
        "original": html.unescape(original.group(1)),
        "name": "Mine",
        "url": receiver.url(),
        "events": endpoint.events,
        "enabled": "on",
    }
    refused = await http.post(edit, data=stale)
    assert refused.status_code == 409
    assert "Not saved: someone else changed this meanwhile" in refused.text
    await db.refresh(endpoint)
    assert endpoint.name == "Renamed elsewhere"
    assert 'value="Mine"' in refused.text  # my change, offered again with the new version
    fresh = re.search(r'name="version" value="([^"]+)"', refused.text)
    assert fresh and fresh.group(1) != version.group(1)
