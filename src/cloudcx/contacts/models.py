from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloudcx.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow


class Contact(IdMixin, TimestampMixin, Base):
    """A customer of a tenant: the requester of tickets.

    The email is optional (phone-only customers exist) but unique per tenant
    when present; NULLs do not collide in a unique index on either backend.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        Index("uq_contacts_tenant_email", "tenant_id", "email_normalized", unique=True),
        Index("ix_contacts_tenant_created", "tenant_id", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    email_normalized: Mapped[str | None] = mapped_column(String(320), default=None)
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    company: Mapped[str] = mapped_column(String(200), default="")
    job_title: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email or self.phone or "(no name)"
