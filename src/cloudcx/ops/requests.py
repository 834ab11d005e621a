"""One pure-ASGI middleware for what every request needs operationally:
a request id, the request metrics and the one access-log line.

It sits on the hot path (``GET /api/v1/me`` at thousands a second), so it
does the least it can per request: no Starlette ``Request`` object, the
route template read from ``scope["route"]`` after the app has matched it,
the metric children bound once per (method, route, status) and kept, and a
request id made from a per-process prefix and a counter rather than from
fresh randomness.

The access line never carries a query string (codes and tokens travel in
them), a header or a body; the path is cut short and, if it holds control
characters, escaped so one request is always one line.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import sys
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudcx.ops import metrics
from cloudcx.ops.logs import (
    ACCESS_LOGGER,
    REQUEST_ID,
    LogFormat,
    access_json,
    access_text,
)

REQUEST_ID_HEADER = b"x-request-id"
# What an upstream proxy's id may look like to be kept (letters, digits, ._:-).
_SANE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
MAX_LOGGED_PATH = 512
UNMATCHED = "unmatched"

access_log = logging.getLogger(ACCESS_LOGGER)
# Finished requests wait this long, or for this many, before they are counted and logged.
FLUSH_DELAY = 0.05
FLUSH_AT = 512
Line = tuple[str, str, str, str, int, float, str, str]


class _Ids:
    """Request ids unique across processes: a random prefix, then a counter."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._prefix = os.urandom(6).hex()
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}-{next(self._counter):x}"


_ids = _Ids()


def route_of(scope: Scope) -> str:
    """The matched route's template (``/api/v1/tickets/{ticket_id}``), never the
    raw path, so the metric labels stay few."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", UNMATCHED))
    if "endpoint" in scope and scope.get("root_path"):  # a mounted app (static files)
        return f"{scope['root_path']}/{{path}}"
    return UNMATCHED


def loggable_path(path: str) -> str:
    path = path[:MAX_LOGGED_PATH]
    if not path.isprintable():
        path = path.encode("unicode_escape").decode("ascii")
    return path


class RequestMiddleware:
    """Request id in, ``X-Request-ID`` out, metrics and the access line after."""

    def __init__(
        self,
        app: ASGIApp,
        trusted_proxies: frozenset[str],
        finished: FinishedRequests | None = None,
    ) -> None:
        self.app = app
        self.trusted = trusted_proxies
        self.finished = finished or FinishedRequests("json")
        if access_log.level == logging.NOTSET:  # on, whatever the root logger's level
            access_log.setLevel(logging.INFO)
        self._series: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._request_id(scope)
        token = REQUEST_ID.set(request_id)
        header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers")
                if type(headers) is list:
                    headers.append(header)
                else:
                    message["headers"] = [*(headers or ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # Left set: the server-error handler outside this middleware logs
            # and answers with this request's id (errors.server_error).
            self._done(scope, status, started, request_id)
            raise
        self._done(scope, status, started, request_id)
        REQUEST_ID.reset(token)

    def _request_id(self, scope: Scope) -> str:
        client = scope.get("client")
        if client and client[0] in self.trusted:
            for name, value in scope["headers"]:
                if name == REQUEST_ID_HEADER:
                    if _SANE_ID.fullmatch(value):
                        return str(value.decode("ascii"))
                    break
        return _ids.next()

    def _done(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        elapsed = time.perf_counter() - started
        method = scope["method"]
        route = route_of(scope)
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            label = method if method in metrics.METHODS else "other"
            series = metrics.REQUEST_SECONDS.labels(label, route, str(status))
            if len(self._series) < 10_000:
                self._series[key] = series
        state = scope.get("state") or {}
        client = scope.get("client")
        peer = client[0] if client else ""
        self.finished.add(
            series,
            (
                request_id,
                method,
                route,
                scope["path"],
                status,
                elapsed,
                state.get("client_ip") or peer,
                state.get("host", ""),
            ),
        )


class FinishedRequests:
    """The requests finished since the last flush: their latencies are observed
    and their access lines written to standard error in one go, ``FLUSH_DELAY``
    after the first of them (or once ``FLUSH_AT`` are waiting).

    A request only appends its numbers to a list. Done one request at a
    time, the access line (a ``logging`` record, formatted and written) cost
    three times as much CPU as the rest of this middleware, and on the
    multiprocess metrics' memory-mapped files each observation cost a few µs
    more, most of it the code falling out of the processor's caches between
    requests (measured with bench/middleware_cost.py). The lines still obey
    the level of the ``cloudcx.access`` logger, so raising it to WARNING
    silences them. Metrics are at most ``FLUSH_DELAY`` late (``/metrics``
    flushes first); a process killed without a stop loses that much.
    """

    def __init__(self, log_format: LogFormat) -> None:
        self.format = access_json if log_format == "json" else access_text
        self._pending: list[tuple[float, Any, Line]] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, series: Any, line: Line) -> None:
        """Queue a request's line; ``series`` is its histogram child, observed at the flush."""
        pending = self._pending
        pending.append((time.time(), series, line))
        if len(pending) >= FLUSH_AT:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, []
        for _at, series, line in pending:
            series.observe(line[5])
        if not pending or not access_log.isEnabledFor(logging.INFO):
            return
        text = "\n".join([self.format(at, _fields(line)) for at, _series, line in pending])
        stream = sys.stderr
        stream.write(text + "\n")
        stream.flush()


def _fields(line: Line) -> dict[str, Any]:
    request_id, method, route, path, status, elapsed, client, host = line
    return {
        "request_id": request_id,
        "method": method,
        "route": route,
        "path": loggable_path(path),
        "status": status,
        "duration_ms": round(elapsed * 1000, 3),
        "client": client,
        "host": loggable_path(host[:255]),
    }
