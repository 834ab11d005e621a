"""``Idempotency-Key`` on POST (draft-ietf-httpapi-idempotency-key-header).

A client that did not see the answer to a POST (timeout, dropped connection)
retries with the same key and gets the first answer instead of a second
ticket. The record is written in the same transaction as what the POST
created, so either both exist or neither; two concurrent requests with one
key collide on the unique index and the loser replays the winner's answer.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.api.auth import CurrentToken
from cloudcx.api.etag import etag_of
from cloudcx.api.models import IdempotencyRecord
from cloudcx.api.problems import Conflict, Problem
from cloudcx.core.responses import OrjsonResponse
from cloudcx.db import utcnow
from cloudcx.deps import platform_of

# About one keyed POST in a hundred also sweeps expired records: no scheduler needed.
PURGE_ONE_IN = 100
KEY_HELP = (
    "A unique value (e.g. a UUID) per logical request. A retry with the same key and body "
    "returns the first result instead of creating a duplicate; kept 24 hours."
)


@dataclass
class Idempotency:
    key: str | None
    owner: str
    token: CurrentToken
    ttl: int
    fingerprint: str = ""

    def _fingerprint(self, request: Request, payload: BaseModel) -> str:
        raw = f"{request.method} {request.url.path}\n{payload.model_dump_json()}"
        return hashlib.sha256(raw.encode()).hexdigest()

    async def replay(
        self, session: AsyncSession, request: Request, payload: BaseModel
    ) -> Response | None:
        """The stored answer for this key, or None when the request is new."""
        if self.key is None:
            return None
        self.fingerprint = self._fingerprint(request, payload)
        row = await session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.tenant_id == self.token.tenant_id,
                IdempotencyRecord.owner == self.owner,
                IdempotencyRecord.key == self.key,
            )
        )
        if row is not None and row.created_at < utcnow() - timedelta(seconds=self.ttl):
            await session.delete(row)
            await session.flush()
            row = None
        if row is None:
            return None
        if row.fingerprint != self.fingerprint:
            raise Problem(
                422,
                "This Idempotency-Key was already used with a different request. "
                "Use a new key for a new request.",
                title="Idempotency-Key reused",
            )
        headers = {"Idempotent-Replayed": "true"}
        if row.location:
            headers["Location"] = row.location
        return OrjsonResponse(row.body, status_code=row.status_code, headers=headers)

    async def commit(
        self,
        session: AsyncSession,
        request: Request,
        payload: BaseModel,
        result: BaseModel,
        location: str | None = None,
    ) -> Response:
        """Commit the creation with its record and answer 201 (or replay a concurrent twin)."""
        body: Any = result.model_dump(mode="json")
        if self.key is not None:
            await self._remember(session, self.key, body, location)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            twin = await self.replay(session, request, payload) if self.key else None
            if twin is None:
                raise Conflict(
                    "The request conflicts with a concurrent change; retry it."
                ) from None
            return twin
        headers = {"ETag": etag_of(result)}
        if location:
            headers["Location"] = location
        return OrjsonResponse(body, status_code=201, headers=headers)

    async def _remember(
        self, session: AsyncSession, key: str, body: Any, location: str | None
    ) -> None:
        session.add(
            IdempotencyRecord(
                tenant_id=self.token.tenant_id,
                owner=self.owner,
                key=key,
                fingerprint=self.fingerprint,
                status_code=201,
                body=body,
                location=location,
            )
        )
        if secrets.randbelow(PURGE_ONE_IN) == 0:
            await purge_expired(session, self.ttl)


async def purge_expired(session: AsyncSession, ttl: int) -> int:
    """Forget records past their lifetime (the caller commits)."""
    cutoff = utcnow() - timedelta(seconds=ttl)
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def idempotency(
    request: Request,
    token: CurrentToken,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=255, description=KEY_HELP),
    ] = None,
) -> Idempotency:
    ttl = platform_of(request).settings.idempotency_ttl
    owner = f"{token.client_id}:{token.subject}"[:200]
    return Idempotency(key=idempotency_key, owner=owner, token=token, ttl=ttl)


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]
