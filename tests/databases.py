"""Throw-away PostgreSQL databases for the tests that need one of their own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from cloudcx.db import create_engine


def ddl(url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE and DROP DATABASE need that)."""

    async def run() -> None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


@contextmanager
def throwaway_database(base_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database beside ``base_url``'s, dropped afterwards whoever holds it."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    ddl(base_url, f'CREATE DATABASE "{name}"')
    try:
        yield base_url.rsplit("/", 1)[0] + "/" + name
    finally:
        ddl(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
