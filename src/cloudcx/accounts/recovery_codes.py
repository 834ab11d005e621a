"""One-time recovery codes: the way back in when the authenticator is lost.

Ten random codes of 60 bits each are shown once, at enrolment or when the user
asks for new ones. They are stored as HMAC-SHA256 digests keyed from
``CLOUDCX_SECRET_KEY`` and bound to the user: like the other high-entropy
secrets (DESIGN.md §8) a slow password hash would add only latency — guessing
2^60 values online is out of reach of the sign-in throttle, and the key means a
copy of the database alone does not allow guessing them offline either.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from cloudcx.accounts.models import User
from cloudcx.core.encryption import derive_key
from cloudcx.core.secrets import sign
from cloudcx.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow

COUNT = 10
# Crockford's base32 in lower case: no i, l, o or u to mistake for 1 or 0; 5 bits a symbol.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_GROUPS, _GROUP_LEN = 3, 4


class RecoveryCode(IdMixin, TimestampMixin, Base):
    __tablename__ = "two_factor_recovery_codes"
    __table_args__ = (Index("ix_two_factor_recovery_codes_user_digest", "user_id", "digest"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


def normalize(code: str) -> str:
    """What the person typed, without spaces, dashes or capitals."""
    return "".join(c for c in code.lower() if c.isalnum())


def looks_like_one(code: str) -> bool:
    value = normalize(code)
    return len(value) == _GROUPS * _GROUP_LEN and all(c in _ALPHABET for c in value)


def _digest(secret_key: str, user_id: uuid.UUID, code: str) -> str:
    return sign(derive_key(secret_key, "two-factor-recovery"), str(user_id), normalize(code))


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP_LEN))
    return "-".join(raw[i : i + _GROUP_LEN] for i in range(0, len(raw), _GROUP_LEN))


async def replace(session: AsyncSession, secret_key: str, user: User) -> list[str]:
    """Forget the user's codes and return ten new ones (the only time they are readable)."""
    await forget(session, user)
    codes = [_new_code() for _ in range(COUNT)]
    session.add_all(
        RecoveryCode(
            tenant_id=user.tenant_id, user_id=user.id, digest=_digest(secret_key, user.id, c)
        )
        for c in codes
    )
    await session.flush()
    return codes


async def forget(session: AsyncSession, user: User) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


async def use(session: AsyncSession, secret_key: str, user: User, code: str) -> bool:
    """Spend one unused code; True if it was one. The lookup is by keyed digest, so
    no comparison of secrets happens in Python; the conditional update makes two
    simultaneous uses of one code succeed only once."""
    if not looks_like_one(code):
        return False
    spent = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.tenant_id == user.tenant_id,
            RecoveryCode.digest == _digest(secret_key, user.id, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(spent, "rowcount", 0) == 1)


async def remaining(session: AsyncSession, user: User) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)
