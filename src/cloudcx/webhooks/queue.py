"""The deliveries queue: claiming due attempts, and writing down how they went.

A worker claims a row by taking a lease on it (``claimed_until``) and counting
the attempt, in one short transaction; it then sends without holding any lock
and writes the outcome with the attempt number as a fence, so an attempt whose
lease ran out (its worker hung or died) is retried, never recorded twice as
the current one. On PostgreSQL candidates are read ``FOR UPDATE SKIP LOCKED``,
so concurrent workers pass each other's rows by instead of queueing on them;
the conditional UPDATE is what guarantees one claimer on every backend.

Order per resource: a delivery waits while an earlier one (lower ``id``) of the
same resource to the same endpoint is still pending, so a receiver sees the
changes of one ticket or contact in the order they happened.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, Update, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cloudcx.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

FIRST_RETRY = 5.0  # seconds
GROWTH = 3.0
LONGEST_WAIT = 4 * 3600.0
JITTER = 0.25


def backoff(attempt: int, rand: float) -> float:
    """Seconds before the retry following failed attempt ``attempt`` (1-based):
    5 s, 15 s, 45 s … growing threefold to at most 4 h, each ±25 % at random
    (``rand`` in [0, 1)) so that receivers coming back are not hit all at once.
    With the 24 h window that is about a dozen attempts."""
    base = min(FIRST_RETRY * GROWTH ** (attempt - 1), LONGEST_WAIT)
    return base * (1 - JITTER + 2 * JITTER * rand)


def schedule(window_hours: float, rand: random.Random | None = None) -> list[float]:
    """The retry delays of a delivery that always fails (for docs and tests)."""
    rand = rand or random.Random(0)
    delays: list[float] = []
    total, attempt = 0.0, 1
    while True:
        delay = backoff(attempt, rand.random())
        if total + delay > window_hours * 3600:
            return delays
        delays.append(delay)
        total += delay
        attempt += 1


@dataclass(frozen=True, slots=True)
class Claim:
    delivery_id: int
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    attempt: int


def due(
    now: datetime, busy: set[uuid.UUID], limit: int, locking: bool
) -> Select[int, uuid.UUID, uuid.UUID, int]:
    d = WebhookDelivery
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.endpoint_id == d.endpoint_id,
        earlier.resource_key == d.resource_key,
        earlier.id < d.id,
        earlier.status == DeliveryStatus.PENDING,
    )
    query = (
        select(d.id, d.endpoint_id, d.event_id, d.attempts)
        .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
        .where(
            d.status == DeliveryStatus.PENDING,
            d.next_attempt_at <= now,
            or_(d.claimed_until.is_(None), d.claimed_until < now),
            WebhookEndpoint.enabled,
            WebhookEndpoint.paused_reason.is_(None),
            ~blocked,
        )
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    )
    if busy:
        query = query.where(d.endpoint_id.not_in(busy))
    if locking:
        query = query.with_for_update(of=d, skip_locked=True)
    return query


async def claim(
    session: AsyncSession,
    now: datetime,
    lease: timedelta,
    limit: int,
    per_endpoint: dict[uuid.UUID, int],
    endpoint_cap: int,
) -> list[Claim]:
    """Take up to ``limit`` due deliveries, no endpoint beyond ``endpoint_cap``
    in flight (``per_endpoint`` counts this worker's). The caller commits.

    Only ``limit`` candidates are read (and locked, on PostgreSQL): rows this
    worker would not take stay free for the others."""
    busy = {e for e, n in per_endpoint.items() if n >= endpoint_cap}
    locking = session.get_bind().dialect.name == "postgresql"
    rows = (await session.execute(due(now, busy, limit, locking))).all()
    taken: dict[uuid.UUID, int] = dict(per_endpoint)
    claims: list[Claim] = []
    for delivery_id, endpoint_id, event_id, attempts in rows:
        if len(claims) >= limit or taken.get(endpoint_id, 0) >= endpoint_cap:
            continue
        result = await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.attempts == attempts,
                WebhookDelivery.status == DeliveryStatus.PENDING,
                or_(
                    WebhookDelivery.claimed_until.is_(None),
                    WebhookDelivery.claimed_until < now,
                ),
            )
            .values(attempts=attempts + 1, claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            taken[endpoint_id] = taken.get(endpoint_id, 0) + 1
            claims.append(Claim(delivery_id, endpoint_id, event_id, attempts + 1))
    return claims


def fenced(claim: Claim) -> Update:
    """An UPDATE of the claimed delivery that changes nothing if another worker
    has taken the row over since (its lease ran out)."""
    return (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claim.delivery_id,
            WebhookDelivery.attempts == claim.attempt,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .execution_options(synchronize_session=False)
    )
