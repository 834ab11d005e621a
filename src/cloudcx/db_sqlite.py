"""SQLAlchemy's aiosqlite adapter, with one thread hop per statement instead of four.

aiosqlite runs each SQLite connection in a thread of its own and hands it one
call at a time through a queue; every call is a round trip between the event
loop and that thread (a queue put, a wake-up, a future resolved through the
loop's self-pipe). SQLAlchemy's adapter makes four such calls per statement —
create a cursor, execute, fetch the rows, close the cursor — and one more on
every return of a connection to the pool, to roll back a transaction that is
usually not there. On a refresh grant (three statements and a commit) those
trips were most of the request's CPU time.

The cursor below runs the whole statement — cursor, execute, fetch, close —
in one call on the connection's thread, through aiosqlite's own queue
(``Connection._execute``, the method aiosqlite's public calls are built on),
and a rollback with no transaction open is answered without a call. Results,
errors and transactions are SQLite's own, exactly as through the stock
adapter. This is hand-written because no maintained driver does it: the
alternative, SQLite's blocking calls on the event loop's thread, would stall
every request of the process while one waits for the write lock.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# Set while this task holds the write gate (db.WriteGate): its statements wait
# for the connection's thread with the event loop held. Every other writer of
# the database, in this process and the others, waits for this one to commit;
# awaited the usual way, each of its statements would first wait its turn
# behind every other request the loop is serving, and the gate stayed held for
# that long (refresh grants queued two to five milliseconds per transaction).
_WRITING: ContextVar[bool] = ContextVar("cloudcx_sqlite_writing", default=False)
# A statement still running after this long is waiting for something (a writer
# that bypassed the gate, a checkpoint): the loop is let go meanwhile.
HOLD_LOOP_FOR = 0.002


@contextmanager
def writing() -> Iterator[None]:
    """Run this task's statements with the event loop held (see ``_WRITING``)."""
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)


def _run_holding_loop(connection: Any, fn: Callable[[], Any]) -> Any:
    """``fn`` on the connection's thread, waited for without returning to the loop,
    for ``HOLD_LOOP_FOR`` at most; then awaited in a thread like any slow call."""
    done = threading.Event()
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, fn()))
        except BaseException as error:  # handed to the caller, as aiosqlite does
            outcome.append((False, error))
        finally:
            done.set()

    # aiosqlite's own queue, as SQLAlchemy's adapter uses it for isolation levels;
    # no future: the result travels through ``outcome``.
    connection._tx.put_nowait((None, run))
    if not done.wait(HOLD_LOOP_FOR):
        await_(asyncio.to_thread(done.wait))
    # Handed over through the driver's await all the same (a coroutine that
    # returns at once, so the loop is not entered): SQLAlchemy's asyncio layer
    # checks that every statement went through one.
    return await_(_outcome(*outcome[0]))


async def _outcome(ok: bool, value: Any) -> Any:
    if not ok:
        raise value
    return value


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No cursor is made here: each statement makes, uses and closes its own
        # on the connection's thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        """Nothing to close: the statement's cursor was closed on its thread."""

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        return self._call(self._execute_in_thread, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        return self._call(self._executemany_in_thread, operation, seq_of_parameters)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            if _WRITING.get():
                _run_holding_loop(self._connection, lambda: fn(*args))
            else:
                await_(self._on_thread(fn, *args))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _on_thread(self, fn: Callable[..., None], *args: Any) -> None:
        async with self._adapt_connection._execute_mutex:
            await self._connection._execute(fn, *args)

    # These two run on the connection's thread.

    def _execute_in_thread(self, operation: Any, parameters: Any) -> None:
        cursor = self._connection._conn.cursor()
        try:
            if parameters is None:
                cursor.execute(operation)
            else:
                cursor.execute(operation, parameters)
            self._keep(cursor, cursor.fetchall() if cursor.description else ())
        finally:
            cursor.close()

    def _executemany_in_thread(self, operation: Any, seq_of_parameters: Any) -> None:
        cursor = self._connection._conn.cursor()
        try:
            cursor.executemany(operation, seq_of_parameters)
            self._keep(cursor, ())
        finally:
            cursor.close()

    def _keep(self, cursor: sqlite3.Cursor, rows: Sequence[Any]) -> None:
        self._description = cursor.description
        self._rowcount = cursor.rowcount
        self._lastrowid = cursor.lastrowid
        self._rows = collections.deque(rows)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor  # type: ignore[assignment]  # a subclass, which mypy cannot see

    def rollback(self) -> None:
        # The pool rolls back every connection it takes back; most have just
        # committed. ``in_transaction`` reads a flag of the idle connection.
        raw = self._connection._connection
        if raw is not None and not raw.in_transaction:
            return
        if raw is not None and _WRITING.get():
            self._holding_loop(raw.rollback)
        else:
            super().rollback()

    def commit(self) -> None:
        raw = self._connection._connection
        if raw is not None and _WRITING.get():
            self._holding_loop(raw.commit)
        else:
            super().commit()

    def _holding_loop(self, fn: Callable[[], Any]) -> None:
        try:
            _run_holding_loop(self._connection, fn)
        except Exception as error:
            self._handle_exception(error)


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        stock = super().connect(*arg, **kw)
        return OneHopConnection(self, stock._connection)


def dbapi() -> OneHopDBAPI:
    """The module to give ``create_async_engine(..., module=...)`` for sqlite+aiosqlite."""
    return OneHopDBAPI(aiosqlite, sqlite3)
