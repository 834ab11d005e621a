from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudcx.db import Base, IdMixin, TimestampMixin


class IdempotencyRecord(IdMixin, TimestampMixin, Base):
    """The first answer to a POST carrying an ``Idempotency-Key``.

    Stored in the database, in the same transaction as what the POST created,
    so a retry reaching any process gets the same answer and never a duplicate.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("uq_idempotency_keys_owner_key", "tenant_id", "owner", "key", unique=True),
        Index("ix_idempotency_keys_created", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # Who sent the request (client and subject): keys of different callers never meet.
    owner: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and canonical body: the same key with another body is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[Any] = mapped_column(JSON)
    location: Mapped[str | None] = mapped_column(String(500), default=None)
