"""The delivery log is kept ``webhook_log_retention_days`` (30 by default).

Attempts and finished deliveries older than that go first; an event goes once
no delivery of it is left (a pending one keeps it, however old).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists

from cloudcx.db import utcnow
from cloudcx.jobs import Step, batch_delete
from cloudcx.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEvent


def steps(days: int, now: datetime | None = None) -> list[tuple[str, Step]]:
    cutoff = (now or utcnow()) - timedelta(days=days)
    orphan = ~exists().where(WebhookDelivery.event_id == WebhookEvent.id)
    return [
        ("webhook attempts", batch_delete(WebhookAttempt, WebhookAttempt.started_at < cutoff)),
        (
            "webhook deliveries",
            batch_delete(
                WebhookDelivery,
                WebhookDelivery.created_at < cutoff,
                WebhookDelivery.status != DeliveryStatus.PENDING,
            ),
        ),
        ("webhook events", batch_delete(WebhookEvent, WebhookEvent.occurred_at < cutoff, orphan)),
    ]
