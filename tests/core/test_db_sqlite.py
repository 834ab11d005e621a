"""The one-hop SQLite adapter behaves as the stock one, in a quarter of the trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from cloudcx import db_sqlite
from cloudcx.config import Settings
from cloudcx.db import create_engine
from cloudcx.db_sqlite import OneHopConnection
from cloudcx.platform import Platform


@pytest_asyncio.fixture
async def hop_engine(tmp_path: Path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hop.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every call made on a connection's thread."""
    made: list[object] = []
    original = db_sqlite._on_thread

    def counted(connection: object, fn: object) -> object:
        made.append(fn)
        return original(connection, fn)

    monkeypatch.setattr(db_sqlite, "_on_thread", counted)
    return made


async def test_engine_uses_the_one_hop_adapter(hop_engine) -> None:
    async with hop_engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)


async def test_rows_rowcount_and_lastrowid(hop_engine) -> None:
    async with hop_engine.begin() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}])
        updated = await conn.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        rows = (await conn.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b!"), (3, "c!")]


async def test_a_statement_is_one_trip_and_an_idle_rollback_none(hop_engine, trips) -> None:
    async with hop_engine.connect() as conn:
        trips.clear()
        result = await conn.execute(text("SELECT 1"))
        assert result.scalar_one() == 1
        assert len(trips) == 1
        await conn.commit()
    # Returning the connection to the pool rolls back a transaction: there was
    # none left after the commit, so no trip was made for it.
    assert len(trips) == 2  # the SELECT and the commit


async def test_rollback_undoes_an_open_transaction(hop_engine) -> None:
    async with hop_engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (name) VALUES ('gone')"))
        await conn.rollback()
        count = (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()
    assert count == 0


async def test_a_connection_returned_mid_transaction_is_rolled_back(hop_engine) -> None:
    async with hop_engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (name) VALUES ('dropped')"))
    async with hop_engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()
    assert count == 0


async def test_errors_are_sqlalchemys(hop_engine) -> None:
    async with hop_engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (name) VALUES ('x')"))
    with pytest.raises(IntegrityError):
        async with hop_engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (name) VALUES ('x')"))
    with pytest.raises(OperationalError):
        async with hop_engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))
    # The connection that failed is usable again.
    async with hop_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1


async def test_a_pooled_connection_is_pinged_only_after_idling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from cloudcx import db

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'ping.db'}")
    db._ping_when_idle(engine)
    pings: list[object] = []
    dead: list[object] = []

    def ping(dbapi_conn: object) -> bool:
        pings.append(dbapi_conn)
        if dbapi_conn in dead:
            raise OSError("connection reset")
        return True

    monkeypatch.setattr(engine.sync_engine.dialect, "do_ping", ping)

    async def raw() -> object:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
            return (await conn.get_raw_connection()).dbapi_connection

    first = await raw()
    assert pings == [first]  # a new connection has no use behind it: tested
    assert await raw() is first
    assert len(pings) == 1  # returned a moment ago: not tested again
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)
    assert await raw() is first
    assert len(pings) == 2  # idle past the limit: tested
    dead.append(first)
    replacement = await raw()  # a dead one is replaced, and the request goes on
    assert replacement is not first
    await engine.dispose()


async def test_a_statement_is_waited_for_without_serving_other_tasks(hop_engine) -> None:
    import asyncio

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        async with hop_engine.connect() as conn:
            before = ticks
            for n in range(20):
                await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": str(n)})
            await conn.commit()
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 20
            # No other task ran: a statement's result did not wait behind them.
            assert ticks == before
            with pytest.raises(IntegrityError):
                await conn.execute(text("INSERT INTO t (name) VALUES ('1')"))
            await conn.rollback()
    finally:
        running.cancel()


async def test_a_statement_waiting_for_a_lock_lets_the_loop_run(hop_engine, tmp_path) -> None:
    import asyncio
    import sqlite3

    other = sqlite3.connect(tmp_path / "hop.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a writer that did not take the gate
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    running = asyncio.create_task(ticker())
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, other.rollback)
    try:
        async with hop_engine.connect() as conn:
            await conn.execute(text("INSERT INTO t (name) VALUES ('late')"))
            await conn.commit()
    finally:
        running.cancel()
        other.close()
    assert ticks > 50  # the loop served others during the 0.2 s wait
    async with hop_engine.connect() as conn:
        assert (await conn.execute(text("SELECT name FROM t"))).scalar_one() == "late"


@pytest.mark.parametrize(("kib", "expected"), [(None, -2000), (256, -256)])
async def test_each_connection_s_page_cache_is_bounded(
    tmp_path: Path, kib: int | None, expected: int
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}"
    engine = create_engine(url) if kib is None else create_engine(url, sqlite_cache_kib=kib)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA cache_size")) == expected
    finally:
        await engine.dispose()


async def test_the_page_cache_setting_reaches_the_engine(tmp_path: Path) -> None:
    settings = Settings(
        environment="test", secret_key="s" * 40, var_dir=tmp_path, sqlite_cache_kib=512
    )
    platform = Platform.build(settings)
    try:
        async with platform.engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA cache_size")) == -512
    finally:
        await platform.engine.dispose()
