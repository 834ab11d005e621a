"""A real HTTP receiver on loopback, endpoints pointing at it, and workers to drive.

The receiver is a ``ThreadingHTTPServer``: every request is answered on a
thread of its own, so one that hangs never holds up another, as with a real
integrator's server. Its behaviour is chosen by path.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook
from tests.cxapi import admin_headers, agent_headers

from cloudcx.config import Settings
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.webhooks import service
from cloudcx.webhooks.events import EVENT_TYPES
from cloudcx.webhooks.models import WebhookEndpoint
from cloudcx.webhooks.service import EndpointInput
from cloudcx.webhooks.worker import Worker

__all__ = ["admin_headers", "agent_headers"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    at: float

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


@dataclass
class Receiver:
    port: int
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/ok") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode()
            with receiver.lock:
                receiver.requests.append(
                    Received(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.monotonic(),
                    )
                )
            if self.path == "/hang":
                receiver.release.wait(30)
            status, extra = {
                "/gone": (410, {}),
                "/fail": (500, {}),
                "/redirect": (302, {"Location": "http://10.0.0.1/"}),
            }.get(self.path, (200, {}))
            answer = b"thanks" if status == 200 else b"x" * 5000
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver(port=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(box))
    server.daemon_threads = True
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    box.release.set()
    server.shutdown()
    server.server_close()


def loopback_settings(settings: Settings, **changes: Any) -> Settings:
    values = settings.model_dump()
    values.update({"webhook_allow_http_loopback": True, **changes})
    return Settings(**values)


@pytest.fixture(autouse=True)
def _loopback_allowed(platform: Platform, settings: Settings) -> Iterator[Settings]:
    """The platform accepts http:// URLs to loopback, as in development."""
    saved = platform.settings
    platform.settings = loopback_settings(settings)
    yield platform.settings
    platform.settings = saved


@pytest_asyncio.fixture
async def worker(platform: Platform) -> AsyncIterator[Worker]:
    found = Worker(platform.settings, platform.sessionmaker, platform.writes)
    yield found
    await found.stop()


async def make_endpoint(
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    url: str,
    events: list[str] | None = None,
    name: str = "Sync",
) -> tuple[WebhookEndpoint, str]:
    endpoint, secret = await service.create_endpoint(
        db, platform.settings, tenant.id, EndpointInput(name, url, events or list(EVENT_TYPES))
    )
    await db.commit()
    return endpoint, secret


def verify(secret: str, received: Received) -> dict[str, Any]:
    """The receiver's check, with the Standard Webhooks reference library."""
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
