"""CPU one request spends in the request middleware (ops.requests), in process.

Builds the app on a throwaway SQLite database, signs a token in, then calls
``GET /api/v1/me`` as raw ASGI ``N`` times with the middleware and ``N`` times
without it, in alternating rounds, and prints the CPU time (``process_time``)
per request of each and the difference. The access lines are flushed
within each measured run, so formatting and writing them are counted; they
go to standard error, so send that somewhere:

    .venv/bin/python -m bench.middleware_cost [N] [--text] 2>/dev/null

With ``PROMETHEUS_MULTIPROC_DIR`` set (to an empty directory) the metrics are
the multiprocess ones that ``cloudcx serve --workers N`` uses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

from cloudcx import migrate
from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role
from cloudcx.app import create_app
from cloudcx.bootstrap import bootstrap
from cloudcx.config import Settings
from cloudcx.oauth import clients
from cloudcx.ops.requests import RequestMiddleware
from cloudcx.tenancy.service import find_by_domain

PASSWORD = "a-long-and-Good-passw0rd"
ROUNDS = 9


async def call(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    out: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return out["status"], out["body"]


async def token_for(app: Any) -> str:
    platform = app.state.platform
    await bootstrap(platform)
    async with platform.sessionmaker() as session:
        tenant = await find_by_domain(session, "localhost")
        assert tenant is not None
        await accounts.create_user(
            session,
            platform.passwords,
            tenant_id=tenant.id,
            email="agent@example.com",
            password=PASSWORD,
            role=Role.AGENT,
        )
        client = await clients.create_client(session, tenant_id=tenant.id, client_name="Bench")
        await session.commit()
    form = urlencode(
        {
            "grant_type": "password",
            "username": "agent@example.com",
            "password": PASSWORD,
            "client_id": client.client_id,
        }
    ).encode()
    status, body = await call(
        app, "POST", "/oauth/token", [(b"content-type", b"application/x-www-form-urlencoded")], form
    )
    assert status == 200, body
    return str(orjson.loads(body)["access_token"])


async def measure(app: Any, token: str, n: int) -> float:
    headers = [(b"authorization", f"Bearer {token}".encode())]
    for _ in range(200):  # warm caches and the series of labels
        await call(app, "GET", "/api/v1/me", headers)
    started = time.process_time()
    for _ in range(n):
        status, _body = await call(app, "GET", "/api/v1/me", headers)
    for middleware in _middlewares(app):
        middleware.finished.flush()  # the batched access lines are part of the cost
    elapsed = time.process_time() - started
    assert status == 200
    return elapsed / n * 1e6


def _middlewares(app: Any) -> list[RequestMiddleware]:
    found, node = [], app.middleware_stack
    while node is not None:
        if isinstance(node, RequestMiddleware):
            found.append(node)
        node = getattr(node, "app", None)
    return found


async def main(n: int, text: bool) -> None:
    var = Path(tempfile.mkdtemp(prefix="cloudcx-bench-"))
    settings = Settings(
        environment="test",
        var_dir=var,
        secret_key="b" * 48,
        argon2_time_cost=1,
        argon2_memory_kib=64,
        api_rate_limit="1000000/minute",
        log_format="text" if text else "json",
    )
    await asyncio.to_thread(migrate.upgrade, settings.db_url)
    logging.getLogger().setLevel(logging.INFO)
    with_mw = create_app(settings)
    without = create_app(settings, platform=with_mw.state.platform)
    without.user_middleware = [m for m in without.user_middleware if m.cls is not RequestMiddleware]
    async with with_mw.router.lifespan_context(with_mw):
        token = await token_for(with_mw)
        results: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(ROUNDS):
            results["without"].append(await measure(without, token, n))
            results["with"].append(await measure(with_mw, token, n))
    best = {k: min(v) for k, v in results.items()}
    mode = "multiprocess" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "single process"
    print(
        f"N={n} x {ROUNDS} rounds, best round, CPU µs per GET /api/v1/me ({mode}, "
        f"{'text' if text else 'json'} log):"
    )
    print(f"  without middleware {best['without']:7.1f}")
    print(f"  with middleware    {best['with']:7.1f}")
    print(f"  added              {best['with'] - best['without']:7.1f}")
    print("  all rounds:", {k: [round(x, 1) for x in v] for k, v in results.items()})


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(main(int(args[0]) if args else 5000, "--text" in sys.argv))
