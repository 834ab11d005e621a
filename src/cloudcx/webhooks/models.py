"""Webhooks: endpoints integrators register, the events outbox, deliveries and attempts.

- ``WebhookEndpoint``: a URL of a tenant subscribed to some event types; its
  signing secret is stored encrypted (HMAC signing needs the plaintext).
- ``WebhookEvent``: one change that happened, written in the transaction of the
  change itself (the transactional outbox), with the payload as sent.
- ``WebhookDelivery``: one event to one endpoint; the queue the workers drain.
  ``id`` grows with insertion, which is the order of occurrence per resource.
- ``WebhookAttempt``: one HTTP request of a delivery and what came back (the
  delivery log), kept 30 days.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloudcx.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow

# SQLite only makes a rowid alias of an INTEGER PRIMARY KEY, not of a BIGINT one.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class DeliveryStatus:
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # retries exhausted, or the endpoint answered 410 Gone


class WebhookEndpoint(IdMixin, TimestampMixin, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_tenant_created", "tenant_id", "created_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Set when the platform stopped delivering by itself (410 Gone, a day of
    # failures); cleared when an administrator enables the endpoint again.
    paused_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # After a rotation the previous secret signs too, until it expires.
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The first failure since the last success: a day of them pauses the endpoint.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def active(self) -> bool:
        return self.enabled and self.paused_reason is None


class WebhookEvent(IdMixin, Base):
    """The payload is stored as sent, so a redelivery sends the same bytes."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_occurred", "occurred_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    payload: Mapped[str] = mapped_column(Text)


class WebhookDelivery(TimestampMixin, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The workers' claim: due rows first.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # "Is an earlier delivery of this resource still pending for this endpoint?"
        Index("ix_webhook_deliveries_order", "endpoint_id", "resource_key", "id"),
        Index("ix_webhook_deliveries_event", "event_id"),
        Index("ix_webhook_deliveries_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    # "ticket:<id>" or "contact:<id>": deliveries of one resource go in order.
    resource_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A worker's lease on its attempt: until then no other worker claims the row.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_status: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class WebhookAttempt(IdMixin, Base):
    """One request and its answer: status, time taken, error, the first 2 KiB."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_endpoint_started", "endpoint_id", "started_at"),
        Index("ix_webhook_attempts_started", "started_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    delivery_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("webhook_deliveries.id", ondelete="SET NULL"), default=None, index=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int]
    url: Mapped[str] = mapped_column(String(2000))
    request_headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    request_body: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    duration_ms: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None] = mapped_column(default=None)
    response_body: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    success: Mapped[bool] = mapped_column(default=False)
