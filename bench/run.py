"""``make bench``: CloudCX served as in production, side by side with the peers.

Usage:  .venv/bin/python -m bench.run [--repeats 1] [--memory-minutes 5] [--no-postgres]

1. The cases the peers share (password grant, client credentials, a bearer
   ``GET /api/v1/me``) through the peers' own script, ``shared/peers/bench.sh``,
   with CloudCX as its ``ext`` peer, when the peers are set up
   (``bash ../shared/peers/setup_all.sh``); CloudCX alone when they are not.
2. CloudCX's own cases with the same load: introspection, the refresh grant
   with rotation, and a ticket list over 100,000 tickets, on the embedded SQLite
   default and on PostgreSQL.
3. A mixed run of every case at once, sampling the workers' resident memory.
4. Webhook delivery (``bench/webhooks.py``): events delivered a second to a
   local receiver and the delay from commit to delivery, on each backend.
5. ``bench/REPORT.md`` is written anew from what was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform as host
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench import peers, report, seed_tickets, webhooks
from bench.cases import CASE_LUA, REFRESH_LUA, Load, Result, wrk
from bench.servers import Installation, Server, rss_mib

PORT = 8103
TICKETS = 100_000
WEBHOOK_EVENTS = 1000
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_DB = "cloudcx_bench"


def shared_cases(server: Server, load: Load) -> dict[str, Result]:
    """The peers' three cases, run on CloudCX alone (no peers set up)."""
    a = server.accounts
    token = server.password_grant()["access_token"]
    form = f"grant_type=password&username={a.user_email}&password={a.user_password}"
    form += f"&client_id={a.public_client_id}"
    return {
        "password_grant": wrk(f"{server.base}/oauth/token", load, method="POST", body=form),
        "client_credentials_grant": wrk(
            f"{server.base}/oauth/token",
            load,
            method="POST",
            body="grant_type=client_credentials",
            auth=basic(server),
        ),
        "api_me_bearer": wrk(f"{server.base}/api/v1/me", load, auth=f"Bearer {token}"),
    }


def basic(server: Server) -> str:
    a = server.accounts
    pair = f"{a.confidential_client_id}:{a.confidential_client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def client_token(server: Server) -> str:
    """An access token of the confidential client: a client introspects only its own."""
    answer = httpx.post(
        f"{server.base}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(server)},
        timeout=30,
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def own_cases(server: Server, load: Load) -> dict[str, Result]:
    token, own = server.password_grant()["access_token"], client_token(server)
    answer = httpx.post(
        f"{server.base}/oauth/introspect",
        data={"token": own},
        headers={"Authorization": basic(server)},
    ).json()
    if answer.get("active") is not True:  # measure the real work, not a refusal
        raise RuntimeError(f"introspection sanity check failed: {answer}")
    results = {
        "introspection": wrk(
            f"{server.base}/oauth/introspect",
            load,
            method="POST",
            body=f"token={own}",
            auth=basic(server),
        ),
        "refresh_grant": refresh(server, load),
        "tickets_list": wrk(f"{server.base}/api/v1/tickets?limit=25", load, auth=f"Bearer {token}"),
    }
    return results


def refresh(server: Server, load: Load, seconds: int | None = None) -> Result:
    """Each refresh token is used once: wrk keeps a pool per thread (bench/refresh.lua)."""
    pool = Path(tempfile.mkstemp(suffix=".tokens")[1])
    needed = load.connections * 3
    pool.write_text("\n".join(server.password_grant()["refresh_token"] for _ in range(needed)))
    env = {
        "WRK_TOKENS_FILE": str(pool),
        "WRK_CLIENT_ID": server.accounts.public_client_id,
        "WRK_CASE_LUA": str(CASE_LUA),
    }
    try:
        return wrk(
            f"{server.base}/oauth/token",
            Load(load.threads, load.connections, load.seconds, 0),
            script=REFRESH_LUA,
            env=env,
            seconds=seconds,
        )
    finally:
        pool.unlink()


def load_tickets(install: Installation) -> None:
    """100,000 tickets in the benchmark's tenant and 100,000 in another one."""
    url = install.database_url or install.sqlite_url
    asyncio.run(seed_tickets.seed(url, "localhost", TICKETS, other_tenant_count=TICKETS))


def argon2_limit() -> tuple[float, float, float]:
    """(ms per verification at the configured cost, verifications/s on every core
    by that time, verifications/s measured with every core verifying at once).

    The second is the limit the targets name; the third shows what the hardware
    itself loses when the cores hash together (they share caches and memory
    bandwidth, and each hash touches 19 MiB) before the platform adds anything.
    """
    from cloudcx.config import Settings
    from cloudcx.core.passwords import Passwords

    s = Settings()
    passwords = Passwords(s.argon2_time_cost, s.argon2_memory_kib, s.argon2_parallelism)
    stored = passwords.hash("benchmark-password-0123")
    passwords.verify(stored, "benchmark-password-0123")
    started, n = time.perf_counter(), 30
    for _ in range(n):
        passwords.verify(stored, "benchmark-password-0123")
    per = (time.perf_counter() - started) / n
    cores = os.cpu_count() or 1

    def verify_for(seconds: float) -> int:
        done, until = 0, time.perf_counter() + seconds
        while time.perf_counter() < until:
            passwords.verify(stored, "benchmark-password-0123")
            done += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(cores) as pool:  # argon2-cffi releases the GIL
        total = sum(pool.map(verify_for, [3.0] * cores))
    together = total / (time.perf_counter() - started)
    return per * 1000, cores / per, together


def memory_run(server: Server, minutes: float) -> report.Memory:
    """Every case at once for ``minutes``; the workers' RSS sampled every 10 s."""
    token = server.password_grant()["access_token"]
    seconds = int(minutes * 60)
    light = Load(threads=1, connections=4, seconds=seconds, warmup=0)
    jobs = [
        ("api_me_bearer", f"{server.base}/api/v1/me", {"auth": f"Bearer {token}"}),
        (
            "client_credentials_grant",
            f"{server.base}/oauth/token",
            {"method": "POST", "body": "grant_type=client_credentials", "auth": basic(server)},
        ),
        (
            "introspection",
            f"{server.base}/oauth/introspect",
            {"method": "POST", "body": f"token={client_token(server)}", "auth": basic(server)},
        ),
    ]
    samples: list[tuple[float, list[float]]] = []
    results: dict[str, Result] = {}

    async def sample() -> None:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            pids = server.worker_pids()
            samples.append((time.monotonic() - started, [rss_mib(p) for p in pids]))
            await asyncio.sleep(10)

    async def one(name: str, url: str, options: dict[str, str]) -> None:
        results[name] = await asyncio.to_thread(wrk, url, light, **options)  # type: ignore[arg-type]

    async def all_at_once() -> None:
        await asyncio.gather(
            sample(),
            *(one(n, u, o) for n, u, o in jobs),
            asyncio.to_thread(
                lambda: results.__setitem__("refresh_grant", refresh(server, light, seconds))
            ),
        )

    asyncio.run(all_at_once())
    return report.Memory(minutes, samples, results)


def postgres_install(root: Path) -> Installation | None:
    if shutil.which("psql") is None:
        return None
    for sql in (f"DROP DATABASE IF EXISTS {POSTGRES_DB}", f"CREATE DATABASE {POSTGRES_DB}"):
        done = subprocess.run(
            ["psql", POSTGRES_ADMIN, "-qc", sql], capture_output=True, check=False
        )
        if done.returncode != 0:
            return None
    return Installation(root / "pg", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{POSTGRES_DB}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=1, help="repetitions of the peers' run")
    parser.add_argument("--memory-minutes", type=float, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-peers", action="store_true", help="CloudCX alone")
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per case")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("REPORT.md"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    load, started = Load(seconds=args.seconds), time.monotonic()
    found = report.Findings(machine=report.machine(), argon2=argon2_limit())
    with tempfile.TemporaryDirectory(prefix="cloudcx-bench-") as tmp:
        sqlite = Installation(Path(tmp) / "sqlite")
        sqlite.prepare()
        load_tickets(sqlite)
        available = [] if args.no_peers else peers.available()
        if available:
            print(f"peers: {' '.join(available)} (shared/peers/bench.sh, {args.repeats} repeat(s))")
            found.peers = peers.run(available, sqlite.command(PORT, 2), sqlite.env, args.repeats)
        with sqlite.serving(PORT) as server:
            if not available:
                found.sqlite.update(shared_cases(server, load))
            print("CloudCX cases on SQLite")
            found.sqlite.update(own_cases(server, load))
            if args.memory_minutes > 0:
                print(f"mixed run, {args.memory_minutes} min")
                found.memory = memory_run(server, args.memory_minutes)
        print("webhook delivery on SQLite")
        found.webhooks["SQLite"] = webhooks.run(WEBHOOK_EVENTS)
        pg = None if args.no_postgres else postgres_install(Path(tmp))
        if pg is not None:
            pg.prepare()
            load_tickets(pg)
            with pg.serving(PORT) as server:
                print("CloudCX cases on PostgreSQL")
                found.postgres.update(shared_cases(server, load))
                found.postgres.update(own_cases(server, load))
            print("webhook delivery on PostgreSQL")
            found.webhooks["PostgreSQL"] = webhooks.run(WEBHOOK_EVENTS, pg.database_url)
    found.minutes = (time.monotonic() - started) / 60
    found.python = host.python_version()
    args.output.write_text(report.render(found))
    print(f"wrote {args.output} ({found.minutes:.1f} min)")


if __name__ == "__main__":
    main()
