"""The HTTP server: uvicorn on httptools and uvloop, with the request limits it lacks.

uvicorn was kept over granian by measurement (README, Configuration): no clear
difference on a request that touches no database, faster on an authenticated
API request, and unlike granian it can leave out the ``Server`` header.

uvicorn itself enforces the keep-alive timeout and the connection cap. Its
httptools protocol has no cap on the request head (llhttp reads a header of any
size into memory) and no timer while a request is half received (the keep-alive
timer stops at a request's first byte), so a client could hold a connection and
its buffers for ever. ``GuardedHttpToolsProtocol`` adds the three missing limits:

- the head (request line and headers) is fed to the parser no further than
  ``max_header_bytes``: one byte more and the answer is 431 (RFC 6585 §5);
- the head must arrive within ``header_timeout`` seconds of the connection's
  opening, or of the first byte of a later request, or the connection is closed
  without an answer (as hyper, under granian, does: there is no request to answer);
- the body must arrive within ``body_timeout`` seconds of the head: then the
  answer is 408 (RFC 9110 §15.5.9) if the app has not begun one, and the app's
  ``receive`` reports ``http.disconnect``.

h11 caps the head natively but measured slower on both requests, so the cap is
added to httptools instead.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from cloudcx.app import create_app
from cloudcx.config import Settings
from cloudcx.ops.logs import LogFormat, dict_config, resolve_format
from cloudcx.ops.metrics import MULTIPROC_ENV, prepare_multiprocess_dir


@functools.cache
def _settings() -> Settings:
    """The settings of this worker process, read once (uvicorn builds a protocol per connection).

    Workers are spawned, so the limits cannot travel as Python objects from
    ``run``; they are read from the same environment the app reads.
    """
    return Settings()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head size cap and head and body deadlines."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = _settings()
        self.max_header_bytes = settings.max_header_bytes
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        # Bytes of the current request's head fed so far; None while its body is read.
        # A head pipelined behind another request in one read is counted from the
        # next read on, so it can pass the cap by at most one read (250 KB on uvloop).
        self.head_bytes: int | None = 0
        self.header_timer: asyncio.TimerHandle | None = None
        self.body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # A head is fed at most up to the cap; past it the rest is never read.
        while self.head_bytes is not None and data:
            room = self.max_header_bytes - self.head_bytes
            if room <= 0:
                self._refuse_head()
                return
            piece, data = (data, b"") if len(data) <= room else (data[:room], data[room:])
            self.head_bytes += len(piece)
            super().data_received(piece)
            if self.transport.is_closing():
                return
        if data:
            super().data_received(data)
        # Timers only for what is still incomplete, so a whole request costs none.
        if self.head_bytes and self.header_timer is None:
            self.header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)
        elif self.head_bytes is None and self.body_timer is None:
            self.body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)

    def on_headers_complete(self) -> None:
        self.head_bytes = None
        self._cancel_header_timer()
        super().on_headers_complete()
        self.cycle.transport = _HeadWithBody(self.transport)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self.head_bytes = 0
        self._cancel_body_timer()
        super().on_message_complete()

    def _refuse_head(self) -> None:
        # A response to the previous request may still be under way (pipelining):
        # then only closing is safe.
        if self.cycle is None or self.cycle.response_complete:
            self.logger.warning("Request head over %d bytes refused.", self.max_header_bytes)
            self._write_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        self.transport.close()

    def _header_timed_out(self) -> None:
        self.header_timer = None
        self.transport.close()

    def _body_timed_out(self) -> None:
        self.body_timer = None
        cycle = self.cycle
        if not cycle.response_started and not self.pipeline:
            self.logger.warning("Request body not received in %d s.", self.body_timeout)
            # The app waiting in receive() is told the client left; what it sends is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
            self._write_error(HTTPStatus.REQUEST_TIMEOUT)
        self.transport.close()

    def _write_error(self, status: HTTPStatus) -> None:
        body = f"{status.phrase}.".encode()
        lines = [f"HTTP/1.1 {status.value} {status.phrase}".encode()]
        lines += [name + b": " + value for name, value in self.server_state.default_headers]
        lines += [
            b"content-type: text/plain; charset=utf-8",
            b"content-length: %d" % len(body),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)

    def _cancel_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _cancel_body_timer(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None


class _HeadWithBody:
    """A response's transport that sends the head together with the first body bytes.

    uvicorn writes a response's head and its body in two calls: two system
    calls and two TCP segments for every small answer. Here the head waits for
    the body (an ASGI app sends its first ``http.response.body`` right after
    ``http.response.start``) and both leave in one write. An interim
    ``100 Continue``, written before the head, goes at once.
    """

    __slots__ = ("_head", "_started", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._started = False
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        if not self._started:
            if data.startswith(b"HTTP/1.1 100 "):
                self._transport.write(data)
                return
            self._started = True
            self._head = data
            return
        if self._head is not None:
            data, self._head = self._head + data, None
        self._transport.write(data)

    def close(self) -> None:
        if self._head is not None:
            self._transport.write(self._head)
            self._head = None
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def serving_app() -> FastAPI:
    """The app as each worker of ``serve`` runs it: once started, everything alive
    (modules, routes, caches' structure) is moved out of the garbage collector's
    reach with ``gc.freeze()``. A full collection otherwise walks those hundreds
    of thousands of objects every time it runs, a pause of tens of milliseconds
    that the requests in flight wait out: on a busy worker it was most of the
    p99 of a ticket list. Only ``serve`` does this, not ``create_app``: a process
    that builds many apps (the tests) would keep every one of them for ever."""
    app = create_app()
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with started(app) as state:
            gc.collect()
            gc.freeze()
            yield state

    app.router.lifespan_context = lifespan
    return app


def run(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    reload: bool,
    log_format: LogFormat | None = None,
) -> None:
    """Serve the app until stopped: ``workers`` processes, or one that restarts on changes."""
    chosen = resolve_format(log_format or settings.log_format)
    # Workers are spawned and read their settings from the environment.
    os.environ["CLOUDCX_LOG_FORMAT"] = chosen
    if workers > 1 and not reload:
        _share_metrics(settings)
    if settings.password_hash_threads is None and not reload:
        # Each worker process hashes its share of the cores (read by its Settings).
        share = max(1, (os.cpu_count() or 1) // workers)
        os.environ["CLOUDCX_PASSWORD_HASH_THREADS"] = str(share)
    uvicorn.run(
        "cloudcx.server:serving_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        http=GuardedHttpToolsProtocol,
        # The app has no WebSocket route; an upgraded connection would leave these limits.
        ws="none",
        timeout_keep_alive=settings.keep_alive_timeout,
        # On SIGTERM open requests get this long to finish; then the app's
        # shutdown runs (jobs end at a batch boundary, the audit queue is written).
        timeout_graceful_shutdown=settings.shutdown_timeout,
        # uvicorn counts the connection asking among the open ones: one more lets
        # max_connections connections be served.
        limit_concurrency=settings.max_connections + 1,
        proxy_headers=False,  # forwarded headers are judged by CLOUDCX_TRUSTED_PROXIES
        server_header=False,
        log_level="info",
        # ops.requests writes one line per request; uvicorn's own would be a second.
        access_log=False,
        log_config=dict_config(chosen),
    )


def _share_metrics(settings: Settings) -> None:
    """Every worker writes its metrics under one directory, so that whichever
    answers ``/metrics`` reports them all (ops/metrics.py). What a previous run
    left there is removed: it would be added to this run's numbers."""
    directory = os.environ.get(MULTIPROC_ENV) or str((settings.var_dir / "metrics").resolve())
    prepare_multiprocess_dir(directory)
    os.environ[MULTIPROC_ENV] = directory
