"""Adds the ops routes and middleware to the app, and runs the metrics sampler."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from cloudcx.core.cache import RecordCache
from cloudcx.ops import metrics, routes
from cloudcx.ops.health import Readiness
from cloudcx.ops.logs import resolve_format
from cloudcx.ops.metrics import Sampler
from cloudcx.ops.requests import FinishedRequests, RequestMiddleware
from cloudcx.platform import Platform

SAMPLE_INTERVAL = 1.0


def install(app: FastAPI, platform: Platform) -> None:
    """The ops routes, and the request middleware outside every other one."""
    settings = platform.settings
    app.include_router(routes.router)
    app.state.readiness = Readiness.build(platform.engine, settings.db_url, settings.redis_url)
    caches: dict[str, RecordCache[Any, Any]] = {
        "tenants": platform.tenants.cache,
        "clients": platform.clients.cache,
        "users": platform.users.cache,
    }
    app.state.sampler = Sampler(caches, platform.engine.pool)
    app.state.finished_requests = FinishedRequests(resolve_format(settings.log_format))
    app.add_middleware(
        RequestMiddleware,
        trusted_proxies=settings.trusted_proxy_set,
        finished=app.state.finished_requests,
    )


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """Sample the platform's counters every second while the app serves, so
    that each worker's numbers reach the shared files between scrapes."""
    sampler: Sampler = app.state.sampler
    readiness: Readiness = app.state.readiness

    async def loop() -> None:
        while True:
            sampler.sample()
            await asyncio.sleep(SAMPLE_INTERVAL)

    task = asyncio.create_task(loop(), name="cloudcx-metrics-sampler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.state.finished_requests.flush()  # the last lines and latencies, before the end
        await readiness.close()
        if os.environ.get(metrics.MULTIPROC_ENV):
            metrics.worker_stopped()
