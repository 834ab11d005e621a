"""The delivery worker: drains the outbox, one task per attempt.

It runs inside ``cloudcx serve`` on the embedded default and as ``cloudcx
worker`` processes in production; any number may run against one database
(``webhooks.queue`` decides who sends what). Each attempt is its own task and
no endpoint holds more than ``webhook_endpoint_concurrency`` of them in one
worker, so an endpoint that hangs for its full timeout only ever delays
itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.config import Settings
from cloudcx.db import WriteGate, utcnow
from cloudcx.webhooks import outcome, queue, service, signing, transport
from cloudcx.webhooks.models import WebhookEndpoint, WebhookEvent
from cloudcx.webhooks.queue import Claim

log = logging.getLogger("cloudcx.webhooks")

# An attempt not written down by then counts as lost (its worker died or hung)
# and is sent again: twice the timeout, and a margin for writing the outcome.
LEASE_MARGIN = 5.0


class Worker:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        gate: WriteGate | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
        resolver: transport.Resolver = transport.system_resolver,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.gate = gate or WriteGate(serialize=False)
        self.clock = clock
        self.rand = rand
        timeout = settings.webhook_timeout
        self.lease = timedelta(seconds=2 * timeout + LEASE_MARGIN)
        cap = settings.webhook_concurrency
        policy = transport.AddressPolicy(settings.webhook_networks)
        self.https = transport.client(policy, timeout, cap, resolver)
        self.http: httpx.AsyncClient | None = None
        if settings.webhook_allow_http_loopback:
            loopback = transport.AddressPolicy(loopback_only=True)
            self.http = transport.client(loopback, timeout, cap, resolver)
        self.in_flight: Counter[uuid.UUID] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.sent = 0

    def wake(self) -> None:
        """A commit wrote deliveries: look at once rather than at the next poll."""
        self._wake.set()

    def client_for(self, url: str) -> httpx.AsyncClient | None:
        """The client for ``url``'s scheme; None for http:// unless development
        allows it (a URL saved while it did is refused, not sent in the clear)."""
        if url.startswith("http://"):
            return self.http
        return self.https

    async def run(self) -> None:
        """Until ``stop``: claim what is due whenever slots are free."""
        while not self._stopping.is_set():
            self._wake.clear()  # before looking: a commit meanwhile wakes the next look
            try:
                await self.dispatch()
            except Exception:
                log.exception("webhook worker could not read the outbox")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_interval)

    async def dispatch(self) -> int:
        """Claim due deliveries for the free slots and start one task for each;
        again while claims come back, as each round skips the endpoints it filled."""
        started = 0
        while (free := self.settings.webhook_concurrency - len(self._tasks)) > 0:
            if self._stopping.is_set():
                break  # nothing new once stopping: its clients are being closed
            claims = await self._claim(free)
            for claim in claims:
                self.in_flight[claim.endpoint_id] += 1
                task = asyncio.create_task(self._attempt(claim), name="cloudcx-webhook")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            started += len(claims)
            if not claims:
                break
        return started

    async def _claim(self, free: int) -> list[Claim]:
        async with self.sessionmaker() as session:
            await session.connection()
            async with self.gate():
                claims = await queue.claim(
                    session,
                    self.clock(),
                    self.lease,
                    free,
                    dict(self.in_flight),
                    self.settings.webhook_endpoint_concurrency,
                )
                await session.commit()
        return claims

    async def run_once(self) -> int:
        """Send everything due now and wait for the answers (tests, ``worker --once``)."""
        total = 0
        while (started := await self.dispatch()) or self._tasks:
            total += started
            if self._tasks:
                await asyncio.wait(set(self._tasks))
        return total

    async def _attempt(self, claim: Claim) -> None:
        try:
            await self.attempt(claim)
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", claim.delivery_id)
        finally:
            self.in_flight[claim.endpoint_id] -= 1
            if self.in_flight[claim.endpoint_id] <= 0:
                del self.in_flight[claim.endpoint_id]
            self._wake.set()  # a slot is free, and the next of this resource may be due

    async def attempt(self, claim: Claim) -> None:
        async with self.sessionmaker() as session:
            endpoint = await session.get(WebhookEndpoint, claim.endpoint_id)
            event = await session.scalar(
                select(WebhookEvent).where(WebhookEvent.id == claim.event_id)
            )
        if endpoint is None or event is None:
            return  # deleted meanwhile: the delivery went with it
        answer, headers = await self.send(endpoint, event)
        async with self.sessionmaker() as session:
            await session.connection()
            async with self.gate():
                await outcome.record(
                    session,
                    self.settings,
                    claim,
                    event,
                    headers,
                    answer,
                    now=self.clock(),
                    rand=self.rand(),
                )
                await session.commit()
        self.sent += 1

    async def send(
        self, endpoint: WebhookEndpoint, event: WebhookEvent
    ) -> tuple[transport.Answer, dict[str, str]]:
        now = self.clock()
        secrets = service.secrets_in_force(self.settings, endpoint, now)
        headers = signing.headers(secrets, str(event.id), int(now.timestamp()), event.payload)
        client = self.client_for(endpoint.url)
        if client is None:
            refused = "http:// is refused (CLOUDCX_WEBHOOK_ALLOW_HTTP_LOOPBACK is off)"
            return transport.Answer(None, "", refused, 0), headers
        answer = await transport.post(
            client, endpoint.url, headers, event.payload, self.settings.webhook_timeout
        )
        return answer, headers

    async def stop(self, wait: float = 5.0) -> None:
        """Stop claiming; attempts in flight get ``wait`` seconds, then are cut
        (their leases run out and another worker retries them)."""
        self._stopping.set()
        self._wake.set()
        if self._tasks:
            _done, late = await asyncio.wait(set(self._tasks), timeout=wait)
            for task in late:
                task.cancel()
        await self.https.aclose()
        if self.http is not None:
            await self.http.aclose()
