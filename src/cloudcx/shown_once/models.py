from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloudcx.db import Base, IdMixin, TimestampMixin, UTCDateTime


class ShownOnce(IdMixin, TimestampMixin, Base):
    """A new secret waiting to be shown once, after the POST that made it redirected.

    The value is encrypted (``core.encryption``) and erased when displayed; the
    row is bound to the Control Panel session that created it and dies with it
    (signing out deletes the session, and the row by cascade). Kept in the
    database, not one process's memory, so the page after the redirect may be
    served by any process.
    """

    __tablename__ = "shown_once"
    __table_args__ = (Index("ix_shown_once_expires", "expires_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    session_digest: Mapped[str] = mapped_column(
        ForeignKey("web_sessions.id_digest", ondelete="CASCADE"), index=True
    )
    # What the value is ("client_secret", "api_key", ...) and of which record.
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[str | None] = mapped_column(Text, default=None)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
