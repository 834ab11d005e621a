"""What the operator is told when the platform cannot start: one or two lines
that say what is wrong and what to do, instead of a driver's traceback.

``cloudcx serve`` and ``cloudcx db upgrade`` probe the database (and Redis
when it is configured) before anything else, each probe bounded by
``PROBE_TIMEOUT``, and turn a failure into ``OperatorError``.
"""

from __future__ import annotations

import asyncio
import socket

from sqlalchemy import make_url, select, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.db import create_engine
from cloudcx.ops.health import INVALID_AUTHORIZATION, INVALID_CATALOG, causes
from cloudcx.tenancy.models import TenantDomain
from cloudcx.tenancy.service import DomainError, normalize_domain

PROBE_TIMEOUT = 5.0


class OperatorError(Exception):
    """A failure the operator can fix; its text says how."""


def _where(url: URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def explain_database(exc: BaseException, raw_url: str) -> str | None:
    """The operator's message for a failure to use the database at ``raw_url``,
    or None when the failure is not one of reaching it."""
    url = make_url(raw_url)
    if url.get_backend_name() == "sqlite":
        for cause in causes(exc):
            if isinstance(cause, OSError) or "unable to open database file" in str(cause):
                return (
                    f"Cannot reach the database: the SQLite file {url.database} cannot be "
                    "opened (does its directory exist, and may this user write there?)."
                )
        return None
    for cause in causes(exc):
        state = getattr(cause, "sqlstate", None)
        if state == INVALID_CATALOG:
            name, host = url.database or "", url.host or "localhost"
            return (
                f"The PostgreSQL database {name!r} does not exist on {_where(url)}. "
                f"Create it with `createdb -h {host} -p {url.port or 5432} "
                f'-U {url.username or "postgres"} {name}` (or `CREATE DATABASE "{name}";` '
                "in psql), then run `cloudcx db upgrade`."
            )
        if state in INVALID_AUTHORIZATION:
            return (
                f"PostgreSQL on {_where(url)} refused user {url.username!r}: the role does "
                "not exist or the password is wrong. Check CLOUDCX_DATABASE_URL."
            )
    for cause in causes(exc):
        if isinstance(cause, socket.gaierror):
            return f"Cannot reach the database: the host name {url.host!r} does not resolve."
        if isinstance(cause, OSError | TimeoutError):
            return (
                f"Cannot reach the database server on {_where(url)} "
                f"({type(cause).__name__}). Is PostgreSQL running, and is "
                "CLOUDCX_DATABASE_URL right?"
            )
    return None


async def probe_database(url: str) -> None:
    """Connect once and run ``SELECT 1``; raise ``OperatorError`` saying why not."""
    engine = create_engine(url)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except TimeoutError as exc:
        raise OperatorError(
            f"Cannot reach the database: no answer within {PROBE_TIMEOUT:g} s."
        ) from exc
    except Exception as exc:
        message = explain_database(exc, url)
        if message is None:
            raise
        raise OperatorError(message) from exc
    finally:
        await engine.dispose()


async def probe_redis(url: str) -> None:
    from redis.asyncio import Redis

    parsed = make_url(url.replace("rediss://", "redis://", 1))
    where = f"{parsed.host or 'localhost'}:{parsed.port or 6379}"
    client = Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT)
    try:
        await client.ping()
    except Exception as exc:
        raise OperatorError(
            f"Cannot reach Redis on {where} ({type(exc).__name__}). Start it, or unset "
            "CLOUDCX_REDIS_URL to keep counters in each process."
        ) from exc
    finally:
        await client.aclose()


async def unmatched_domains(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Stored tenant domains that no request's host will ever equal.

    Requests are matched on their host lower-cased, without port or trailing
    dot (``tenancy.service.host_without_port``); a domain stored otherwise
    (written by hand, or by an older version) is served to nobody.
    """
    async with sessionmaker() as session:
        stored = list(await session.scalars(select(TenantDomain.domain)))
    bad = []
    for domain in stored:
        try:
            if normalize_domain(domain) == domain:
                continue
        except DomainError:
            pass
        bad.append(domain)
    return bad


def domain_hint(value: str) -> str | None:
    """Why ``value`` is not a domain as requests name it, when that is clear."""
    stripped = value.strip()
    if "://" in stripped:
        return "give the host name only, without http:// or https://"
    if "/" in stripped:
        return "give the host name only, without a path"
    if ":" in stripped and not stripped.startswith("["):
        return "give the host name without a port: requests are matched on the host alone"
    return None
