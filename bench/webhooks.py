"""Webhook delivery: events delivered a second to a local receiver, and the delay
from the commit of a change to its event's arrival (p50, p99).

Usage:  .venv/bin/python -m bench.webhooks [--events 2000] [--database-url URL]

A platform of its own on a fresh database (SQLite unless a URL is given): writers
create contacts, one transaction and so one ``contact.created`` event each, while
the process's worker delivers them, as inside ``cloudcx serve`` on the embedded
default, to a minimal HTTP/1.1 receiver on loopback that answers 200 at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cloudcx.config import Settings
from cloudcx.contacts import service as contacts
from cloudcx.contacts.schemas import ContactCreate
from cloudcx.db import create_engine
from cloudcx.models import metadata
from cloudcx.platform import Platform
from cloudcx.tenancy.service import create_tenant
from cloudcx.webhooks import service
from cloudcx.webhooks.service import EndpointInput

WRITERS = 4


@dataclass
class WebhookResult:
    events: int
    rate: float  # events delivered a second, first commit to last arrival
    p50_ms: float
    p99_ms: float
    delivered: int = 0  # of ``events``, within ``DEADLINE``


# The longest the measurement waits for the last event; what arrived by then is reported.
DEADLINE = 90.0


class Receiver:
    """Keep-alive HTTP/1.1, just enough for the worker's POSTs; notes arrival times."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.done = asyncio.Event()
        self.expected = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                contact = json.loads(body)["data"]["contact"]["id"]
                self.arrived.setdefault(contact, time.monotonic())
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
                if len(self.arrived) >= self.expected:
                    self.done.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def measure(database_url: str, events: int, var_dir: Path) -> WebhookResult:
    settings = Settings(
        database_url=database_url,
        var_dir=var_dir,
        secret_key=secrets.token_urlsafe(48),
        webhook_allow_http_loopback=True,
        webhook_worker_in_server=False,
    )
    engine = create_engine(settings.db_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    platform = Platform.build(settings, engine)
    receiver = Receiver()
    receiver.expected = events
    server = await asyncio.start_server(receiver.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with platform.sessionmaker() as session:
        tenant = await create_tenant(session, "Bench", [f"webhooks-{time.time_ns()}.example"])
        await service.create_endpoint(
            session,
            settings,
            tenant.id,
            EndpointInput("Bench", f"http://127.0.0.1:{port}/", ["contact.created"]),
        )
        await session.commit()
    platform.webhooks = platform.webhook_worker()
    delivering = asyncio.create_task(platform.webhooks.run())
    committed: dict[str, float] = {}

    async def write(first: int) -> None:
        for n in range(first, events, WRITERS):
            async with platform.sessionmaker() as session:
                email = f"c{n}-{time.time_ns()}@bench.example"
                contact = await contacts.create_contact(
                    session, tenant.id, ContactCreate(email=email)
                )
                await session.commit()
            committed[str(contact.id)] = time.monotonic()

    started = time.monotonic()
    try:
        await asyncio.gather(*(write(w) for w in range(WRITERS)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver.done.wait(), DEADLINE)
    finally:
        delivering.cancel()
        server.close()
        await platform.stop()  # stops the worker too
    arrived = {c: t for c, t in committed.items() if c in receiver.arrived}
    if not arrived:
        return WebhookResult(events, 0.0, 0.0, 0.0, 0)
    delays = sorted(1000 * (receiver.arrived[c] - t) for c, t in arrived.items())
    elapsed = max(receiver.arrived.values()) - started
    cuts = statistics.quantiles(delays, n=100) if len(delays) > 1 else delays * 99
    return WebhookResult(events, len(arrived) / elapsed, cuts[49], cuts[98], len(arrived))


def run(events: int = 2000, database_url: str | None = None) -> WebhookResult:
    with tempfile.TemporaryDirectory(prefix="cloudcx-webhooks-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'webhooks.db'}"
        return asyncio.run(measure(url, events, Path(tmp)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    r = run(args.events, args.database_url)
    print(
        f"{r.events} events: {r.rate:,.0f}/s delivered; commit to delivery p50 "
        f"{r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
