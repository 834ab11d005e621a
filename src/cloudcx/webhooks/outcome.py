"""What an attempt's answer does: the log entry, the delivery's next step, the endpoint.

- 2xx: delivered; the endpoint's run of failures ends.
- 410 Gone: the receiver says it is gone for good: the delivery fails and the
  endpoint is disabled, with the reason shown to administrators and audited.
- anything else (other status, redirect, timeout, refused address): retried
  with backoff while within ``webhook_retry_hours`` of the event, then failed;
  an endpoint failing for ``webhook_pause_after_hours`` without a single
  success is paused, also shown and audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.audit.service import Action, Actor, Target
from cloudcx.audit.service import record as audit
from cloudcx.config import Settings
from cloudcx.webhooks import queue
from cloudcx.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from cloudcx.webhooks.queue import Claim
from cloudcx.webhooks.transport import Answer

GONE = "The receiver answered 410 Gone."


def log_entry(
    endpoint: WebhookEndpoint,
    event: WebhookEvent,
    headers: dict[str, str],
    answer: Answer,
    attempt: int,
    started_at: datetime,
    delivery_id: int | None,
) -> WebhookAttempt:
    return WebhookAttempt(
        tenant_id=endpoint.tenant_id,
        endpoint_id=endpoint.id,
        delivery_id=delivery_id,
        event_id=event.id,
        event_type=event.type,
        attempt=attempt,
        url=endpoint.url,
        # The signature is derived from the secret, never the secret: safe to show.
        request_headers=headers,
        request_body=event.payload,
        started_at=started_at,
        duration_ms=answer.duration_ms,
        response_status=answer.status,
        response_body=answer.body,
        error=answer.error,
        success=answer.success,
    )


async def record(
    session: AsyncSession,
    settings: Settings,
    claim: Claim,
    event: WebhookEvent,
    headers: dict[str, str],
    answer: Answer,
    *,
    now: datetime,
    rand: float,
) -> None:
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == claim.endpoint_id)
    )
    delivery = await session.get(WebhookDelivery, claim.delivery_id)
    if endpoint is None or delivery is None:
        return
    started = now - timedelta(milliseconds=answer.duration_ms)
    session.add(log_entry(endpoint, event, headers, answer, claim.attempt, started, delivery.id))
    step = queue.fenced(claim)
    if answer.success:
        await session.execute(
            step.values(
                status=DeliveryStatus.DELIVERED,
                finished_at=now,
                claimed_until=None,
                last_status=answer.status,
                last_error=None,
            )
        )
        endpoint.failing_since = None
        return
    finished = {"status": DeliveryStatus.FAILED, "finished_at": now, "claimed_until": None}
    failure = {"last_status": answer.status, "last_error": answer.error}
    if answer.status == 410:
        await session.execute(step.values(**finished, **failure))
        await pause(session, endpoint, GONE, disable=True)
        return
    delay = timedelta(seconds=queue.backoff(claim.attempt, rand))
    if now + delay > delivery.created_at + timedelta(hours=settings.webhook_retry_hours):
        await session.execute(step.values(**finished, **failure))
    else:
        await session.execute(
            step.values(next_attempt_at=now + delay, claimed_until=None, **failure)
        )
    endpoint.failing_since = endpoint.failing_since or now
    if now - endpoint.failing_since >= timedelta(hours=settings.webhook_pause_after_hours):
        hours = settings.webhook_pause_after_hours
        await pause(session, endpoint, f"Every delivery failed for {hours:g} hours.")


async def pause(
    session: AsyncSession, endpoint: WebhookEndpoint, reason: str, *, disable: bool = False
) -> None:
    if endpoint.paused_reason is not None:
        return
    endpoint.paused_reason = reason
    if disable:
        endpoint.enabled = False
    await audit(
        session,
        tenant_id=endpoint.tenant_id,
        action=Action.WEBHOOK_PAUSED,
        actor=Actor.system("webhooks"),
        target=Target("webhook", str(endpoint.id), endpoint.name),
        details={"reason": reason, "url": endpoint.url},
    )
