"""Benchmarks of the hot paths named in DESIGN.md §8.

Usage:  .venv/bin/python bench/run.py [--seconds 10] [--concurrency 32]

1. In-process: bearer verification (signature + revocation, no database) and
   one argon2id verification at the configured cost.
2. Over HTTP against a real ``cloudcx serve`` process on a free port with a
   temporary SQLite database: the token endpoint (password grant) and an API
   request (``GET /api/v1/tickets``) under concurrent load.

The load generator runs on the same machine, so HTTP numbers are a lower bound
of what the server alone could do.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_verify(n: int = 20_000, cached: bool = False) -> float:
    """Microseconds per bearer verification, on a key ring loaded in memory.

    ``cached``: the same token again, as a client reusing its token sends it
    (signature checked once, then expiry, tenant and revocation every time).
    """
    from cloudcx import migrate
    from cloudcx.config import Settings
    from cloudcx.oauth import tokens
    from cloudcx.platform import Platform
    from cloudcx.tenancy.service import TenantInfo

    async def run(tmp: str, url: str) -> float:
        platform = Platform.build(
            Settings(database_url=url, secret_key="b" * 40, var_dir=Path(tmp))
        )
        await platform.start()
        tenant = TenantInfo(id=uuid.uuid4(), name="b", domains=("localhost",))
        value = tokens.issue(
            platform.keys,
            issuer="http://localhost",
            tenant_id=tenant.id,
            subject="s",
            client_id="c",
            scope="tickets:read",
            ttl=3600,
        ).value
        cache = platform.verified_tokens if cached else None
        started = time.perf_counter()
        for _ in range(n):
            tokens.verify(platform.keys, value, tenant, platform.revocations.is_revoked, cache)
        elapsed = time.perf_counter() - started
        await platform.stop()
        return elapsed / n * 1e6

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/b.db"
        migrate.upgrade(url)
        return asyncio.run(run(tmp, url))


def argon2_cost() -> tuple[int, int, int]:
    """The cost a server started here would use: the defaults unless CLOUDCX_ARGON2_* say."""
    from cloudcx.config import Settings

    settings = Settings()
    return settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism


def bench_argon2() -> float:
    from cloudcx.core.passwords import Passwords

    passwords = Passwords(*argon2_cost())
    stored = passwords.hash(PASSWORD)
    started = time.perf_counter()
    for _ in range(10):
        passwords.verify(stored, PASSWORD)
    return (time.perf_counter() - started) / 10 * 1000


async def load(
    method: str, url: str, seconds: float, concurrency: int, **kwargs: object
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": errors,
    }


def wrk(url: str, seconds: float, concurrency: int, headers: dict[str, str]) -> dict[str, float]:
    """Load from wrk (C, one thread) when installed: it takes far less CPU than a
    Python client, so on a small machine the server gets most of the cores."""
    args = ["wrk", "-t1", f"-c{concurrency}", f"-d{int(seconds)}s", "--latency", url]
    for name, value in headers.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(out.split("Requests/sec:")[1].split()[0])
    p50 = _wrk_ms(out.split(" 50% ")[1].split()[0])
    p99 = _wrk_ms(out.split(" 99% ")[1].split()[0])
    total = int(out.split(" requests in ")[0].split()[-1])
    bad = int(out.split("Non-2xx or 3xx responses:")[1].split()[0]) if "Non-2xx" in out else 0
    return {"requests": total, "rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": bad}


def _wrk_ms(value: str) -> float:
    for suffix, factor in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def http_benchmarks(
    seconds: float, concurrency: int, workers: int, database_url: str = ""
) -> dict[str, dict[str, float]]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "CLOUDCX_VAR_DIR": tmp,
            "CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD": PASSWORD,
            "CLOUDCX_SECRET_KEY": "bench-secret-" + "x" * 40,
            # Measure the server, not the per-caller API rate limit.
            "CLOUDCX_API_RATE_LIMIT": "1000000/minute",
        }
        if database_url:  # an empty PostgreSQL database: migrate it first
            env["CLOUDCX_DATABASE_URL"] = database_url
            subprocess.run([sys.executable, "-m", "cloudcx", "db", "upgrade"], env=env, check=True)
        cli = [sys.executable, "-m", "cloudcx"]
        server = subprocess.Popen(
            [*cli, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            client_id = subprocess.run(
                [*cli, "client", "create", "--tenant", "localhost", "--name", "bench"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            form = {
                "grant_type": "password",
                "username": "admin@example.com",
                "password": PASSWORD,
                "client_id": client_id,
            }
            token = httpx.post(f"{base}/oauth/token", data=form).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for n in range(20):
                httpx.post(
                    f"{base}/api/v1/tickets", headers=headers, json={"subject": f"Ticket {n}"}
                ).raise_for_status()
            if shutil.which("wrk"):
                api = wrk(f"{base}/api/v1/tickets", seconds, concurrency, headers)
                jwks = wrk(f"{base}/.well-known/jwks.json", seconds, concurrency, {})
            else:
                api = asyncio.run(
                    load("GET", f"{base}/api/v1/tickets", seconds, concurrency, headers=headers)
                )
                jwks = asyncio.run(
                    load("GET", f"{base}/.well-known/jwks.json", seconds, concurrency)
                )
            return {
                "POST /oauth/token (password grant)": asyncio.run(
                    load("POST", f"{base}/oauth/token", seconds, min(concurrency, 8), data=form)
                ),
                "GET /api/v1/tickets (bearer, 20 tickets, 2 queries)": api,
                "GET /.well-known/jwks.json (no database)": jwks,
            }
        finally:
            server.terminate()
            server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--database-url", default="", help="e.g. postgresql+asyncpg://postgres@127.0.0.1/bench"
    )
    args = parser.parse_args()
    print(f"bearer verification, first use: {bench_verify():.1f} µs/op (RS256 signature)")
    print(f"bearer verification, token seen before: {bench_verify(cached=True):.1f} µs/op")
    time_cost, memory_kib, parallelism = argon2_cost()
    print(
        f"argon2id verification (t={time_cost}, m={memory_kib} KiB, p={parallelism}): "
        f"{bench_argon2():.1f} ms/op"
    )
    results = http_benchmarks(args.seconds, args.concurrency, args.workers, args.database_url)
    for name, r in results.items():
        print(
            f"{name}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms, "
            f"p99 {r['p99_ms']:.1f} ms, {int(r['requests'])} requests, "
            f"{int(r['errors'])} errors"
        )


if __name__ == "__main__":
    main()
