"""Deleting what can no longer be used: expired codes, pushed authorization requests,
refresh tokens, revocations, Control Panel sessions, shown-once values and
``Idempotency-Key`` records.

One process at a time runs it, every ``CLOUDCX_HOUSEKEEPING_INTERVAL`` seconds
(``cloudcx.jobs``), in batches of ``jobs.BATCH`` rows; ``cloudcx cleanup`` runs
it on demand. Every step is idempotent, so a run cut short at a batch boundary
is simply finished by the next one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import WebSession
from cloudcx.api.models import IdempotencyRecord
from cloudcx.db import utcnow
from cloudcx.jobs import Step, batch_delete
from cloudcx.oauth.models import (
    AuthorizationCode,
    PushedAuthorizationRequest,
    RefreshToken,
    Revocation,
)
from cloudcx.shown_once.models import ShownOnce

INTERVAL = 3600.0
# A used code is kept a while after it expires, so a late second use is still
# recognised and revokes the tokens issued from it (RFC 6749 §4.1.2).
CODE_GRACE = timedelta(days=1)


def steps(idempotency_ttl: int, now: datetime | None = None) -> list[tuple[str, Step]]:
    """What one run deletes, by name (the names ``cloudcx cleanup`` prints)."""
    now = now or utcnow()
    return [
        (
            "authorization codes",
            batch_delete(AuthorizationCode, AuthorizationCode.expires_at < now - CODE_GRACE),
        ),
        (
            "pushed authorization requests",
            batch_delete(PushedAuthorizationRequest, PushedAuthorizationRequest.expires_at <= now),
        ),
        ("refresh tokens", batch_delete(RefreshToken, RefreshToken.expires_at < now)),
        # A revocation outlives every token it covers (oauth.revocation.revoke).
        ("revocations", batch_delete(Revocation, Revocation.expires_at <= now)),
        ("control panel sessions", batch_delete(WebSession, WebSession.expires_at <= now)),
        ("shown-once values", batch_delete(ShownOnce, ShownOnce.expires_at <= now)),
        (
            "idempotency keys",
            batch_delete(
                IdempotencyRecord,
                IdempotencyRecord.created_at < now - timedelta(seconds=idempotency_ttl),
            ),
        ),
    ]


async def purge(session: AsyncSession, idempotency_ttl: int = 86400) -> int:
    """Everything expired, in the caller's transaction (the caller commits)."""
    removed = 0
    for _name, step in steps(idempotency_ttl):
        removed += await step(session, 2**31 - 1)
    return removed
