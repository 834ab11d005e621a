"""SQLite in WAL mode: a server killed with SIGKILL mid-writes keeps every committed record.

A real ``cloudcx serve`` process takes concurrent "New OAuth Client" forms; a
303 answer means the row was committed. The process is killed with SIGKILL
while writes are in flight, then the database is checked and served again.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests import servers

pytestmark = pytest.mark.slow

ADMIN_EMAIL = servers.ADMIN_EMAIL
ADMIN_PASSWORD = servers.ADMIN_PASSWORD
WRITERS = 8
ACKNOWLEDGED_BEFORE_KILL = 80
free_port = servers.free_port
server_env = servers.server_env


@asynccontextmanager
async def server(var_dir: Path, port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "cloudcx", "serve", "--port", str(port)),
        env=server_env(var_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                try:
                    if (await probe.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("server did not start")
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await asyncio.wait_for(proc.wait(), 10)


async def signed_in(base: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=base, timeout=10)
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    await client.post(
        "/login",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token.group(1)},
    )
    form = await client.get("/settings/security/oauth-clients/new")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf, form.text
    return client, csrf.group(1)


async def write_until_killed(
    client: httpx.AsyncClient,
    csrf: str,
    writer: int,
    acknowledged: list[str],
    enough: asyncio.Event,
) -> None:
    for n in range(100_000):
        name = f"w{writer}-{n}"
        try:
            response = await client.post(
                "/settings/security/oauth-clients/new",
                data={"csrf_token": csrf, "client_name": name, "description": "durability"},
            )
        except httpx.TransportError:
            return  # the server is gone
        if response.status_code == 303:
            acknowledged.append(name)
            if len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL:
                enough.set()


async def test_sigkill_mid_writes_keeps_every_committed_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    enough = asyncio.Event()
    async with server(tmp_path, port) as proc:
        client, csrf = await signed_in(base)
        writers = [
            asyncio.create_task(write_until_killed(client, csrf, w, acknowledged, enough))
            for w in range(WRITERS)
        ]
        await asyncio.wait_for(enough.wait(), 60)
        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.gather(*writers)
        await client.aclose()
        assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL

    db = sqlite3.connect(tmp_path / "cloudcx.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        stored = {row[0] for row in db.execute("SELECT client_name FROM oauth_clients")}
    finally:
        db.close()
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} committed records lost"

    async with server(tmp_path, port):
        client, _ = await signed_in(base)
        listing = await client.get("/settings/security/oauth-clients")
        await client.aclose()
    assert all(f">{name}<" in listing.text for name in acknowledged)
    with capsys.disabled():
        print(f"\n[SIGKILL] {len(acknowledged)} acknowledged writes, all intact after restart")
