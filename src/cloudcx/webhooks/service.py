"""Webhook endpoints: validation, creation, changes, secret rotation, redelivery.

The signing secret is shown once (after creation and after a rotation) and
stored encrypted at rest with a key derived from ``CLOUDCX_SECRET_KEY``:
signing needs the plaintext, so a digest would not do. After a rotation the
previous secret keeps signing beside the new one for ``ROTATION_OVERLAP``, so
receivers can switch without losing a delivery.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.config import Settings
from cloudcx.core.encryption import fernet_for
from cloudcx.db import utcnow
from cloudcx.webhooks import signing
from cloudcx.webhooks.events import EVENT_TYPES
from cloudcx.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from cloudcx.webhooks.transport import AddressPolicy, literal

ROTATION_OVERLAP = timedelta(hours=24)
_PURPOSE = "webhook-signing-secrets"
MAX_URL = 2000


class EndpointFormError(ValueError):
    """Field name → message, for the API's 422 and the console's form."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


@dataclass(frozen=True, slots=True)
class EndpointInput:
    name: str
    url: str
    events: list[str]
    enabled: bool = True


def encrypt(settings: Settings, secret: str) -> str:
    return fernet_for(settings.resolved_secret_key, _PURPOSE).encrypt(secret.encode()).decode()


def decrypt(settings: Settings, token: str) -> str:
    return fernet_for(settings.resolved_secret_key, _PURPOSE).decrypt(token.encode()).decode()


def secrets_in_force(settings: Settings, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [decrypt(settings, endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and now < expires:
        found.append(decrypt(settings, endpoint.previous_secret_encrypted))
    return found


def check_url(settings: Settings, url: str) -> str | None:
    """Why ``url`` cannot receive webhooks, or None. The address is checked
    again on every connection (``webhooks.transport``); this is the early word."""
    url = url.strip()
    if not url or len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        return f"Enter a URL of at most {MAX_URL} characters."
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number
    except ValueError:
        return "Enter a valid URL."
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        return "Enter an https:// URL."
    if parts.username is not None or parts.password is not None:
        return "The URL cannot hold a user name or password."
    address = literal(host)
    if parts.scheme == "http":
        local = host == "localhost" or (address is not None and address.is_loopback)
        if not (settings.webhook_allow_http_loopback and local):
            return "Enter an https:// URL."
        return None
    if address is not None and not AddressPolicy(settings.webhook_networks).allows(address):
        return "This address is private, loopback or link-local: webhooks cannot reach it."
    return None


def clean(settings: Settings, data: EndpointInput) -> EndpointInput:
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not name or len(name) > 100 or "\x00" in name:
        errors["name"] = "Enter a name of 1 to 100 characters."
    if problem := check_url(settings, data.url):
        errors["url"] = problem
    events = list(dict.fromkeys(data.events))
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        errors["events"] = f"Unknown event type: {', '.join(unknown)[:200]}."
    elif not events:
        errors["events"] = "Choose at least one event."
    if errors:
        raise EndpointFormError(errors)
    return EndpointInput(name, data.url.strip(), events, data.enabled)


async def get_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint | None:
    return await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id
        )
    )


async def list_endpoints(session: AsyncSession, tenant_id: uuid.UUID) -> list[WebhookEndpoint]:
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return list(rows)


async def create_endpoint(
    session: AsyncSession, settings: Settings, tenant_id: uuid.UUID, data: EndpointInput
) -> tuple[WebhookEndpoint, str]:
    """The endpoint and its secret, the only time the secret is told."""
    data = clean(settings, data)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id,
        name=data.name,
        url=data.url,
        events=data.events,
        enabled=data.enabled,
        secret_encrypted=encrypt(settings, secret),
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


def update_endpoint(
    settings: Settings, endpoint: WebhookEndpoint, data: EndpointInput, *, enabled_sent: bool = True
) -> None:
    """``enabled_sent`` False (an API PATCH without it) leaves a paused endpoint paused."""
    data = clean(settings, data)
    endpoint.name, endpoint.url, endpoint.events = data.name, data.url, data.events
    if enabled_sent:
        set_enabled(endpoint, data.enabled)
    endpoint.updated_at = utcnow()


def set_enabled(endpoint: WebhookEndpoint, enabled: bool) -> None:
    """Enabling clears a pause: an administrator decided to try again."""
    if enabled and not endpoint.active:
        endpoint.paused_reason = None
        endpoint.failing_since = None
    endpoint.enabled = enabled


def rotate_secret(settings: Settings, endpoint: WebhookEndpoint) -> str:
    secret = signing.new_secret()
    now = utcnow()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret_encrypted = encrypt(settings, secret)
    endpoint.updated_at = now
    return secret


async def redeliver(
    session: AsyncSession, endpoint: WebhookEndpoint, event_id: uuid.UUID
) -> WebhookDelivery | None:
    """A new delivery of a past event to ``endpoint``; None if it never had it."""
    event = await session.scalar(
        select(WebhookEvent)
        .join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.id)
        .where(
            WebhookEvent.tenant_id == endpoint.tenant_id,
            WebhookEvent.id == event_id,
            WebhookDelivery.endpoint_id == endpoint.id,
        )
        .limit(1)
    )
    if event is None:
        return None
    previous = await session.scalar(
        select(WebhookDelivery.resource_key).where(WebhookDelivery.event_id == event.id).limit(1)
    )
    delivery = WebhookDelivery(
        tenant_id=endpoint.tenant_id,
        endpoint_id=endpoint.id,
        event_id=event.id,
        resource_key=f"redelivery:{previous or event.id}",
        status=DeliveryStatus.PENDING,
        next_attempt_at=utcnow(),
    )
    session.add(delivery)
    await session.flush()
    return delivery
