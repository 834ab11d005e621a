from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudcx.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class User(IdMixin, TimestampMixin, Base):
    """An administrator or agent of one tenant."""

    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_tenant_email", "tenant_id", "email_normalized", unique=True),
        Index("uq_users_tenant_email_key", "tenant_id", "email_key", unique=True),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    # Lower-cased copy: emails are unique per tenant regardless of case.
    email_normalized: Mapped[str] = mapped_column(String(320))
    # NFKC and case-folded (accounts.service.email_key): what sign-in and
    # uniqueness compare, so a fullwidth or otherwise look-alike spelling of an
    # address is the same account, never a second one beside it.
    email_key: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    # Set when an administrator chose the password (accounts.admin.reset_password):
    # the user must replace it at their next sign-in before anything else.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Two-factor sign-in (accounts/two_factor.py). Kept on the user row so every place
    # that loads the user (sign-in, the password grant) has it without another query.
    # The secrets are Fernet tokens; the pending one awaits its first right code.
    totp_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    totp_pending_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    # The last time step a code was accepted for: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger(), default=None)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def has_two_factor(self) -> bool:
        return self.totp_secret is not None


class WebSession(TimestampMixin, Base):
    """A Control Panel sign-in, kept server-side so sign-out is real.

    The cookie carries a random token; the table keeps only its SHA-256 digest,
    so a leaked database does not hand out live sessions.
    """

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires", "expires_at"),)

    id_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # OpenID Connect ``sid``: names this browser's sign-in to applications. Random
    # and unrelated to the cookie; kept when the same user signs in again here.
    sid: Mapped[str | None] = mapped_column(String(64), default=None)
