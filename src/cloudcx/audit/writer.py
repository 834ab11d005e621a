"""Audit events written beside the request, in batches, off the request path.

Token issuance and refusals and failed sign-ins are the busiest events by far:
written one transaction each, the audit row was most of the cost of a
client-credentials request (a commit per token). These events do not need to
share a transaction with anything — a refusal's own transaction is rolled
back, and an issued token is already out — so they are queued in memory and
written every ``interval`` seconds in one multi-row insert.

What a crash can lose: a process killed without a chance to shut down (SIGKILL,
power loss) loses the events of its last ``interval`` (0.25 s by default).
A graceful stop writes everything queued. Events of administrative actions,
password changes and refresh-token reuse are still written in the
transaction of the action itself (``audit.service.record``).
"""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.audit import service
from cloudcx.audit.models import AuditEvent
from cloudcx.db import WriteGate

log = logging.getLogger("cloudcx.audit")

INTERVAL = 0.25
_TABLE = cast(Table, AuditEvent.__table__)
# Past this many queued events (the database has been unreachable for long),
# the oldest are dropped, and counted in the log, rather than grow memory.
MAX_PENDING = 100_000


class AuditWriter:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        gate: WriteGate | None = None,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._gate = gate or WriteGate(serialize=False)
        self._max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self.dropped = 0

    def add(self, **event: Any) -> None:
        """Queue an event (the keywords of ``audit.service.values``); it keeps the
        time it happened, not the time it is written."""
        self._pending.append(service.values(**event))
        if len(self._pending) > self._max_pending:
            excess = len(self._pending) - self._max_pending
            del self._pending[:excess]
            self.dropped += excess
            log.error("audit queue full: dropped %d events (%d in all)", excess, self.dropped)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Write everything queued; on failure keep it for the next try."""
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            await self._insert(batch)
        except IntegrityError:
            # One bad row (its tenant deleted meanwhile) must not hold back the rest.
            await self._insert_each(batch)
        except Exception:
            log.exception("could not write %d audit events; will retry", len(batch))
            self._pending[:0] = batch
            return 0
        return len(batch)

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        async with self._sessionmaker() as session:
            # A connection first, then the gate, in the order requests take them:
            # holding the gate while waiting for a pooled connection held by a
            # request waiting for the gate would stall both.
            await session.connection()
            async with self._gate():
                # Core's executemany: the ORM's bulk path costs more than the insert.
                await session.execute(insert(_TABLE), rows)
                await session.commit()

    async def _insert_each(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            try:
                await self._insert([row])
            except IntegrityError:
                log.warning("audit event %s dropped: its tenant no longer exists", row["action"])
