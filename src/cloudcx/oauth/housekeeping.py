"""Deleting what can no longer be used: expired codes, refresh tokens, revocations.

Every process runs it hourly (Platform._every); the deletes are idempotent, so several processes
purging at once only repeat each other's work.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.db import utcnow
from cloudcx.oauth import revocation
from cloudcx.oauth.models import AuthorizationCode, RefreshToken

INTERVAL = 3600.0
# A used code is kept a while after it expires, so a late second use is still
# recognised and revokes the tokens issued from it (RFC 6749 §4.1.2).
CODE_GRACE = timedelta(days=1)


async def purge(session: AsyncSession) -> int:
    now = utcnow()
    removed = 0
    for statement in (
        delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - CODE_GRACE),
        delete(RefreshToken).where(RefreshToken.expires_at < now),
    ):
        result = await session.execute(statement)
        removed += int(getattr(result, "rowcount", 0) or 0)
    removed += await revocation.purge_expired(session)
    return removed
