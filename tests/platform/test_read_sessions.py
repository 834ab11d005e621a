"""Sessions of requests that only read: no transaction on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from cloudcx.platform import Platform
from tests.cxapi import Headers, admin_headers

__all__ = ["admin_headers"]  # fixtures


def postgresql_only(platform: Platform) -> None:
    if platform.engine.dialect.name != "postgresql":
        assert platform.read_sessionmaker is platform.sessionmaker
        pytest.skip("SQLite begins no transaction for a read: the sessions are the same")


async def test_on_postgresql_each_read_is_its_own_transaction(platform: Platform) -> None:
    postgresql_only(platform)
    # now() is the start of the transaction: the same for every statement inside
    # one, and moving on between statements run without one.
    async with platform.read_sessionmaker() as session:
        first = await session.scalar(text("select now()"))
        await asyncio.sleep(0.01)
        assert await session.scalar(text("select now()")) != first
    async with platform.sessionmaker() as session:
        first = await session.scalar(text("select now()"))
        await asyncio.sleep(0.01)
        assert await session.scalar(text("select now()")) == first


async def test_a_connection_used_for_reads_writes_in_a_transaction_again(
    platform: Platform,
) -> None:
    postgresql_only(platform)
    for _ in range(3):  # the pool is shared by both kinds of session
        async with platform.read_sessionmaker() as session:
            await session.scalar(text("select 1"))
    for _ in range(3):
        async with platform.sessionmaker() as session:
            first = await session.scalar(text("select now()"))
            await asyncio.sleep(0.01)
            assert await session.scalar(text("select now()")) == first


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/contacts", "/api/v1/users"])
async def test_lists_read_through_read_sessions(
    http: httpx.AsyncClient,
    admin_headers: Headers,
    platform: Platform,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    made: list[str] = []
    real = platform.read_sessionmaker

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(path)
        return real(*args, **kwargs)

    monkeypatch.setattr(platform, "read_sessionmaker", counting)
    answer = await http.get(path, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert "data" in answer.json()
    assert made == [path]
