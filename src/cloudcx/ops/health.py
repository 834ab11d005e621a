"""Readiness: can this process serve requests right now?

Three checks, run together, each bounded by ``CHECK_TIMEOUT`` so that a
stopped database or a black-holed Redis makes ``/readyz`` answer 503 at once
instead of hanging the load balancer's probe:

- ``database``: a connection from the platform's own pool answers a query;
- ``migrations``: the database's ``alembic_version`` is this code's head.
  That query is the database check's probe, so it costs nothing extra and
  needs no cache: a schema brought up to date is seen at the next probe.
  A revision this code does not know means a newer release has migrated the
  database during a rolling upgrade; its migrations keep older code working,
  so that is not a reason to stop serving;
- ``redis``: ``PING`` answers, when ``CLOUDCX_REDIS_URL`` is set.

A failing check's entry says why in a few words, never a URL or a password.
Liveness (``/healthz``) checks none of this: a process that cannot reach its
database should be taken out of rotation, not restarted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudcx.migrate import alembic_config

CHECK_TIMEOUT = 1.5
OK = "ok"
# SQLSTATE codes (PostgreSQL Appendix A): the database does not exist; no such
# role or a wrong password.
INVALID_CATALOG = "3D000"
INVALID_AUTHORIZATION = ("28000", "28P01")
NO_SCHEMA = "no schema: run `cloudcx db upgrade`"

Check = Callable[[], Awaitable[dict[str, str]]]


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: SQLAlchemy's ``orig``, then causes and contexts."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]


def describe(exc: BaseException) -> str:
    """A short, secret-free cause: what PostgreSQL said it was, or the driver's
    exception class, never its text (which can quote the connection URL)."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT:g} s"
    for cause in causes(exc):
        state = getattr(cause, "sqlstate", None)
        if state == INVALID_CATALOG:
            return "the database does not exist"
        if state in INVALID_AUTHORIZATION:
            return "login refused"
    for cause in causes(exc):
        kind = type(cause)
        if not kind.__module__.startswith("sqlalchemy") and kind.__name__ != "Error":
            return kind.__name__
    return type(exc).__name__


@dataclass(frozen=True)
class Revisions:
    """The revisions of this code's migrations: where they end, and all of them."""

    heads: frozenset[str]
    known: frozenset[str]

    @classmethod
    def of_code(cls, url: str) -> Revisions:
        script = ScriptDirectory.from_config(alembic_config(url))
        known = frozenset(rev.revision for rev in script.walk_revisions())
        return cls(frozenset(script.get_heads()), known)

    def judge(self, applied: frozenset[str]) -> str:
        if not applied:
            return NO_SCHEMA
        if applied == self.heads or not applied <= self.known:
            return OK
        return (
            f"behind: database at {', '.join(sorted(applied))}, code at "
            f"{', '.join(sorted(self.heads))}; run `cloudcx db upgrade`"
        )


@dataclass
class Readiness:
    engine: AsyncEngine
    revisions: Revisions
    redis: Redis | None = None

    @classmethod
    def build(cls, engine: AsyncEngine, url: str, redis_url: str | None) -> Readiness:
        redis = None
        if redis_url:
            redis = Redis.from_url(
                redis_url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
            )
        return cls(engine, Revisions.of_code(url), redis)

    async def check(self) -> dict[str, str]:
        """Every check's result: ``"ok"`` or why not."""
        checks: list[tuple[tuple[str, ...], Check]] = [(("database", "migrations"), self._database)]
        if self.redis is not None:
            checks.append((("redis",), self._redis))
        results: dict[str, str] = {}
        for found in await asyncio.gather(*(_bounded(names, fn) for names, fn in checks)):
            results.update(found)
        return results

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    async def _database(self) -> dict[str, str]:
        try:
            conn = await self.engine.connect()
        except Exception as exc:
            reason = f"unreachable: {describe(exc)}"
            return {"database": reason, "migrations": "unknown: database unreachable"}
        try:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            applied = frozenset(str(v) for v in rows.scalars())
        except DBAPIError:  # no alembic_version table: never migrated
            return {"database": OK, "migrations": NO_SCHEMA}
        finally:
            await conn.close()
        return {"database": OK, "migrations": self.revisions.judge(applied)}

    async def _redis(self) -> dict[str, str]:
        assert self.redis is not None
        try:
            await self.redis.ping()
        except Exception as exc:
            return {"redis": f"unreachable: {describe(exc)}"}
        return {"redis": OK}


async def _bounded(names: tuple[str, ...], check: Check) -> dict[str, str]:
    """The check's results, or "no answer" for each of ``names`` after ``CHECK_TIMEOUT``.

    A check given up on is cancelled without waiting for its clean-up (a
    driver closing a half-open connection), which must not delay the answer.
    """
    task = asyncio.ensure_future(check())
    done, _ = await asyncio.wait({task}, timeout=CHECK_TIMEOUT)
    if done:
        return task.result()
    task.cancel()
    task.add_done_callback(_forget)
    first, *others = names
    reason = f"unreachable: {describe(TimeoutError())}"
    return {first: reason, **dict.fromkeys(others, f"unknown: {first} unreachable")}


def _forget(task: asyncio.Future[dict[str, str]]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so nothing is reported about a check given up on
