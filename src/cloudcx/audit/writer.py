"""Audit events written beside the request, in batches, off the request path.

Token issuance and refusals and failed sign-ins are the busiest events by far:
written one transaction each, the audit row was most of the cost of a
client-credentials request (a commit per token). These events do not need to
share a transaction with anything — a refusal's own transaction is rolled
back, and an issued token is already out — so they are queued in memory and
written every ``interval`` seconds in one multi-row insert.

Refusals (``token.refused``, ``signin.failure``) are counted per kind and
minute instead and written as one row with a ``count`` when the minute closes
(``audit.aggregate``); a reader of the log asks for everything, open minutes
included, and a minute written early is updated by its later events.

What a crash can lose: a process killed without a chance to shut down (SIGKILL,
power loss) loses the events of its last ``interval`` (0.25 s by default), and
the refusals counted in the current minute.
A graceful stop writes everything queued. Events of administrative actions,
password changes and refresh-token reuse are still written in the
transaction of the action itself (``audit.service.record``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.audit import service
from cloudcx.audit.aggregate import MAX_OPEN, Aggregates, Count, minute_of
from cloudcx.audit.models import AuditEvent
from cloudcx.db import WriteGate, utcnow

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
        max_open: int = MAX_OPEN,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._gate = gate or WriteGate(serialize=False)
        self._max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._counts = Aggregates(max_open)
        self._clock = clock
        self._flushing = asyncio.Lock()
        self.dropped = 0

    def add(self, **event: Any) -> None:
        """Queue an event (the keywords of ``audit.service.values``); it keeps the
        time it happened, not the time it is written."""
        row = {**service.values(**event), "time": self._clock()}
        if self._counts.add(row):
            return
        self._pending.append(row)
        if len(self._pending) > self._max_pending:
            excess = len(self._pending) - self._max_pending
            del self._pending[:excess]
            self.dropped += excess
            log.error("audit queue full: dropped %d events (%d in all)", excess, self.dropped)

    @property
    def pending(self) -> int:
        """Events and refusal counts not written yet."""
        return len(self._pending) + len(self._counts)

    async def flush_closed(self) -> int:
        """The background writer's flush: refusal counts wait for their minute to close."""
        return await self.flush(everything=False)

    async def flush(self, *, everything: bool = True) -> int:
        """Write everything queued (and, unless ``everything`` is False, the counts of
        the current minute too); on failure keep it for the next try.

        One flush at a time: a reader's flush (the audit log's pages) that came
        while the background one was writing returns only once those rows are
        committed, so the page shows them.
        """
        async with self._flushing:
            return await self._flush(everything)

    async def _flush(self, everything: bool) -> int:
        now = self._clock()
        counts = self._counts.take(now, everything=everything)
        # Closed minutes never written join the batch; the rest need their row id.
        done = [c for c in counts if c.row_id is None and minute_of(c.row["time"]) < minute_of(now)]
        early = [c for c in counts if c not in done]
        batch, self._pending = self._pending, []
        rows = batch + [c.as_row() for c in done]
        try:
            if rows:
                await self._insert_or_each(rows)
        except Exception:
            log.exception("could not write %d audit events; will retry", len(rows))
            self._pending[:0] = batch
            self._counts.put_back(counts)
            return 0
        try:
            await self._write_early(early)
        except Exception:
            log.exception("could not write %d audit event counts; will retry", len(early))
            self._counts.put_back(early)
        return len(rows) + len(early)

    async def _insert_or_each(self, rows: list[dict[str, Any]]) -> None:
        try:
            await self._insert(rows)
        except IntegrityError:
            # One bad row (its tenant deleted meanwhile) must not hold back the rest.
            await self._insert_each(rows)

    async def _write_early(self, counts: list[Count]) -> None:
        """Counts of a minute still open (or updated since written), in one
        transaction: insert and remember the rows, or update the rows written before."""
        if not counts:
            return
        try:
            await self._write_counts(counts)
        except IntegrityError:
            for count in counts:  # one of a deleted tenant must not hold back the rest
                try:
                    await self._write_counts([count])
                except IntegrityError:
                    log.warning("audit count %s dropped: its tenant no longer exists", count.row)
                    count.written_count = count.count

    async def _write_counts(self, counts: list[Count]) -> None:
        # Snapshots: events may join a count while the statements run.
        rows = [(c, c.as_row(), c.count) for c in counts]
        new = [(c, row) for c, row, _n in rows if c.row_id is None]
        old = [{"row_id": c.row_id, "counted": row["details"]} for c, row, _n in rows if c.row_id]
        async with self._sessionmaker() as session:
            await session.connection()
            async with self._gate():
                ids: list[int] = []
                if new:
                    inserted = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
                    result = await session.execute(inserted, [row for _c, row in new])
                    ids = list(result.scalars())
                if old:
                    changed = update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
                    await session.execute(changed.values(details=bindparam("counted")), old)
                await session.commit()
        for (count, _row), row_id in zip(new, ids, strict=True):
            count.row_id = row_id
        for count, _row, counted in rows:
            count.written_count = counted

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
