"""Background jobs (housekeeping, audit retention) run by one process at a time.

Many identical processes on many machines serve one database (DESIGN.md §3);
the jobs that delete what expired must not run in all of them at once, where
they would only repeat each other's work and contend for the same rows. Two
locks decide, held in the database's own terms so no other coordinator is
needed:

- the *leader* lock: the one process holding it runs the scheduled jobs. It is
  kept for the life of the process, so a crashed leader hands over when its
  connection (PostgreSQL) or file descriptor (SQLite) dies with it;
- the *run* lock: held for each run, by the leader's scheduled runs and by
  ``cloudcx cleanup``, so even an on-demand run never overlaps another.

On PostgreSQL they are session-level advisory locks (``pg_try_advisory_lock``)
on a dedicated connection outside the pool, named in ``pg_stat_activity`` as
``cloudcx-jobs pid=<pid>``; on SQLite ``flock`` on files beside the database
(as ``db.WriteGate`` does).

A job deletes in bounded batches (``DELETE … WHERE pk IN (SELECT pk … LIMIT
n)``), each its own short transaction, so tables stay small for years without
one long lock, and a stopping process ends a job at a batch boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import ColumnElement, delete, make_url, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_engine
from sqlalchemy.pool import NullPool

from cloudcx.db import Base, WriteGate

log = logging.getLogger("cloudcx.jobs")

BATCH = 1000
APPLICATION_NAME = "cloudcx-jobs"

# One step of a job: delete at most ``limit`` rows in ``session``; how many went.
Step = Callable[[AsyncSession, int], Awaitable[int]]


class JobLock(Protocol):
    async def acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it."""

    async def held(self) -> bool:
        """Still held (the connection behind it is alive)."""

    async def release(self) -> None: ...


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a connection of its own."""

    def __init__(self, url: str, name: str) -> None:
        self.name = name
        # A stable 64-bit key from the name (Python's hash() changes per process).
        digest = hashlib.sha256(f"cloudcx:{name}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self._engine = _create_engine(
            url,
            poolclass=NullPool,
            connect_args={
                "server_settings": {"application_name": f"{APPLICATION_NAME} pid={os.getpid()}"}
            },
        )
        self._conn: AsyncConnection | None = None

    async def acquire(self) -> bool:
        if self._conn is not None:
            if await self.held():
                return True
            await self._drop()
        conn = await self._engine.connect()
        try:
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
            await conn.commit()  # the lock is the session's; no transaction left open
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
        except Exception:
            log.warning("lost the %s lock: its connection failed", self.name)
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                await self._conn.commit()
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


class FileLock:
    """An exclusive ``flock`` on a file beside the SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def held(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class LocalLock:
    """For an in-memory database, which only this process can open."""

    def __init__(self) -> None:
        self._held = False

    async def acquire(self) -> bool:
        self._held = True
        return True

    async def held(self) -> bool:
        return self._held

    async def release(self) -> None:
        self._held = False


def lock_for(url: str, name: str) -> JobLock:
    if not url.startswith("sqlite"):
        return AdvisoryLock(url, name)
    database = make_url(url).database
    if not database or database == ":memory:":
        return LocalLock()
    return FileLock(Path(f"{database}.{name}-lock"))


async def acquire_within(lock: JobLock, seconds: float, poll: float = 0.2) -> bool:
    """Wait up to ``seconds`` for ``lock`` (a run in progress ends at a batch)."""
    deadline = time.monotonic() + seconds
    while True:
        if await lock.acquire():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll)


def batch_delete(model: type[Base], *where: ColumnElement[bool]) -> Step:
    """A step deleting the rows of ``model`` matching ``where``, ``limit`` at a time."""
    (pk,) = model.__table__.primary_key.columns  # type: ignore[attr-defined]

    async def step(session: AsyncSession, limit: int) -> int:
        chosen = select(pk).where(*where).limit(limit).scalar_subquery()
        result = await session.execute(
            delete(model).where(pk.in_(chosen)).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    return step


async def run_steps(
    sessionmaker: async_sessionmaker[AsyncSession],
    steps: Sequence[tuple[str, Step]],
    *,
    gate: WriteGate | None = None,
    limit: int = BATCH,
    stopping: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Run each step in batches of ``limit`` until it deletes fewer; one commit
    per batch, and ``stopping()`` checked before each. Rows removed, by step."""
    removed: dict[str, int] = {}
    for name, step in steps:
        total = 0
        while not stopping():
            async with sessionmaker() as session:
                # A connection first, then the gate, in the order requests take them.
                await session.connection()
                async with gate() if gate is not None else contextlib.nullcontext():
                    count = await step(session, limit)
                    await session.commit()
            total += count
            if count < limit:
                break
        removed[name] = total
    return removed


class JobRunner:
    """Runs jobs under the run lock, in the leader process only when scheduled."""

    def __init__(
        self, url: str, *, leader_name: str = "jobs-leader", run_name: str = "jobs-run"
    ) -> None:
        self.leader = lock_for(url, leader_name)
        self.run_lock = lock_for(url, run_name)
        self.is_leader = False
        self.runs: dict[str, int] = {}
        self._stopping = False

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Running jobs end at their next batch boundary."""
        self._stopping = True

    async def lead(self) -> bool:
        """Try to be (or stay) the process that runs scheduled jobs."""
        try:
            leading = await self.leader.acquire()
        except Exception as exc:
            log.warning("could not try the jobs lock: %s", exc)
            leading = False
        if leading != self.is_leader:
            log.info("background jobs %s in this process", "run" if leading else "no longer run")
        self.is_leader = leading
        return leading

    async def scheduled(self, name: str, job: Callable[[], Awaitable[Any]]) -> bool:
        """Run ``job`` if this process leads and no other run is under way."""
        if self._stopping or not await self.lead():
            return False
        return await self.run(name, job, wait=0.0)

    async def run(self, name: str, job: Callable[[], Awaitable[Any]], wait: float) -> bool:
        if not await acquire_within(self.run_lock, wait):
            return False
        try:
            await job()
            self.runs[name] = self.runs.get(name, 0) + 1
        finally:
            await self.run_lock.release()
        return True

    async def close(self) -> None:
        self._stopping = True
        await self.run_lock.release()
        await self.leader.release()
        self.is_leader = False
