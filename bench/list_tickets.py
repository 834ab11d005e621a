"""Time ``GET /api/v1/tickets`` in process, through the whole ASGI app, on a seeded database.

Usage:
    .venv/bin/python bench/list_tickets.py --database-url URL [--requests 2000] \
        [--query 'status=open'] [--profile]

Load the tickets first with ``bench/seed_tickets.py``. The requests go through
``httpx.ASGITransport`` one after another, so the numbers are the server's own
cost per request (middleware, bearer check, queries, response) without a
network or a load generator. ``--profile`` prints a pyinstrument profile of
the run instead (``pip install pyinstrument`` into the virtualenv first).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role
from cloudcx.app import create_app
from cloudcx.config import Settings
from cloudcx.oauth import clients
from cloudcx.platform import Platform
from cloudcx.tenancy.service import find_by_domain

EMAIL = "bench-admin@seed.example"
PASSWORD = "bench-password-0123456789"


async def bearer(platform: Platform, http: httpx.AsyncClient, domain: str) -> dict[str, str]:
    """A token of an administrator of the tenant (made on first use) for a new client."""
    async with platform.sessionmaker() as session:
        tenant = await find_by_domain(session, domain)
        if tenant is None:
            raise SystemExit(f"No tenant at {domain}: run bench/seed_tickets.py first.")
        if await accounts.find_by_email(session, tenant.id, EMAIL) is None:
            await accounts.create_user(
                session, platform.passwords, tenant_id=tenant.id, email=EMAIL,
                password=PASSWORD, role=Role.ADMIN,
            )  # fmt: skip
        client = await clients.create_client(session, tenant_id=tenant.id, client_name="bench")
        await session.commit()
    form = {"grant_type": "password", "username": EMAIL, "password": PASSWORD}
    response = await http.post("/oauth/token", data={**form, "client_id": client.client_id})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def measure(
    url: str, domain: str, path: str, requests: int, rounds: int, profile: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=url, secret_key="bench-secret-" + "x" * 40, var_dir=Path(tmp),
            api_rate_limit="1000000/minute", argon2_time_cost=1, argon2_memory_kib=64,
            argon2_parallelism=1,
        )  # fmt: skip
        app = create_app(platform=Platform.build(settings))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
                http.headers.update(await bearer(app.state.platform, http, domain))
                first = await http.get(path)
                first.raise_for_status()
                items = first.json().get("data")
                print(f"{path}: {len(items or [])} items, {len(first.content)} bytes")
                await run(http, path, requests // 10, profile=False)  # warm caches and pools
                for _ in range(rounds):
                    await run(http, path, requests, profile)


async def run(http: httpx.AsyncClient, path: str, requests: int, profile: bool) -> None:
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="enabled", interval=0.0005)
        profiler.start()
    times = []
    cpu = time.process_time()
    for _ in range(requests):
        started = time.perf_counter()
        (await http.get(path)).raise_for_status()
        times.append(time.perf_counter() - started)
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=True, show_all=bool(os.environ.get("PROFILE_ALL"))))
        return
    # CPU time of this process (all its threads): less disturbed than wall time by
    # whatever else the machine runs, but without the database server's share.
    cpu_ms = (time.process_time() - cpu) / requests * 1000
    times.sort()
    print(
        f"{requests} requests: mean {statistics.fmean(times) * 1000:.2f} ms, "
        f"p50 {times[len(times) // 2] * 1000:.2f} ms, "
        f"p99 {times[int(len(times) * 0.99)] * 1000:.2f} ms, "
        f"CPU {cpu_ms:.2f} ms per request"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tenant-domain", default="localhost")
    parser.add_argument("--query", default="", help="query string, e.g. 'status=open&limit=25'")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1, help="repeat, to see the spread")
    parser.add_argument("--path", default="/api/v1/tickets")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    path = args.path + (f"?{args.query}" if args.query else "")
    asyncio.run(
        measure(
            args.database_url, args.tenant_domain, path, args.requests, args.rounds, args.profile
        )
    )


if __name__ == "__main__":
    main()
