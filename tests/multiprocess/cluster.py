"""Several real ``cloudcx serve`` processes on one PostgreSQL database and one Redis.

Each server is started the way an operator runs a fleet: the schema migrated
once with ``cloudcx db upgrade``, the first start bootstrapping the default
tenant and its administrator, every process sharing the master secret and
Redis. The database is a new one, dropped afterwards, so the suite's own
tables (created from the models, not the migrations) do not interfere.

The revocation poll is set to 30 s, and with it the record caches' lifetime:
a change seen by another process within 100 ms can only have come by the feed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from cloudcx.db import create_engine
from tests import live_server
from tests.databases import throwaway_database
from tests.live_server import LiveServer

DATABASE = os.environ.get("CLOUDCX_TEST_DATABASE_URL", "")
REDIS = os.environ.get("CLOUDCX_TEST_REDIS_URL", "")
needs_postgresql_and_redis = pytest.mark.skipif(
    not (DATABASE.startswith("postgresql") and REDIS),
    reason="set CLOUDCX_TEST_DATABASE_URL (PostgreSQL) and CLOUDCX_TEST_REDIS_URL to start "
    "several servers on one database and one Redis",
)
POLL = "30"
DEADLINE = 0.1


def scalar(url: str, query: str) -> list[tuple[object, ...]]:
    async def run() -> list[tuple[object, ...]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return [tuple(row) for row in await conn.execute(text(query))]
        finally:
            await engine.dispose()

    return asyncio.run(run())


@contextmanager
def cluster(workdir: Path, count: int, **settings: str) -> Iterator[tuple[list[LiveServer], str]]:
    with throwaway_database(DATABASE, "cloudcx_mp") as url:
        common = {
            "CLOUDCX_DATABASE_URL": url,
            "CLOUDCX_REDIS_URL": REDIS,
            "CLOUDCX_SECRET_KEY": secrets.token_urlsafe(48),
            "CLOUDCX_CACHE_TTL": "5",
            "CLOUDCX_REVOCATION_POLL_INTERVAL": POLL,
            "CLOUDCX_HOUSEKEEPING_INTERVAL": "1",
            **settings,
        }
        env = live_server.server_env(workdir / "var") | common
        subprocess.run(
            [sys.executable, "-m", "cloudcx", "db", "upgrade"],
            env=env,
            cwd=workdir,
            check=True,
            capture_output=True,
            timeout=120,
        )
        servers: list[LiveServer] = []
        try:
            for i in range(count):
                servers.append(live_server.start(workdir / f"server-{i}", settings=common))
            yield servers, url
        finally:
            for server in servers:
                server.stop()


def password_grant(http: httpx.Client, server: LiveServer, client_id: str) -> httpx.Response:
    return http.post(
        server.url("/oauth/token"),
        data={
            "grant_type": "password",
            "email": server.admin_email,
            "password": server.admin_password,
            "client_id": client_id,
        },
    )


def until_everywhere(
    servers: list[LiveServer],
    act: Callable[[], object],
    refused: Callable[[httpx.Client, LiveServer], bool],
    limit: float,
) -> dict[int, float]:
    """Do ``act``, then the seconds from its answer until each server refuses.

    Each server is polled by a thread of its own over a connection opened
    beforehand: one after the other, a slow answer from one server (or opening
    a client) would be counted in another's time."""
    clients = [live_server.http_client(server.base_url, timeout=5.0) for server in servers]
    for http in clients:
        assert http.get("/healthz").status_code == 200
    act()
    began = time.monotonic()

    def watch(http: httpx.Client, server: LiveServer) -> float:
        while not refused(http, server):
            elapsed = time.monotonic() - began
            assert elapsed < limit, f":{server.port} still accepts after {elapsed:.2f} s"
        return time.monotonic() - began

    try:
        with ThreadPoolExecutor(len(servers)) as pool:
            took = list(pool.map(watch, clients, servers))
    finally:
        for http in clients:
            http.close()
    return {server.port: seconds for server, seconds in zip(servers, took, strict=True)}


def report(what: str, took: dict[int, float]) -> None:
    worst = max(took.values()) * 1000
    each = ", ".join(f":{port} {s * 1000:.1f} ms" for port, s in took.items())
    print(f"\n{what}: {each} (slowest {worst:.1f} ms)")


def job_holders(url: str) -> set[str]:
    """The processes holding a jobs lock, as they name themselves to PostgreSQL."""
    rows = scalar(
        url,
        "SELECT DISTINCT a.application_name FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted "
        "AND a.datname = current_database() AND a.application_name LIKE 'cloudcx-jobs%'",
    )
    return {str(row[0]) for row in rows}
