"""Immediate revocation of stateless access tokens (DESIGN.md §4).

Revoking writes a row to ``revocations``; every process keeps an in-memory
view of the live rows, so the bearer check itself never touches the database.
The process that revoked applies the row at commit; with Redis every other
applies it within milliseconds from the change feed (``cloudcx.feed_redis``);
and every process also reads new rows every ``revocation_poll_interval``
seconds (one small indexed query), so without Redis, or should a message be
lost, a revocation is refused everywhere within about a second. Housekeeping
deletes a row once every token it covers has expired.

What can be revoked:
- ``token``: one access token, by ``jti``;
- ``grant``: every token carrying that grant id (``gid`` claim), e.g. a
  refresh-token family or a user's consent to a client;
- ``client``: every token of a client issued up to the revocation time;
- ``user``: every token of a user issued up to the revocation time;
- ``consent``: every token of one user at one client issued up to the
  revocation time (value ``consent_key(client_id, user_id)``), which is how
  Connected apps' "Revoke access" ends tokens that carry no grant id.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.changes import changed_on_commit
from cloudcx.db import upsert, utcnow
from cloudcx.oauth.models import Revocation
from cloudcx.oauth.tokens import MAX_ACCESS_TOKEN_TTL, MAX_LEEWAY, AccessToken
from cloudcx.ops import metrics

# Rows are re-read for this long after their creation: on PostgreSQL a row
# with a lower id can commit after one with a higher id, so "id > last seen"
# alone could miss it.
_OVERLAP = timedelta(seconds=30)


class Kind(StrEnum):
    TOKEN = "token"
    GRANT = "grant"
    CLIENT = "client"
    USER = "user"
    CONSENT = "consent"


def consent_key(client_id: str, user_id: uuid.UUID | str) -> str:
    return f"{client_id} {user_id}"


# Kinds that cut at a time: revoking again moves the cut to now.
_CUTS = frozenset({Kind.CLIENT, Kind.USER, Kind.CONSENT})


async def revoke(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    kind: Kind,
    value: str,
    *,
    lifetime: int = MAX_ACCESS_TOKEN_TTL,
) -> None:
    """Record a revocation; the caller commits. ``lifetime`` bounds the tokens it covers.

    Idempotent: one row per (tenant, kind, value) however often it is revoked,
    so repeating a revocation costs no process anything to reload. Again, a
    token or grant only keeps its row as long as the longest lifetime asked;
    a client, user or consent also moves its cut to now.
    """
    now = utcnow()
    row = {
        "tenant_id": tenant_id,
        "kind": kind.value,
        "value": value,
        "created_at": now,
        "expires_at": now + timedelta(seconds=lifetime + 60),
    }
    insert = upsert(session, Revocation)
    later = insert.excluded.expires_at
    changes: dict[str, Any] = {
        "expires_at": case((Revocation.expires_at > later, Revocation.expires_at), else_=later)
    }
    if kind in _CUTS:
        changes["created_at"] = insert.excluded.created_at
    statement = (
        insert.values(row)
        .on_conflict_do_update(index_elements=["tenant_id", "kind", "value"], set_=changes)
        .returning(Revocation.id, Revocation.created_at)
    )
    stored = (await session.execute(statement)).one()
    metrics.revoked(kind.value)
    # A Core statement escapes the ORM's change tracking: hand the row to the
    # change feed so this process applies it the moment the caller commits.
    changed_on_commit(
        session, Revocation(**{**row, "id": stored.id, "created_at": stored.created_at})
    )


class RevocationSet:
    """This process's mirror of the ``revocations`` table.

    Bounded by the recent rows: an entry is dropped from memory once no token
    it can cover is still valid (``HORIZON`` after the revocation: every token
    it covers was issued before it), every ``PRUNE_EVERY`` seconds and without
    a query. Revoking one thing again never adds an entry: rows are remembered
    by (id, value), and a later cut only replaces the earlier one.
    """

    PRUNE_EVERY = 60.0
    HORIZON = MAX_ACCESS_TOKEN_TTL + MAX_LEEWAY + 60

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._tokens: set[str] = set()
        self._grants: set[str] = set()
        # subject → latest revocation time (epoch seconds)
        self._clients: dict[str, float] = {}
        self._users: dict[str, float] = {}
        self._consents: dict[str, float] = {}
        # (id, value) → (created_at, kind). Keyed by more than the id: SQLite
        # hands out the ids of purged rows again.
        self._seen: dict[tuple[int, str], tuple[datetime, str]] = {}
        self._since: datetime | None = None
        self._pruned_at = time.monotonic()
        self.rows_read = 0

    def __len__(self) -> int:
        return len(self._seen)

    def is_revoked(self, token: AccessToken) -> bool:
        if token.jti in self._tokens:
            return True
        if token.grant_id is not None and token.grant_id in self._grants:
            return True
        cut = self._clients.get(token.client_id)
        if cut is not None and token.issued_at <= cut:
            return True
        if token.user_id is not None:
            cut = self._users.get(str(token.user_id))
            if cut is not None and token.issued_at <= cut:
                return True
            cut = self._consents.get(consent_key(token.client_id, token.user_id))
            if cut is not None and token.issued_at <= cut:
                return True
        return False

    def apply(self, row: Revocation) -> None:
        key = (row.id, row.value)
        known = self._seen.get(key)
        if known is not None and known[0] >= row.created_at:
            return
        self._seen[key] = (row.created_at, row.kind)
        if row.kind == Kind.TOKEN:
            self._tokens.add(row.value)
        elif row.kind == Kind.GRANT:
            self._grants.add(row.value)
        else:
            target = self._cuts(row.kind)
            at = row.created_at.timestamp()
            target[row.value] = max(at, target.get(row.value, 0.0))

    def _cuts(self, kind: str) -> dict[str, float]:
        if kind == Kind.CLIENT:
            return self._clients
        return self._consents if kind == Kind.CONSENT else self._users

    async def refresh(self, full: bool = False) -> None:
        """Read the rows created since the last refresh (all live rows when ``full``)."""
        now = utcnow()
        full = full or self._since is None
        async with self._sessionmaker() as session:
            query = select(Revocation).where(Revocation.expires_at > now)
            if not full and self._since is not None:
                query = query.where(Revocation.created_at >= self._since - _OVERLAP)
            rows = (await session.scalars(query)).all()
        self.rows_read += len(rows)
        if full:
            self._reset()
        for row in rows:
            self.apply(row)
        self._since = now
        if time.monotonic() - self._pruned_at >= self.PRUNE_EVERY:
            self.prune()

    def prune(self, now: float | None = None) -> int:
        """Forget revocations older than ``HORIZON``: every token they cover has expired."""
        now = time.time() if now is None else now
        self._pruned_at = time.monotonic()
        oldest = now - self.HORIZON
        gone = [key for key, (at, _kind) in self._seen.items() if at.timestamp() <= oldest]
        if not gone:
            return 0
        for key in gone:
            del self._seen[key]
        # Rebuilt from what is kept: one value can have rows in several tenants.
        kept = list(self._seen.items())
        self._reset()
        for (id_, value), (at, kind) in kept:
            self.apply(Revocation(id=id_, value=value, kind=kind, created_at=at))
        return len(gone)

    def _reset(self) -> None:
        self._tokens.clear()
        self._grants.clear()
        self._clients.clear()
        self._users.clear()
        self._consents.clear()
        self._seen.clear()


async def past_the_cut() -> None:
    """Wait, after committing a client, user or consent revocation, until the clock
    has entered the next second.

    Access tokens state ``iat`` in whole seconds, so such a revocation covers
    every token of the second it was made in. Answering only once that second
    is over means a token obtained after the answer (signing in to the app
    again, re-enabling the client) is newer than the cut and stays valid.
    """
    now = time.time()
    await asyncio.sleep(math.floor(now) + 1 - now)


async def purge_expired(session: AsyncSession) -> int:
    result = await session.execute(delete(Revocation).where(Revocation.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)
