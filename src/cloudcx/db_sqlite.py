"""SQLAlchemy's aiosqlite adapter, with one trip to the connection's thread per
statement, waited for without re-entering the event loop.

aiosqlite runs each SQLite connection in a thread of its own and hands it one
call at a time through a queue; the caller awaits a future that the thread
resolves through the loop's self-pipe. That costs twice over on a busy server:

- SQLAlchemy's adapter makes four such calls per statement (create a cursor,
  execute, fetch the rows, close the cursor) and one more on every return of a
  connection to the pool, to roll back a transaction that is usually not there.
- Each awaited result waits its turn behind every other callback the loop is
  serving. A statement of 0.1 ms took milliseconds of wall time under load, and
  while a writer held the write gate (``db.WriteGate``) every other writer of
  the database, in every process, waited that long: refresh grants queued two
  to five milliseconds per transaction, and ticket pages had a p99 of 250 ms.

Here a statement (cursor, execute, fetch, close) runs whole in one call on the
connection's thread, put on aiosqlite's own queue, and the event loop's thread
waits for it directly, for ``HOLD_LOOP_FOR`` at most: a statement still
running then (waiting for a write lock taken by a writer that bypassed the
gate, a checkpoint, a slow search) is awaited like any slow call, so the loop
serves other requests meanwhile. A rollback with no transaction open is
answered without a call. Results, errors and transactions are SQLite's own,
exactly as through the stock adapter.

This is hand-written because no maintained driver does it. Running SQLite's
blocking calls on the loop's own thread would be cheaper still, but a query
waiting for a lock, or a slow one, would then stall every request of the
process with no way out.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# The longest the event loop waits for a statement before serving others.
HOLD_LOOP_FOR = 0.002


def _on_thread(connection: Any, fn: Callable[[], Any]) -> Any:
    """``fn`` on the aiosqlite connection's thread, waited for without returning to
    the loop for ``HOLD_LOOP_FOR`` at most, then awaited in a thread."""
    done = threading.Event()
    outcome: list[tuple[bool, Any]] = []

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
        self._call(lambda: self._execute_in_thread(operation, parameters))

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        self._call(lambda: self._executemany_in_thread(operation, seq_of_parameters))

    def _call(self, fn: Callable[[], None]) -> None:
        try:
            _on_thread(self._connection, fn)
        except Exception as error:
            self._adapt_connection._handle_exception(error)

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
        if raw is None or not raw.in_transaction:
            return
        self._on_thread(raw.rollback)

    def commit(self) -> None:
        raw = self._connection._connection
        if raw is not None:
            self._on_thread(raw.commit)

    def _on_thread(self, fn: Callable[[], Any]) -> None:
        try:
            _on_thread(self._connection, fn)
        except Exception as error:
            self._handle_exception(error)


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        stock = super().connect(*arg, **kw)
        return OneHopConnection(self, stock._connection)


def dbapi() -> OneHopDBAPI:
    """The module to give ``create_async_engine(..., module=...)`` for sqlite+aiosqlite."""
    return OneHopDBAPI(aiosqlite, sqlite3)
