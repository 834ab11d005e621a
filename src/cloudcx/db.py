"""Database plumbing: the declarative base, column types and the engine.

SQLite (aiosqlite) is the embedded default and PostgreSQL (asyncpg) the
production store; the models use only types both understand.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from cloudcx import db_sqlite

# Stable constraint names so Alembic migrations are reproducible on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# SQLite's own default page cache per connection, in KiB.
SQLITE_CACHE_KIB = 2000


def create_engine(
    url: str, *, sqlite_cache_kib: int = SQLITE_CACHE_KIB, **kwargs: Any
) -> AsyncEngine:
    if url.startswith("sqlite"):
        parsed = make_url(url)
        if parsed.get_driver_name() == "aiosqlite":
            kwargs.setdefault("module", db_sqlite.dbapi())
        if parsed.database in (None, "", ":memory:"):
            # One connection shared by all (SQLAlchemy's StaticPool): no pool to size.
            kwargs.pop("pool_size", None)
            kwargs.pop("max_overflow", None)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine, sqlite_cache_kib)
        return engine
    engine = create_async_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE = 1.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Test a pooled connection before use only when it has been idle a while.

    SQLAlchemy's ``pool_pre_ping`` tests every checkout, and on asyncpg a test is
    three round trips (BEGIN, ``;``, ROLLBACK) before every request's first
    statement. A connection returned less than ``PING_AFTER_IDLE`` seconds ago
    was working then; an older one (the server may have restarted meanwhile) is
    tested, and replaced when dead, as SQLAlchemy's documented pessimistic
    disconnect handling does. A connection that dies mid-request still fails
    that request and makes the pool drop every connection opened before it.
    """
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE:
            return
        try:
            sync_engine.dialect.do_ping(dbapi_conn)
        except Exception as error:
            raise DisconnectionError("the pooled connection is dead") from error


def _tune_sqlite(engine: AsyncEngine, cache_kib: int) -> None:
    """WAL lets readers run beside the writer; the busy timeout waits out a lock
    instead of failing; foreign keys are off by default in SQLite.

    Each connection keeps a page cache of up to ``cache_kib``: a process's
    resident memory grows as its pooled connections fill theirs, up to that
    times the connections it has opened, then stays there.

    ``synchronous=NORMAL`` in WAL mode: a commit is written to the WAL file
    before it returns, but fsync'd only at checkpoints. A killed process
    (SIGKILL, OOM) therefore loses nothing committed — the operating system
    still holds the writes (tests/test_db_durability.py proves it) — while a
    power cut or kernel crash may roll back the last few transactions, never
    corrupt the file. That is the embedded, single-machine trade-off; a
    deployment that needs every commit on disk runs on PostgreSQL.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        cur.close()


class WriteGate:
    """Queues the busiest write transactions on SQLite, one at a time, across processes.

    SQLite lets one connection write at a time. A connection that finds the
    database locked sleeps and retries (its busy handler waits 1, 2, 5, 10 ms
    and longer), so connections contending for the lock spend their time
    asleep: refresh grants ran at 84/s with a p99 of 1.7 s. Writers wait here
    instead — on an asyncio lock within the process and an exclusive ``flock``
    on a file beside the database between processes — and the kernel hands
    the lock on the moment it is free. PostgreSQL locks rows, not the
    database: the gate is open there (``lock_file`` None and ``serialize`` off).
    """

    def __init__(self, serialize: bool, lock_file: Path | None = None) -> None:
        self._lock = asyncio.Lock() if serialize else None
        self._lock_file = lock_file
        self._fd: int | None = None

    @classmethod
    def for_url(cls, url: str) -> WriteGate:
        if not url.startswith("sqlite"):
            return cls(serialize=False)
        database = make_url(url).database
        if not database or database == ":memory:":
            return cls(serialize=True)
        return cls(serialize=True, lock_file=Path(database + ".write-lock"))

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[None]:
        if self._lock is None:
            yield
            return
        async with self._lock:
            fd = self._open()
            if fd is None:
                yield
                return
            await _flock(fd)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int | None:
        if self._fd is None and self._lock_file is not None:
            self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd


async def _flock(fd: int) -> None:
    """Take the lock without a thread hop when it is free, in a thread otherwise."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX))
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        # The thread takes the lock anyway: give it back before giving up.
        await waiting
        fcntl.flock(fd, fcntl.LOCK_UN)
        raise


def upsert(session: AsyncSession, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """``INSERT … ON CONFLICT`` for the session's backend (both dialects spell it
    alike, but each has its own construct)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def create_sessionmaker(
    engine: AsyncEngine, sync_session_class: type[Session] = Session
) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=sync_session_class)


def create_read_sessionmaker(
    engine: AsyncEngine, ordinary: async_sessionmaker[AsyncSession]
) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read: on PostgreSQL without a transaction.

    A session's first statement otherwise costs three round trips to the
    server (BEGIN, the statement, then ROLLBACK when the session ends): a
    third of a ticket page's time on PostgreSQL. Under READ COMMITTED, the
    default, each statement sees its own snapshot inside a transaction too, so
    reads see what they saw before. On SQLite the driver begins no transaction
    for a SELECT already, and switching a connection's mode would cost two
    trips to its thread: the sessions are the ordinary ones.
    """
    if engine.dialect.name != "postgresql":
        return ordinary
    return create_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), ordinary.kw["sync_session_class"]
    )


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session for one request, as ``async with sessionmaker()`` but cheaper to end.

    ``AsyncSession.close`` switches into a greenlet even when the session never
    began a transaction (a client-credentials grant never reads): that switch
    was a tenth of such a request. Without a transaction, the session holds no
    connection and there is nothing to give back; with one (a read left open,
    an error before the commit), it is closed, which rolls back.
    """
    session = sessionmaker()
    try:
        yield session
    finally:
        if session.in_transaction():
            await session.close()
