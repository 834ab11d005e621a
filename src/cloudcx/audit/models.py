from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudcx.db import Base, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
_ID = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """One security-relevant event of one tenant.

    Pages are read newest first by (time, id). Nothing
    secret is ever stored: ``details`` goes through ``audit.service.clean``.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        # The log reads newest first by time (audit.queries), per tenant and action.
        Index("ix_audit_events_tenant_time", "tenant_id", "time", "id"),
        Index("ix_audit_events_tenant_action_time", "tenant_id", "action", "time", "id"),
        Index("ix_audit_events_time", "time"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    # user, client, system or anonymous; id is a user id or client_id.
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64), default="")
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(128), default="")
    target_label: Mapped[str] = mapped_column(String(320), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
