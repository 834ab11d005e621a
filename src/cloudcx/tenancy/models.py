from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudcx.db import Base, IdMixin, TimestampMixin


class Tenant(IdMixin, TimestampMixin, Base):
    """A company using the platform, reached at one or more domains."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Who must sign in with two factors: "off", "admins" or "everyone"
    # (tenancy/security_settings.py).
    two_factor_required: Mapped[str] = mapped_column(String(16), default="off")
    domains: Mapped[list[TenantDomain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", lazy="selectin"
    )


class TenantDomain(IdMixin, TimestampMixin, Base):
    __tablename__ = "tenant_domains"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    # Lower-case host name without port; unique across the platform.
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    tenant: Mapped[Tenant] = relationship(back_populates="domains")
