"""**Send test event**: one signed ``webhook.test`` POST now, its answer shown at once.

It goes through the same client as every delivery (SSRF checks included) and
into the endpoint's delivery log, but never into the retry queue.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.db import utcnow
from cloudcx.platform import Platform
from cloudcx.webhooks import outbox
from cloudcx.webhooks.events import TEST_EVENT
from cloudcx.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookEvent
from cloudcx.webhooks.outcome import log_entry


async def send_test(
    session: AsyncSession, platform: Platform, endpoint: WebhookEndpoint
) -> WebhookAttempt:
    """Send, and add the attempt to ``session`` (the caller commits)."""
    event = WebhookEvent(
        id=uuid.uuid4(), tenant_id=endpoint.tenant_id, type=TEST_EVENT, occurred_at=utcnow()
    )
    event.payload = outbox.payload_bytes(
        event, {"webhook": {"id": str(endpoint.id), "name": endpoint.name}}
    )
    started = utcnow()
    worker = platform.webhook_worker()
    try:
        answer, headers = await worker.send(endpoint, event)
    finally:
        await worker.stop()
    # Written after the answer: no write lock is held while the receiver thinks.
    session.add(event)
    await session.flush()  # no relationship orders the two rows: the event first
    attempt = log_entry(endpoint, event, headers, answer, 1, started, None)
    session.add(attempt)
    await session.flush()
    return attempt
